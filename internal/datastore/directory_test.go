package datastore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

const (
	suffix = "dc=example,dc=com"
	people = "ou=people," + suffix
	groups = "ou=groups," + suffix
)

// fixtureServer starts slapd with testdata/fixture.ldif loaded.
func fixtureServer(t *testing.T, opts slapd.Options) *slapd.Server {
	t.Helper()
	s := slapd.StartT(t, opts)
	if err := s.LoadFixture(context.Background()); err != nil {
		t.Fatalf("load fixture: %v", err)
	}
	return s
}

// readerConfig binds as cn=reader, an ordinary account subject to size limits.
func readerConfig(s *slapd.Server) Config {
	return Config{URL: s.URL, BindDN: s.ReaderDN, BindPassword: s.ReaderPassword,
		AllowInsecureBind: true, DirectoryType: DirectoryOpenLDAP, Timeout: 10 * time.Second}
}

func openT(t *testing.T, cfg Config) *Directory {
	t.Helper()
	d, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// assumeActiveDirectory skips the root DSE check so the Active Directory
// code path (memberOf filters) can run against slapd, whose memberof overlay
// maintains memberOf for direct members.
func assumeActiveDirectory(d *Directory) { d.adCheck.Do(func() {}) }

func usernames(entries []Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Username
	}
	return out
}

func byUsername(entries []Entry) map[string]Entry {
	out := map[string]Entry{}
	for _, e := range entries {
		out[e.Username] = e
	}
	return out
}

func TestSearch(t *testing.T) {
	s := fixtureServer(t, slapd.Options{})
	d := openT(t, readerConfig(s))
	ctx := context.Background()

	tests := []struct {
		name string
		q    Query
		want []string // usernames, in the expected (sorted) order
	}{
		{"group", Query{BaseDN: people, GroupDN: "cn=engineering," + groups},
			[]string{"alice", "bob", "dave", "jsmith"}}, // frank is outside the base, g1 is a group
		{"group wider base", Query{BaseDN: suffix, GroupDN: "cn=engineering," + groups},
			[]string{"alice", "bob", "dave", "frank", "jsmith"}},
		{"group dn in other case and spacing", Query{BaseDN: people, GroupDN: "CN=Engineering, OU=Groups, DC=Example, DC=Com"},
			[]string{"alice", "bob", "dave", "jsmith"}},
		{"group and filter", Query{BaseDN: people, GroupDN: "cn=engineering," + groups, Filter: "(!(uid=bob))"},
			[]string{"alice", "dave", "jsmith"}},
		{"filter without parentheses", Query{BaseDN: people, GroupDN: "cn=engineering," + groups, Filter: "sn=Adams"},
			[]string{"alice"}},
		{"direct members only", Query{BaseDN: people, GroupDN: "cn=g1," + groups},
			[]string{"alice"}},
		{"nested with cycle", Query{BaseDN: people, GroupDN: "cn=g1," + groups, Nested: true},
			[]string{"alice", "carol", "erin"}}, // g1 > g2 > {g1, g3}; uid=ghost in g3 does not exist
		{"nested from the middle of the cycle", Query{BaseDN: people, GroupDN: "cn=g2," + groups, Nested: true},
			[]string{"alice", "carol", "erin"}},
		{"nested and filter", Query{BaseDN: people, GroupDN: "cn=g1," + groups, Nested: true, Filter: "(mail=*@example.com)"},
			[]string{"alice", "erin"}}, // carol's mail is @example.org
		{"nested includes a nested group's members only once", Query{BaseDN: suffix, GroupDN: "cn=engineering," + groups, Nested: true},
			[]string{"alice", "bob", "carol", "dave", "erin", "frank", "jsmith"}},
		{"memberUid", Query{BaseDN: people, GroupDN: "cn=posix-devs," + groups},
			[]string{"alice", "erin", "jsmith"}}, // ERIN matched case-insensitively, ghostuid absent
		{"memberUid and filter", Query{BaseDN: people, GroupDN: "cn=posix-devs," + groups, Filter: "(mail=erin@example.com)"},
			[]string{"erin"}},
		{"uniqueMember", Query{BaseDN: people, GroupDN: "cn=unique-team," + groups},
			[]string{"bob", "erin"}},
		{"special characters in group and member DNs", Query{BaseDN: people, GroupDN: `cn=ops\5cteam (eu)*,` + groups},
			[]string{`back\slash`, "jürgen", "paren(user)", "star*user"}},
		{"special characters, DN escaped differently", Query{BaseDN: people, GroupDN: `CN=ops\\team \28eu\29\2a,` + groups},
			[]string{`back\slash`, "jürgen", "paren(user)", "star*user"}},
		{"filter only", Query{BaseDN: people, Filter: "(mail=*@example.org)"},
			[]string{"carol"}},
		{"filter only, all people", Query{BaseDN: people, Filter: "(objectClass=inetOrgPerson)"},
			[]string{"alice", `back\slash`, "bob", "carol", "dave", "erin", "jsmith", "jürgen", "nina", "paren(user)", "star*user"}},
		{"filter only excludes groups", Query{BaseDN: suffix, Filter: "(|(cn=g1)(uid=alice))"},
			[]string{"alice"}},
		{"custom username attribute", Query{BaseDN: people, GroupDN: "cn=unique-team," + groups, UsernameAttribute: "mail"},
			[]string{"bob@example.com", "erin@example.com"}},
	}
	// The same answers when every group level first tries the memberOf
	// back-link (normally only for large groups), which slapd's memberof
	// overlay maintains for the fixture.
	viaMemberOf := openT(t, readerConfig(s))
	viaMemberOf.memberOfMin = 1
	for _, dir := range []struct {
		name string
		d    *Directory
	}{{"batches", d}, {"memberOf first", viaMemberOf}} {
		for _, tt := range tests {
			t.Run(dir.name+"/"+tt.name, func(t *testing.T) {
				got, err := dir.d.Search(ctx, tt.q)
				if err != nil {
					t.Fatalf("Search: %v", err)
				}
				if !slices.Equal(usernames(got), tt.want) {
					t.Fatalf("usernames = %q, want %q", usernames(got), tt.want)
				}
			})
		}
	}
}

func TestSearchEntryDetails(t *testing.T) {
	s := fixtureServer(t, slapd.Options{})
	ctx := context.Background()
	admin, err := s.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	res, err := admin.Search(ldap.NewSearchRequest(people, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(uid=*)", []string{"uid", "entryUUID"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	uuids := map[string]string{}
	for _, e := range res.Entries {
		uuids[e.GetAttributeValue("uid")] = e.GetAttributeValue("entryUUID")
	}

	for _, typ := range []string{DirectoryOpenLDAP, DirectoryGeneric} {
		t.Run(typ, func(t *testing.T) {
			cfg := readerConfig(s)
			cfg.DirectoryType = typ
			d := openT(t, cfg)
			got, err := d.Search(ctx, Query{BaseDN: people, Filter: "(objectClass=inetOrgPerson)",
				Attributes: []string{"MAIL", "givenName", "employeeType", "noSuchAttribute"}})
			if err != nil {
				t.Fatal(err)
			}
			users := byUsername(got)
			enabled := map[string]bool{
				"alice": true,
				"bob":   false, // pwdAccountLockedTime 000001010000Z: locked by an administrator
				"carol": true,  // another pwdAccountLockedTime: temporary lockout, not disabled
				"dave":  false, // nsAccountLock: TRUE
				"nina":  true,  // nsAccountLock: false
				"erin":  true,
			}
			for name, want := range enabled {
				if users[name].Enabled != want {
					t.Errorf("%s: Enabled = %v, want %v", name, users[name].Enabled, want)
				}
			}
			alice := users["alice"]
			wantAttrs := map[string]string{"MAIL": "alice@example.com", "givenName": "Alice", "employeeType": "staff"}
			if len(alice.Attributes) != len(wantAttrs) {
				t.Errorf("alice attributes = %v, want %v", alice.Attributes, wantAttrs)
			}
			for k, v := range wantAttrs {
				if alice.Attributes[k] != v {
					t.Errorf("alice[%q] = %q, want %q", k, alice.Attributes[k], v)
				}
			}
			if alice.DN != "uid=alice,"+people {
				t.Errorf("alice DN = %q", alice.DN)
			}
			for name, e := range users {
				if e.ID == "" || e.ID != uuids[name] {
					t.Errorf("%s: ID = %q, want entryUUID %q", name, e.ID, uuids[name])
				}
			}
			if users["jsmith"].DN != `cn=Smith\2C John,`+people || users["jürgen"].Attributes["givenName"] != "Jürgen" {
				t.Errorf("jsmith = %+v, jürgen = %+v", users["jsmith"], users["jürgen"])
			}
		})
	}
}

func TestSearchDisabledFilter(t *testing.T) {
	s := fixtureServer(t, slapd.Options{})
	d := openT(t, readerConfig(s))
	ctx := context.Background()
	for _, q := range []Query{
		{BaseDN: people, GroupDN: "cn=g1," + groups, Nested: true, DisabledFilter: "(employeeType=inactive)"},
		{BaseDN: people, GroupDN: "cn=unique-team," + groups, DisabledFilter: "employeeType=inactive"},
		{BaseDN: people, Filter: "(|(uid=alice)(uid=erin)(uid=bob))", DisabledFilter: "(employeeType=inactive)"},
	} {
		got, err := d.Search(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		users := byUsername(got)
		if e, ok := users["erin"]; !ok || e.Enabled {
			t.Errorf("%+v: erin = %+v, want present and disabled", q, e)
		}
		if e, ok := users["alice"]; ok && !e.Enabled {
			t.Errorf("%+v: alice disabled by a filter that does not match her", q)
		}
		if e, ok := users["bob"]; ok && e.Enabled {
			t.Errorf("%+v: bob's ppolicy lock was lost", q)
		}
	}
}

func TestLookupUsers(t *testing.T) {
	s := fixtureServer(t, slapd.Options{})
	d := openT(t, readerConfig(s))
	ctx := context.Background()

	got, err := d.LookupUsers(ctx, people, "", []string{"ALICE", "bob", "ghost", "star*user", `back\slash`, "jürgen", "g1", "paren(user)"},
		[]string{"mail"}, "(employeeType=staff)")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`back\slash`, "alice", "bob", "jürgen", "paren(user)", "star*user"}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("keys = %q, want %q", keys, want)
	}
	if got["alice"].Username != "alice" || got["alice"].Attributes["mail"] != "alice@example.com" || got["alice"].Enabled {
		t.Errorf("alice = %+v, want mail set and disabled by the filter", got["alice"])
	}
	if got["bob"].Enabled {
		t.Errorf("bob = %+v, want disabled (ppolicy)", got["bob"])
	}

	// Filter metacharacters in usernames are matched literally: an injection
	// attempt finds nothing instead of everyone.
	for _, probe := range [][]string{{"*"}, {"*)(uid=*"}, {"alice)(uid=*"}, {"*)(|(uid=*"}, {"star*"}, {"\x00"}, {"\\2a"}} {
		got, err := d.LookupUsers(ctx, people, "uid", probe, nil, "")
		if err != nil {
			t.Fatalf("LookupUsers(%q): %v", probe, err)
		}
		if len(got) != 0 {
			t.Errorf("LookupUsers(%q) = %d users, want none", probe, len(got))
		}
	}

	none, err := d.LookupUsers(ctx, people, "", nil, nil, "")
	if err != nil || len(none) != 0 {
		t.Errorf("LookupUsers(no names) = %v, %v", none, err)
	}
	if _, err := d.LookupUsers(ctx, "ou=nowhere,"+suffix, "", []string{"alice"}, nil, ""); !errors.Is(err, ErrNoSuchEntry) {
		t.Errorf("wrong base DN: err = %v, want ErrNoSuchEntry", err)
	}
}

func TestLookupUsersManyBatches(t *testing.T) {
	const n = 250
	users := filepath.Join(t.TempDir(), "users.ldif")
	if err := slapd.WriteUsersFile(users, suffix, "u", n); err != nil {
		t.Fatal(err)
	}
	s := slapd.StartT(t, slapd.Options{BulkLDIF: []string{users}, SizeLimit: 50})
	cfg := readerConfig(s)
	cfg.PageSize = 40
	d := openT(t, cfg)
	var names []string
	for i := 0; i < n; i += 2 {
		names = append(names, slapd.UserName("U", i)) // upper case: matched case-insensitively
	}
	got, err := d.LookupUsers(context.Background(), people, "uid", names, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(names) {
		t.Fatalf("found %d of %d users", len(got), len(names))
	}
	for _, name := range names {
		if e, ok := got[strings.ToLower(name)]; !ok || e.Username != strings.ToLower(name) {
			t.Errorf("%s: %+v, %v", name, e, ok)
		}
	}
}

func TestSearchErrors(t *testing.T) {
	s := fixtureServer(t, slapd.Options{})
	d := openT(t, readerConfig(s))
	ctx := context.Background()
	tests := []struct {
		name     string
		q        Query
		sentinel error
		code     uint16
		mention  string
	}{
		{"wrong base DN", Query{BaseDN: "ou=nowhere," + suffix, GroupDN: "cn=g1," + groups}, ErrNoSuchEntry, ldap.LDAPResultNoSuchObject, "ou=nowhere"},
		{"wrong base DN, filter", Query{BaseDN: "ou=nowhere," + suffix, Filter: "(uid=*)"}, ErrNoSuchEntry, ldap.LDAPResultNoSuchObject, "ou=nowhere"},
		{"missing group", Query{BaseDN: people, GroupDN: "cn=nosuchgroup," + groups}, ErrNoSuchEntry, ldap.LDAPResultNoSuchObject, "cn=nosuchgroup"},
		{"injected group DN", Query{BaseDN: people, GroupDN: "cn=g1)(cn=*," + groups}, ErrNoSuchEntry, ldap.LDAPResultNoSuchObject, "cn=g1)(cn=*"},
		{"group DN is a user", Query{BaseDN: people, GroupDN: "uid=alice," + people}, ErrNotAGroup, 0, "uid=alice"},
		{"group DN is an OU", Query{BaseDN: people, GroupDN: people}, ErrNotAGroup, 0, "organizationalUnit"},
		{"filter matches entries without uid", Query{BaseDN: suffix, Filter: "(objectClass=organizationalUnit)"}, ErrMissingUsername, 0, "dc=example,dc=com\": missing username attribute \"uid\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Search(ctx, tt.q)
			if err == nil {
				t.Fatalf("Search = %d entries, want an error", len(got))
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("err = %v, want %v", err, tt.sentinel)
			}
			var le *Error
			if tt.code != 0 && (!errors.As(err, &le) || le.Code != tt.code) {
				t.Errorf("err = %v, want LDAP code %d", err, tt.code)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("err = %v, want it to mention %q", err, tt.mention)
			}
		})
	}

	invalid := []struct {
		q     Query
		field string
	}{
		{Query{GroupDN: "cn=g1," + groups}, "base_dn"},
		{Query{BaseDN: "not a dn", GroupDN: "cn=g1," + groups}, "base_dn"},
		{Query{BaseDN: people}, "group_dn"},
		{Query{BaseDN: people, GroupDN: "nonsense"}, "group_dn"},
		{Query{BaseDN: people, Filter: "(uid=*"}, "filter"},
		{Query{BaseDN: people, Filter: "(uid=*)", DisabledFilter: "(("}, "disabled_filter"},
		{Query{BaseDN: people, Filter: "(uid=*)", UsernameAttribute: "uid=*)(cn"}, "username_attribute"},
		{Query{BaseDN: people, Filter: "(uid=*)", Attributes: []string{"mail", "bad attr"}}, "attributes"},
	}
	for _, tt := range invalid {
		_, err := d.Search(ctx, tt.q)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tt.field {
			t.Errorf("Search(%+v) = %v, want ConfigError on %s", tt.q, err, tt.field)
		}
	}
}

func TestSearchDataErrors(t *testing.T) {
	s := fixtureServer(t, slapd.Options{})
	ctx := context.Background()
	err := s.Apply(ctx, `dn: uid=Alice,ou=contractors,dc=example,dc=com
objectClass: inetOrgPerson
uid: Alice
cn: Other Alice
sn: Other

dn: cn=noname,ou=people,dc=example,dc=com
objectClass: person
cn: noname
sn: Noname

dn: cn=dups,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: dups
member: uid=alice,ou=people,dc=example,dc=com
member: uid=Alice,ou=contractors,dc=example,dc=com

dn: cn=broken,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: broken
member: uid=bob,ou=people,dc=example,dc=com
member: cn=noname,ou=people,dc=example,dc=com
`)
	if err != nil {
		t.Fatal(err)
	}
	d := openT(t, readerConfig(s))

	_, err = d.Search(ctx, Query{BaseDN: suffix, GroupDN: "cn=dups," + groups})
	if !errors.Is(err, ErrDuplicateUsername) ||
		!strings.Contains(err.Error(), "uid=alice,ou=people,dc=example,dc=com") ||
		!strings.Contains(err.Error(), "uid=Alice,ou=contractors,dc=example,dc=com") {
		t.Errorf("duplicate usernames: err = %v, want ErrDuplicateUsername naming both DNs", err)
	}
	// Narrowing the base removes the duplicate.
	if got, err := d.Search(ctx, Query{BaseDN: people, GroupDN: "cn=dups," + groups}); err != nil || len(got) != 1 {
		t.Errorf("narrow base: %v, %v", usernames(got), err)
	}
	if _, err := d.LookupUsers(ctx, suffix, "uid", []string{"alice"}, nil, ""); !errors.Is(err, ErrDuplicateUsername) {
		t.Errorf("LookupUsers duplicate: err = %v, want ErrDuplicateUsername", err)
	}

	_, err = d.Search(ctx, Query{BaseDN: people, GroupDN: "cn=broken," + groups})
	if !errors.Is(err, ErrMissingUsername) || !strings.Contains(err.Error(), "cn=noname,ou=people,dc=example,dc=com") {
		t.Errorf("missing username: err = %v, want ErrMissingUsername naming the DN", err)
	}
}

func TestSearchNestingDepthLimit(t *testing.T) {
	s := slapd.StartT(t, slapd.Options{})
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("dn: uid=deep,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: deep\ncn: deep\nsn: deep\n\n")
	// chain0 > chain1 > ... > chainN; the user sits in the last group.
	build := func(levels int) {
		for i := levels; i >= 0; i-- {
			member := fmt.Sprintf("cn=chain%d,%s", i+1, groups)
			if i == levels {
				member = "uid=deep," + people
			}
			fmt.Fprintf(&b, "dn: cn=chain%d,%s\nobjectClass: groupOfNames\ncn: chain%d\nmember: %s\n\n", i, groups, i, member)
		}
	}
	build(MaxNestingDepth + 1)
	if err := s.Apply(ctx, b.String()); err != nil {
		t.Fatal(err)
	}
	d := openT(t, readerConfig(s))
	// chain1 is MaxNestingDepth levels above the user's group: allowed.
	got, err := d.Search(ctx, Query{BaseDN: people, GroupDN: "cn=chain1," + groups, Nested: true})
	if err != nil || !slices.Equal(usernames(got), []string{"deep"}) {
		t.Fatalf("depth %d: %v, %v", MaxNestingDepth, usernames(got), err)
	}
	// chain0 is one level deeper: an error, not a silently shorter list.
	_, err = d.Search(ctx, Query{BaseDN: people, GroupDN: "cn=chain0," + groups, Nested: true})
	if !errors.Is(err, ErrNestingTooDeep) {
		t.Fatalf("depth %d: err = %v, want ErrNestingTooDeep", MaxNestingDepth+1, err)
	}
}

func TestSearchLargeGroupPaged(t *testing.T) {
	const n = 3000
	users := filepath.Join(t.TempDir(), "users.ldif")
	if err := slapd.WriteUsersFile(users, suffix, "member", n); err != nil {
		t.Fatal(err)
	}
	s := slapd.StartT(t, slapd.Options{BulkLDIF: []string{users}})
	ctx := context.Background()
	groupDN, err := s.AddGeneratedGroup(ctx, "big", "member", n)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{DirectoryOpenLDAP, DirectoryActiveDirectory} {
		t.Run(typ, func(t *testing.T) {
			cfg := readerConfig(s)
			cfg.PageSize = 500
			cfg.DirectoryType = typ
			d := openT(t, cfg)
			assumeActiveDirectory(d)
			got, err := d.Search(ctx, Query{BaseDN: people, GroupDN: groupDN, UsernameAttribute: "uid", Attributes: []string{"mail"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("got %d entries, want %d", len(got), n)
			}
			for i, e := range got {
				if want := slapd.UserName("member", i); e.Username != want || e.Attributes["mail"] != want+"@example.com" {
					t.Fatalf("entry %d = %+v, want %s", i, e, want)
				}
			}
		})
	}
	t.Run("filter only", func(t *testing.T) {
		cfg := readerConfig(s)
		cfg.PageSize = 500
		d := openT(t, cfg)
		got, err := d.Search(ctx, Query{BaseDN: people, Filter: "(uid=member*)"})
		if err != nil || len(got) != n {
			t.Fatalf("got %d entries, %v; want %d", len(got), err, n)
		}
	})
}

func TestSearchLimitsFailTheRead(t *testing.T) {
	const n = 30
	users := filepath.Join(t.TempDir(), "users.ldif")
	if err := slapd.WriteUsersFile(users, suffix, "u", n); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	q := Query{BaseDN: people, Filter: "(uid=u*)"}

	// size.soft/hard/pr = 10: pages of 5 are fine (the total is unlimited)...
	s := slapd.StartT(t, slapd.Options{BulkLDIF: []string{users}, SizeLimit: 10})
	cfg := readerConfig(s)
	cfg.PageSize = 5
	got, err := openT(t, cfg).Search(ctx, q)
	if err != nil || len(got) != n {
		t.Fatalf("paged below the limit: %d entries, %v; want %d", len(got), err, n)
	}
	// ...a page larger than size.pr is refused by the server: the read starts again with
	// smaller pages and is complete (TestPageSizeFallback has the details)...
	cfg.PageSize = 500
	got, err = openT(t, cfg).Search(ctx, q)
	if err != nil || len(got) != n {
		t.Fatalf("page above size.pr: %d entries, %v; want all %d after the fallback", len(got), err, n)
	}
	// ...unless even the floor is above size.pr: an error, never a shorter list.
	s1 := slapd.StartT(t, slapd.Options{BulkLDIF: []string{users}, SizeLimit: PageSizeFloor - 1})
	got, err = openT(t, readerConfig(s1)).Search(ctx, q)
	var le *Error
	if !errors.As(err, &le) || le.Code != ldap.LDAPResultAdminLimitExceeded || !errors.Is(err, ErrPageSizeRefused) || len(got) != 0 {
		t.Fatalf("size.pr below the floor: %d entries, err = %v; want admin limit exceeded (11)", len(got), err)
	}

	// size.prtotal = 15: the server stops after 15 entries across pages.
	s2 := slapd.StartT(t, slapd.Options{BulkLDIF: []string{users}, SizeLimit: 10, PagedTotalLimit: 15})
	cfg2 := readerConfig(s2)
	cfg2.PageSize = 5
	got, err = openT(t, cfg2).Search(ctx, q)
	if !errors.As(err, &le) || le.Code != ldap.LDAPResultSizeLimitExceeded || len(got) != 0 {
		t.Fatalf("paged total limit: %d entries, err = %v; want size limit exceeded (4)", len(got), err)
	}
	// The member-list path resolves members in batches no larger than a page, each its own
	// search, so each stays under the per-search total and the read is complete.
	if _, err := s2.AddGeneratedGroup(ctx, "thirty", "u", n); err != nil {
		t.Fatal(err)
	}
	got, err = openT(t, cfg2).Search(ctx, Query{BaseDN: people, GroupDN: "cn=thirty," + groups})
	if err != nil || len(got) != n {
		t.Fatalf("group of %d in page-sized batches: %d entries, err = %v; want all of them", n, len(got), err)
	}
	// The memberOf back-link search is one search and stops at 15; the batches find the rest.
	viaMemberOf := openT(t, cfg2)
	viaMemberOf.memberOfMin = 1
	got, err = viaMemberOf.Search(ctx, Query{BaseDN: people, GroupDN: "cn=thirty," + groups})
	if err != nil || len(got) != n {
		t.Fatalf("group of %d through memberOf, then batches: %d entries, err = %v; want all of them", n, len(got), err)
	}
}

func TestSearchReferrals(t *testing.T) {
	s := fixtureServer(t, slapd.Options{})
	ctx := context.Background()
	err := s.Apply(ctx, `dn: ou=partners,dc=example,dc=com
objectClass: referral
objectClass: extensibleObject
ou: partners
ref: ldap://partners.example.invalid/ou=partners,dc=example,dc=com
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{DirectoryOpenLDAP, DirectoryActiveDirectory} {
		cfg := readerConfig(s)
		cfg.DirectoryType = typ
		d := openT(t, cfg)
		// A subtree search that crosses the referral gets a continuation reference.
		got, err := d.Search(ctx, Query{BaseDN: suffix, Filter: "(uid=*)", UsernameAttribute: "uid"})
		if !errors.Is(err, ErrReferral) || !strings.Contains(err.Error(), "partners.example.invalid") {
			t.Errorf("%s: search across a referral = %d entries, err = %v; want ErrReferral", typ, len(got), err)
		}
		// A base inside the referral gets resultCode 10.
		_, err = d.Search(ctx, Query{BaseDN: "ou=x,ou=partners," + suffix, Filter: "(uid=*)"})
		var le *Error
		if !errors.As(err, &le) || le.Code != ldap.LDAPResultReferral {
			t.Errorf("%s: base under a referral: err = %v; want LDAP code 10", typ, err)
		}
	}
	// Searches that do not cross it still work.
	d := openT(t, readerConfig(s))
	if got, err := d.Search(ctx, Query{BaseDN: people, GroupDN: "cn=g1," + groups}); err != nil || len(got) != 1 {
		t.Errorf("search beside the referral: %v, %v", usernames(got), err)
	}
}

func TestSearchActiveDirectoryPathOnSlapd(t *testing.T) {
	// slapd's memberof overlay maintains memberOf for direct members, so the
	// Active Directory code path (memberOf filter) can be exercised here;
	// the in-chain rule itself needs a real DC (see the Samba test).
	s := fixtureServer(t, slapd.Options{})
	cfg := readerConfig(s)
	cfg.DirectoryType = DirectoryActiveDirectory
	ctx := context.Background()
	q := Query{BaseDN: people, GroupDN: "cn=engineering," + groups, UsernameAttribute: "uid",
		Filter: "(!(uid=dave))", DisabledFilter: "(uid=bob)"}

	// slapd does not advertise Active Directory: trusting memberOf (or the
	// in-chain rule, which slapd answers with zero entries) is refused.
	for _, nested := range []bool{false, true} {
		q := q
		q.Nested = nested
		if got, err := openT(t, cfg).Search(ctx, q); !errors.Is(err, ErrNotActiveDirectory) {
			t.Fatalf("nested=%v: Search = %d entries, err = %v; want ErrNotActiveDirectory", nested, len(got), err)
		}
	}

	d := openT(t, cfg)
	assumeActiveDirectory(d)
	got, err := d.Search(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(usernames(got), []string{"alice", "bob", "jsmith"}) {
		t.Fatalf("usernames = %q", usernames(got))
	}
	users := byUsername(got)
	if !users["alice"].Enabled || users["bob"].Enabled {
		t.Errorf("enabled flags: alice %v, bob %v; want true, false (disabled_filter)", users["alice"].Enabled, users["bob"].Enabled)
	}
	if _, err := d.Search(ctx, Query{BaseDN: people, GroupDN: "uid=alice," + people}); !errors.Is(err, ErrNotAGroup) {
		t.Errorf("AD path, group DN is a user: err = %v", err)
	}
}

func TestOpen(t *testing.T) {
	s := fixtureServer(t, slapd.Options{TLS: true, AnonymousRead: true})
	ctx := context.Background()
	q := Query{BaseDN: people, GroupDN: "cn=unique-team," + groups}
	ca := string(s.CACertPEM)
	localhostURL := func(u string) string { return strings.Replace(u, "127.0.0.1", "localhost", 1) }

	ok := []struct {
		name string
		cfg  Config
	}{
		{"plain ldap with allow_insecure_bind", Config{URL: s.URL, BindDN: s.ReaderDN, BindPassword: s.ReaderPassword, AllowInsecureBind: true}},
		{"ldaps with CA", Config{URL: s.LDAPSURL, BindDN: s.ReaderDN, BindPassword: s.ReaderPassword, CACertificate: ca}},
		{"ldaps by host name", Config{URL: localhostURL(s.LDAPSURL), BindDN: s.ReaderDN, BindPassword: s.ReaderPassword, CACertificate: ca}},
		{"StartTLS with CA", Config{URL: s.URL, StartTLS: true, BindDN: s.ReaderDN, BindPassword: s.ReaderPassword, CACertificate: ca}},
		{"ldaps insecure_skip_verify", Config{URL: s.LDAPSURL, BindDN: s.ReaderDN, BindPassword: s.ReaderPassword, InsecureSkipVerify: true}},
		{"StartTLS insecure_skip_verify", Config{URL: s.URL, StartTLS: true, BindDN: s.ReaderDN, BindPassword: s.ReaderPassword, InsecureSkipVerify: true}},
		{"anonymous", Config{URL: s.URL}},
		{"anonymous over ldaps", Config{URL: s.LDAPSURL, CACertificate: ca}},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			d := openT(t, tt.cfg)
			got, err := d.Search(ctx, q)
			if err != nil || !slices.Equal(usernames(got), []string{"bob", "erin"}) {
				t.Fatalf("Search = %q, %v", usernames(got), err)
			}
		})
	}

	fail := []struct {
		name string
		cfg  Config
		op   string
		code uint16
	}{
		{"ldaps without the CA (system roots)", Config{URL: s.LDAPSURL}, OpTLS, 0},
		{"StartTLS without the CA", Config{URL: s.URL, StartTLS: true}, OpTLS, 0},
		{"wrong password", Config{URL: s.LDAPSURL, BindDN: s.ReaderDN, BindPassword: "wrong-s3cret", CACertificate: ca}, OpBind, ldap.LDAPResultInvalidCredentials},
		{"unknown bind DN", Config{URL: s.LDAPSURL, BindDN: "cn=nobody," + suffix, BindPassword: "wrong-s3cret", CACertificate: ca}, OpBind, ldap.LDAPResultInvalidCredentials},
		{"nothing listening", Config{URL: "ldap://127.0.0.1:1"}, OpDial, 0},
	}
	for _, tt := range fail {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Open(ctx, tt.cfg)
			if err == nil {
				_ = d.Close()
				t.Fatal("Open succeeded")
			}
			var le *Error
			if !errors.As(err, &le) || le.Op != tt.op || le.Code != tt.code || le.Target != tt.cfg.URL {
				t.Fatalf("err = %#v (%v), want Op %s, code %d, target %s", err, err, tt.op, tt.code, tt.cfg.URL)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}

	t.Run("password over plain ldap refused", func(t *testing.T) {
		_, err := Open(ctx, Config{URL: s.URL, BindDN: s.ReaderDN, BindPassword: s.ReaderPassword})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != "allow_insecure_bind" {
			t.Fatalf("err = %v, want ConfigError on allow_insecure_bind", err)
		}
	})
}

// TestOpenErrorsSayWhatToCheck: a failed Open names the likely cause and the setting to change,
// not only go-ldap's or crypto/tls's words ("EOF", a result code ending in a bare colon).
func TestOpenErrorsSayWhatToCheck(t *testing.T) {
	s := fixtureServer(t, slapd.Options{TLS: true})
	ctx := context.Background()
	ca := string(s.CACertPEM)
	ldapsToPlainPort := "ldaps://127.0.0.1:" + fmt.Sprint(s.Port)
	plainToLDAPSPort := "ldap://127.0.0.1:" + fmt.Sprint(s.TLSPort)
	// A colon with nothing (or only our hint) after it: go-ldap's text for an empty
	// diagnostic message.
	bareColon := regexp.MustCompile(`:\s*(\(|$)`)

	tests := []struct {
		name string
		cfg  Config
		op   string
		want []string
	}{
		{"ldaps to a plain LDAP port", Config{URL: ldapsToPlainPort, CACertificate: ca}, OpTLS,
			[]string{"did not answer the TLS handshake", "plain LDAP port", `"ldap://127.0.0.1:` + fmt.Sprint(s.Port) + `"`, "start_tls = true", "636"}},
		{"ldaps to a plain LDAP port with a bind", Config{URL: ldapsToPlainPort, BindDN: s.ReaderDN, BindPassword: s.ReaderPassword, CACertificate: ca}, OpTLS,
			[]string{"did not answer the TLS handshake", "start_tls = true"}},
		{"StartTLS to an LDAPS port", Config{URL: plainToLDAPSPort, StartTLS: true, CACertificate: ca, Timeout: 5 * time.Second}, OpTLS,
			[]string{"closed the connection", `"ldaps://127.0.0.1:` + fmt.Sprint(s.TLSPort) + `"`, "without start_tls"}},
		{"ldaps without the CA", Config{URL: s.LDAPSURL}, OpTLS, []string{"ca_certificate"}},
		{"wrong password", Config{URL: s.LDAPSURL, BindDN: s.ReaderDN, BindPassword: "wrong-s3cret", CACertificate: ca}, OpBind,
			[]string{"Invalid Credentials", "bind_dn", "bind_password", s.ReaderDN}},
		{"unknown bind DN", Config{URL: s.LDAPSURL, BindDN: "cn=nobody," + suffix, BindPassword: "wrong-s3cret", CACertificate: ca}, OpBind,
			[]string{"Invalid Credentials", "bind_dn", "bind_password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Open(ctx, tt.cfg)
			if err == nil {
				_ = d.Close()
				t.Fatal("Open succeeded")
			}
			var le *Error
			if !errors.As(err, &le) || le.Op != tt.op {
				t.Fatalf("err = %v, want a %s error", err, tt.op)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if bareColon.MatchString(msg) {
				t.Errorf("error %q has a colon with nothing after it", msg)
			}
			if strings.Contains(msg, "s3cret") {
				t.Errorf("error leaks the password: %v", msg)
			}
		})
	}
}

func TestBindHintReadsActiveDirectoryReasons(t *testing.T) {
	ad := func(data string) error {
		return &ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials,
			Err: fmt.Errorf("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data %s, v4563", data)}
	}
	for data, want := range map[string]string{"52e": "password does not match", "775": "locked out", "533": "disabled", "532": "expired"} {
		if got := bindHint(ad(data)); !strings.Contains(got, want) || !strings.Contains(got, "bind_dn") {
			t.Errorf("data %s: hint %q, want it to say %q", data, got, want)
		}
	}
	if got := bindHint(&ldap.Error{ResultCode: ldap.LDAPResultInsufficientAccessRights, Err: errors.New("")}); got != "" {
		t.Errorf("hint for result 50 = %q, want none", got)
	}
	if got := readable(&ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials, Err: errors.New("")}).Error(); got != `LDAP result code 49 "Invalid Credentials"` {
		t.Errorf("readable = %q", got)
	}
}

func TestOpenTLSNameMismatch(t *testing.T) {
	// The certificate names another host, so connecting to 127.0.0.1 must fail
	// verification even though the CA is trusted.
	s := slapd.StartT(t, slapd.Options{TLS: true, TLSHosts: []string{"ldap.example.invalid"}})
	ctx := context.Background()
	ca := string(s.CACertPEM)
	for _, cfg := range []Config{
		{URL: s.LDAPSURL, CACertificate: ca},
		{URL: s.URL, StartTLS: true, CACertificate: ca},
	} {
		_, err := Open(ctx, cfg)
		var le *Error
		if !errors.As(err, &le) || le.Op != OpTLS || !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("%+v: err = %v, want a TLS verification error", cfg, err)
		}
		cfg.InsecureSkipVerify = true
		d, err := Open(ctx, cfg)
		if err != nil {
			t.Errorf("%+v: %v", cfg, err)
			continue
		}
		_ = d.Close()
	}
}

func TestAnonymousWithoutReadAccess(t *testing.T) {
	// Where anonymous users may not read, the base DN is invisible: an error,
	// not an empty list.
	s := fixtureServer(t, slapd.Options{})
	d := openT(t, Config{URL: s.URL})
	got, err := d.Search(context.Background(), Query{BaseDN: people, Filter: "(uid=*)"})
	if !errors.Is(err, ErrNoSuchEntry) {
		t.Fatalf("Search = %d entries, err = %v; want ErrNoSuchEntry", len(got), err)
	}
}

func TestServerGoesAway(t *testing.T) {
	s := fixtureServer(t, slapd.Options{})
	d := openT(t, readerConfig(s))
	ctx := context.Background()
	q := Query{BaseDN: people, GroupDN: "cn=g1," + groups, Nested: true}
	if _, err := d.Search(ctx, q); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	got, err := d.Search(ctx, q)
	var le *Error
	if !errors.As(err, &le) || le.Op != OpSearch || len(got) != 0 {
		t.Fatalf("search after the server stopped = %d entries, err = %v; want a search error", len(got), err)
	}
	_, err = Open(ctx, readerConfig(s))
	if !errors.As(err, &le) || le.Op != OpDial {
		t.Fatalf("Open after the server stopped: err = %v, want a dial error", err)
	}
}

func TestContextCancellation(t *testing.T) {
	s := fixtureServer(t, slapd.Options{})
	d := openT(t, readerConfig(s))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, err := d.Search(ctx, Query{BaseDN: people, Filter: "(uid=*)"}); !errors.Is(err, context.Canceled) || got != nil {
		t.Fatalf("cancelled search = %v, %v; want context.Canceled", got, err)
	}
	if _, err := Open(ctx, readerConfig(s)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Open: err = %v, want context.Canceled", err)
	}
}

func TestConcurrentSearches(t *testing.T) {
	s := fixtureServer(t, slapd.Options{})
	d := openT(t, readerConfig(s))
	ctx := context.Background()
	errs := make(chan error, 8)
	for i := 0; i < cap(errs); i++ {
		go func() {
			got, err := d.Search(ctx, Query{BaseDN: suffix, GroupDN: "cn=engineering," + groups, Nested: true})
			if err == nil && len(got) != 7 {
				err = fmt.Errorf("got %d users, want 7", len(got))
			}
			errs <- err
		}()
	}
	for i := 0; i < cap(errs); i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestSearchMembersOutsideBase(t *testing.T) {
	s := fixtureServer(t, slapd.Options{})
	d := openT(t, readerConfig(s))
	tests := []struct {
		name string
		q    Query
		want int
	}{
		// engineering: alice, bob, dave, jsmith under people, frank outside it, and the group g1.
		{"group", Query{BaseDN: people, GroupDN: "cn=engineering," + groups}, 1},
		{"group, nested", Query{BaseDN: people, GroupDN: "cn=engineering," + groups, Nested: true}, 1},
		{"wider base", Query{BaseDN: suffix, GroupDN: "cn=engineering," + groups, Nested: true}, 0},
		{"only groups outside the base", Query{BaseDN: people, GroupDN: "cn=g1," + groups}, 0},
		{"filter only", Query{BaseDN: people, Filter: "(objectClass=inetOrgPerson)"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stats, err := d.SearchWithStats(context.Background(), tt.q)
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if stats.MembersOutsideBase != tt.want {
				t.Errorf("MembersOutsideBase = %d, want %d", stats.MembersOutsideBase, tt.want)
			}
		})
	}
}

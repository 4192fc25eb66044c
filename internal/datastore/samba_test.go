package datastore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/samba"
)

// unicodePwd is how Active Directory takes a password: the quoted value in UTF-16LE.
func unicodePwd(password string) string {
	units := utf16.Encode([]rune(`"` + password + `"`))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return string(b)
}

// TestSambaActiveDirectory checks the Active Directory semantics against a
// real (Samba) domain controller. Run with PINGID_TEST_SAMBA=1.
func TestSambaActiveDirectory(t *testing.T) {
	dc := samba.StartT(t, samba.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	users := "CN=Users," + dc.BaseDN

	admin, err := dc.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	// Without a password Samba creates the account disabled (546); with one,
	// enabled (512) but hashing makes bulk adds slow.
	addUser := func(cn, sam, mail string, withPassword bool) string {
		dn := "CN=" + ldap.EscapeDN(cn) + "," + users
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"user"})
		req.Attribute("sAMAccountName", []string{sam})
		req.Attribute("mail", []string{mail})
		if withPassword {
			req.Attribute("unicodePwd", []string{unicodePwd("Passw0rd!" + sam)})
			req.Attribute("userAccountControl", []string{"512"})
		}
		if err := admin.Add(req); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
		return dn
	}
	addGroup := func(cn string, members ...string) string {
		dn := "CN=" + cn + "," + users
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"group"})
		req.Attribute("sAMAccountName", []string{cn})
		if len(members) > 0 {
			req.Attribute("member", members)
		}
		if err := admin.Add(req); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
		return dn
	}
	alice := addUser("Alice Adams", "alice", "alice@example.test", true)
	bob := addUser("Bob Brown", "bob", "bob@example.test", true)
	carol := addUser("Carol Clark", "carol", "carol@example.test", true)
	dave := addUser("Dave Davis", "dave", "dave@example.test", true)
	addUser("Erin Evans", "erin", "erin@example.test", true)
	smith := addUser("Smith, John (R&D)*", "jsmith", "jsmith@example.test", true)
	backend := addGroup("backend", carol, dave)
	engineering := addGroup("engineering", alice, bob, backend, smith)
	if _, err := dc.Tool(ctx, "user", "disable", "bob"); err != nil {
		t.Fatal(err)
	}

	adConfig := func() Config {
		return Config{URL: dc.LDAPSURL, BindDN: dc.AdminDN, BindPassword: dc.AdminPassword,
			CACertificate: string(dc.CACertPEM), DirectoryType: DirectoryActiveDirectory}
	}

	t.Run("in-chain rule, userAccountControl, objectGUID over LDAPS", func(t *testing.T) {
		d := openT(t, adConfig())
		// Searching from the domain root also returns continuation references
		// to the configuration partition, which are ignored for AD.
		got, err := d.Search(ctx, Query{BaseDN: dc.BaseDN, GroupDN: engineering, Nested: true, Attributes: []string{"mail", "objectSid"}})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"alice", "bob", "carol", "dave", "jsmith"}; !slices.Equal(usernames(got), want) {
			t.Fatalf("nested = %q, want %q", usernames(got), want)
		}
		byName := byUsername(got)
		for name, e := range byName {
			if want := name != "bob"; e.Enabled != want {
				t.Errorf("%s: Enabled = %v, want %v (userAccountControl)", name, e.Enabled, want)
			}
			if !strings.HasPrefix(e.Attributes["objectSid"], "S-1-5-21-") {
				t.Errorf("%s: objectSid = %q", name, e.Attributes["objectSid"])
			}
		}
		// samba-tool prints objectGUID in the canonical string form.
		out, err := dc.Tool(ctx, "user", "show", "alice", "--attributes=objectGUID")
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`objectGUID: ([0-9a-f-]{36})`).FindStringSubmatch(out)
		if m == nil || byName["alice"].ID != m[1] {
			t.Errorf("alice ID = %q, samba-tool says %q", byName["alice"].ID, out)
		}
		if byName["jsmith"].DN != smith && !strings.EqualFold(byName["jsmith"].DN, smith) {
			t.Errorf("jsmith DN = %q, want %q", byName["jsmith"].DN, smith)
		}

		direct, err := d.Search(ctx, Query{BaseDN: dc.BaseDN, GroupDN: engineering})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"alice", "bob", "jsmith"}; !slices.Equal(usernames(direct), want) {
			t.Errorf("direct = %q, want %q", usernames(direct), want)
		}
		filtered, err := d.Search(ctx, Query{BaseDN: users, GroupDN: engineering, Nested: true, Filter: "(mail=c*)"})
		if err != nil || !slices.Equal(usernames(filtered), []string{"carol"}) {
			t.Errorf("nested + filter = %q, %v", usernames(filtered), err)
		}
		found, err := d.LookupUsers(ctx, dc.BaseDN, "", []string{"ALICE", "nobody", "bob", "engineering"}, nil, "")
		if err != nil || len(found) != 2 || found["bob"].Enabled || !found["alice"].Enabled {
			t.Errorf("LookupUsers = %+v, %v", found, err)
		}
		if _, err := d.Search(ctx, Query{BaseDN: dc.BaseDN, GroupDN: alice}); !errors.Is(err, ErrNotAGroup) {
			t.Errorf("user as group_dn: %v", err)
		}
	})

	t.Run("generic expansion agrees with the in-chain rule", func(t *testing.T) {
		cfg := adConfig()
		cfg.DirectoryType = DirectoryGeneric
		d := openT(t, cfg)
		got, err := d.Search(ctx, Query{BaseDN: dc.BaseDN, GroupDN: engineering, Nested: true, UsernameAttribute: "sAMAccountName",
			DisabledFilter: "(userAccountControl:1.2.840.113556.1.4.803:=2)"})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"alice", "bob", "carol", "dave", "jsmith"}; !slices.Equal(usernames(got), want) {
			t.Fatalf("generic nested = %q, want %q", usernames(got), want)
		}
		for _, e := range got {
			if want := e.Username != "bob"; e.Enabled != want {
				t.Errorf("%s: Enabled = %v with the bitwise disabled_filter, want %v", e.Username, e.Enabled, want)
			}
		}
		// Outside Active Directory mode a continuation reference fails the read.
		_, err = d.Search(ctx, Query{BaseDN: dc.BaseDN, Filter: "(&(objectCategory=person)(objectClass=user))", UsernameAttribute: "sAMAccountName"})
		if !errors.Is(err, ErrReferral) {
			t.Errorf("generic root search: err = %v, want ErrReferral", err)
		}
	})

	// Active Directory publishes its schema at CN=Aggregate,CN=Schema,CN=Configuration,<forest>.
	t.Run("schema", func(t *testing.T) {
		d := openT(t, adConfig())
		schema, err := d.ReadSchema(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"sAMAccountName", "userPrincipalName", "mail", "givenName", "objectGUID", "userAccountControl", "employeeID"} {
			if !schema.Defines(name) {
				t.Errorf("Active Directory schema lacks %q", name)
			}
		}
		if got := schema.Suggest("sAMAcountName"); got != "sAMAccountName" {
			t.Errorf(`Suggest("sAMAcountName") = %q`, got)
		}
	})
	t.Run("StartTLS and plain binds", func(t *testing.T) {
		cfg := adConfig()
		cfg.URL, cfg.StartTLS = dc.URL, true
		d := openT(t, cfg)
		if got, err := d.Search(ctx, Query{BaseDN: users, GroupDN: backend}); err != nil || len(got) != 2 {
			t.Errorf("StartTLS search = %q, %v", usernames(got), err)
		}
		// The DC requires transport encryption for simple binds (strong auth).
		cfg = adConfig()
		cfg.URL, cfg.AllowInsecureBind = dc.URL, true
		_, err := Open(ctx, cfg)
		var le *Error
		if !errors.As(err, &le) || le.Op != OpBind || le.Code != ldap.LDAPResultStrongAuthRequired {
			t.Errorf("plain simple bind: err = %v, want bind error code 8", err)
		}
		cfg = adConfig()
		cfg.BindPassword = "wrong"
		if _, err := Open(ctx, cfg); !errors.As(err, &le) || le.Code != ldap.LDAPResultInvalidCredentials {
			t.Errorf("wrong password: err = %v, want code 49", err)
		}
	})

	t.Run("large group: paging and range retrieval", func(t *testing.T) {
		const n = 600
		members := make([]string, n)
		for i := range members {
			members[i] = addUser(fmt.Sprintf("Bulk %04d", i), fmt.Sprintf("bulk%04d", i), fmt.Sprintf("bulk%04d@example.test", i), false)
		}
		big := addGroup("big", members...)
		for _, typ := range []string{DirectoryActiveDirectory, DirectoryGeneric} {
			cfg := adConfig()
			cfg.DirectoryType = typ
			cfg.PageSize = 200
			d := openT(t, cfg)
			got, err := d.Search(ctx, Query{BaseDN: users, GroupDN: big, UsernameAttribute: "sAMAccountName"})
			if err != nil || len(got) != n {
				t.Errorf("%s: %d of %d members, %v", typ, len(got), n, err)
			}
		}

		// Samba returns all values of a plain read (it does not impose
		// MaxValRange like Windows), so start from a ranged first chunk and
		// let rangedValues ask the DC for the rest.
		first, err := admin.Search(ldap.NewSearchRequest(big, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"member;range=0-99"}, nil))
		if err != nil || len(first.Entries) != 1 || len(first.Entries[0].Attributes) != 1 {
			t.Fatalf("ranged read: %v", err)
		}
		if name := first.Entries[0].Attributes[0].Name; name != "member;range=0-99" {
			t.Fatalf("first chunk is %q", name)
		}
		d := openT(t, adConfig())
		all, err := d.rangedValues(ctx, first.Entries[0], "member")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, m := range members {
			want[strings.ToLower(m)] = true
		}
		seen := map[string]bool{}
		for _, m := range all {
			if !want[strings.ToLower(m)] || seen[strings.ToLower(m)] {
				t.Fatalf("range retrieval returned unexpected or repeated value %q", m)
			}
			seen[strings.ToLower(m)] = true
		}
		if len(seen) != n {
			t.Fatalf("range retrieval returned %d of %d members", len(seen), n)
		}
	})
}

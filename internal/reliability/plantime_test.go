package reliability

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// oddDirectory holds the entries bad directory data is made of, each case in its own group.
func oddDirectory() string {
	long := strings.Repeat("l", 251)
	padded := base64.StdEncoding.EncodeToString([]byte(" padded"))
	var b strings.Builder
	b.WriteString(`dn: ou=contractors,dc=example,dc=com
objectClass: organizationalUnit
ou: contractors

dn: uid=alice,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: Alice
givenName: Alice
sn: Liddell
mail: alice@example.com

dn: uid=Alice,ou=contractors,dc=example,dc=com
objectClass: inetOrgPerson
uid: Alice
cn: Other Alice
sn: Contractor

dn: uid=bob,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Builder

dn: cn=Bob Two,ou=contractors,dc=example,dc=com
objectClass: inetOrgPerson
uid: bob
cn: Bob Two
sn: Two

dn: cn=long,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
cn: long
sn: Long
uid: ` + long + `

dn: cn=padded,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
cn: padded
sn: Padded
uid:: ` + padded + `

dn: cn=nouid,ou=people,dc=example,dc=com
objectClass: person
cn: nouid
sn: Nouid

dn: cn=jurgen,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
cn: jurgen
uid: jürgen.müller
givenName: Jürgen
sn: Müller
mail: juergen@example.com

dn: cn=injector,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
cn: injector
uid: *)(uid=*
givenName: Eve
sn: Injector
mail: eve@example.com

dn: cn=star,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
cn: star
uid: *
givenName: Star
sn: Wildcard
mail: star@example.com

dn: uid=nomail,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: nomail
cn: No Mail
givenName: Nora
sn: Nomail

`)
	group := func(cn string, members ...string) {
		fmt.Fprintf(&b, "dn: cn=%s,ou=groups,dc=example,dc=com\nobjectClass: groupOfNames\ncn: %s\n", cn, cn)
		for _, m := range members {
			fmt.Fprintf(&b, "member: %s\n", m)
		}
		b.WriteString("\n")
	}
	group("g-collision", "uid=alice,ou=people,dc=example,dc=com", "uid=Alice,ou=contractors,dc=example,dc=com")
	group("g-dup", "uid=bob,ou=people,dc=example,dc=com", "cn=Bob Two,ou=contractors,dc=example,dc=com")
	group("g-long", "cn=long,ou=people,dc=example,dc=com")
	group("g-padded", "cn=padded,ou=people,dc=example,dc=com")
	group("g-nouid", "uid=alice,ou=people,dc=example,dc=com", "cn=nouid,ou=people,dc=example,dc=com")
	group("g-ok", "uid=alice,ou=people,dc=example,dc=com", "cn=jurgen,ou=people,dc=example,dc=com",
		"cn=injector,ou=people,dc=example,dc=com", "cn=star,ou=people,dc=example,dc=com", "uid=nomail,ou=people,dc=example,dc=com")
	return b.String()
}

func groupOf(cn string) string { return "cn=" + cn + ",ou=groups,dc=example,dc=com" }

// TestBadDirectoryDataFailsThePlan: what the directory holds can be as wrong as what the
// configuration says. Every such plan fails, says what is wrong and where in the directory,
// and calls nothing in PingID that changes a user.
func TestBadDirectoryDataFailsThePlan(t *testing.T) {
	w := newWorld(t, worldOptions{extraLDIF: oddDirectory()})
	cases := []struct {
		name string
		cfg  map[string]any
		says string
	}{
		{"group DN is a user", conn(map[string]any{"source_location": map[string]any{"base_dn": suffix, "group_dn": "uid=alice," + peopleDN}}),
			`group_dn: "uid=alice,ou=people,dc=example,dc=com" is not a group \(objectClass: inetOrgPerson`},
		{"group DN is an OU", conn(map[string]any{"source_location": map[string]any{"base_dn": suffix, "group_dn": peopleDN}}),
			`group_dn: "ou=people,dc=example,dc=com" is not a group \(objectClass: organizationalUnit`},
		{"group DN does not exist", conn(map[string]any{"source_location": map[string]any{"base_dn": suffix, "group_dn": groupOf("nosuch")}}),
			`group_dn: .*"cn=nosuch,ou=groups,dc=example,dc=com".*no such entry`},
		{"base DN does not exist", conn(map[string]any{"source_location": map[string]any{"base_dn": "ou=nowhere," + suffix, "group_dn": groupOf("g-ok")}}),
			`base_dn: .*"ou=nowhere,dc=example,dc=com".*no such entry`},
		{"base DN does not exist, filter", conn(map[string]any{"source_location": map[string]any{"base_dn": "ou=nowhere," + suffix, "group_dn": nil, "filter": "(uid=*)"}}),
			`base_dn: .*"ou=nowhere,dc=example,dc=com".*no such entry`},
		{"group DN injecting a filter", conn(map[string]any{"source_location": map[string]any{"base_dn": suffix, "group_dn": "cn=g-ok)(cn=*,ou=groups,dc=example,dc=com"}}),
			`group_dn: .*"cn=g-ok\)\(cn=\*,ou=groups,dc=example,dc=com".*no such entry`},
		{"username over 250 characters", conn(map[string]any{"source_location": map[string]any{"base_dn": suffix, "group_dn": groupOf("g-long")}}),
			`cn=long,ou=people,dc=example,dc=com: the username is 251 characters long; PingID allows at most 250`},
		{"username with leading whitespace", conn(map[string]any{"source_location": map[string]any{"base_dn": suffix, "group_dn": groupOf("g-padded")}}),
			`cn=padded,ou=people,dc=example,dc=com: the username " padded" has leading or trailing whitespace`},
		{"usernames differing only in case", conn(map[string]any{"source_location": map[string]any{"base_dn": suffix, "group_dn": groupOf("g-collision")}}),
			`duplicate username.*(uid=alice,ou=people.*uid=Alice,ou=contractors|uid=Alice,ou=contractors.*uid=alice,ou=people)`},
		{"duplicate usernames", conn(map[string]any{"source_location": map[string]any{"base_dn": suffix, "group_dn": groupOf("g-dup")}}),
			`duplicate username.*(uid=bob,ou=people.*cn=Bob Two,ou=contractors|cn=Bob Two,ou=contractors.*uid=bob,ou=people)`},
		{"member without the username attribute", conn(map[string]any{"source_location": map[string]any{"base_dn": suffix, "group_dn": groupOf("g-nouid")}}),
			`cn=nouid,ou=people,dc=example,dc=com.*missing username attribute "uid"`},
		{"username attribute absent from a member", conn(map[string]any{"source_location": map[string]any{"base_dn": suffix, "group_dn": groupOf("g-ok")},
			"attribute_mapping": map[string]any{"username": "mail"}}),
			`uid=nomail,ou=people,dc=example,dc=com.*missing username attribute "mail"`},
	}
	s := newSession(t, newSecretScanner(t, w.secrets...))
	s.mustConfigure(w.providerConfig())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := s.planCreate(context.Background(), tc.cfg)
			errs := errorDiags(p.diags)
			re := regexp.MustCompile(tc.says)
			if len(errs) == 0 || !re.MatchString(describe(errs)) {
				t.Fatalf("want a plan error saying %q; got:\n%s", tc.says, describe(p.diags))
			}
			if !strings.Contains(describe(errs), "No user is provisioned or deprovisioned") {
				t.Errorf("the error does not say that nothing was provisioned: %s", describe(errs))
			}
		})
	}
	if n := w.mutatingCalls(); n != 0 || len(w.emu.Users()) != 0 {
		t.Errorf("failed plans changed PingID: %d mutating calls, users %v", n, w.emu.Users())
	}
	t.Logf("%d bad directory inputs, each failing its plan", len(cases))
}

// TestDirectoryDataAcceptedLiterally: unicode usernames and LDAP metacharacters in usernames
// are provisioned as themselves and never widen a directory query; a mapped attribute that an
// entry lacks keeps PingID's value (a connection never clears an attribute).
func TestDirectoryDataAcceptedLiterally(t *testing.T) {
	w := newWorld(t, worldOptions{extraLDIF: oddDirectory()})
	if err := w.emu.SeedUser(emulator.User{UserName: "nomail", Email: "kept@example.com", FirstName: "Old", Status: emulator.StatusActive,
		Devices: []emulator.Device{{Type: "iPhone"}}}); err != nil {
		t.Fatal(err)
	}
	s := newSession(t, newSecretScanner(t, w.secrets...))
	s.mustConfigure(w.providerConfig())
	ctx := context.Background()
	cfg := conn(map[string]any{
		"source_location":   map[string]any{"base_dn": suffix, "group_dn": groupOf("g-ok")},
		"attribute_mapping": map[string]any{"email": "mail", "first_name": "givenName", "last_name": "sn"},
		// Two of five members leave on purpose below: the share brake is not what this tests.
		"max_deprovisions_percent": -1,
	})
	p := s.planCreate(ctx, cfg)
	if errs := errorDiags(p.diags); len(errs) > 0 {
		t.Fatalf("plan: %s", describe(errs))
	}
	want := []string{"*", "*)(uid=*", "alice", "jürgen.müller", "nomail"}
	if got := keys(usersOf(t, p.state)); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("planned users %q, want exactly %q", got, want)
	}
	state, diags := s.apply(ctx, tftypes.Value{}, p)
	if errs := errorDiags(diags); len(errs) > 0 {
		t.Fatalf("apply: %s", describe(errs))
	}
	var inPingID []string
	for _, u := range w.emu.Users() {
		inPingID = append(inPingID, u.UserName)
	}
	sort.Strings(inPingID)
	if strings.Join(inPingID, "|") != strings.Join(want, "|") {
		t.Errorf("PingID holds %q, want %q", inPingID, want)
	}
	if u, _ := w.emu.User("nomail"); u.Email != "kept@example.com" || u.FirstName != "Nora" || u.LastName != "Nomail" {
		t.Errorf("nomail: email %q (want PingID's kept@example.com kept), names %q %q (want the directory's)", u.Email, u.FirstName, u.LastName)
	}
	if u, _ := w.emu.User("jürgen.müller"); u.FirstName != "Jürgen" || u.Email != "juergen@example.com" {
		t.Errorf("jürgen.müller: %+v", u)
	}

	// The two users with LDAP metacharacters leave the group: exactly they are deprovisioned,
	// found where they are (still in the directory: out_of_scope), and nobody else moves.
	if err := w.ldap.Apply(ctx, "dn: "+groupOf("g-ok")+"\nchangetype: modify\ndelete: member\nmember: cn=injector,ou=people,dc=example,dc=com\n"+
		"member: cn=star,ou=people,dc=example,dc=com\n-\n"); err != nil {
		t.Fatal(err)
	}
	refreshed, next := s.refreshAndPlan(ctx, p.config, state, nil)
	if errs := errorDiags(next.diags); len(errs) > 0 {
		t.Fatalf("plan after the leavers: %s", describe(errs))
	}
	before, after := usersOf(t, refreshed), usersOf(t, next.state)
	var changed []string
	for name, v := range after {
		if before[name] == v {
			continue
		}
		changed = append(changed, name)
		e, err := reconcile.ParseEntry(v)
		if err != nil {
			t.Fatal(err)
		}
		if e.Enabled || e.SourceState != reconcile.SourceOutOfScope {
			t.Errorf("%s planned as %s, want disabled and out_of_scope", name, v)
		}
	}
	sort.Strings(changed)
	if strings.Join(changed, "|") != "*|*)(uid=*" {
		t.Errorf("plan changes %q, want exactly the two leavers", changed)
	}

	// One of them is then deleted from the directory: found missing by an exact lookup.
	if err := w.ldap.Apply(ctx, "dn: cn=star,ou=people,dc=example,dc=com\nchangetype: delete\n"); err != nil {
		t.Fatal(err)
	}
	_, next = s.refreshAndPlan(ctx, p.config, state, nil)
	if errs := errorDiags(next.diags); len(errs) > 0 {
		t.Fatalf("plan after the deletion: %s", describe(errs))
	}
	states := map[string]reconcile.SourceState{}
	for name, v := range usersOf(t, next.state) {
		e, _ := reconcile.ParseEntry(v)
		states[name] = e.SourceState
	}
	if states["*"] != reconcile.SourceDeleted || states["*)(uid=*"] != reconcile.SourceOutOfScope || states["alice"] != reconcile.SourceInScope {
		t.Errorf("source states %v; want * deleted, *)(uid=* out_of_scope, the rest in_scope", states)
	}
}

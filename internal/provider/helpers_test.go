package provider

// Helpers shared by the acceptance tests of every resource and data source: the test world
// (a throwaway slapd and a PingID emulator), the companyLDIF people and directory changes, and
// checks against the emulator and the plan.

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

// testAccProtoV6ProviderFactories runs the provider in process for acceptance tests, so
// Terraform never downloads it.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"pingid": providerserver.NewProtocol6WithError(New("test")()),
}

// accEnv is one acceptance test's world: a throwaway slapd and a PingID emulator.
// (newPingIDEnv leaves LDAP nil for tests that start another directory.)
type accEnv struct {
	LDAP           *slapd.Server
	PingID         *emulator.Server
	PingIDURL      string // idp_url
	PropertiesFile string
	Properties     string
}

// companyLDIF is a small directory: three enabled users and one disabled (ppolicy) user in
// the pingid-users group, one user outside it, and an engineering group nested in it.
const companyLDIF = `dn: uid=jsmith,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: jsmith
cn: John Smith
givenName: John
sn: Smith
mail: john.smith@example.com

dn: uid=adoe,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: adoe
cn: Ann Doe
givenName: Ann
sn: Doe
mail: ann.doe@example.com

dn: uid=bwayne,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: bwayne
cn: Bruce Wayne
givenName: Bruce
sn: Wayne
mail: bruce.wayne@example.com

dn: uid=cdisabled,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: cdisabled
cn: Carl Disabled
givenName: Carl
sn: Disabled
mail: carl.disabled@example.com
pwdAccountLockedTime: 000001010000Z

dn: uid=outsider,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: outsider
cn: Olivia Outsider
givenName: Olivia
sn: Outsider
mail: olivia.outsider@example.com

dn: cn=engineering,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: engineering
member: uid=bwayne,ou=people,dc=example,dc=com

dn: cn=pingid-users,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: pingid-users
member: uid=jsmith,ou=people,dc=example,dc=com
member: uid=adoe,ou=people,dc=example,dc=com
member: uid=cdisabled,ou=people,dc=example,dc=com
member: cn=engineering,ou=groups,dc=example,dc=com
`

const (
	testBaseDN  = "ou=people,dc=example,dc=com"
	testGroupDN = "cn=pingid-users,ou=groups,dc=example,dc=com"
)

// newAccEnv starts slapd (with companyLDIF) and the emulator. It skips unless TF_ACC is set,
// so plain `go test` does not start servers it will not use.
func newAccEnv(t *testing.T) *accEnv {
	t.Helper()
	return newAccEnvWith(t, slapd.Options{})
}

// newAccEnvWith is newAccEnv with a directory configured by opts (limits, a hidden schema).
func newAccEnvWith(t *testing.T, opts slapd.Options) *accEnv {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	ldapServer := slapd.StartT(t, opts)
	if err := ldapServer.Apply(context.Background(), companyLDIF); err != nil {
		t.Fatalf("load directory fixture: %v", err)
	}
	env := newPingIDEnv(t)
	env.LDAP = ldapServer
	return env
}

// newPingIDEnv starts the emulator only, for tests that bring their own directory.
func newPingIDEnv(t *testing.T) *accEnv {
	t.Helper()
	emuOpts, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(emuOpts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	env := &accEnv{PingID: emu, PingIDURL: srv.URL + "/pingid"}
	env.Properties = emu.PropertiesFile(env.PingIDURL)
	env.PropertiesFile = filepath.Join(t.TempDir(), "pingid.properties")
	if err := os.WriteFile(env.PropertiesFile, []byte(env.Properties), 0o600); err != nil {
		t.Fatal(err)
	}
	return env
}

// providerConfig is a provider block reading the properties file and binding as the
// directory's ordinary reader account (subject to size limits, like a real service account).
func (e *accEnv) providerConfig() string {
	return fmt.Sprintf(`
provider "pingid" {
  properties_file = %q
  datastore = {
    url                 = %q
    bind_dn             = %q
    bind_password       = %q
    directory_type      = "openldap"
    allow_insecure_bind = true
  }
}
`, e.PropertiesFile, e.LDAP.URL, e.LDAP.ReaderDN, e.LDAP.ReaderPassword)
}

// apply runs LDIF changes against the directory between test steps.
func (e *accEnv) apply(t *testing.T, ldif string) {
	t.Helper()
	if err := e.LDAP.Apply(context.Background(), ldif); err != nil {
		t.Fatalf("directory change: %v", err)
	}
}

// user returns a PingID user from the emulator, failing the test when it is absent.
func (e *accEnv) user(t *testing.T, name string) emulator.User {
	t.Helper()
	u, ok := e.PingID.User(name)
	if !ok {
		t.Fatalf("PingID user %q does not exist; users: %v", name, e.usernames())
	}
	return u
}

func (e *accEnv) usernames() []string {
	var names []string
	for _, u := range e.PingID.Users() {
		names = append(names, u.UserName+"("+u.Status+")")
	}
	return names
}

// wantSameUsers checks that PingID holds exactly the users and statuses recorded in *before
// (see usernames), read when the check runs.
func (e *accEnv) wantSameUsers(before *[]string, what string) func() error {
	return func() error {
		if after := e.usernames(); !slices.Equal(*before, after) {
			return fmt.Errorf("statuses changed by %s: before %v, after %v", what, *before, after)
		}
		return nil
	}
}

const (
	engineeringDN = "cn=engineering,ou=groups,dc=example,dc=com"
	lockedForever = "000001010000Z" // ppolicy: locked by an administrator, i.e. disabled
)

// PingID statuses the tests expect.
const (
	stActive            = "ACTIVE"
	stNotActive         = "NOT_ACTIVE"
	stSuspended         = "SUSPENDED"
	stPendingActivation = "PENDING_ACTIVATION"
)

// person is a directory user with the attributes the connection maps.
type person struct{ uid, first, last, mail string }

// The companyLDIF users.
var (
	pJSmith    = person{"jsmith", "John", "Smith", "john.smith@example.com"}
	pADoe      = person{"adoe", "Ann", "Doe", "ann.doe@example.com"}
	pBWayne    = person{"bwayne", "Bruce", "Wayne", "bruce.wayne@example.com"}
	pCDisabled = person{"cdisabled", "Carl", "Disabled", "carl.disabled@example.com"}
	pOutsider  = person{"outsider", "Olivia", "Outsider", "olivia.outsider@example.com"}
)

func (p person) dn() string { return "uid=" + p.uid + "," + testBaseDN }

// entry is p's expected value in the users map.
func (p person) entry(enabled bool, status string, state reconcile.SourceState) reconcile.Entry {
	return reconcile.Entry{DN: p.dn(), Email: p.mail, FirstName: p.first, LastName: p.last, Enabled: enabled, Status: status, SourceState: state}
}

// ldif adds p to the directory; extra lines (e.g. a disabled marker) are appended.
func (p person) ldif(extra ...string) string {
	lines := []string{
		"dn: " + p.dn(), "objectClass: inetOrgPerson", "uid: " + p.uid, "cn: " + p.first + " " + p.last,
		"givenName: " + p.first, "sn: " + p.last, "mail: " + p.mail,
	}
	return strings.Join(append(lines, extra...), "\n") + "\n"
}

func modifyLDIF(dn, op, attr string, values ...string) string {
	lines := []string{"dn: " + dn, "changetype: modify", op + ": " + attr}
	for _, v := range values {
		lines = append(lines, attr+": "+v)
	}
	return strings.Join(append(lines, "-"), "\n") + "\n"
}

// join and leave change the membership of the pingid-users group.
func join(memberDN string) string  { return modifyLDIF(testGroupDN, "add", "member", memberDN) }
func leave(memberDN string) string { return modifyLDIF(testGroupDN, "delete", "member", memberDN) }
func disableLDIF(dn string) string {
	return modifyLDIF(dn, "replace", "pwdAccountLockedTime", lockedForever)
}
func enableLDIF(dn string) string { return modifyLDIF(dn, "delete", "pwdAccountLockedTime") }
func replaceLDIF(dn, attr, value string) string {
	return modifyLDIF(dn, "replace", attr, value)
}
func deleteLDIF(dn string) string { return "dn: " + dn + "\nchangetype: delete\n" }

// pre returns a PreConfig that resets the emulator's call counters and then changes the
// directory, so a step's Check sees only the calls its apply made.
func (e *accEnv) pre(t *testing.T, ldif ...string) func() {
	return func() {
		e.PingID.ResetCalls()
		for _, l := range ldif {
			e.apply(t, l)
		}
	}
}

// seed adds PingID users out of band.
func (e *accEnv) seed(t *testing.T, users ...emulator.User) {
	t.Helper()
	for _, u := range users {
		if err := e.PingID.SeedUser(u); err != nil {
			t.Fatalf("seed %s: %v", u.UserName, err)
		}
	}
}

// activeJSmith is jsmith as an earlier provisioner left him: enrolled, with a phone, and
// first name and email that differ from the directory.
func activeJSmith() emulator.User {
	return emulator.User{
		UserName: "jsmith", FirstName: "Johnny", LastName: "Smith", Email: "old@example.com", Role: "REGULAR", Status: stActive,
		Devices: []emulator.Device{{Type: "iPhone", Nickname: "phone"}},
	}
}

// checks runs every check and joins the failures.
func checks(fns ...func() error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var errs []string
		for _, fn := range fns {
			if err := fn(); err != nil {
				errs = append(errs, err.Error())
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("%s", strings.Join(errs, "\n"))
		}
		return nil
	}
}

// wantUser checks a PingID user in the emulator.
func (e *accEnv) wantUser(name string, check func(u emulator.User) error) func() error {
	return func() error {
		u, ok := e.PingID.User(name)
		if !ok {
			return fmt.Errorf("PingID user %q does not exist; users: %v", name, e.usernames())
		}
		if err := check(u); err != nil {
			return fmt.Errorf("PingID user %q: %w (user: %+v)", name, err, u)
		}
		return nil
	}
}

// wantStatus checks a PingID user's status.
func (e *accEnv) wantStatus(name, status string) func() error {
	return e.wantUser(name, func(u emulator.User) error {
		if u.Status != status {
			return fmt.Errorf("status %s, want %s", u.Status, status)
		}
		return nil
	})
}

// wantProfile checks a PingID user's mapped fields, status, role and device count.
func (e *accEnv) wantProfile(name, email, first, last, status string, devices int) func() error {
	return e.wantUser(name, func(u emulator.User) error {
		if u.Email != email || u.FirstName != first || u.LastName != last || u.Status != status || u.Role != "REGULAR" || len(u.Devices) != devices {
			return fmt.Errorf("want email %q, first %q, last %q, status %s, role REGULAR, %d devices", email, first, last, status, devices)
		}
		return nil
	})
}

func (e *accEnv) wantAbsent(name string) func() error {
	return func() error {
		if u, ok := e.PingID.User(name); ok {
			return fmt.Errorf("PingID user %q should not exist: %+v", name, u)
		}
		return nil
	}
}

// wantUsernames checks the exact set of PingID usernames (with their spelling).
func (e *accEnv) wantUsernames(names ...string) func() error {
	return func() error {
		var got []string
		for _, u := range e.PingID.Users() {
			got = append(got, u.UserName)
		}
		slices.Sort(got)
		slices.Sort(names)
		if !slices.Equal(got, names) {
			return fmt.Errorf("PingID users %v, want %v", got, names)
		}
		return nil
	}
}

// writeOps are the PingID operations that change something.
var writeOps = []string{"adduser", "edituser", "suspenduser", "activateuser", "deleteuser", "offlinepairing", "updatedeviceattr", "unpairdevice"}

// wantWrites checks the number of write calls since the last ResetCalls: every write
// operation not named in want must not have been called.
func (e *accEnv) wantWrites(want map[string]int64) func() error {
	return func() error {
		calls := e.PingID.Calls()
		var diffs []string
		for _, op := range writeOps {
			if calls[op] != want[op] {
				diffs = append(diffs, fmt.Sprintf("%s: %d calls, want %d", op, calls[op], want[op]))
			}
		}
		if len(diffs) > 0 {
			return fmt.Errorf("PingID write calls: %s", strings.Join(diffs, "; "))
		}
		return nil
	}
}

// preApply runs plan checks before apply.
func preApply(checks ...plancheck.PlanCheck) resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{PreApply: checks}
}

// words matches text that Terraform may have wrapped across lines.
func words(text string) *regexp.Regexp {
	parts := strings.Fields(text)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(strings.Join(parts, `\s+`))
}

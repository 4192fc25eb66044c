package reliability

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

const (
	suffix   = slapd.DefaultSuffix
	peopleDN = "ou=people," + suffix
	groupsDN = "ou=groups," + suffix
	// groupDN is the provisioned group of every generated directory.
	groupDN = "cn=pingid-users," + groupsDN
	// lockedTime is the ppolicy administrative lock that marks a disabled OpenLDAP account.
	lockedTime = "000001010000Z"
)

// providerEnv lists every environment variable the provider reads; tests clear them so the
// machine's environment cannot leak into a case.
var providerEnv = []string{
	"PINGID_PROPERTIES_FILE", "PINGID_PROPERTIES", "PINGID_ORG_ALIAS", "PINGID_TOKEN", "PINGID_USE_BASE64_KEY",
	"PINGID_IDP_URL", "PINGID_MAX_CONCURRENCY", "PINGID_MAX_RETRIES", "PINGID_REQUEST_TIMEOUT",
	"PINGID_LDAP_URL", "PINGID_LDAP_BIND_DN", "PINGID_LDAP_BIND_PASSWORD", "PINGID_LDAP_DIRECTORY_TYPE",
	"PINGID_LDAP_START_TLS", "PINGID_LDAP_CA_CERTIFICATE", "PINGID_LDAP_INSECURE_SKIP_VERIFY",
	"PINGID_LDAP_ALLOW_INSECURE_BIND", "PINGID_LDAP_PAGE_SIZE", "PINGID_LDAP_TIMEOUT",
}

func clearProviderEnv(t *testing.T) {
	t.Helper()
	for _, name := range providerEnv {
		t.Setenv(name, "")
	}
}

// requireTerraform skips tests that run Terraform unless TF_ACC is set, like plugin-testing.
func requireTerraform(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("runs Terraform: set TF_ACC=1 (and TF_ACC_TERRAFORM_PATH)")
	}
}

// directory describes generated users: u00000… under ou=people; the first members are in
// cn=pingid-users; every disabledEvery-th member is locked (disabled).
type directory struct {
	users, members, disabledEvery int
}

// dirUser is a generated user's name; userDN its DN.
func dirUser(i int) string { return slapd.UserName("u", i) }
func userDN(i int) string  { return slapd.UserDN(suffix, "u", i) }

func (d directory) disabled(i int) bool {
	return d.disabledEvery > 0 && i%d.disabledEvery == d.disabledEvery-1
}

// ldif renders the users for slapadd (fast; ppolicy's lock attribute loads as data).
func (d directory) ldif() string {
	var b strings.Builder
	for i := range d.users {
		name := dirUser(i)
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: User %s\ngivenName: Given%d\nsn: Family%d\nmail: %s@example.com\n",
			userDN(i), name, name, i, i, name)
		if d.disabled(i) {
			fmt.Fprintf(&b, "pwdAccountLockedTime: %s\n", lockedTime)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// world is one test's directory and PingID tenant.
type world struct {
	ldap           *slapd.Server
	emu            *emulator.Server
	http           *httptest.Server
	idpURL         string
	propertiesFile string
	secrets        []string
}

type worldOptions struct {
	slapd slapd.Options
	dir   directory
	// extraLDIF is applied online after the group (referrals, odd entries…).
	extraLDIF string
	// tlsPingID serves the emulator over HTTPS with httptest's self-signed certificate.
	tlsPingID bool
	// wrap, when set, sits in front of the emulator.
	wrap func(http.Handler) http.Handler
}

func newWorld(t *testing.T, opts worldOptions) *world {
	t.Helper()
	clearProviderEnv(t)
	if opts.dir.users > 0 {
		path := filepath.Join(t.TempDir(), "users.ldif")
		if err := os.WriteFile(path, []byte(opts.dir.ldif()), 0o600); err != nil {
			t.Fatal(err)
		}
		opts.slapd.BulkLDIF = append(opts.slapd.BulkLDIF, path)
	}
	w := &world{ldap: slapd.StartT(t, opts.slapd)}
	ctx := context.Background()
	if opts.dir.members > 0 {
		members := make([]string, opts.dir.members)
		for i := range members {
			members[i] = userDN(i)
		}
		if err := w.ldap.Apply(ctx, slapd.GroupLDIF(groupDN, members)); err != nil {
			t.Fatalf("add group: %v", err)
		}
	}
	if opts.extraLDIF != "" {
		if err := w.ldap.Apply(ctx, opts.extraLDIF); err != nil {
			t.Fatalf("extra LDIF: %v", err)
		}
	}
	w.startPingID(t, opts)
	return w
}

func (w *world) startPingID(t *testing.T, opts worldOptions) {
	t.Helper()
	gen, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	w.emu, err = emulator.New(gen)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = w.emu
	if opts.wrap != nil {
		h = opts.wrap(w.emu)
	}
	if opts.tlsPingID {
		w.http = httptest.NewUnstartedServer(h)
		// Refused handshakes are the point of such tests; keep them out of the output.
		w.http.Config.ErrorLog = log.New(io.Discard, "", 0)
		w.http.StartTLS()
	} else {
		w.http = httptest.NewServer(h)
	}
	t.Cleanup(w.http.Close)
	w.idpURL = w.http.URL + "/pingid"
	w.propertiesFile = filepath.Join(t.TempDir(), "pingid.properties")
	if err := os.WriteFile(w.propertiesFile, []byte(w.emu.PropertiesFile(w.idpURL)), 0o600); err != nil {
		t.Fatal(err)
	}
	o := w.emu.Options()
	w.secrets = []string{o.Token, o.Base64Key, strings.TrimRight(o.Base64Key, "="), w.ldap.ReaderPassword, w.ldap.AdminPassword}
}

// providerConfig is the provider block (for protocol sessions) reading the properties file and
// binding as the directory's ordinary reader account, subject to its limits.
func (w *world) providerConfig() map[string]any {
	return map[string]any{
		"properties_file": w.propertiesFile,
		"datastore": map[string]any{
			"url": w.ldap.URL, "bind_dn": w.ldap.ReaderDN, "bind_password": w.ldap.ReaderPassword,
			"directory_type": "openldap", "allow_insecure_bind": true,
		},
	}
}

// providerConfigPasswordFromEnv is providerConfig with the bind password taken from
// PINGID_LDAP_BIND_PASSWORD, so no secret appears in the HCL (which plugin-testing logs).
func (w *world) providerConfigPasswordFromEnv(t *testing.T) map[string]any {
	t.Helper()
	t.Setenv("PINGID_LDAP_BIND_PASSWORD", w.ldap.ReaderPassword)
	cfg := w.providerConfig()
	if ds, ok := cfg["datastore"].(map[string]any); ok {
		delete(ds, "bind_password")
	}
	return cfg
}

// hcl renders a configuration map as HCL attribute assignments (objects as `{ … }`).
func hcl(m map[string]any, indent string) string {
	var b strings.Builder
	for _, k := range keys(m) {
		switch v := m[k].(type) {
		case nil:
		case string:
			fmt.Fprintf(&b, "%s%s = %q\n", indent, k, v)
		case int, bool:
			fmt.Fprintf(&b, "%s%s = %v\n", indent, k, v)
		case []string:
			quoted := make([]string, len(v))
			for i, s := range v {
				quoted[i] = fmt.Sprintf("%q", s)
			}
			fmt.Fprintf(&b, "%s%s = [%s]\n", indent, k, strings.Join(quoted, ", "))
		case map[string]any:
			fmt.Fprintf(&b, "%s%s = {\n%s%s}\n", indent, k, hcl(v, indent+"  "), indent)
		default:
			panic(fmt.Sprintf("hcl: unsupported %T", v))
		}
	}
	return b.String()
}

// connection is a pingid_provisioning_connection configuration over the generated group.
func connection(overrides map[string]any) map[string]any {
	cfg := map[string]any{
		"name": "corp",
		"source_location": map[string]any{
			"base_dn":  peopleDN,
			"group_dn": groupDN,
		},
		"attribute_mapping": map[string]any{
			"username": "uid", "email": "mail", "first_name": "givenName", "last_name": "sn",
		},
		// Both brakes off: these tests deprovision whole groups on purpose; the scenarios about
		// a brake turn that one back on.
		"max_deprovisions":         -1,
		"max_deprovisions_percent": -1,
	}
	for k, v := range overrides {
		cfg[k] = v
	}
	return cfg
}

// terraformConfig renders a provider block and one connection resource named "corp".
func terraformConfig(providerCfg, conn map[string]any) string {
	return "provider \"pingid\" {\n" + hcl(providerCfg, "  ") + "}\n\n" +
		"resource \"pingid_provisioning_connection\" \"corp\" {\n" + hcl(conn, "  ") + "}\n"
}

// directoryUser is what the directory says about one member of the provisioned group.
type directoryUser struct {
	username, email, firstName, lastName string
	disabled                             bool
}

// groupMembers reads the provisioned group and its members as the rootdn (no limits apply).
func (w *world) groupMembers(t *testing.T) map[string]directoryUser {
	t.Helper()
	conn, err := w.ldap.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(groupDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"member"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read group: %v", err)
	}
	out := map[string]directoryUser{}
	for _, dn := range res.Entries[0].GetAttributeValues("member") {
		r, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"uid", "mail", "givenName", "sn", "pwdAccountLockedTime"}, nil))
		if err != nil || len(r.Entries) != 1 {
			t.Fatalf("read member %s: %v", dn, err)
		}
		e := r.Entries[0]
		u := directoryUser{
			username: e.GetAttributeValue("uid"), email: e.GetAttributeValue("mail"),
			firstName: e.GetAttributeValue("givenName"), lastName: e.GetAttributeValue("sn"),
			disabled: e.GetAttributeValue("pwdAccountLockedTime") == lockedTime,
		}
		out[strings.ToLower(u.username)] = u
	}
	return out
}

// pingIDMatchesDirectory compares the emulator's users with the directory group: the same
// usernames, SUSPENDED exactly for disabled members, and the mapped attributes equal. ignore
// names PingID users that are not provisioned by the connection (probes, seeded users).
func (w *world) pingIDMatchesDirectory(t *testing.T, ignore ...string) {
	t.Helper()
	want := w.groupMembers(t)
	skip := map[string]bool{}
	for _, n := range ignore {
		skip[strings.ToLower(n)] = true
	}
	var problems []string
	seen := map[string]bool{}
	for _, u := range w.emu.Users() {
		key := strings.ToLower(u.UserName)
		if skip[key] {
			continue
		}
		seen[key] = true
		d, ok := want[key]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s is in PingID but not in the group", u.UserName))
		case d.disabled != (u.Status == emulator.StatusSuspended):
			problems = append(problems, fmt.Sprintf("%s: directory disabled=%v, PingID status %s", u.UserName, d.disabled, u.Status))
		case d.email != u.Email || d.firstName != u.FirstName || d.lastName != u.LastName:
			problems = append(problems, fmt.Sprintf("%s: directory %s/%s/%s, PingID %s/%s/%s", u.UserName,
				d.email, d.firstName, d.lastName, u.Email, u.FirstName, u.LastName))
		}
	}
	for key, d := range want {
		if !seen[key] {
			problems = append(problems, fmt.Sprintf("%s is in the group but not in PingID", d.username))
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		if len(problems) > 20 {
			problems = append(problems[:20], fmt.Sprintf("and %d more", len(problems)-20))
		}
		t.Errorf("PingID does not match the directory (%d users in the group):\n%s", len(want), strings.Join(problems, "\n"))
	}
}

// seedID seeds a user out of band and returns the id the emulator gave it: ids are sequential
// over adduser and seeding, so two probes bound how many users adduser created in between.
func (w *world) seedID(t *testing.T, name string) int64 {
	t.Helper()
	if err := w.emu.SeedUser(emulator.User{UserName: name}); err != nil {
		t.Fatal(err)
	}
	u, _ := w.emu.User(name)
	return u.ID
}

// mutatingCalls is how many state-changing API requests the emulator has received.
func (w *world) mutatingCalls() int64 {
	calls := w.emu.Calls()
	return calls[emulator.OpAddUser] + calls[emulator.OpEditUser] + calls[emulator.OpDeleteUser] +
		calls[emulator.OpSuspendUser] + calls[emulator.OpActivateUser]
}

package provider

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

// testAccProtoV6ProviderFactories runs the provider in-process for acceptance tests, so
// Terraform never downloads it.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"pingid": providerserver.NewProtocol6WithError(New("test")()),
}

// accEnv is one acceptance test's world: a throwaway slapd and a PingID emulator.
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
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	ldapServer := slapd.StartT(t, slapd.Options{})
	if err := ldapServer.Apply(context.Background(), companyLDIF); err != nil {
		t.Fatalf("load directory fixture: %v", err)
	}
	opts, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	env := &accEnv{LDAP: ldapServer, PingID: emu, PingIDURL: srv.URL + "/pingid"}
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

func TestProviderSchemaIsValid(t *testing.T) {
	// The framework validates the whole schema (descriptions, defaults on computed
	// attributes, nested types) when it is served; GetProviderSchema surfaces any mistake.
	server, err := testAccProtoV6ProviderFactories["pingid"]()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			t.Errorf("schema error: %s: %s", d.Summary, d.Detail)
		}
	}
	for _, name := range []string{"pingid_mapped_user", "pingid_provisioning_connection"} {
		if _, ok := resp.ResourceSchemas[name]; !ok {
			t.Errorf("resource %s missing", name)
		}
	}
	if _, ok := resp.DataSourceSchemas["pingid_datastore_group"]; !ok {
		t.Error("data source pingid_datastore_group missing")
	}
	sensitive := map[string]bool{}
	for _, a := range resp.Provider.Block.Attributes {
		sensitive[a.Name] = a.Sensitive
	}
	for _, name := range []string{"properties", "token", "use_base64_key"} {
		if !sensitive[name] {
			t.Errorf("provider attribute %s must be Sensitive", name)
		}
	}
	for _, a := range resp.Provider.Block.Attributes {
		if a.Name != "datastore" {
			continue
		}
		for _, na := range a.NestedType.Attributes {
			if na.Name == "bind_password" && !na.Sensitive {
				t.Error("datastore.bind_password must be Sensitive")
			}
		}
	}
}

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

// testedCLIs are the CLIs the suite runs against, by the name their `version` command prints:
// the version each is tested at, and the registry host that CLI resolves the configuration's
// `pingid-provisioner/pingid` source to, which dev_overrides must name exactly.
var testedCLIs = map[string]struct{ version, registryHost string }{
	"Terraform": {version: "1.5.7", registryHost: "registry.terraform.io"},
	"OpenTofu":  {version: "1.12.6", registryHost: "registry.opentofu.org"},
}

const (
	providerSource = "pingid-provisioner/pingid"
	// terraformTimeout bounds one terraform command; a hung command fails the test instead of
	// the whole package timing out.
	terraformTimeout = 3 * time.Minute
)

// binaries is what TestMain prepares once per package run: the provider built from this
// repository and the CLI (Terraform or OpenTofu) to drive it. A package variable because
// TestMain is the only place a per-run build can be shared between tests.
var binaries struct {
	providerDir string // contains terraform-provider-pingid
	terraform   string // the CLI's path
	cli         cliUnderTest
}

// cliUnderTest is what the tests need to know about the CLI they drive.
type cliUnderTest struct {
	// name is how the CLI calls itself: "Terraform" or "OpenTofu" (e.g. "changed outside of
	// OpenTofu").
	name string
	// providerAddress is the provider's full address as the CLI resolves it.
	providerAddress string
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Getenv("TF_ACC") == "" {
		return m.Run() // every test skips
	}
	terraform, cli, err := findCLI()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "pingid-e2e-provider-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := buildProvider(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	binaries.providerDir, binaries.terraform, binaries.cli = dir, terraform, cli
	return m.Run()
}

// findCLI returns TF_ACC_TERRAFORM_PATH after checking it is one of testedCLIs at its tested
// version (the tests must never run whatever terraform happens to be on PATH), and the
// name and the provider's address as that CLI resolves it.
func findCLI() (path string, cli cliUnderTest, err error) {
	path = os.Getenv("TF_ACC_TERRAFORM_PATH")
	if path == "" {
		return "", cli, errors.New("TF_ACC_TERRAFORM_PATH is not set; run the tests with `make testacc` (bin/terraform) or `make test-tofu` (bin/tofu)")
	}
	// `version -json` says "terraform_version" for both CLIs; the first line of the text output
	// names the CLI: "Terraform v1.5.7", "OpenTofu v1.12.6". An empty CLI configuration, because
	// OpenTofu prints a warning ahead of it when TF_CLI_CONFIG_FILE names a missing file.
	cmd := exec.CommandContext(context.Background(), path, "version")
	cmd.Env = append(cleanEnv(), "TF_CLI_CONFIG_FILE="+os.DevNull, "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	if err != nil {
		return "", cli, fmt.Errorf("%s version: %w", path, err)
	}
	firstLine, _, _ := strings.Cut(string(out), "\n")
	name, version, _ := strings.Cut(strings.TrimSpace(firstLine), " v")
	tested, ok := testedCLIs[name]
	if !ok || version != tested.version {
		return "", cli, fmt.Errorf("%s reports %q; the suite runs Terraform v%s or OpenTofu v%s",
			path, firstLine, testedCLIs["Terraform"].version, testedCLIs["OpenTofu"].version)
	}
	return path, cliUnderTest{name: name, providerAddress: tested.registryHost + "/" + providerSource}, nil
}

// buildProvider builds the provider binary into dir, as the CLI expects to find it through
// dev_overrides.
func buildProvider(dir string) error {
	gomod, err := exec.CommandContext(context.Background(), "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd := exec.CommandContext(context.Background(), "go", "build", "-ldflags", "-X main.version=e2e", "-o", filepath.Join(dir, "terraform-provider-pingid"), ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the provider: %w\n%s", err, out)
	}
	return nil
}

// requireTerraform skips without TF_ACC; TestMain has failed the run already when TF_ACC is set
// but Terraform or the provider build is missing.
func requireTerraform(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("end-to-end test: set TF_ACC=1 (and TF_ACC_TERRAFORM_PATH), e.g. make testacc")
	}
}

// directoryLDIF is the e2e company: alice, bob and carol in pingid-users; dave and erin outside
// it (tests move them in); frank in contractors; grace in no group.
const directoryLDIF = `dn: uid=alice,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: Alice Adams
givenName: Alice
sn: Adams
mail: alice@example.com

dn: uid=bob,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: bob
cn: Bob Brown
givenName: Bob
sn: Brown
mail: bob@example.com

dn: uid=carol,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: carol
cn: Carol Clark
givenName: Carol
sn: Clark
mail: carol@example.com

dn: uid=dave,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: dave
cn: Dave Davis
givenName: Dave
sn: Davis
mail: dave@example.com

dn: uid=erin,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: erin
cn: Erin Evans
givenName: Erin
sn: Evans
mail: erin@example.com

dn: uid=frank,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: frank
cn: Frank Fischer
givenName: Frank
sn: Fischer
mail: frank@partners.example.net

dn: uid=grace,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: grace
cn: Grace Green
givenName: Grace
sn: Green
mail: grace@partners.example.net

dn: cn=pingid-users,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: pingid-users
member: uid=alice,ou=people,dc=example,dc=com
member: uid=bob,ou=people,dc=example,dc=com
member: uid=carol,ou=people,dc=example,dc=com

dn: cn=contractors,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: contractors
member: uid=frank,ou=people,dc=example,dc=com
`

const (
	baseDN        = "ou=people,dc=example,dc=com"
	pingIDUsersDN = "cn=pingid-users,ou=groups,dc=example,dc=com"
	contractorsDN = "cn=contractors,ou=groups,dc=example,dc=com"
)

// world is one test's directory, PingID tenant and Terraform working directory.
type world struct {
	ldap       *slapd.Server
	pingID     *emulator.Server
	creds      emulator.Options // the tenant's org alias, token and key
	idpURL     string
	properties string // pingid.properties content (contains secrets)
	dir        string // Terraform working directory
	cliConfig  string
}

type worldOptions struct {
	tls bool // slapd also serves ldaps:// and StartTLS
}

func newWorld(t *testing.T, opts worldOptions) *world {
	t.Helper()
	requireTerraform(t)
	// A distinctive bind password, so finding it in a log cannot be a coincidence.
	ldapServer := slapd.StartT(t, slapd.Options{ReaderPassword: "bind-" + randomHex(t, 12), TLS: opts.tls})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ldapServer.Apply(ctx, directoryLDIF); err != nil {
		t.Fatalf("load the directory: %v", err)
	}
	creds, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(creds)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)

	w := &world{ldap: ldapServer, pingID: emu, creds: creds, idpURL: srv.URL + "/pingid", dir: t.TempDir()}
	w.properties = emu.PropertiesFile(w.idpURL)

	// dev_overrides loads the provider built by TestMain without `terraform init`; the only
	// installation method is an empty mirror, so nothing can ever be fetched.
	configDir := t.TempDir()
	mirror := filepath.Join(configDir, "empty-mirror")
	if err := os.Mkdir(mirror, 0o755); err != nil {
		t.Fatal(err)
	}
	w.cliConfig = filepath.Join(configDir, "terraform.tfrc")
	w.writeFile(t, w.cliConfig, fmt.Sprintf(`disable_checkpoint = true
provider_installation {
  dev_overrides {
    %q = %q
  }
  filesystem_mirror {
    path = %q
  }
}
`, binaries.cli.providerAddress, binaries.providerDir, mirror))
	return w
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func (w *world) writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeConfig replaces the working directory's configuration (after the terraform block that
// names the provider's source).
func (w *world) writeConfig(t *testing.T, hcl string) {
	t.Helper()
	w.writeFile(t, filepath.Join(w.dir, "main.tf"), terraformBlock+hcl)
}

const terraformBlock = `terraform {
  required_providers {
    pingid = {
      source = "` + providerSource + `"
    }
  }
}

`

// changeDirectory applies LDIF change records as the directory's administrator.
func (w *world) changeDirectory(t *testing.T, ldif string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.ldap.Apply(ctx, ldif); err != nil {
		t.Fatalf("directory change: %v", err)
	}
}

// result is one terraform command's outcome.
type result struct {
	args           []string
	stdout, stderr string
	exitCode       int
}

func (r result) String() string {
	return fmt.Sprintf("terraform %s: exit %d\n--- stdout\n%s\n--- stderr\n%s", strings.Join(r.args, " "), r.exitCode, r.stdout, r.stderr)
}

// terraform runs bin/terraform in the working directory with only the environment the test
// chooses: the caller's PINGID_* and TF_* variables never leak in. extraEnv is KEY=VALUE.
func (w *world) terraform(t *testing.T, extraEnv []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), terraformTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binaries.terraform, append([]string{"-chdir=" + w.dir}, args...)...)
	cmd.Env = append(cleanEnv(),
		"TF_CLI_CONFIG_FILE="+w.cliConfig,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		res.exitCode = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("terraform %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("terraform %s did not finish within %s\n%s", strings.Join(args, " "), terraformTimeout, res)
	}
	return res
}

// mustTerraform runs terraform and fails the test unless it exits 0.
func (w *world) mustTerraform(t *testing.T, extraEnv []string, args ...string) result {
	t.Helper()
	res := w.terraform(t, extraEnv, args...)
	if res.exitCode != 0 {
		t.Fatalf("%s", res)
	}
	return res
}

// cleanEnv is the test process's environment without PINGID_*, TF_* and CHECKPOINT_*
// variables, so a developer's shell cannot change what a test configures.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PINGID_") || strings.HasPrefix(name, "TF_") || strings.HasPrefix(name, "CHECKPOINT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// user returns a PingID user, failing the test when it does not exist.
func (w *world) user(t *testing.T, name string) emulator.User {
	t.Helper()
	u, ok := w.pingID.User(name)
	if !ok {
		t.Fatalf("PingID user %q does not exist; users: %s", name, w.usernames())
	}
	return u
}

func (w *world) usernames() string {
	var names []string
	for _, u := range w.pingID.Users() {
		names = append(names, u.UserName+"("+u.Status+")")
	}
	return "[" + strings.Join(names, " ") + "]"
}

// datastoreHCL is the datastore block binding as the directory's reader over plain ldap://.
func (w *world) datastoreHCL(bindPassword string) string {
	return fmt.Sprintf(`  datastore = {
    url                 = %q
    bind_dn             = %q
    bind_password       = %q
    directory_type      = "openldap"
    allow_insecure_bind = true
  }
`, w.ldap.URL, w.ldap.ReaderDN, bindPassword)
}

// connectionHCL is a provisioning connection over pingid-users.
const connectionHCL = `
resource "pingid_provisioning_connection" "corp" {
  name = "corp"
  source_location = {
    base_dn  = "` + baseDN + `"
    group_dn = "` + pingIDUsersDN + `"
  }
  attribute_mapping = {
    username   = "uid"
    email      = "mail"
    first_name = "givenName"
    last_name  = "sn"
  }
}
`

// contractorsHCL is the for_each pattern over the contractors group.
const contractorsHCL = `
data "pingid_datastore_group" "contractors" {
  base_dn    = "` + baseDN + `"
  group_dn   = "` + contractorsDN + `"
  attributes = ["mail", "givenName", "sn"]
}

resource "pingid_mapped_user" "contractor" {
  for_each   = data.pingid_datastore_group.contractors.members
  username   = each.key
  email      = each.value.attributes.mail
  first_name = each.value.attributes.givenName
  last_name  = each.value.attributes.sn
  enabled    = each.value.enabled
}
`

// plannedUsers reads a saved plan with `terraform show -json` and returns the connection's
// planned users map (decoded) and the planned actions per resource address.
func (w *world) plannedUsers(t *testing.T, planFile string) (map[string]map[string]any, map[string][]string) {
	t.Helper()
	res := w.mustTerraform(t, nil, "show", "-json", planFile)
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions []string `json:"actions"`
				After   struct {
					Users map[string]string `json:"users"`
				} `json:"after"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &plan); err != nil {
		t.Fatalf("parse terraform show -json: %v", err)
	}
	users := map[string]map[string]any{}
	actions := map[string][]string{}
	for _, rc := range plan.ResourceChanges {
		actions[rc.Address] = rc.Change.Actions
		if rc.Address != "pingid_provisioning_connection.corp" {
			continue
		}
		for name, raw := range rc.Change.After.Users {
			var entry map[string]any
			if err := json.Unmarshal([]byte(raw), &entry); err != nil {
				t.Fatalf("planned user %q: %v", name, err)
			}
			users[name] = entry
		}
	}
	return users, actions
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/planreport"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/provider"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

// updatePlanFixtures rewrites the committed plan JSON that the pingid-plan-report golden tests
// read: go test ./internal/e2e -run TestPlanReportFixtures -update (with TF_ACC=1).
var updatePlanFixtures = flag.Bool("update", false, "rewrite internal/planreport/testdata/plans from real plans")

// planFixtureDir is where the fixtures of one CLI live, relative to this package.
func planFixtureDir(cli string) string {
	return filepath.Join("..", "planreport", "testdata", "plans", cli)
}

// fixedTimestamp replaces the plan's creation time, the only part of a plan that differs
// between two runs of the same scenario.
const fixedTimestamp = "2026-01-01T00:00:00Z"

// reviewLDIF adds the people and groups of the review scenario to the e2e company: henry
// (suspended in PingID before the first plan), ivan, mallory, and the staff group that
// pingid_mapped_user manages (judy, ken; liam joins later).
const reviewLDIF = `dn: uid=henry,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: henry
cn: Henry Hill
givenName: Henry
sn: Hill
mail: henry@example.com

dn: uid=ivan,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: ivan
cn: Ivan Ivanov
givenName: Ivan
sn: Ivanov
mail: ivan@example.com

dn: uid=mallory,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: mallory
cn: Mallory Moore
givenName: Mallory
sn: Moore
mail: mallory@example.com

dn: uid=judy,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: judy
cn: Judy Jones
givenName: Judy
sn: Jones
mail: judy@example.com

dn: uid=ken,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: ken
cn: Ken King
givenName: Ken
sn: King
mail: ken@example.com

dn: uid=liam,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: liam
cn: Liam Lee
givenName: Liam
sn: Lee
mail: liam@example.com

dn: cn=staff,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: staff
member: uid=judy,ou=people,dc=example,dc=com
member: uid=ken,ou=people,dc=example,dc=com
`

const staffDN = "cn=staff,ou=groups,dc=example,dc=com"

// reviewHCL: corp (disable on removal, on_destroy = deprovision, brakes of 5 users and 50 %), partners
// (remove_user_action = delete) and pingid_mapped_user for_each over staff.
const reviewHCL = `provider "pingid" {}

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
  max_deprovisions         = 5
  max_deprovisions_percent = 50
  on_destroy               = "deprovision"
}

resource "pingid_provisioning_connection" "partners" {
  name = "partners"
  source_location = {
    base_dn  = "` + baseDN + `"
    group_dn = "` + contractorsDN + `"
  }
  attribute_mapping = {
    username = "uid"
    email    = "mail"
  }
  remove_user_action = "delete"
}

data "pingid_datastore_group" "staff" {
  base_dn    = "` + baseDN + `"
  group_dn   = "` + staffDN + `"
  attributes = ["mail", "givenName", "sn"]
}

resource "pingid_mapped_user" "staff" {
  for_each   = data.pingid_datastore_group.staff.members
  username   = each.key
  email      = each.value.attributes.mail
  first_name = each.value.attributes.givenName
  last_name  = each.value.attributes.sn
  enabled    = each.value.enabled
}
`

// fixtureEnv configures the provider from the environment only, so the plan's configuration
// holds no credentials and no (random) ports.
func (w *world) fixtureEnv() []string {
	return []string{
		"PINGID_PROPERTIES=" + w.properties,
		"PINGID_LDAP_URL=" + w.ldap.URL,
		"PINGID_LDAP_BIND_DN=" + w.ldap.ReaderDN,
		"PINGID_LDAP_BIND_PASSWORD=" + w.ldap.ReaderPassword,
		"PINGID_LDAP_DIRECTORY_TYPE=openldap",
		"PINGID_LDAP_ALLOW_INSECURE_BIND=true",
	}
}

// planFixture runs `terraform plan` (extra args such as -destroy) into a saved plan and returns
// its `terraform show -json`, normalised.
func (w *world) planFixture(t *testing.T, name string, extra ...string) []byte {
	t.Helper()
	env := w.fixtureEnv()
	args := append([]string{"plan", "-no-color", "-input=false", "-out=" + name + ".tfplan"}, extra...)
	w.mustTerraform(t, env, args...)
	res := w.mustTerraform(t, env, "show", "-json", name+".tfplan")
	return normalisePlanJSON(t, []byte(res.stdout))
}

// normalisePlanJSON fixes the timestamp and indents the plan, so fixtures are stable and a diff
// of a refreshed fixture is readable. Numbers are kept as written.
func normalisePlanJSON(t *testing.T, raw []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var plan map[string]any
	if err := dec.Decode(&plan); err != nil {
		t.Fatalf("terraform show -json: %v", err)
	}
	if _, ok := plan["timestamp"]; ok {
		plan["timestamp"] = fixedTimestamp
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(plan); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPlanReportFixtures produces the plans that pingid-plan-report's golden tests read, from
// real runs of bin/terraform against slapd and the emulator. Without -update it checks that the
// committed fixtures still say what the current provider plans: the report of each fresh plan
// must equal the report of its committed copy.
func TestPlanReportFixtures(t *testing.T) {
	requireTerraform(t)
	cli := cliFixtureName(t)
	plans := map[string][]byte{}

	t.Run("review", func(t *testing.T) {
		w := newWorld(t, worldOptions{})
		w.changeDirectory(t, reviewLDIF)
		w.changeDirectory(t, `dn: `+pingIDUsersDN+`
changetype: modify
add: member
member: uid=henry,`+baseDN+`
member: uid=ivan,`+baseDN+`
member: uid=mallory,`+baseDN+`
`)
		// Already in PingID before the connection exists: henry (suspended) is linked by the
		// first plan, erin (active, another email) by the second.
		for _, u := range []emulator.User{
			{UserName: "henry", FirstName: "Henry", LastName: "Hill", Email: "henry@example.com", Status: emulator.StatusSuspended},
			{UserName: "erin", FirstName: "Erin", LastName: "Evans", Email: "erin.evans@old.example.com", Status: emulator.StatusActive},
		} {
			if err := w.pingID.SeedUser(u); err != nil {
				t.Fatal(err)
			}
		}
		w.writeConfig(t, reviewHCL)
		plans["initial"] = w.planFixture(t, "initial")
		w.mustTerraform(t, w.fixtureEnv(), "apply", "-no-color", "-input=false", "initial.tfplan")

		// bob leaves and is disabled, so that he can come back in the next plan.
		w.changeDirectory(t, `dn: `+pingIDUsersDN+`
changetype: modify
delete: member
member: uid=bob,`+baseDN+`
`)
		w.mustTerraform(t, w.fixtureEnv(), "apply", "-no-color", "-input=false", "-auto-approve")

		// The change plan: every kind of row.
		w.changeDirectory(t, `dn: `+pingIDUsersDN+`
changetype: modify
add: member
member: uid=bob,`+baseDN+`
member: uid=dave,`+baseDN+`
member: uid=erin,`+baseDN+`
-
delete: member
member: uid=carol,`+baseDN+`

dn: uid=mallory,`+baseDN+`
changetype: delete

dn: uid=alice,`+baseDN+`
changetype: modify
replace: mail
mail: alice.adams@example.com

dn: `+contractorsDN+`
changetype: modify
add: member
member: uid=grace,`+baseDN+`
-
delete: member
member: uid=frank,`+baseDN+`

dn: `+staffDN+`
changetype: modify
add: member
member: uid=liam,`+baseDN+`
-
delete: member
member: uid=judy,`+baseDN+`

dn: uid=ken,`+baseDN+`
changetype: modify
replace: mail
mail: ken.king@example.com
`)
		// Suspended by a PingID administrator, outside Terraform.
		if err := w.pingID.SetUserStatus("ivan", emulator.StatusSuspended); err != nil {
			t.Fatal(err)
		}
		plans["changes"] = w.planFixture(t, "changes")

		// Destroying everything: corp deprovisions (on_destroy), partners retains, the mapped
		// users are disabled.
		plans["destroy"] = w.planFixture(t, "destroy", "-destroy")
	})

	t.Run("devices", func(t *testing.T) {
		// Issue 14's users JSON: devices (managed slots) and, with overwrite, other_devices.
		if !connectionHasAttribute(t, "manage_devices") {
			t.Skip("pingid_provisioning_connection has no manage_devices in this build (issue 14): no device fixtures")
		}
		w := newWorld(t, worldOptions{})
		if err := w.pingID.SetMaxAllowedDevices(5); err != nil {
			t.Fatal(err)
		}
		w.changeDirectory(t, `dn: uid=alice,`+baseDN+`
changetype: modify
add: mobile
mobile: +1 555 010 0001

dn: uid=bob,`+baseDN+`
changetype: modify
add: mobile
mobile: +1 555 010 0002
`)
		w.writeConfig(t, `provider "pingid" {}

resource "pingid_provisioning_connection" "phones" {
  name = "phones"
  source_location = {
    base_dn  = "`+baseDN+`"
    group_dn = "`+pingIDUsersDN+`"
  }
  attribute_mapping = {
    username  = "uid"
    email     = "mail"
    mfa_sms_1 = "mobile"
  }
  manage_devices = "overwrite"
}
`)
		plans["devices-initial"] = w.planFixture(t, "devices-initial")
		w.mustTerraform(t, w.fixtureEnv(), "apply", "-no-color", "-input=false", "devices-initial.tfplan")

		// alice's number changes, bob's is removed, carol gets one; alice also paired an iPhone
		// in PingID, which overwrite removes.
		w.changeDirectory(t, `dn: uid=alice,`+baseDN+`
changetype: modify
replace: mobile
mobile: +1 555 010 0009

dn: uid=bob,`+baseDN+`
changetype: modify
delete: mobile

dn: uid=carol,`+baseDN+`
changetype: modify
add: mobile
mobile: +1 555 010 0003
`)
		if err := w.pingID.UpdateUserDirect("alice", func(u *emulator.User) {
			u.Devices = append(u.Devices, emulator.Device{Type: "iPhone", Nickname: "iPhone of alice"})
		}); err != nil {
			t.Fatal(err)
		}
		plans["devices-changes"] = w.planFixture(t, "devices-changes")
	})

	t.Run("large", func(t *testing.T) {
		// Enough users that the Markdown report passes its 60 000-character limit.
		const n = 400
		w := newWorld(t, worldOptions{})
		var ldif strings.Builder
		if err := slapd.WriteUsersLDIF(&ldif, w.ldap.Suffix, "user", n); err != nil {
			t.Fatal(err)
		}
		w.changeDirectory(t, ldif.String())
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		groupDN, err := w.ldap.AddGeneratedGroup(ctx, "bulk", "user", n)
		if err != nil {
			t.Fatal(err)
		}
		w.writeConfig(t, `provider "pingid" {}

resource "pingid_provisioning_connection" "bulk" {
  name = "bulk"
  source_location = {
    base_dn  = "`+baseDN+`"
    group_dn = "`+groupDN+`"
  }
  attribute_mapping = {
    username   = "uid"
    email      = "mail"
    first_name = "givenName"
    last_name  = "sn"
  }
}
`)
		plans["large-create"] = w.planFixture(t, "large")
	})
	if t.Failed() {
		return
	}

	dir := planFixtureDir(cli)
	for name, fresh := range plans {
		path := filepath.Join(dir, name+".json")
		if *updatePlanFixtures {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, fresh, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", path)
			continue
		}
		committed, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (run with -update to create it)", err)
			continue
		}
		if got, want := markdownOf(t, fresh), markdownOf(t, committed); got != want {
			t.Errorf("%s: the report of today's plan differs from the committed fixture's; refresh with -update and review the golden diffs\n--- today\n%s\n--- committed\n%s", name, got, want)
		}
	}
}

// connectionHasAttribute reports whether this build's pingid_provisioning_connection schema has
// the attribute, so fixtures of a feature are written only where it exists.
func connectionHasAttribute(t *testing.T, name string) bool {
	t.Helper()
	var resp resource.SchemaResponse
	provider.NewProvisioningConnectionResource().Schema(context.Background(), resource.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatalf("connection schema: %v", resp.Diagnostics)
	}
	_, ok := resp.Schema.Attributes[name]
	return ok
}

// cliFixtureName names the fixtures of the CLI under test after its `version` line:
// "Terraform v1.5.7" -> terraform-1.5.7, "OpenTofu v1.12.6" -> opentofu-1.12.6.
func cliFixtureName(t *testing.T) string {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), binaries.terraform, "version")
	cmd.Env = append(cleanEnv(), "TF_CLI_CONFIG_FILE="+os.DevNull, "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s version: %v", binaries.terraform, err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	name, version, ok := strings.Cut(strings.TrimSpace(first), " v")
	if !ok {
		t.Fatalf("%s version printed %q", binaries.terraform, first)
	}
	return strings.ToLower(name) + "-" + version
}

func markdownOf(t *testing.T, plan []byte) string {
	t.Helper()
	rep, err := planreport.Build(plan)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b, planreport.MarkdownOptions{Limit: -1}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

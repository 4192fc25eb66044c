package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// flat joins a command's output into single-spaced text: Terraform wraps diagnostics at its
// width, so a sentence can span lines.
func flat(res result) string {
	return strings.Join(strings.Fields(res.stdout+res.stderr), " ")
}

// TestPlansReadWell is issue 16 section 2 as the CLI prints it: the summary names each linked
// user with the PingID fields the link overwrites; a plan without changes prints no summary and
// no administrator note; apply does not repeat the plan's warnings; a directory entry without
// mail is planned with no email; a disable is recorded as PingID then reports it, so the next
// refresh finds nothing changed; and destroying with on_destroy = "retain" says the users stay.
func TestPlansReadWell(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.writeConfig(t, "provider \"pingid\" {\n  properties = <<-EOT\n"+w.properties+"  EOT\n"+w.datastoreHCL(w.ldap.ReaderPassword)+"}\n"+connectionHCL)
	// alice exists in PingID with another email and first name: the connection links her. bob
	// is a PingID administrator: never linked. carol has no mail in the directory.
	for _, u := range []emulator.User{
		{UserName: "alice", FirstName: "Ally", LastName: "Adams", Email: "alice@old.example.com", Role: "REGULAR", Status: emulator.StatusActive},
		{UserName: "bob", FirstName: "Bob", LastName: "Brown", Email: "bob@example.com", Role: "ADMIN", Status: emulator.StatusActive},
	} {
		if err := w.pingID.SeedUser(u); err != nil {
			t.Fatal(err)
		}
	}
	w.changeDirectory(t, "dn: uid=carol,"+baseDN+"\nchangetype: modify\ndelete: mail\n")

	plan := w.mustTerraform(t, nil, "plan", "-no-color", "-out=first.tfplan")
	out := flat(plan)
	for _, want := range []string{
		`Connection "corp": 2 to provision (1 existing PingID user to link), 0 to update, 0 to disable, 0 to enable, 0 to delete; 1 PingID ADMIN user left unchanged.`,
		`Existing PingID user to link`,
		`alice: email "alice@old.example.com" -> "alice@example.com", first_name "Ally" -> "Alice"`,
		"Warning: PingID administrators left alone",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first plan lacks %q:\n%s", want, plan)
		}
	}
	users, _ := w.plannedUsers(t, "first.tfplan")
	if carol, ok := users["carol"]; !ok {
		t.Fatalf("carol not planned: %v", users)
	} else if email, has := carol["email"]; has {
		t.Errorf("carol has no mail but is planned with email %q", email)
	}
	w.mustTerraform(t, nil, "apply", "-no-color", "first.tfplan")
	if u := w.user(t, "carol"); u.Email != "" {
		t.Errorf("carol in PingID: %+v, want no email", u)
	}

	// Nothing changed: the plan is quiet, although bob is still an administrator in scope.
	quiet := w.terraform(t, nil, "plan", "-no-color", "-detailed-exitcode")
	if quiet.exitCode != 0 {
		t.Fatalf("plan after apply is not empty:\n%s", quiet)
	}
	for _, noise := range []string{"PingID provisioning summary", "PingID administrators left alone"} {
		if strings.Contains(quiet.stdout+quiet.stderr, noise) {
			t.Errorf("a plan without changes printed %q:\n%s", noise, quiet)
		}
	}

	// carol leaves: a disable. The plan explains it once; apply (which plans again) does not
	// repeat it.
	w.changeDirectory(t, leaveGroup("carol"))
	apply := w.mustTerraform(t, nil, "apply", "-no-color", "-auto-approve")
	out = flat(apply)
	if n := strings.Count(out, "Warning: PingID provisioning summary"); n != 1 || strings.Contains(out, "similar warning") {
		t.Errorf("apply printed the summary %d times (want once, from its plan):\n%s", n, apply)
	}
	if !strings.Contains(out, `Connection "corp": 0 to provision, 0 to update, 1 to disable`) {
		t.Errorf("apply's plan lacks the summary of carol's disable:\n%s", apply)
	}
	if u := w.user(t, "carol"); u.Status != emulator.StatusSuspended {
		t.Fatalf("carol after the disable: %+v", u)
	}
	var carol map[string]any
	if err := json.Unmarshal([]byte(w.stateUsers(t)["carol"]), &carol); err != nil {
		t.Fatal(err)
	}
	if carol["status"] != emulator.StatusSuspended {
		t.Errorf("state records carol as %v, PingID says SUSPENDED", carol["status"])
	}
	if res := w.terraform(t, nil, "plan", "-no-color", "-refresh-only", "-detailed-exitcode"); res.exitCode != 0 {
		t.Errorf("the refresh after the disable found changes (want exit 0):\n%s", res)
	}

	// Destroy with on_destroy = "retain" (the default): the plan says the users stay.
	destroy := w.mustTerraform(t, nil, "plan", "-no-color", "-destroy")
	if want := `Destroying connection "corp" with on_destroy = "retain": its 2 users stay in PingID untouched`; !strings.Contains(flat(destroy), want) {
		t.Errorf("destroy plan lacks %q:\n%s", want, destroy)
	}
}

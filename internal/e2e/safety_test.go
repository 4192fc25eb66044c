package e2e

import (
	"strings"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// TestPlanWarnsAboutSuspensionsAndScope: the warnings issue 13 asks for, as the terraform CLI
// prints them. Users a PingID administrator suspended are listed in ONE warning by every plan
// that has them in scope, while the plan stays empty and nothing is written; a group member
// outside base_dn is counted in another warning.
func TestPlanWarnsAboutSuspensionsAndScope(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.writeConfig(t, "provider \"pingid\" {\n  properties = <<-EOT\n"+w.properties+"  EOT\n"+w.datastoreHCL(w.ldap.ReaderPassword)+"}\n"+connectionHCL)
	w.changeDirectory(t, `dn: ou=partners,dc=example,dc=com
objectClass: organizationalUnit
ou: partners

dn: uid=pat,ou=partners,dc=example,dc=com
objectClass: inetOrgPerson
uid: pat
cn: Pat Partner
sn: Partner
`)
	w.changeDirectory(t, "dn: "+pingIDUsersDN+"\nchangetype: modify\nadd: member\nmember: uid=pat,ou=partners,dc=example,dc=com\n")
	w.mustTerraform(t, nil, "apply", "-no-color", "-auto-approve")
	for _, name := range []string{"alice", "bob"} {
		if err := w.pingID.SetUserStatus(name, emulator.StatusSuspended); err != nil {
			t.Fatal(err)
		}
	}
	w.pingID.ResetCalls()

	for range 2 { // every plan, not only the first after the suspension
		plan := w.terraform(t, nil, "plan", "-no-color", "-detailed-exitcode")
		if plan.exitCode != 0 {
			t.Fatalf("plan with users suspended outside Terraform should be empty (exit 0):\n%s", plan)
		}
		out := strings.Join(strings.Fields(plan.stdout+plan.stderr), " ")
		if n := strings.Count(out, "Warning: PingID users suspended outside Terraform"); n != 1 {
			t.Errorf("want one warning about users suspended outside Terraform, got %d:\n%s", n, plan)
		}
		for _, want := range []string{
			`Connection "corp": 2 users are suspended in PingID; left suspended: alice, bob.`,
			"set reactivate_suspended_users = true",
			"Warning: Group members outside base_dn",
			`Connection "corp": 1 member of group_dn "` + pingIDUsersDN + `" is outside base_dn "` + baseDN + `", so never in scope`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("plan output lacks %q:\n%s", want, plan)
			}
		}
		if strings.Contains(out, "PingID provisioning summary") {
			t.Errorf("an empty plan printed a summary:\n%s", plan)
		}
	}
	if writes := w.writeCalls(); len(writes) > 0 {
		t.Errorf("plans wrote to PingID: %v", writes)
	}
	for _, name := range []string{"alice", "bob"} {
		if u := w.user(t, name); u.Status != emulator.StatusSuspended {
			t.Errorf("%s is %s, want still SUSPENDED", name, u.Status)
		}
	}
}

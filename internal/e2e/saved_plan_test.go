package e2e

import (
	"slices"
	"strings"
	"testing"
)

// TestSavedPlanAppliesExactlyWhatWasReviewed: `terraform plan -out` is the review step;
// `terraform apply tfplan` must do exactly what the plan showed even when the directory has
// changed in between. The later changes show up in the next plan.
func TestSavedPlanAppliesExactlyWhatWasReviewed(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.writeConfig(t, "provider \"pingid\" {\n  properties = <<-EOT\n"+w.properties+"  EOT\n"+w.datastoreHCL(w.ldap.ReaderPassword)+"}\n"+connectionHCL+contractorsHCL)
	w.mustTerraform(t, nil, "apply", "-no-color", "-auto-approve")
	for _, name := range []string{"alice", "bob", "carol", "frank"} {
		w.user(t, name)
	}

	// Reviewed change: dave joins.
	w.changeDirectory(t, `dn: `+pingIDUsersDN+`
changetype: modify
add: member
member: uid=dave,`+baseDN+`
`)
	w.mustTerraform(t, nil, "plan", "-no-color", "-out=reviewed.tfplan")
	users, actions := w.plannedUsers(t, "reviewed.tfplan")
	if _, ok := users["dave"]; !ok || users["bob"]["enabled"] != true {
		t.Fatalf("reviewed plan should add dave and keep bob enabled; planned users: %v", users)
	}
	if !slices.Equal(actions["pingid_provisioning_connection.corp"], []string{"update"}) {
		t.Fatalf("reviewed plan actions: %v", actions)
	}

	// Unreviewed changes between plan and apply: erin joins, bob leaves, grace becomes a
	// contractor.
	w.changeDirectory(t, `dn: `+pingIDUsersDN+`
changetype: modify
add: member
member: uid=erin,`+baseDN+`
-
delete: member
member: uid=bob,`+baseDN+`

dn: `+contractorsDN+`
changetype: modify
add: member
member: uid=grace,`+baseDN+`
`)
	apply := w.mustTerraform(t, nil, "apply", "-no-color", "reviewed.tfplan")
	if !strings.Contains(apply.stdout, "Apply complete! Resources: 0 added, 1 changed, 0 destroyed.") {
		t.Errorf("apply of the reviewed plan did something else:\n%s", apply)
	}
	if u := w.user(t, "dave"); u.Email != "dave@example.com" {
		t.Errorf("dave (reviewed) after apply: %+v", u)
	}
	for _, name := range []string{"erin", "grace"} {
		if u, ok := w.pingID.User(name); ok {
			t.Errorf("%s joined after the plan was reviewed but was provisioned: %+v", name, u)
		}
	}
	if u := w.user(t, "bob"); u.Status == "SUSPENDED" {
		t.Errorf("bob left after the plan was reviewed but was suspended: %+v", u)
	}

	// The next plan shows what changed since the review.
	res := w.terraform(t, nil, "plan", "-no-color", "-detailed-exitcode", "-out=next.tfplan")
	if res.exitCode != 2 {
		t.Fatalf("the next plan should have changes (exit 2):\n%s", res)
	}
	users, actions = w.plannedUsers(t, "next.tfplan")
	if e := users["erin"]; e == nil || e["source_state"] != "in_scope" || e["enabled"] != true {
		t.Errorf("next plan: erin should be provisioned, got %v", e)
	}
	if b := users["bob"]; b == nil || b["source_state"] != "out_of_scope" || b["enabled"] != false {
		t.Errorf("next plan: bob should be disabled as out_of_scope, got %v", b)
	}
	if d := users["dave"]; d == nil || d["source_state"] != "in_scope" {
		t.Errorf("next plan: dave should stay as applied, got %v", d)
	}
	if got := actions[`pingid_mapped_user.contractor["grace"]`]; !slices.Equal(got, []string{"create"}) {
		t.Errorf("next plan: grace should be created, actions %v", got)
	}
	w.mustTerraform(t, nil, "apply", "-no-color", "next.tfplan")
	if u := w.user(t, "bob"); u.Status != "SUSPENDED" {
		t.Errorf("bob after the next apply: %+v, want SUSPENDED", u)
	}
	w.user(t, "erin")
	w.user(t, "grace")
}

// TestSavedPlanWithoutSnapshotAfterDirectoryChange: when the plan has no refresh snapshot to
// work from (a brand-new connection, or a source location or mapping changed in the same plan),
// the re-plan Terraform does at apply reads the directory again. If the directory changed after
// `plan -out`, Terraform refuses the saved plan as inconsistent, and nothing may change in
// PingID.
func TestSavedPlanWithoutSnapshotAfterDirectoryChange(t *testing.T) {
	requireTerraform(t)
	cases := []struct {
		name    string
		applied string // configuration applied before the saved plan ("" = none)
		planned string // configuration of the saved plan
	}{
		{name: "new connection", planned: connectionHCL},
		{
			name:    "changed source location",
			applied: connectionHCL,
			planned: strings.Replace(connectionHCL, "group_dn = ", "filter   = \"(objectClass=inetOrgPerson)\"\n    group_dn = ", 1),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{})
			provider := "provider \"pingid\" {\n  properties = <<-EOT\n" + w.properties + "  EOT\n" + w.datastoreHCL(w.ldap.ReaderPassword) + "}\n"
			if c.applied != "" {
				w.writeConfig(t, provider+c.applied)
				w.mustTerraform(t, nil, "apply", "-no-color", "-auto-approve")
			}
			before := w.usernames()
			w.writeConfig(t, provider+c.planned)
			w.mustTerraform(t, nil, "plan", "-no-color", "-out=saved.tfplan")
			w.changeDirectory(t, `dn: `+pingIDUsersDN+`
changetype: modify
add: member
member: uid=dave,`+baseDN+`
`)
			res := w.terraform(t, nil, "apply", "-no-color", "saved.tfplan")
			t.Logf("apply of the saved plan after a directory change:\n%s", res)
			if res.exitCode == 0 {
				t.Fatalf("apply succeeded although the directory changed after the plan; users: %s", w.usernames())
			}
			// Terraform wraps diagnostics to the terminal width: compare with whitespace collapsed.
			stderr := strings.Join(strings.Fields(res.stderr), " ")
			for _, want := range []string{
				"Error: Provider produced inconsistent final plan",
				"When expanding the plan for pingid_provisioning_connection.corp",
				`produced an invalid new value for .users: new element "dave" has appeared.`,
			} {
				if !strings.Contains(stderr, want) {
					t.Errorf("the error should say %q", want)
				}
			}
			if after := w.usernames(); after != before {
				t.Errorf("PingID changed: before %s, after %s", before, after)
			}
		})
	}
}

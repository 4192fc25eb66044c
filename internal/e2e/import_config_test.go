package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// TestImportBlockGeneratesConfig: an import block for an existing PingID user and
// `plan -generate-config-out` write a pingid_mapped_user configuration holding the user's
// attributes as PingID has them; applying it imports the user without a PingID write, and the
// next plan is empty. This is what the mapped_user docs show for Terraform 1.5+.
func TestImportBlockGeneratesConfig(t *testing.T) {
	w := newWorld(t, worldOptions{})
	if err := w.pingID.SeedUser(emulator.User{
		UserName: "jdoe", Email: "jane.doe@example.com", FirstName: "Jane", LastName: "Doe",
		Role: "REGULAR", Status: "ACTIVE", Devices: []emulator.Device{{Type: "SMS", Nickname: "SMS Number 1", Phone: "+15550102030"}},
	}); err != nil {
		t.Fatal(err)
	}
	propsFile := filepath.Join(w.dir, "pingid.properties")
	w.writeFile(t, propsFile, w.properties)
	w.writeConfig(t, `provider "pingid" {
  properties_file = "pingid.properties"
}

import {
  to = pingid_mapped_user.jdoe
  id = "jdoe"
}
`)
	w.pingID.ResetCalls()
	w.mustTerraform(t, nil, "plan", "-no-color", "-input=false", "-generate-config-out=generated.tf")
	generated, err := os.ReadFile(filepath.Join(w.dir, "generated.tf"))
	if err != nil {
		t.Fatalf("plan -generate-config-out wrote nothing: %v", err)
	}
	t.Logf("generated.tf:\n%s", generated)
	for _, want := range []string{`resource "pingid_mapped_user" "jdoe"`, `username`, `"jdoe"`, `"jane.doe@example.com"`, `"Jane"`, `"Doe"`} {
		if !strings.Contains(string(generated), want) {
			t.Errorf("generated.tf lacks %s", want)
		}
	}

	res := w.mustTerraform(t, nil, "apply", "-no-color", "-input=false", "-auto-approve")
	if !strings.Contains(res.stdout, "1 imported, 0 added, 0 changed, 0 destroyed") {
		t.Errorf("apply did not just import:\n%s", res)
	}
	if calls := w.pingID.Calls(); calls["adduser"]+calls["edituser"]+calls["suspenduser"]+calls["activateuser"]+calls["deleteuser"]+calls["unpairdevice"]+calls["offlinepairing"] != 0 {
		t.Errorf("importing wrote to PingID: %v", calls)
	}
	if res := w.terraform(t, nil, "plan", "-no-color", "-input=false", "-detailed-exitcode"); res.exitCode != 0 {
		t.Errorf("the plan after the import is not empty:\n%s", res)
	}
	if u := w.user(t, "jdoe"); u.Email != "jane.doe@example.com" || u.Status != "ACTIVE" || len(u.Devices) != 1 {
		t.Errorf("jdoe changed: %+v", u)
	}

	// An instance of a for_each resource is imported with its key; its configuration comes
	// from for_each (config generation is only for resources without for_each).
	if err := w.pingID.SeedUser(emulator.User{UserName: "frank", Email: "frank@partners.example.net", FirstName: "Frank", LastName: "Fischer",
		Role: "REGULAR", Status: "ACTIVE"}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(w.dir, "generated.tf")); err != nil {
		t.Fatal(err)
	}
	w.writeConfig(t, "provider \"pingid\" {\n  properties_file = \"pingid.properties\"\n"+w.datastoreHCL(w.ldap.ReaderPassword)+"}\n"+contractorsHCL+`
import {
  to = pingid_mapped_user.contractor["frank"]
  id = "frank"
}
`)
	w.mustTerraform(t, nil, "state", "rm", "pingid_mapped_user.jdoe")
	w.pingID.ResetCalls()
	res = w.mustTerraform(t, nil, "apply", "-no-color", "-input=false", "-auto-approve")
	if !strings.Contains(res.stdout, "1 imported, 0 added, 0 changed, 0 destroyed") {
		t.Errorf("apply did not just import frank:\n%s", res)
	}
	if calls := w.pingID.Calls(); calls["adduser"]+calls["edituser"] != 0 {
		t.Errorf("importing frank wrote to PingID: %v", calls)
	}
}

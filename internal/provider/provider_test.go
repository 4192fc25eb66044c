package provider

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
)

// servedSchema is the schema the provider serves to Terraform, in process.
func servedSchema(t *testing.T) *tfprotov6.GetProviderSchemaResponse {
	t.Helper()
	server, err := testAccProtoV6ProviderFactories["pingid"]()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestProviderSchemaIsValid(t *testing.T) {
	// The framework validates the whole schema (descriptions, defaults on computed
	// attributes, nested types) when it is served; GetProviderSchema surfaces any mistake.
	resp := servedSchema(t)
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

// TestDirectoryTypeDocsNameTheDisabledMarkers: what the docs say each directory_type reads as
// "disabled" is what the datastore reads (issue 16: the docs said generic reads only
// nsAccountLock while it also reads the ppolicy lock).
func TestDirectoryTypeDocsNameTheDisabledMarkers(t *testing.T) {
	resp := servedSchema(t)
	var description string
	for _, a := range resp.Provider.Block.Attributes {
		if a.Name != "datastore" {
			continue
		}
		for _, na := range a.NestedType.Attributes {
			if na.Name == "directory_type" {
				description = na.Description
			}
		}
	}
	tmpl, err := os.ReadFile(filepath.Join("..", "..", "templates", "index.md.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(tmpl), "\n") {
		for _, typ := range datastore.DirectoryTypes() {
			if strings.HasPrefix(line, "| `"+typ+"`") {
				rows[typ] = line
			}
		}
	}
	for _, typ := range datastore.DirectoryTypes() {
		row, ok := rows[typ]
		if !ok {
			t.Errorf("templates/index.md.tmpl has no directory_type table row for %q", typ)
			continue
		}
		// The cell between the first and second column separators after the type.
		cells := strings.Split(row, "|")
		if len(cells) < 3 {
			t.Errorf("row %q has no 'Disabled when' cell", row)
			continue
		}
		for _, marker := range datastore.DisabledMarkerAttributes(typ) {
			if !strings.Contains(cells[2], marker) {
				t.Errorf("docs: directory_type %q reads %s, but its row says only %q", typ, marker, strings.TrimSpace(cells[2]))
			}
			if !strings.Contains(description, marker) {
				t.Errorf("schema description of directory_type does not name %s", marker)
			}
		}
	}
}

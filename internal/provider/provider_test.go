package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// testAccProtoV6ProviderFactories runs the provider in-process for acceptance tests, so
// Terraform never downloads it.
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

package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

// TestCheckDirectoryAttributes: errors per unknown name at its path; an unreadable schema
// warns once per provider process however many objects check, and errors nothing.
func TestCheckDirectoryAttributes(t *testing.T) {
	ctx := context.Background()
	names := []directoryAttribute{
		{path.Root("attribute_mapping").AtName("email"), "mial"},
		{path.Root("attribute_mapping").AtName("username"), "uid"},
		{path.Root("attribute_mapping").AtName("first_name"), ""},
	}
	data := func(s *slapd.Server) *providerData {
		return &providerData{schemas: &schemaCache{}, datastore: &datastore.Config{
			URL: s.URL, BindDN: s.ServiceDN, BindPassword: s.ServicePassword, AllowInsecureBind: true}}
	}

	readable := data(slapd.StartT(t, slapd.Options{}))
	var diags diag.Diagnostics
	readable.checkDirectoryAttributes(ctx, names, &diags)
	if diags.ErrorsCount() != 1 || diags.WarningsCount() != 0 {
		t.Fatalf("diagnostics = %v, want one error", diags)
	}
	if d, ok := diags[0].(diag.DiagnosticWithPath); !ok || !d.Path().Equal(names[0].at) || !strings.Contains(d.Detail(), `did you mean "mail"?`) {
		t.Errorf("error = %v", diags[0])
	}

	hidden := data(slapd.StartT(t, slapd.Options{HideSchema: true}))
	var first, second diag.Diagnostics
	hidden.checkDirectoryAttributes(ctx, names, &first)
	hidden.checkDirectoryAttributes(ctx, names, &second)
	if first.ErrorsCount() != 0 || first.WarningsCount() != 1 || len(second) != 0 {
		t.Fatalf("unreadable schema: first %v, second %v; want one warning in all", first, second)
	}
	if !strings.Contains(first[0].Summary(), "not readable") || !strings.Contains(first[0].Detail(), "cn=Subschema") {
		t.Errorf("warning = %s: %s", first[0].Summary(), first[0].Detail())
	}

	// A directory that cannot be reached is left to the read that follows, which reports it.
	down := &providerData{schemas: &schemaCache{}, datastore: &datastore.Config{URL: "ldap://127.0.0.1:1"}}
	var none diag.Diagnostics
	down.checkDirectoryAttributes(ctx, names, &none)
	if len(none) != 0 {
		t.Errorf("unreachable directory: %v", none)
	}
}

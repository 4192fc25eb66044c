package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
)

// schemaCache holds the directory's schema, read once per provider process (one plan or
// apply) for every object that checks attribute names.
type schemaCache struct {
	once   sync.Once
	schema *datastore.Schema
	err    error
	warned atomic.Bool // the "schema not readable" warning was given
}

// directoryAttribute is a configured directory attribute name and the setting it comes from.
type directoryAttribute struct {
	at   path.Path
	name string
}

// checkDirectoryAttributes fails (attribute errors, with "did you mean" when a defined name is
// close) for every configured attribute the directory's schema does not define: a misspelt
// mapping would plan fine and leave the PingID field empty. When the bind account cannot read
// the schema, it warns once per run and lets the plan go on. Empty names are skipped.
func (d *providerData) checkDirectoryAttributes(ctx context.Context, attrs []directoryAttribute, diags *diag.Diagnostics) {
	if d == nil || d.datastore == nil || d.schemas == nil {
		return
	}
	c := d.schemas
	c.once.Do(func() { c.schema, c.err = readSchema(ctx, *d.datastore) })
	if c.err != nil {
		if !errors.Is(c.err, datastore.ErrSchemaUnavailable) {
			// Could not even connect: the directory read that follows reports it.
			tflog.Debug(ctx, "directory schema not checked", map[string]any{"error": c.err.Error()})
			return
		}
		if !c.warned.Swap(true) {
			diags.AddWarning("Directory schema not readable: attribute names not checked",
				fmt.Sprintf("%s.\n\nThe attribute names in attribute_mapping and in pingid_datastore_group attributes/username_attribute "+
					"are not checked against the directory's schema in this run, so a misspelt name would only show as empty values. "+
					"Let the bind account read the root DSE's subschemaSubentry and the subschema entry's attributeTypes to have them checked.", c.err))
		}
		return
	}
	for _, a := range attrs {
		if a.name == "" {
			continue
		}
		if err := c.schema.Check(a.at.String(), a.name); err != nil {
			var cerr *datastore.ConfigError
			detail := err.Error()
			if errors.As(err, &cerr) {
				detail = cerr.Reason
			}
			// The path is in the summary too: Terraform shows only the resource line for a
			// value inside an object attribute such as attribute_mapping.
			diags.AddAttributeError(a.at, "Unknown directory attribute in "+a.at.String(),
				fmt.Sprintf("%s: %s. Names are matched case-insensitively against the names, aliases and OIDs of %s; "+
					"a name the directory does not define would leave the value empty for every user.", a.at, detail, schemaSource(c.schema)))
		}
	}
}

func schemaSource(s *datastore.Schema) string {
	if s.DN == "" {
		return "the directory's subschema entry"
	}
	return fmt.Sprintf("the subschema entry %q", s.DN)
}

func readSchema(ctx context.Context, cfg datastore.Config) (*datastore.Schema, error) {
	dir, err := datastore.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer func() { _ = dir.Close() }()
	return dir.ReadSchema(ctx)
}

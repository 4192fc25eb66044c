package provider

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
)

// requireConfigured reports a resource used before Configure gave it the PingID client.
func requireConfigured(configured bool, diags *diag.Diagnostics) bool {
	if !configured {
		diags.AddError("Provider not configured", "The PingID client is missing. Please report this issue to the provider developers.")
	}
	return configured
}

// requireDatastore returns the provider's datastore settings or an error saying how to set them.
func requireDatastore(data *providerData) (*datastore.Config, diag.Diagnostics) {
	var diags diag.Diagnostics
	if data == nil {
		diags.AddError("Provider not configured", "The provider has not been configured. Please report this issue to the provider developers.")
		return nil, diags
	}
	if data.datastore == nil {
		diags.AddError("Missing datastore configuration",
			"This object reads the directory, but the provider has no datastore: set the provider's datastore block, or "+envLDAPURL+
				" and the other PINGID_LDAP_* environment variables.")
		return nil, diags
	}
	return data.datastore, diags
}

// sourceErrorPath points a directory read error at the setting that caused it, when it can
// tell: a group DN that is not a group or does not exist, or a base DN that does not exist.
func sourceErrorPath(err error, q datastore.Query, base, group path.Path) (path.Path, bool) {
	if errors.Is(err, datastore.ErrNotAGroup) {
		return group, true
	}
	var dsErr *datastore.Error
	if errors.Is(err, datastore.ErrNoSuchEntry) && errors.As(err, &dsErr) {
		switch {
		case q.GroupDN != "" && sameDN(dsErr.Target, q.GroupDN):
			return group, true
		case sameDN(dsErr.Target, q.BaseDN):
			return base, true
		}
	}
	return path.Empty(), false
}

func sameDN(a, b string) bool {
	da, errA := ldap.ParseDN(a)
	db, errB := ldap.ParseDN(b)
	if errA != nil || errB != nil {
		return strings.EqualFold(a, b)
	}
	return da.EqualFold(db)
}

// addSourceError reports a directory read failure, on the attribute that caused it if known.
func addSourceError(diags *diag.Diagnostics, summary string, err error, q datastore.Query, base, group path.Path, detailSuffix string) {
	if p, ok := sourceErrorPath(err, q, base, group); ok {
		diags.AddAttributeError(p, summary, err.Error()+detailSuffix)
		return
	}
	diags.AddError(summary, err.Error()+detailSuffix)
}

// diagnosticListLimit is how many names a diagnostic lists before "and N more": enough to act on,
// short enough to read in a plan.
const diagnosticListLimit = 50

// limitList shortens a list shown in a diagnostic to its first diagnosticListLimit items and a
// count of the rest.
func limitList(items []string) []string {
	n := diagnosticListLimit
	if len(items) <= n {
		return items
	}
	out := append([]string(nil), items[:n]...)
	return append(out, fmt.Sprintf("and %d more", len(items)-n))
}

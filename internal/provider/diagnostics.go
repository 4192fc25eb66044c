package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/source"
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

// addSourceError reports a failed gather step. A PingID failure (a look-up of the users the plan
// depends on) is reported as PingID's, with the PingID settings to check; anything else is the
// directory's, with summary, on the attribute that caused it if known, and the datastore
// settings to check.
func addSourceError(diags *diag.Diagnostics, summary string, err error, q datastore.Query, base, group path.Path, detailSuffix string) {
	var pe *source.PingIDError
	if errors.As(err, &pe) {
		diags.AddError("Unable to read users from PingID",
			fmt.Sprintf("PingID failed during the %s: %s\n\n%s%s", pe.Work, err, pingIDChecks(err), detailSuffix))
		return
	}
	detail := err.Error()
	if checks := directoryChecks(err); checks != "" {
		detail += "\n\n" + checks
	}
	if p, ok := sourceErrorPath(err, q, base, group); ok {
		diags.AddAttributeError(p, summary, detail+detailSuffix)
		return
	}
	diags.AddError(summary, detail+detailSuffix)
}

// addPingIDError reports a failed PingID read (a refresh) with the PingID settings to check.
func addPingIDError(diags *diag.Diagnostics, summary string, err error) {
	diags.AddError(summary, err.Error()+"\n\n"+pingIDChecks(err))
}

// pingIDChecks says which PingID settings to check after a failed call, by what failed.
func pingIDChecks(err error) string {
	var apiErr *pingid.APIError
	var urlErr *url.Error
	switch {
	case errors.As(err, &apiErr) && (apiErr.HTTPStatus == http.StatusTooManyRequests || apiErr.HTTPStatus == http.StatusServiceUnavailable):
		return fmt.Sprintf("PingID kept answering HTTP %d after max_retries retries: it is overloaded or rate-limiting this tenant. "+
			"Lower max_concurrency (other clients share the tenant's capacity), raise max_retries, or run again later.", apiErr.HTTPStatus)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &urlErr):
		return "PingID did not answer: check idp_url and that it is reachable from where Terraform runs (proxy: HTTPS_PROXY; " +
			"firewall), and request_timeout."
	}
	return "Check the PingID credentials the provider uses: org_alias, token and use_base64_key must all come from one PingID " +
		"client integration (PingOne admin portal: Setup > PingID > Client Integration), and idp_url must be that organization's. " +
		"Where they came from: the provider block's attributes or the PINGID_* environment variables, in the order of precedence " +
		"the provider documentation gives (a value in the configuration wins over the environment)."
}

// directoryChecks says which datastore settings to check after a failed directory operation
// ("" when the error names its setting itself, or is not an operation's).
func directoryChecks(err error) string {
	var le *datastore.Error
	if !errors.As(err, &le) {
		return ""
	}
	switch le.Op {
	case datastore.OpDial:
		return "The directory could not be reached: check datastore.url (host and port; " + envLDAPURL + ") and that the " +
			"directory is reachable from where Terraform runs."
	case datastore.OpTLS:
		return "The TLS connection to the directory failed: check datastore.url (ldaps:// or ldap://), start_tls and ca_certificate."
	case datastore.OpBind:
		return "The directory refused the bind: check datastore.bind_dn and datastore.bind_password (or " + envLDAPBindDN +
			" and " + envLDAPBindPassword + ")."
	case datastore.OpSearch:
		return searchLimitChecks(err, le.Code)
	}
	return ""
}

// searchLimitChecks explains a search the directory ended at one of its limits ("" for other
// results, and for a refused page size, whose error names datastore.page_size itself).
func searchLimitChecks(err error, code uint16) string {
	if errors.Is(err, datastore.ErrPageSizeRefused) {
		return ""
	}
	const partial = " The read fails rather than return part of the users, which would look like users leaving."
	switch code {
	case ldap.LDAPResultSizeLimitExceeded:
		return "The directory ended the search at a size limit of the bind account (a total, not the page size, which is " +
			"handled by itself)." + partial + " Raise the limit for the bind account (OpenLDAP: limits size.prtotal / size.hard; " +
			"389 DS: nsSizeLimit; Active Directory: MaxResultSetSize) or narrow the source location."
	case ldap.LDAPResultTimeLimitExceeded:
		return "The directory ended the search at a time limit: datastore.timeout (also sent as the search's time limit) or the " +
			"server's own for the bind account." + partial + " Raise datastore.timeout, or the limit (OpenLDAP: limits time; " +
			"389 DS: nsTimeLimit; Active Directory: MaxQueryDuration), or narrow the source location."
	case ldap.LDAPResultAdminLimitExceeded:
		return "The directory refused the search by an administrative limit." + partial + " Raise it for the bind account " +
			"(389 DS: nsLookThroughLimit / nsslapd-lookthroughlimit; OpenLDAP: limits size.unchecked), index the attributes the " +
			"filter uses, or narrow the source location."
	}
	return ""
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

package provider

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
)

type validatorString = validator.String

var attributeNamePattern = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)$`)

func attributeNameValidators() []validator.String {
	return []validator.String{stringvalidator.RegexMatches(attributeNamePattern,
		"must be an LDAP attribute name (letters, digits and hyphens, starting with a letter) or an OID")}
}

func dnValidators() []validator.String { return []validator.String{dnValidator{}} }

// dnValidator rejects strings that are not distinguished names, at validate time.
type dnValidator struct{}

func (dnValidator) Description(context.Context) string {
	return "must be an LDAP distinguished name"
}
func (v dnValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (dnValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if !known(req.ConfigValue) {
		return
	}
	raw := req.ConfigValue.ValueString()
	dn, err := ldap.ParseDN(raw)
	if err != nil || len(dn.RDNs) == 0 {
		reason := "it is empty"
		if err != nil {
			reason = err.Error()
		}
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid distinguished name",
			fmt.Sprintf("%q is not a valid LDAP DN (%s). Example: OU=People,DC=corp,DC=example,DC=com.", raw, reason))
	}
}

// ldapFilterValidator rejects filters go-ldap cannot compile (e.g. unbalanced parentheses).
type ldapFilterValidator struct{}

func (ldapFilterValidator) Description(context.Context) string {
	return "must be an RFC 4515 LDAP filter in parentheses"
}
func (v ldapFilterValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (ldapFilterValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if !known(req.ConfigValue) {
		return
	}
	raw := req.ConfigValue.ValueString()
	if _, err := ldap.CompileFilter(raw); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid LDAP filter",
			fmt.Sprintf("%q is not a valid LDAP filter: %s. Example: (&(objectClass=user)(department=Engineering)).", raw, err))
	}
}

// usernameValidator applies PingID's username rules before any API call.
type usernameValidator struct{}

func (usernameValidator) Description(context.Context) string {
	return "must be 1 to 250 characters without leading or trailing whitespace or control characters"
}
func (v usernameValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (usernameValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if !known(req.ConfigValue) {
		return
	}
	if err := pingid.CheckUsername(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid username", err.Error())
	}
}

// validateSourceSelector requires group_dn, filter or both.
func validateSourceSelector(groupDN, filter types.String, at path.Path) diag.Diagnostics {
	var diags diag.Diagnostics
	if groupDN.IsUnknown() || filter.IsUnknown() {
		return diags
	}
	if (groupDN.IsNull() || groupDN.ValueString() == "") && (filter.IsNull() || filter.ValueString() == "") {
		diags.AddAttributeError(at, "Missing source selector",
			"Set group_dn, filter, or both (users in the group AND matching the filter). Without either, every entry under base_dn would be targeted.")
	}
	return diags
}

// httpURLValidator checks idp_url at validate time.
type httpURLValidator struct{}

func (httpURLValidator) Description(context.Context) string {
	return "must be an absolute https URL (http only for loopback hosts)"
}

func (v httpURLValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (httpURLValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if !known(req.ConfigValue) {
		return
	}
	if err := pingid.ValidateIDPURL(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid idp_url", err.Error())
	}
}

// ldapURLValidator checks datastore.url at validate time.
type ldapURLValidator struct{}

func (ldapURLValidator) Description(context.Context) string {
	return "must be an ldap:// or ldaps:// URL with a host"
}

func (v ldapURLValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (ldapURLValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if !known(req.ConfigValue) {
		return
	}
	raw := req.ConfigValue.ValueString()
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		shown := "the value"
		if err == nil {
			shown = fmt.Sprintf("%q", u.Redacted()) // never echo a password given in the URL
		}
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid datastore url",
			fmt.Sprintf("%s must be an ldap:// or ldaps:// URL with a host, e.g. ldaps://dc1.corp.example.com:636.", shown))
	}
}

// durationValidator checks Go duration strings at validate time.
type durationValidator struct{}

func (durationValidator) Description(context.Context) string {
	return "must be a positive Go duration such as 30s or 2m"
}

func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if !known(req.ConfigValue) {
		return
	}
	if d, err := time.ParseDuration(req.ConfigValue.ValueString()); err != nil || d <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration",
			fmt.Sprintf("%q is not a positive Go duration such as \"30s\" or \"2m\".", req.ConfigValue.ValueString()))
	}
}

// percentValidator accepts a share in percent, 0 to 100, or -1 for "no limit".
type percentValidator struct{}

func (percentValidator) Description(context.Context) string {
	return "must be between 0 and 100, or -1 for no limit"
}
func (v percentValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (percentValidator) ValidateFloat64(_ context.Context, req validator.Float64Request, resp *validator.Float64Response) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if v := req.ConfigValue.ValueFloat64(); v != -1 && (v < 0 || v > 100) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid percentage",
			fmt.Sprintf("%v is not a share of users: use a percentage between 0 and 100 (e.g. 20), or -1 for no limit.", v))
	}
}

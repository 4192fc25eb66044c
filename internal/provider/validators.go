package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
)

type validatorString = validator.String

// maxUsernameLength is PingID's documented limit.
const maxUsernameLength = 250

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
	if err := checkUsername(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid username", err.Error())
	}
}

func checkUsername(u string) error {
	switch n := len([]rune(u)); {
	case n == 0:
		return fmt.Errorf("the username is empty")
	case n > maxUsernameLength:
		return fmt.Errorf("the username is %d characters long; PingID allows at most %d", n, maxUsernameLength)
	case strings.TrimSpace(u) != u:
		return fmt.Errorf("the username %q has leading or trailing whitespace", u)
	}
	for _, r := range u {
		if unicode.IsControl(r) {
			return fmt.Errorf("the username %q contains a control character", u)
		}
	}
	return nil
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

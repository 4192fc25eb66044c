package provider

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/source"
)

// TestSourceErrorsNameTheServiceAndWhatToCheck: a gather failure says whether PingID or the
// directory failed, and which settings to look at.
func TestSourceErrorsNameTheServiceAndWhatToCheck(t *testing.T) {
	q := datastore.Query{BaseDN: "ou=people,dc=example,dc=com"}
	searchErr := func(code uint16) error {
		return &source.DirectoryError{Err: &datastore.Error{Op: datastore.OpSearch, Target: q.BaseDN, Code: code,
			Err: fmt.Errorf("filter (uid=*): %w", &ldap.Error{ResultCode: code, Err: errors.New("")})}}
	}
	tests := []struct {
		name        string
		err         error
		wantSummary string
		want        []string
	}{
		{"PingID refused the credentials", &source.PingIDError{Work: "plan-time look-ups", Err: &pingid.APIError{
			Operation: "getuserdetails", Username: "jsmith", HTTPStatus: 400, ErrorID: 400, Message: "Invalid input.", Unsigned: true}},
			"Unable to read users from PingID", []string{"plan-time look-ups", "org_alias", "token", "use_base64_key", "idp_url", "No user"}},
		{"PingID overloaded", &source.PingIDError{Work: "refresh", Err: &pingid.APIError{Operation: "getuserdetails", Username: "jsmith", HTTPStatus: 429}},
			"Unable to read users from PingID", []string{"429", "max_concurrency", "max_retries"}},
		{"PingID unreachable", &source.PingIDError{Work: "refresh", Err: fmt.Errorf("pingid getuserdetails \"jsmith\": %w",
			&url.Error{Op: "Post", URL: "https://idp.example/pingid", Err: errors.New("dial tcp: connection refused")})},
			"Unable to read users from PingID", []string{"idp_url", "reachable"}},
		{"PingID timeout", &source.PingIDError{Work: "refresh", Err: fmt.Errorf("pingid getuserdetails \"jsmith\": %w", context.DeadlineExceeded)},
			"Unable to read users from PingID", []string{"request_timeout"}},
		{"directory bind", &source.DirectoryError{Err: &datastore.Error{Op: datastore.OpBind, Target: "ldaps://dc1:636", Code: 49, Err: errors.New("invalid")}},
			"Unable to read the source location", []string{"bind_dn", "bind_password", envLDAPBindPassword}},
		{"directory unreachable", &source.DirectoryError{Err: &datastore.Error{Op: datastore.OpDial, Target: "ldaps://dc1:636", Err: errors.New("refused")}},
			"Unable to read the source location", []string{"datastore.url"}},
		{"size limit", searchErr(ldap.LDAPResultSizeLimitExceeded), "Unable to read the source location", []string{"size limit", "narrow"}},
		{"time limit", searchErr(ldap.LDAPResultTimeLimitExceeded), "Unable to read the source location", []string{"datastore.timeout"}},
		{"admin limit", searchErr(ldap.LDAPResultAdminLimitExceeded), "Unable to read the source location", []string{"administrative limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var diags diag.Diagnostics
			addSourceError(&diags, "Unable to read the source location", tt.err, q, path.Root("base_dn"), path.Root("group_dn"), noPartialRead)
			if len(diags) != 1 {
				t.Fatalf("diagnostics = %v, want one", diags)
			}
			d := diags[0]
			if d.Summary() != tt.wantSummary {
				t.Errorf("summary = %q, want %q", d.Summary(), tt.wantSummary)
			}
			for _, w := range tt.want {
				if !strings.Contains(d.Detail(), w) {
					t.Errorf("detail does not mention %q:\n%s", w, d.Detail())
				}
			}
		})
	}
}

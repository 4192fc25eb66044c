package provider

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// refreshLog records the connections this run has refreshed (Read), so that ModifyPlan can
// tell the plan a reader reviews from the same plan made again at apply.
//
// Why: Terraform plans every changed resource twice, once for the plan it shows and again
// at apply, in a new provider process, with the same state, private state and configuration
// (terraform-plugin-framework issue #1306: nothing in the request tells them apart). Warnings of
// the second plan are printed after the apply, where the summary ("3 to provision") reads as
// the outcome, even when some changes failed, and Terraform folds it into "(and one more similar
// warning elsewhere)". A plan of an existing connection is preceded by its refresh in the same
// process; the plan at apply never is. So the plan-time warnings are written only when the
// connection was refreshed in this run, or for a new connection (which has nothing to refresh:
// its first apply repeats them once). A plan with -refresh=false cannot be told from the plan at
// apply either, and prints the per-user diff without them.
type refreshLog struct {
	mu    sync.Mutex
	names map[string]bool
}

func newRefreshLog() *refreshLog { return &refreshLog{names: map[string]bool{}} }

func (l *refreshLog) record(name string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names[name] = true
}

func (l *refreshLog) refreshed(name string) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.names[name]
}

// explains reports whether this ModifyPlan is the one whose plan the reader reviews (see
// refreshLog), so that it writes the plan's explanations. (A renamed connection is replaced:
// Terraform 1.5 plans its create half too, but shows only that second plan's errors, so the
// first half explains.)
func (r *ProvisioningConnectionResource) explains(ctx context.Context, req resource.ModifyPlanRequest) bool {
	if req.State.Raw.IsNull() {
		return true
	}
	var name types.String
	if d := req.State.GetAttribute(ctx, path.Root("name"), &name); d.HasError() {
		return true
	}
	return r.data.refreshes.refreshed(name.ValueString())
}

// reportPlan writes the plan's summary and what it needs explained: the linked users with the
// PingID fields each link overwrites, users suspended outside Terraform, and administrators whose
// action is withheld. A plan that changes nothing says nothing, except about suspended users,
// whom every plan lists (issue 13: a lockout the plan keeps must stay visible).
func reportPlan(connection string, res *reconcile.Result, diags *diag.Diagnostics) {
	if n := countChanges(res.Actions); n > 0 {
		detail := fmt.Sprintf("Connection %q: %s.", connection, res.SummaryLine())
		if links := res.LinkDetails(); len(links) > 0 {
			detail += fmt.Sprintf("\n\n%s to link (already in PingID: the plan's entry shows only the new values), with the PingID fields the link changes:\n%s",
				pluralize(len(links), "Existing PingID user", "Existing PingID users"), reconcile.FormatLinkDetails(links))
		}
		diags.AddWarning("PingID provisioning summary", detail)
	}
	if n := len(res.Summary.LeftSuspended); n > 0 {
		diags.AddWarning("PingID users suspended outside Terraform",
			fmt.Sprintf("Connection %q: %d %s suspended in PingID; left suspended: %s. This connection did not suspend %s (a PingID administrator did, "+
				"e.g. for a lost phone or a suspicious login), so it does not undo the suspension. To let %s back in, re-activate %s in PingID, "+
				"or set reactivate_suspended_users = true to restore what the directory says.",
				connection, n, pluralize(n, "user is", "users are"), strings.Join(limitList(res.Summary.LeftSuspended), ", "),
				pluralize(n, "this user", "them"), pluralize(n, "the user", "them"), pluralize(n, "the user", "them")))
	}
	// Administrators are named when the plan changes something, i.e. when there is a plan to
	// review: then the reader needs to know whose change it leaves out. A plan without changes
	// would repeat the same names on every run.
	if len(res.Summary.SkippedAdmins) > 0 && res.HasChanges() {
		diags.AddWarning("PingID administrators left alone",
			fmt.Sprintf("Connection %q never edits, suspends or deletes users with the PingID ADMIN role: %s.",
				connection, strings.Join(limitList(res.Summary.SkippedAdmins), ", ")))
	}
}

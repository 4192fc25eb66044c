package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/source"
)

// ModifyPlan computes the planned users map: from the source snapshot the refresh stored (or a
// fresh read when there is none for these settings), the prior state and the options.
func (r *ProvisioningConnectionResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		r.planDestroy(ctx, req, resp)
		return
	}
	var plan connectionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if r.data == nil || !req.Plan.Raw.IsFullyKnown() && !onlyUsersUnknown(plan) {
		// Provider or connection settings depend on values known only after apply: the user
		// list cannot be planned yet.
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("users"), types.MapUnknown(types.StringType))...)
		return
	}
	_, diags := requireDatastore(r.data)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Before anything is read or planned: a misspelt attribute fails here, pointing at it.
	r.data.checkDirectoryAttributes(ctx, plan.AttributeMapping.directoryAttributes(), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	prior, ok := priorUsers(ctx, req, &resp.Diagnostics)
	if !ok {
		return
	}
	var stored privateGetter = req.Private
	if req.State.Raw.IsNull() {
		// A create. When it is the create half of a replacement, Terraform hands it the
		// private state of the instance being replaced: that snapshot describes the old
		// instance's users (its managed users are not among the snapshot's existing PingID
		// users), so planning from it would plan adduser for users who exist, and apply, which
		// plans the create again from a fresh read, would fail with an inconsistent final plan.
		stored = noPrivateState{}
	}
	snap, ok := r.planSnapshot(ctx, plan.Name.ValueString(), plan.spec(), prior, stored, &resp.Diagnostics)
	if !ok {
		return
	}
	baseline, err := r.readDeviceBaseline(ctx, prior, plan.deviceMode())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("manage_devices"), "Unable to read the users' PingID devices", err.Error())
		return
	}
	prior = withDeviceBaseline(prior, baseline, plan.deviceMode())
	res, err := reconcile.Plan(reconcile.Input{
		Prior:       prior,
		PriorAdmins: snap.Admins,
		InScope:     snap.InScope,
		OutOfScope:  snap.OutOfScope,
		Existing:    snap.Existing,
		Options:     plan.options(),
	})
	var threshold *reconcile.ThresholdError
	if errors.As(err, &threshold) {
		resp.Diagnostics.AddAttributeError(path.Root(threshold.Brake), "Too many users would be deprovisioned", threshold.Error())
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable to plan provisioning", err.Error())
		return
	}
	if !r.claimUsers(ctx, req, resp, plan.Name.ValueString(), connectionClaims(prior, res.Planned, snap.Admins)) {
		return
	}
	if !setPlannedUsers(ctx, &res, resp) {
		return
	}
	resp.Diagnostics.Append(setDeviceBaseline(ctx, resp.Private, baseline)...)
	reportPlan(ctx, plan.Name.ValueString(), &res, &resp.Diagnostics)
	if n := snap.MembersOutsideBase; n > 0 {
		resp.Diagnostics.AddAttributeWarning(path.Root("source_location").AtName("base_dn"), "Group members outside base_dn",
			fmt.Sprintf("Connection %q: %d %s of group_dn %q %s outside base_dn %q, so never in scope: %s never provisioned. "+
				"If %s should be, widen base_dn.", plan.Name.ValueString(), n, pluralize(n, "member", "members"), plan.SourceLocation.GroupDN.ValueString(),
				pluralize(n, "is", "are"), plan.SourceLocation.BaseDN.ValueString(), pluralize(n, "this user is", "these users are"), pluralize(n, "it", "they")))
	}
}

// connectionClaims are the users a connection's plan acts on or keeps enforcing: every planned
// user and every prior user it deletes, except PingID administrators, whom it never changes.
func connectionClaims(prior, planned map[string]reconcile.Entry, admins map[string]bool) []string {
	names := make([]string, 0, len(planned))
	for name := range planned {
		if !admins[reconcile.FoldUsername(name)] {
			names = append(names, name)
		}
	}
	for name := range prior {
		if _, kept := planned[name]; !kept && !admins[reconcile.FoldUsername(name)] {
			names = append(names, name)
		}
	}
	return names
}

// claimUsers registers the connection's users and fails the plan when another resource of this
// provider configuration manages any of them.
func (r *ProvisioningConnectionResource) claimUsers(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, name string, users []string) bool {
	if r.data.claims == nil || len(users) == 0 {
		return true
	}
	claimant, d := r.data.claims.claimant(ctx, req.Private, resp.Private)
	resp.Diagnostics.Append(d...)
	owner := connectionOwner(name)
	if conflicts := r.data.claims.claim(claimant, owner, users); len(conflicts) > 0 {
		resp.Diagnostics.AddAttributeError(path.Root("source_location"), "PingID users managed by two resources", conflictDetail(owner, conflicts))
		return false
	}
	return !resp.Diagnostics.HasError()
}

// priorUsers returns the users of the prior state; none for a new connection.
func priorUsers(ctx context.Context, req resource.ModifyPlanRequest, diags *diag.Diagnostics) (map[string]reconcile.Entry, bool) {
	if req.State.Raw.IsNull() {
		return map[string]reconcile.Entry{}, true
	}
	var state connectionModel
	diags.Append(req.State.Get(ctx, &state)...)
	if diags.HasError() {
		return nil, false
	}
	return stateUsers(state.Users, diags)
}

// planSnapshot returns the source snapshot the refresh stored for these settings or, when there
// is none (new connection, import, changed settings), reads the source now.
func (r *ProvisioningConnectionResource) planSnapshot(ctx context.Context, name string, spec source.Spec, prior map[string]reconcile.Entry, private privateGetter, diags *diag.Diagnostics) (*source.Snapshot, bool) {
	raw, d := private.GetKey(ctx, privateSnapshotKey)
	diags.Append(d...)
	snap, err := decodeSnapshot(raw)
	if err != nil {
		tflog.Warn(ctx, "ignoring unreadable source snapshot", map[string]any{"error": err.Error()})
		snap = nil
	}
	if snap != nil && snap.Fingerprint == spec.Fingerprint() {
		return snap, true
	}
	var admins map[string]bool
	if snap != nil {
		admins = snap.Admins
	}
	snap, err = r.gatherer(name).Read(ctx, spec, prior, admins)
	if err != nil {
		addSourceError(diags, "Unable to read the source location", err, spec.Query,
			path.Root("source_location").AtName("base_dn"), path.Root("source_location").AtName("group_dn"), noPartialRead)
		return nil, false
	}
	return snap, true
}

// privateGetter reads private state: the request's, or none.
type privateGetter interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}

// noPrivateState is a private state with no keys.
type noPrivateState struct{}

func (noPrivateState) GetKey(context.Context, string) ([]byte, diag.Diagnostics) { return nil, nil }

// setPlannedUsers stores the planned users map and, in the planned private state, the link set
// and the plan kind apply needs.
func setPlannedUsers(ctx context.Context, res *reconcile.Result, resp *resource.ModifyPlanResponse) bool {
	users, d := encodeUsers(res.Planned)
	resp.Diagnostics.Append(d...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("users"), users)...)
	resp.Diagnostics.Append(setLinkSet(ctx, resp.Private, res.LinkSet)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privatePlanKindKey, []byte(`"`+planKindApply+`"`))...)
	return !resp.Diagnostics.HasError()
}

// reportPlan writes the audit lines and the plan's summary and skipped-administrator warnings.
func reportPlan(ctx context.Context, connection string, res *reconcile.Result, diags *diag.Diagnostics) {
	auditActions(ctx, connection, res.Actions)
	if n := countChanges(res.Actions); n > 0 {
		diags.AddWarning("PingID provisioning summary",
			fmt.Sprintf("Connection %q: %s.", connection, res.SummaryLine()))
	}
	if n := len(res.Summary.LeftSuspended); n > 0 {
		diags.AddWarning("PingID users suspended outside Terraform",
			fmt.Sprintf("Connection %q: %d %s suspended in PingID; left suspended: %s. This connection did not suspend %s (a PingID administrator did, "+
				"e.g. for a lost phone or a suspicious login), so it does not undo the suspension. To let %s back in, re-activate %s in PingID, "+
				"or set reactivate_suspended_users = true to restore what the directory says.",
				connection, n, pluralize(n, "user is", "users are"), strings.Join(limitList(res.Summary.LeftSuspended), ", "),
				pluralize(n, "this user", "them"), pluralize(n, "the user", "them"), pluralize(n, "the user", "them")))
	}
	if len(res.Summary.SkippedAdmins) > 0 {
		diags.AddWarning("PingID administrators left alone",
			fmt.Sprintf("Connection %q never edits, suspends or deletes users with the PingID ADMIN role: %s.",
				connection, strings.Join(limitList(res.Summary.SkippedAdmins), ", ")))
	}
}

// onlyUsersUnknown reports whether the only unknown value is the computed users map, which is
// what the framework proposes before ModifyPlan fills it.
func onlyUsersUnknown(m connectionModel) bool {
	if m.SourceLocation == nil || m.AttributeMapping == nil {
		return false
	}
	for _, v := range []attr.Value{
		m.Name, m.SourceLocation.BaseDN, m.SourceLocation.GroupDN, m.SourceLocation.Filter, m.SourceLocation.NestedGroups,
		m.SourceLocation.DisabledFilter, m.AttributeMapping.Username, m.AttributeMapping.Email, m.AttributeMapping.FirstName,
		m.AttributeMapping.LastName, m.UserCreate, m.UserUpdate, m.UserDisableDelete, m.ProvisionDisabledUsers,
		m.RemoveUserAction, m.MaxDeprovisions, m.MaxDeprovisionsPercent, m.ReactivateSuspendedUsers, m.OnDestroy, m.ManageDevices, m.PrimaryDeviceOnCreate,
		m.DriftDetection, m.DriftDetectionWindow,
	} {
		if v.IsUnknown() {
			return false
		}
	}
	for _, v := range m.AttributeMapping.deviceValues() {
		if v.IsUnknown() {
			return false
		}
	}
	return true
}

func (r *ProvisioningConnectionResource) planDestroy(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privatePlanKindKey, []byte(`"`+planKindDestroy+`"`))...)
	var state connectionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || state.OnDestroy.ValueString() != onDestroyDeprovision {
		return
	}
	prior, ok := stateUsers(state.Users, &resp.Diagnostics)
	if !ok {
		return
	}
	admins, d := snapshotAdmins(ctx, req.Private)
	resp.Diagnostics.Append(d...)
	actions, tooMany := state.destroyActions(prior, admins)
	if tooMany != nil {
		resp.Diagnostics.AddAttributeError(path.Root(tooMany.Brake), "Too many users would be deprovisioned", tooMany.Error())
		return
	}
	if r.data != nil {
		users := make([]string, 0, len(actions))
		for _, a := range actions {
			users = append(users, a.Username)
		}
		if !r.claimUsers(ctx, req, resp, state.Name.ValueString(), users) {
			return
		}
	}
	if len(actions) > 0 {
		resp.Diagnostics.AddWarning("PingID users will be deprovisioned",
			fmt.Sprintf("Destroying connection %q with on_destroy = \"deprovision\" will %s %d users.", state.Name.ValueString(), state.RemoveUserAction.ValueString(), len(actions)))
	}
}

// destroyActions lists what on_destroy = "deprovision" does to the connection's users.
func (m connectionModel) destroyActions(prior map[string]reconcile.Entry, admins map[string]bool) ([]reconcile.Action, *reconcile.ThresholdError) {
	return reconcile.DestroyActions(prior, admins, reconcile.RemoveAction(m.RemoveUserAction.ValueString()), int(m.MaxDeprovisions.ValueInt64()), m.maxDeprovisionsPercent())
}

func pluralize(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func countChanges(actions []reconcile.Action) int {
	n := 0
	for _, a := range actions {
		if a.Kind != reconcile.KindStateOnly {
			n++
		}
	}
	return n
}

// auditActions writes one structured line per planned user action: the audit trail of what
// a plan proposes, at INFO so TF_LOG=INFO captures it.
func auditActions(ctx context.Context, connection string, actions []reconcile.Action) {
	for _, a := range actions {
		tflog.Info(ctx, "planned user action", map[string]any{
			"connection": connection, "username": a.Username, "action": string(a.Kind), "reason": a.Reason,
		})
	}
}

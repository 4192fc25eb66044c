// Rolling drift detection (drift_detection = "rolling"): a refresh reads from PingID only the
// users the plan may act on plus a rotating share of the others, and keeps the bookkeeping of
// when each user was last read in private state. Nothing of it is stored while drift_detection
// is unset or "full", so state written before the setting existed plans exactly as before.

package provider

import (
	"context"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/source"
)

// privateReadTimesKey holds source.ReadTimes, only with drift_detection = "rolling".
const privateReadTimesKey = "drift_read_times"

type privateGetSetter interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
	SetKey(context.Context, string, []byte) diag.Diagnostics
}

// readTimes loads the bookkeeping; unreadable bookkeeping is dropped (every user is then due,
// which is safe: it costs one full read).
func readTimes(ctx context.Context, private interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}, diags *diag.Diagnostics) *source.ReadTimes {
	raw, d := private.GetKey(ctx, privateReadTimesKey)
	diags.Append(d...)
	rt, err := source.DecodeReadTimes(raw)
	if err != nil {
		tflog.Warn(ctx, "ignoring unreadable drift detection bookkeeping; every managed user is read once", map[string]any{"error": err.Error()})
		return source.NewReadTimes()
	}
	return rt
}

func storeReadTimes(ctx context.Context, private privateGetSetter, rt *source.ReadTimes, diags *diag.Diagnostics) {
	raw, err := rt.Encode()
	if err != nil {
		diags.AddError("Unable to store the drift detection bookkeeping", err.Error())
		return
	}
	diags.Append(private.SetKey(ctx, privateReadTimesKey, raw)...)
}

// readRolling is Read with rolling drift detection: the directory first, then PingID for the
// users the plan may act on and those due for a read.
func (r *ProvisioningConnectionResource) readRolling(ctx context.Context, state *connectionModel, prior map[string]reconcile.Entry,
	req resource.ReadRequest, resp *resource.ReadResponse,
) {
	name := state.Name.ValueString()
	g := r.gatherer(name)
	times := readTimes(ctx, req.Private, &resp.Diagnostics)
	prevAdmins, d := snapshotAdmins(ctx, req.Private)
	resp.Diagnostics.Append(d...)

	spec := state.spec()
	snap, err := g.Read(ctx, spec, prior, prevAdmins)
	if err != nil {
		addSourceError(&resp.Diagnostics, "Unable to read the source location", err, spec.Query,
			path.Root("source_location").AtName("base_dn"), path.Root("source_location").AtName("group_dn"), noPartialRead)
		return
	}
	managed := make([]string, 0, len(prior))
	for n := range prior {
		managed = append(managed, n)
	}
	slices.Sort(managed)
	actedOn, err := source.ActedOn(prior, prevAdmins, snap, state.options())
	if err != nil {
		tflog.Warn(ctx, "rolling drift detection could not tell which users the plan acts on; reading every managed user", map[string]any{"error": err.Error()})
		actedOn = managed
	}
	now := r.data.now()
	due := times.Due(managed, now, state.driftWindow())
	toRead := append(slices.Clone(actedOn), due...)
	refreshed, err := g.RefreshUsers(ctx, prior, toRead)
	if err != nil {
		addPingIDError(&resp.Diagnostics, "Unable to refresh PingID users", err)
		return
	}
	for _, n := range refreshed.Gone {
		tflog.Info(ctx, "managed user no longer exists in PingID", map[string]any{"username": n})
	}

	// Users not read keep what the last read found, administrators included.
	admins := map[string]bool{}
	wasRead := map[string]bool{}
	for _, n := range toRead {
		wasRead[reconcile.FoldUsername(n)] = true
	}
	for lower := range prevAdmins {
		if !wasRead[lower] {
			admins[lower] = true
		}
	}
	for lower := range refreshed.Admins {
		admins[lower] = true
	}
	snap.Admins = admins

	times.Record(toRead, now)
	times.Refreshed(now)
	times.Retain(refreshed.Users)
	tflog.Info(ctx, "rolling drift detection", map[string]any{
		"connection": name, "managed_users": len(prior), "read": len(slices.Compact(slices.Sorted(slices.Values(toRead)))),
		"acted_on": len(actedOn), "due": len(due), "window": state.driftWindow().String(),
	})

	users, d := encodeUsers(refreshed.Users)
	resp.Diagnostics.Append(d...)
	state.Users = users
	raw, err := encodeSnapshot(snap)
	if err != nil {
		resp.Diagnostics.AddError("Unable to store the source snapshot", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateSnapshotKey, raw)...)
	storeReadTimes(ctx, resp.Private, times, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// recordApply keeps the bookkeeping after an apply. The users it wrote hold what the plan
// predicted, not what PingID reports (a new user's status, say), so they are due again: the
// next refresh reads them, as a full refresh would. A new connection has no bookkeeping yet,
// so its first refresh reads every user. Without rolling drift detection the bookkeeping is
// dropped.
func (r *ProvisioningConnectionResource) recordApply(ctx context.Context, plan *connectionModel, written []string, created bool,
	private privateGetSetter, diags *diag.Diagnostics,
) {
	if !plan.rolling() || created {
		diags.Append(private.SetKey(ctx, privateReadTimesKey, nil)...)
		return
	}
	final, err := decodeUsers(plan.Users)
	if err != nil {
		return // reported by apply
	}
	times := readTimes(ctx, private, diags)
	times.Forget(written)
	times.Retain(final)
	storeReadTimes(ctx, private, times, diags)
}

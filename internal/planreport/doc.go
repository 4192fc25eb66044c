// Package planreport turns the JSON of a saved Terraform or OpenTofu plan (`terraform show -json
// PLANFILE`) into a review of its PingID user changes: who gains access, who loses it, and why.
//
// It reads only the plan: the `users` map of each pingid_provisioning_connection (before and
// after, per key) and the pingid_mapped_user resource changes. It never needs the provider, the
// directory or PingID, so it runs in any CI job that has the plan. Everything is derived the way
// the provider's apply derives its actions from the same two maps (internal/reconcile.Diff):
//
//   - a key only in after is a create, or a link of an existing PingID user when its planned
//     status is one PingID reported (the provider plans a new user as NOT_ACTIVE and copies the
//     status of a user it links); a link of a PingID user that never activated (NOT_ACTIVE) is
//     therefore indistinguishable from a create in the plan;
//   - a key only in before is a delete;
//   - in both: enabled false->true is an enable, true->false a disable, a changed email or name
//     an update, and dn/source_state/status alone a record-only change (no PingID call);
//   - devices (a slot added, changed or removed) and other_devices (entries planned away) are
//     device rows of their own, so a new MFA device is never hidden behind an update.
//
// Fields it does not know are compared and shown as they are, so a plan from a newer provider
// still reports (never silently drops) what changes.
package planreport

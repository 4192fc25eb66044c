// Package reconcile is the decide step, the pure core of pingid_provisioning_connection: it
// reconciles desired and actual, turning the refreshed state, the directory users of a source
// location, the PingID users found for them and the connection options into the planned `users`
// map and the actions that lead to it.
// It does no I/O: no network, files, logging or clock. Everything is linear in the number of
// users (map look-ups only; the only sorts run once, over the changed users).
//
// Matching is case-insensitive on the username (FoldUsername); the map key keeps the PingID
// spelling (the prior key or the existing PingID user's name); a new user keeps the directory
// spelling.
//
// Decisions (PingFederate PingID Provisioner semantics, made explicit; "removal" = the source
// state is disabled, out_of_scope or deleted):
//
//	directory \ state        not managed, not in PingID   not managed, in PingID (Existing)   managed (Prior)
//	in scope, enabled        create if user_create         link (ADMIN: skipped)               update mapped fields and re-enable,
//	                                                                                           if user_update
//	in scope, disabled       create disabled if            link, suspended if                  removal
//	                         user_create and               user_disable_delete (ADMIN:
//	                         provision_disabled_users (*)  skipped), if provision_disabled
//	                                                       _users (*)
//	not in scope / absent    -                             -                                   removal (out_of_scope / deleted)
//
//	removal with user_disable_delete:  remove_user_action "disable" -> enabled=false (already
//	                                   disabled: nothing to do); "delete" -> leaves the map.
//	removal without it:                bookkeeping only (state_only: dn, source_state).
//
// (*) With remove_user_action = "delete" (and user_disable_delete) disabled directory users are
// never provisioned or linked: the Provisioner's known flaw is that it re-creates users it has
// just deleted as disabled; here they are listed in Summary.SkippedDisabled instead.
//
// Rules applying to every row:
//   - Decisions are level-triggered: the desired entry depends only on the current directory,
//     the refreshed entry and the options, never on what the previous run did, so a plan applied
//     without drift is followed by an empty plan (tested as a property).
//   - Only mapped fields are ever changed. A nil directory value (unmapped or missing) keeps the
//     current PingID value: like the Provisioner, a connection never clears an attribute.
//   - Re-enabling (a managed user enabled=false whose directory user is in scope and enabled, or
//     a suspended PingID user being linked) needs user_update, as in the Provisioner.
//   - A suspension made in PingID is never undone silently. This connection suspends users only
//     in a removal state, so an in-scope entry with enabled=false and status SUSPENDED
//     (SuspendedOutside) is a user suspended outside Terraform: the plan keeps the entry (the
//     next plan is then empty too) and lists it in Summary.LeftSuspended. With
//     reactivate_suspended_users (and user_update) it is enabled instead, counted in Enable and
//     Summary.Reactivated, reason "suspended outside Terraform". A SUSPENDED PingID user being
//     linked is likewise linked as enabled=false, unless reactivate_suspended_users. A returning
//     user this connection suspended, kept disabled by user_update = false, keeps its removal
//     source_state, so it is still recognised as this connection's suspension later.
//   - Linking brings an existing PingID user under management and creates nothing, so it does not
//     need user_create.
//   - Users whose PingID role is ADMIN are never updated, enabled, disabled or deleted: their
//     entry only gets dn/source_state bookkeeping, and each one whose action was withheld is
//     listed in Summary.SkippedAdmins. Existing ADMIN users are never linked (also listed).
//   - max_deprovisions counts every action that disables or deletes a user: disables, deletes
//     and links that suspend the linked user, whatever the cause (scope exit, directory disable,
//     directory deletion). max_deprovisions_percent counts the same actions against a share of
//     the managed users (prior users plus links; see AllowedDeprovisions). Exceeding either
//     returns the full Result and a *ThresholdError naming the brake.
//
// Status rule: `status` is what PingID reports, never a guess. Planned copies it from the
// refreshed entry (or from the existing PingID user being linked), except where the outcome is
// certain: a new user gets NOT_ACTIVE (what adduser with activateUser=false yields), and every
// disable (a managed user disabled, a disabled directory user created or a link that suspends)
// gets SUSPENDED, because the executor always ends a disable with suspenduser (a NOT_ACTIVE
// user, whom PingID refuses to suspend with error 10561, is activated first). So the refresh
// after apply finds what the state records, also with rolling drift detection, which does not
// re-read every user. Re-activating keeps the last read status: activateuser returns a user to
// ACTIVE or PENDING_ACTIVATION depending on its devices, which the plan cannot know, and apply
// must store exactly the planned value; the next refresh records the real one. Diff therefore
// classifies a status-only difference as state_only, never as an API call.
//
// Provider flow: Read (through internal/source, the gather step) applies Refreshed to each prior entry (users deleted in PingID are
// dropped); ModifyPlan decodes the state with ParseUsers, asks ScopeDelta which users to look
// up in the directory (Input.OutOfScope) and in PingID (Input.Existing), calls Plan and stores
// each planned entry's JSON (what EncodeUsers gives) plus the link set; apply runs Diff and
// stores the successes.
//
// At apply, Diff(prior, planned, linkSet) recovers the actions from the two maps alone; it agrees
// with Plan on every kind and every change (tested as a property over randomized inputs).
package reconcile

package reconcile

import (
	"slices"
	"strconv"
	"strings"
)

// Diff recovers the actions from the prior and planned maps alone, for apply: a key only in
// planned is a create (or a link when in linkSet; a create with Enabled=false means add, then
// disable), a key only in prior is a delete, and a key in both is classified by classify. It
// agrees with Plan on every kind and, except for links, every change; reasons are derived from
// the two entries and are less specific than Plan's (a delete's cause is not in the maps).
func Diff(prior, planned map[string]Entry, linkSet map[string]bool) []Action {
	var actions []Action
	for username, next := range planned {
		before, managed := prior[username]
		if !managed {
			kind := KindCreate
			if linkSet[username] {
				kind = KindLink
			}
			actions = append(actions, Action{Username: username, Kind: kind, Reason: describe(kind, Entry{}, next),
				Changes: changes(Entry{}, next), Planned: ptr(next)})
			continue
		}
		kind := classify(before, next)
		if kind == "" {
			continue
		}
		actions = append(actions, Action{Username: username, Kind: kind, Reason: describe(kind, before, next),
			Changes: changes(before, next), Prior: ptr(before), Planned: ptr(next)})
	}
	for username, before := range prior {
		if _, kept := planned[username]; !kept {
			actions = append(actions, Action{Username: username, Kind: KindDelete, Reason: "no longer managed",
				Prior: ptr(before)})
		}
	}
	slices.SortFunc(actions, func(a, b Action) int { return strings.Compare(a.Username, b.Username) })
	return actions
}

// classify names the action that turns prior into next, or "" when they are identical. A
// change of enabled wins over attribute changes (the executor updates first, then suspends or
// activates); dn, source_state and status alone need no API call.
func classify(prior, next Entry) ActionKind {
	switch {
	case prior.Enabled && !next.Enabled:
		return KindDisable
	case !prior.Enabled && next.Enabled:
		return KindEnable
	case prior.Email != next.Email || prior.FirstName != next.FirstName || prior.LastName != next.LastName:
		return KindUpdate
	case DeviceDiff(prior, next).Any():
		return KindUpdate
	case prior != next:
		return KindStateOnly
	}
	return ""
}

// The mappable PingID fields, as FieldChange.Field names them (the users map's JSON keys).
const (
	FieldEmail     = "email"
	FieldFirstName = "first_name"
	FieldLastName  = "last_name"
)

// ChangesMappedFields reports whether the action changes a mappable PingID field (email, first or
// last name), which takes an updateuser call; the other changes are bookkeeping or suspend/activate.
func (a Action) ChangesMappedFields() bool {
	for _, ch := range a.Changes {
		switch ch.Field {
		case FieldEmail, FieldFirstName, FieldLastName:
			return true
		}
	}
	return false
}

// changes lists the differing fields in JSON key order.
func changes(prior, next Entry) []FieldChange {
	var out []FieldChange
	add := func(field, from, to string) {
		if from != to {
			out = append(out, FieldChange{Field: field, From: from, To: to})
		}
	}
	add("dn", prior.DN, next.DN)
	add(FieldEmail, prior.Email, next.Email)
	add("enabled", strconv.FormatBool(prior.Enabled), strconv.FormatBool(next.Enabled))
	add(FieldFirstName, prior.FirstName, next.FirstName)
	add(FieldLastName, prior.LastName, next.LastName)
	dc := DeviceDiff(prior, next)
	for _, s := range dc.Slots {
		add("devices."+s.Name(), prior.Devices.Values[s], next.Devices.Values[s])
	}
	if len(dc.RemoveOthers) > 0 {
		add("other_devices", strings.Join(dc.RemoveOthers, ", "), "")
	}
	add("source_state", string(prior.SourceState), string(next.SourceState))
	add("status", prior.Status, next.Status)
	return out
}

func ptr(e Entry) *Entry { return &e }

// removalReason says why a user in a removal state is deprovisioned.
func removalReason(state SourceState) string {
	switch state {
	case SourceDisabled:
		return "disabled in directory"
	case SourceOutOfScope:
		return "left group/filter"
	case SourceDeleted:
		return "deleted from directory"
	case SourceInScope:
		// Not a removal state.
	}
	return "removed"
}

// returnReason says why a user is back in scope, by the state it comes from.
func returnReason(from SourceState) string {
	switch from {
	case SourceInScope:
		return "suspended outside Terraform"
	case SourceDisabled:
		return "re-enabled in directory"
	case SourceOutOfScope:
		return "back in group/filter"
	case SourceDeleted:
		return "back in directory and in scope"
	}
	return "back in scope"
}

// describe is the short human reason for an action derived from the two entries alone.
func describe(kind ActionKind, prior, next Entry) string {
	var parts []string
	switch kind {
	case KindCreate:
		if next.SourceState == SourceDisabled {
			return "disabled in directory, created disabled"
		}
		if dd := describeDevices(prior, next, DeviceDiff(prior, next)); dd != "" {
			return "in scope, not in PingID; " + dd
		}
		return "in scope, not in PingID"
	case KindLink:
		if next.SourceState == SourceDisabled {
			return "existing PingID user linked; disabled in directory"
		}
		return "existing PingID user linked"
	case KindDisable:
		r := removalReason(next.SourceState)
		if next.SourceState == SourceInScope {
			r = "disabled"
		} else if prior.SourceState == next.SourceState {
			r += ", still enabled in PingID"
		}
		parts = append(parts, r)
	case KindEnable:
		parts = append(parts, returnReason(prior.SourceState))
	case KindUpdate, KindDelete:
		// The changed attributes below (update) or nothing (delete: Diff gives its reason).
	case KindStateOnly:
		switch {
		case prior.SourceState == next.SourceState:
		case next.SourceState == SourceInScope:
			parts = append(parts, returnReason(prior.SourceState))
		default:
			parts = append(parts, removalReason(next.SourceState))
		}
		if prior.DN != next.DN {
			parts = append(parts, "DN changed")
		}
		if prior.Status != next.Status {
			parts = append(parts, "status changed")
		}
		if prior.Devices.Managed && !next.Devices.Managed || prior.OtherDevices.Managed && !next.OtherDevices.Managed {
			parts = append(parts, "devices no longer recorded (manage_devices changed)")
		}
	}
	if fields := changedAttributes(prior, next); fields != "" {
		parts = append(parts, fields+" changed")
	}
	if dd := describeDevices(prior, next, DeviceDiff(prior, next)); dd != "" {
		parts = append(parts, dd)
	}
	return strings.Join(parts, "; ")
}

// changedAttributes names the changed mapped attributes, e.g. "email, last_name".
func changedAttributes(prior, next Entry) string {
	var names []string
	if prior.Email != next.Email {
		names = append(names, "email")
	}
	if prior.FirstName != next.FirstName {
		names = append(names, "first_name")
	}
	if prior.LastName != next.LastName {
		names = append(names, "last_name")
	}
	return strings.Join(names, ", ")
}

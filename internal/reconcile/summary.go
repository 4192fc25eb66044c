package reconcile

import (
	"fmt"
	"strconv"
	"strings"
)

// SummaryLine is the one-line plan summary, e.g. "3 to provision (1 existing PingID user to
// link), 2 to update, 1 to disable, 0 to enable, 1 to delete".
func (r Result) SummaryLine() string {
	s := r.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "%d to provision", s.Provision)
	if s.Link > 0 {
		fmt.Fprintf(&b, " (%d existing PingID %s to link)", s.Link, usersWord(s.Link))
	}
	fmt.Fprintf(&b, ", %d to update, %d to disable, %d to enable, %d to delete", s.Update, s.Disable, s.Enable, s.Delete)
	if s.DevicePairs > 0 || s.DeviceUnpairs > 0 {
		fmt.Fprintf(&b, "; %d %s to pair, %d to unpair", s.DevicePairs, devicesWord(s.DevicePairs), s.DeviceUnpairs)
	}
	if n := len(s.Reactivated); n > 0 {
		fmt.Fprintf(&b, "; %d %s suspended outside Terraform to re-activate", n, usersWord(n))
	}
	if n := len(s.LeftSuspended); n > 0 {
		fmt.Fprintf(&b, "; %d %s suspended outside Terraform left suspended", n, usersWord(n))
	}
	if n := len(s.SkippedAdmins); n > 0 {
		fmt.Fprintf(&b, "; %d PingID ADMIN %s left unchanged", n, usersWord(n))
	}
	if n := len(s.SkippedDisabled); n > 0 {
		fmt.Fprintf(&b, "; %d disabled directory %s not provisioned", n, usersWord(n))
	}
	return b.String()
}

// LinkDetail is one existing PingID user a plan links, with the PingID fields the link
// changes (the existing user's value -> the planned one). A link has no prior entry, so the
// plan's entry alone shows only the new values: this is what the reader needs to see the
// email or name that is about to be overwritten.
type LinkDetail struct {
	Username string
	Changes  []FieldChange
}

// LinkDetails lists the plan's links, sorted by username, each with the changes of the PingID
// fields: email, names, enabled and devices (dn, source_state and status are bookkeeping).
func (r Result) LinkDetails() []LinkDetail {
	var out []LinkDetail
	for _, a := range r.Actions {
		if a.Kind != KindLink {
			continue
		}
		d := LinkDetail{Username: a.Username}
		for _, ch := range a.Changes {
			switch ch.Field {
			case "dn", "source_state", "status":
				continue
			}
			d.Changes = append(d.Changes, ch)
		}
		out = append(out, d)
	}
	return out
}

// FormatLinkDetails writes one line per linked user, at most maxListedUsers of them (as the
// deprovisioning list), e.g. `wei.chen: email "wei@old.test" -> "wei@new.test"`.
func FormatLinkDetails(details []LinkDetail) string {
	var b strings.Builder
	for i, d := range details {
		if i == maxListedUsers {
			fmt.Fprintf(&b, "\n  ... and %d more linked %s", len(details)-maxListedUsers, usersWord(len(details)-maxListedUsers))
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "  %s: ", d.Username)
		if len(d.Changes) == 0 {
			b.WriteString("no PingID field changes")
			continue
		}
		for j, ch := range d.Changes {
			if j > 0 {
				b.WriteString(", ")
			}
			if ch.Field == "enabled" {
				fmt.Fprintf(&b, "enabled %s -> %s", ch.From, ch.To) // a boolean, as in the plan
				continue
			}
			fmt.Fprintf(&b, "%s %s -> %s", ch.Field, quoteValue(ch.From), quoteValue(ch.To))
		}
	}
	return b.String()
}

// quoteValue writes a field value for a plan message: quoted, with "(none)" for an empty one.
func quoteValue(v string) string {
	if v == "" {
		return "(none)"
	}
	return strconv.Quote(v)
}

// Outcome counts what an apply did: the actions that succeeded and those that failed, by kind.
type Outcome struct {
	Done, Failed map[ActionKind]int
}

// Record counts one action's result.
func (o *Outcome) Record(kind ActionKind, failed bool) {
	if kind == KindStateOnly {
		return // bookkeeping, no API call
	}
	m := &o.Done
	if failed {
		m = &o.Failed
	}
	if *m == nil {
		*m = map[ActionKind]int{}
	}
	(*m)[kind]++
}

// outcomeOrder is the order in which Outcome.String names the kinds.
var outcomeOrder = []struct {
	kind       ActionKind
	done, todo string
}{
	{KindCreate, "created", "create"}, {KindLink, "linked", "link"}, {KindUpdate, "updated", "update"},
	{KindDisable, "disabled", "disable"}, {KindEnable, "enabled", "enable"}, {KindDelete, "deleted", "delete"},
}

// String is e.g. "done: 2 created, 1 disabled; failed: 1 create".
func (o Outcome) String() string {
	part := func(m map[ActionKind]int, done bool) string {
		var items []string
		for _, k := range outcomeOrder {
			if n := m[k.kind]; n > 0 {
				word := k.todo
				if done {
					word = k.done
				}
				items = append(items, fmt.Sprintf("%d %s", n, word))
			}
		}
		if len(items) == 0 {
			return "nothing"
		}
		return strings.Join(items, ", ")
	}
	return "done: " + part(o.Done, true) + "; failed: " + part(o.Failed, false)
}

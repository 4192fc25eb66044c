package planreport

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Gate is one --fail-on condition: more than Max rows of the named actions fail it.
type Gate struct {
	Spec    string // as given, e.g. "deprovision>50"
	Name    string
	Max     int
	actions []Action // nil for "deprovision", which counts Row.Deprovision
}

// gateGroups are names for several actions at once.
var gateGroups = map[string][]Action{
	"widening": {ActionLink, ActionEnable, ActionDeviceAdd, ActionDeviceChange},
	"removing": {ActionDisable, ActionDelete, ActionDeviceRemove},
	"device":   {ActionDeviceAdd, ActionDeviceChange, ActionDeviceRemove},
	"any":      Actions,
}

// GateNames lists what --fail-on accepts before an optional ">N".
func GateNames() []string {
	names := []string{"deprovision"}
	for g := range gateGroups {
		names = append(names, g)
	}
	slices.Sort(names)
	for _, a := range Actions {
		names = append(names, string(a))
	}
	return names
}

// ParseGates reads --fail-on values: each is a comma-separated list of NAME or NAME>N, where
// NAME is an action (enable, delete, ...), "deprovision" (disables, deletes and links that
// suspend: what the brakes count), or a group (widening, removing, device, any). NAME alone
// means NAME>0.
func ParseGates(values []string) ([]Gate, error) {
	var gates []Gate
	for _, v := range values {
		for _, spec := range strings.Split(v, ",") {
			spec = strings.TrimSpace(spec)
			if spec == "" {
				continue
			}
			name, limit, hasLimit := strings.Cut(spec, ">")
			name = strings.ToLower(strings.TrimSpace(name))
			g := Gate{Spec: spec, Name: name}
			if hasLimit {
				n, err := strconv.Atoi(strings.TrimSpace(limit))
				if err != nil || n < 0 {
					return nil, fmt.Errorf("--fail-on %q: the limit after '>' must be a whole number >= 0", spec)
				}
				g.Max = n
			}
			switch {
			case name == "deprovision":
			case gateGroups[name] != nil:
				g.actions = gateGroups[name]
			case slices.Contains(Actions, Action(name)):
				g.actions = []Action{Action(name)}
			default:
				return nil, fmt.Errorf("--fail-on %q: unknown action %q (want one of %s, optionally followed by >N)", spec, name, strings.Join(GateNames(), ", "))
			}
			gates = append(gates, g)
		}
	}
	return gates, nil
}

func (g Gate) matches(row Row) bool {
	if g.actions == nil {
		return row.Deprovision
	}
	return slices.Contains(g.actions, row.Action)
}

// GateFailure is a gate the plan fails, with the rows it counted.
type GateFailure struct {
	Gate Gate
	Rows []Row
	// Unknown names connections whose users are known only after apply: the gate cannot be
	// shown to hold, so it fails.
	Unknown []string
}

func (f GateFailure) String() string {
	if len(f.Unknown) > 0 && len(f.Rows) <= f.Gate.Max {
		return fmt.Sprintf("--fail-on %s: cannot be checked: users of %s are known only after apply", f.Gate.Spec, strings.Join(f.Unknown, ", "))
	}
	return fmt.Sprintf("--fail-on %s: %d %s (more than %d)", f.Gate.Spec, len(f.Rows), plural(len(f.Rows), "row", "rows"), f.Gate.Max)
}

// Check evaluates the gates; it returns the failed ones.
func (r *Report) Check(gates []Gate) []GateFailure {
	var unknown []string
	for _, res := range r.Resources {
		if res.UsersUnknown {
			unknown = append(unknown, res.Address)
		}
	}
	var out []GateFailure
	rows := r.Rows()
	for _, g := range gates {
		f := GateFailure{Gate: g, Unknown: unknown}
		for _, row := range rows {
			if g.matches(row) {
				f.Rows = append(f.Rows, row)
			}
		}
		if len(f.Rows) > g.Max || len(unknown) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// PlainRow is a row on one line, for the terminal: connection, user, action, reason, changes.
func PlainRow(row Row) string {
	var parts []string
	for _, ch := range row.Changes {
		parts = append(parts, ch.Field+changeText(ch, row.NewUser, strconv.Quote))
	}
	reason := row.Reason
	if row.SourceState != "" {
		reason += " (" + row.SourceState + ")"
	}
	cells := []string{row.Connection, row.User, string(row.Action), reason, strings.Join(parts, "; ")}
	for i, c := range cells {
		cells[i] = visibleText(c)
	}
	return strings.Join(cells, "\t")
}

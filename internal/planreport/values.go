package planreport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
)

// connectionValues is the part of a connection's before/after object the report reads. Settings
// that an older provider lacks (max_deprovisions_percent, ...) are nil.
type connectionValues struct {
	Name                     *string           `json:"name"`
	Users                    map[string]string `json:"users"`
	RemoveUserAction         *string           `json:"remove_user_action"`
	OnDestroy                *string           `json:"on_destroy"`
	MaxDeprovisions          *json.Number      `json:"max_deprovisions"`
	MaxDeprovisionsPercent   *json.Number      `json:"max_deprovisions_percent"`
	ManageDevices            *string           `json:"manage_devices"`
	ReactivateSuspendedUsers *bool             `json:"reactivate_suspended_users"`
	UserDisableDelete        *bool             `json:"user_disable_delete"`
}

func decodeConnection(raw json.RawMessage) (*connectionValues, error) {
	if isNull(raw) {
		return nil, nil
	}
	var v connectionValues // json.Number fields keep the settings as written
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

func decodeObject(raw json.RawMessage) (map[string]any, error) {
	if isNull(raw) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// unknownUsers reads after_unknown.users: all unknown (true), or the keys whose value is unknown.
func unknownUsers(raw json.RawMessage) (all bool, keys map[string]bool) {
	if isNull(raw) {
		return false, nil
	}
	var au struct {
		Users json.RawMessage `json:"users"`
	}
	if json.Unmarshal(raw, &au) != nil || isNull(au.Users) {
		return false, nil
	}
	if string(bytes.TrimSpace(au.Users)) == "true" {
		return true, nil
	}
	var m map[string]bool
	_ = json.Unmarshal(au.Users, &m)
	return false, m
}

// unknownAttrs reads the top-level attributes after_unknown marks as unknown.
func unknownAttrs(raw json.RawMessage) map[string]bool {
	var m map[string]any
	if isNull(raw) || json.Unmarshal(raw, &m) != nil {
		return nil
	}
	out := map[string]bool{}
	for k, v := range m {
		if b, ok := v.(bool); ok && b {
			out[k] = true
		}
	}
	return out
}

// entry is one decoded `users` value. Unknown keys are kept and compared as they are.
type entry map[string]any

func parseEntry(s string) (entry, error) {
	var e entry
	if err := json.Unmarshal([]byte(s), &e); err != nil {
		return nil, err
	}
	if e == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return e, nil
}

func (e entry) str(key string) string {
	if s, ok := e[key].(string); ok {
		return s
	}
	return ""
}

// enabled returns the entry's enabled flag; ok is false when it is absent or not a bool.
func (e entry) enabled() (value, ok bool) {
	b, ok := e["enabled"].(bool)
	return b, ok
}

// Field names with a meaning in the users JSON (provider-interface.md).
const (
	fieldDN           = "dn"
	fieldEmail        = "email"
	fieldFirstName    = "first_name"
	fieldLastName     = "last_name"
	fieldEnabled      = "enabled"
	fieldStatus       = "status"
	fieldSourceState  = "source_state"
	fieldDevices      = "devices"
	fieldOtherDevices = "other_devices"
)

// Change is one changed field: Old/New are nil where the field is absent (or the user is new).
type Change struct {
	Field    string
	Old, New *string
}

// display renders a JSON value as the report shows it: strings verbatim, others as JSON.
func display(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func sp(s string) *string { return &s }

func equalJSON(a, b any) bool {
	if sa, ok := a.(string); ok {
		sb, ok := b.(string)
		return ok && sa == sb
	}
	return display(a) == display(b)
}

// attributeOrder is the order in which fields are listed; other fields follow sorted.
var attributeOrder = []string{fieldEmail, fieldFirstName, fieldLastName, fieldEnabled, fieldDN, fieldStatus}

// attributeChanges lists the changed fields of two entries (either may be nil), leaving out
// source_state (the reason shows it) and the device fields (device rows show them).
func attributeChanges(before, after map[string]any, skip map[string]bool) []Change {
	var out []Change
	seen := map[string]bool{fieldSourceState: true, fieldDevices: true, fieldOtherDevices: true}
	for k := range skip {
		seen[k] = true
	}
	add := func(k string) {
		if seen[k] {
			return
		}
		seen[k] = true
		// null is "not set": the same as absent; so is "" for a new user (before == nil), whose
		// unmapped fields the provider plans empty.
		bv, inB := before[k]
		av, inA := after[k]
		inB, inA = inB && bv != nil, inA && av != nil && (before != nil || av != "")
		if inB && inA && equalJSON(bv, av) || !inB && !inA {
			return
		}
		c := Change{Field: k}
		if inB {
			c.Old = sp(display(bv))
		}
		if inA {
			c.New = sp(display(av))
		}
		out = append(out, c)
	}
	for _, k := range attributeOrder {
		add(k)
	}
	var rest []string
	for k := range before {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	for k := range after {
		if _, inB := before[k]; !inB && !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		add(k)
	}
	return out
}

// deviceDiff is what changes in a user's devices: managed slots (devices) and, with
// manage_devices = "overwrite", the unmanaged devices (other_devices).
type deviceDiff struct {
	added, changed, removed []Change
}

func diffDevices(before, after map[string]any) deviceDiff {
	var d deviceDiff
	bs, as := asMap(before[fieldDevices]), asMap(after[fieldDevices])
	slots := make([]string, 0, len(bs)+len(as))
	for k := range bs {
		slots = append(slots, k)
	}
	for k := range as {
		if _, ok := bs[k]; !ok {
			slots = append(slots, k)
		}
	}
	sort.Strings(slots)
	for _, slot := range slots {
		bv, inB := bs[slot]
		av, inA := as[slot]
		field := fieldDevices + "." + slot
		switch {
		case inB && inA && equalJSON(bv, av):
		case inB && inA:
			d.changed = append(d.changed, Change{Field: field, Old: sp(display(bv)), New: sp(display(av))})
		case inA:
			d.added = append(d.added, Change{Field: field, New: sp(display(av))})
		default:
			d.removed = append(d.removed, Change{Field: field, Old: sp(display(bv))})
		}
	}
	bl, al := asList(before[fieldOtherDevices]), asList(after[fieldOtherDevices])
	for _, item := range bl {
		if !slices.Contains(al, item) {
			d.removed = append(d.removed, Change{Field: fieldOtherDevices, Old: sp(item)})
		}
	}
	for _, item := range al {
		if !slices.Contains(bl, item) {
			d.added = append(d.added, Change{Field: fieldOtherDevices, New: sp(item)})
		}
	}
	return d
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		out = append(out, display(x))
	}
	return out
}

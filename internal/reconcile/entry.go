package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// SourceState says where the directory stands on a managed user.
type SourceState string

const (
	SourceInScope    SourceState = "in_scope"     // in the source location and enabled
	SourceDisabled   SourceState = "disabled"     // in the source location but disabled in the directory
	SourceOutOfScope SourceState = "out_of_scope" // still in the directory, no longer in the group/filter
	SourceDeleted    SourceState = "deleted"      // no longer found in the directory
)

// Valid reports whether s is one of the four source states.
func (s SourceState) Valid() bool {
	switch s {
	case SourceInScope, SourceDisabled, SourceOutOfScope, SourceDeleted:
		return true
	}
	return false
}

// PingID values the decisions depend on.
const (
	StatusActive    = "ACTIVE"
	StatusNotActive = "NOT_ACTIVE" // what adduser with activateUser=false yields
	StatusSuspended = "SUSPENDED"
	RoleAdmin       = "ADMIN"
)

// Entry is one value of the `users` map: what PingID holds (or will hold) for a managed user
// and where the directory stands on it.
type Entry struct {
	DN string
	// Email is "" when the user has none: JSON then leaves the key out, so a directory entry
	// without mail is never planned as `email = ""`.
	Email       string
	FirstName   string
	LastName    string
	Enabled     bool
	Status      string
	SourceState SourceState
	// Devices and OtherDevices are present only when devices are managed (manage_devices other
	// than "none"; other_devices only with "overwrite"): without them an entry's JSON is exactly
	// what earlier versions wrote.
	Devices      Devices
	OtherDevices OtherDevices

	// legacyEmptyEmail marks an entry read from state that spells "no email" as "email":""
	// (versions before issue 16): it keeps that spelling, so an upgrade rewrites no user's value,
	// while users planned since get no email key.
	legacyEmptyEmail bool
}

// FoldUsername is the case-insensitive matching key for usernames. Callers build the keys of
// Input.PriorAdmins, Input.OutOfScope and Input.Existing with it.
func FoldUsername(username string) string { return strings.ToLower(username) }

// JSON returns the canonical form stored in state: keys sorted, compact, no HTML escaping.
// It is byte-identical to encoding/json on a map[string]any with SetEscapeHTML(false) (minus
// the trailing newline), hand-built because it runs for every user at every plan.
func (e Entry) JSON() string {
	var b strings.Builder
	b.Grow(128 + len(e.DN) + len(e.Email) + len(e.FirstName) + len(e.LastName) + len(e.Status) + len(e.SourceState))
	if e.Devices.Managed {
		b.WriteString(`{"devices":`)
		devicesJSON(&b, e.Devices)
		b.WriteString(`,"dn":`)
	} else {
		b.WriteString(`{"dn":`)
	}
	writeJSONString(&b, e.DN)
	if e.Email != "" || e.legacyEmptyEmail {
		b.WriteString(`,"email":`)
		writeJSONString(&b, e.Email)
	}
	if e.Enabled {
		b.WriteString(`,"enabled":true,"first_name":`)
	} else {
		b.WriteString(`,"enabled":false,"first_name":`)
	}
	writeJSONString(&b, e.FirstName)
	b.WriteString(`,"last_name":`)
	writeJSONString(&b, e.LastName)
	if e.OtherDevices.Managed {
		b.WriteString(`,"other_devices":`)
		b.WriteString(e.OtherDevices.json())
	}
	b.WriteString(`,"source_state":`)
	writeJSONString(&b, string(e.SourceState))
	b.WriteString(`,"status":`)
	writeJSONString(&b, e.Status)
	b.WriteByte('}')
	return b.String()
}

const hexDigits = "0123456789abcdef"

// writeJSONString mirrors encoding/json's string encoder with HTML escaping off: `"` and `\`
// escaped, control bytes as \b \f \n \r \t or \u00XX, invalid UTF-8 as \ufffd, U+2028/U+2029
// escaped, everything else verbatim.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
		case r == '\u2028' || r == '\u2029':
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// entryJSON has pointer fields so that a missing key is detected.
type entryJSON struct {
	Devices      json.RawMessage `json:"devices"`
	OtherDevices json.RawMessage `json:"other_devices"`
	DN           *string         `json:"dn"`
	Email        *string         `json:"email"`
	Enabled      *bool           `json:"enabled"`
	FirstName    *string         `json:"first_name"`
	LastName     *string         `json:"last_name"`
	SourceState  *string         `json:"source_state"`
	Status       *string         `json:"status"`
}

// ParseEntry decodes one `users` value. It is strict, because a silently misread entry would
// drive wrong actions: every key must be present with its JSON type (devices and other_devices
// are optional: they are present only where devices are managed; email is absent when the user
// has none, and the "email":"" of earlier versions reads as no email too, written back as it
// was), no other key is allowed,
// nothing may follow the object, and source_state must be one of the four states. Whitespace
// and key order are free (key names match case-insensitively, as encoding/json does).
func ParseEntry(s string) (Entry, error) {
	if e, ok := parseCanonical(s); ok {
		return e, nil
	}
	return parseEntryJSON(s)
}

// parseCanonical is the fast path for exactly what JSON produces when no value needs an
// escape: ParseEntry runs for every user at every plan, and encoding/json is ~10x slower.
// It reports false for anything else, which then goes through encoding/json.
func parseCanonical(s string) (Entry, bool) {
	var e Entry
	var rest string
	var ok bool
	if devices, found := strings.CutPrefix(s, `{"devices":{`); found {
		if e.Devices, rest, ok = cutCanonicalDevices(devices); !ok {
			return Entry{}, false
		}
		rest, ok = strings.CutPrefix(rest, `,"dn":"`)
	} else {
		rest, ok = strings.CutPrefix(s, `{"dn":"`)
	}
	if e.DN, rest, ok = cutPlainString(rest, ok); !ok {
		return Entry{}, false
	}
	if email, found := strings.CutPrefix(rest, `,"email":"`); found {
		if e.Email, rest, ok = cutPlainString(email, true); !ok {
			return Entry{}, false
		}
		e.legacyEmptyEmail = e.Email == ""
	}
	if rest, ok = strings.CutPrefix(rest, `,"enabled":true,"first_name":"`); ok {
		e.Enabled = true
	} else if rest, ok = strings.CutPrefix(rest, `,"enabled":false,"first_name":"`); !ok {
		return Entry{}, false
	}
	if e.FirstName, rest, ok = cutPlainString(rest, ok); !ok {
		return Entry{}, false
	}
	rest, ok = strings.CutPrefix(rest, `,"last_name":"`)
	if e.LastName, rest, ok = cutPlainString(rest, ok); !ok {
		return Entry{}, false
	}
	if others, ok := strings.CutPrefix(rest, `,"other_devices":[`); ok {
		if e.OtherDevices, rest, ok = cutCanonicalOthers(others); !ok {
			return Entry{}, false
		}
	}
	rest, ok = strings.CutPrefix(rest, `,"source_state":"`)
	var state string
	if state, rest, ok = cutPlainString(rest, ok); !ok {
		return Entry{}, false
	}
	rest, ok = strings.CutPrefix(rest, `,"status":"`)
	if e.Status, rest, ok = cutPlainString(rest, ok); !ok || rest != "}" {
		return Entry{}, false
	}
	e.SourceState = SourceState(state)
	return e, e.SourceState.Valid()
}

// cutCanonicalDevices reads the members of a devices object as JSON writes them (slot names in
// order, plain non-empty values) up to and including its '}', and returns what follows.
func cutCanonicalDevices(s string) (Devices, string, bool) {
	d := Devices{Managed: true}
	next := Slot(0)
	for first := true; ; first = false {
		if rest, ok := strings.CutPrefix(s, "}"); ok {
			return d, rest, true
		}
		if !first {
			var ok bool
			if s, ok = strings.CutPrefix(s, ","); !ok {
				return Devices{}, "", false
			}
		}
		name, rest, ok := strings.Cut(strings.TrimPrefix(s, `"`), `":"`)
		if !ok || !strings.HasPrefix(s, `"`) {
			return Devices{}, "", false
		}
		slot, ok := ParseSlot(name)
		if !ok || slot < next {
			return Devices{}, "", false
		}
		var v string
		if v, s, ok = cutPlainString(rest, true); !ok || v == "" {
			return Devices{}, "", false
		}
		d.Values[slot], next = v, slot+1
	}
}

// cutCanonicalOthers reads the labels of an other_devices array (plain strings) up to and
// including its ']', and returns what follows.
func cutCanonicalOthers(s string) (OtherDevices, string, bool) {
	var labels []string
	for first := true; ; first = false {
		if rest, ok := strings.CutPrefix(s, "]"); ok {
			return NewOtherDevices(labels), rest, true
		}
		if !first {
			var ok bool
			if s, ok = strings.CutPrefix(s, ","); !ok {
				return OtherDevices{}, "", false
			}
		}
		rest, ok := strings.CutPrefix(s, `"`)
		var label string
		if label, s, ok = cutPlainString(rest, ok); !ok {
			return OtherDevices{}, "", false
		}
		labels = append(labels, label)
	}
}

// cutPlainString splits s at the first '"' when the value before it needs no unescaping: no
// backslash, no control byte, valid UTF-8. ok passes the caller's previous result through.
func cutPlainString(s string, ok bool) (value, rest string, _ bool) {
	if !ok {
		return "", "", false
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			if !ascii && !utf8.ValidString(s[:i]) {
				return "", "", false
			}
			return s[:i], s[i+1:], true
		case c < 0x20 || c == '\\':
			return "", "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", "", false
}

// parseEntryJSON is the general path of ParseEntry.
func parseEntryJSON(s string) (Entry, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var raw entryJSON
	if err := dec.Decode(&raw); err != nil {
		return Entry{}, fmt.Errorf("decoding user entry: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Entry{}, errors.New("decoding user entry: data after the JSON object")
	}
	var missing []string
	for _, f := range []struct {
		name    string
		present bool
	}{
		{"dn", raw.DN != nil}, {"enabled", raw.Enabled != nil},
		{"first_name", raw.FirstName != nil}, {"last_name", raw.LastName != nil},
		{"source_state", raw.SourceState != nil}, {"status", raw.Status != nil},
	} {
		if !f.present {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return Entry{}, fmt.Errorf("decoding user entry: missing %s", strings.Join(missing, ", "))
	}
	state := SourceState(*raw.SourceState)
	if !state.Valid() {
		return Entry{}, fmt.Errorf("decoding user entry: unknown source_state %q (want in_scope, disabled, out_of_scope or deleted)", *raw.SourceState)
	}
	e := Entry{
		DN:          *raw.DN,
		FirstName:   *raw.FirstName,
		LastName:    *raw.LastName,
		Enabled:     *raw.Enabled,
		Status:      *raw.Status,
		SourceState: state,
	}
	if raw.Email != nil {
		e.Email = *raw.Email
		e.legacyEmptyEmail = e.Email == ""
	}
	if raw.Devices != nil {
		var m map[string]string
		if err := json.Unmarshal(raw.Devices, &m); err != nil || m == nil {
			return Entry{}, errors.New("decoding user entry: devices must be an object of strings")
		}
		d, err := parseDevicesObject(m)
		if err != nil {
			return Entry{}, fmt.Errorf("decoding user entry: %w", err)
		}
		e.Devices = d
	}
	if raw.OtherDevices != nil {
		var labels []string
		if err := json.Unmarshal(raw.OtherDevices, &labels); err != nil || labels == nil {
			return Entry{}, errors.New("decoding user entry: other_devices must be an array of strings")
		}
		e.OtherDevices = NewOtherDevices(labels)
	}
	return e, nil
}

// ParseUsers decodes a whole `users` map; the error names the offending username.
func ParseUsers(values map[string]string) (map[string]Entry, error) {
	users := make(map[string]Entry, len(values))
	for username, value := range values {
		e, err := ParseEntry(value)
		if err != nil {
			return nil, fmt.Errorf("user %q: %w", username, err)
		}
		users[username] = e
	}
	return users, nil
}

// EncodeUsers is the inverse of ParseUsers.
func EncodeUsers(users map[string]Entry) map[string]string {
	values := make(map[string]string, len(users))
	for username, e := range users {
		values[username] = e.JSON()
	}
	return values
}

// Refreshed is the Read rule: the prior entry updated with what PingID reports now. Attributes,
// status and the device members the entry records (devices, other_devices) are taken as they are. Enabled follows the status only where the status is
// conclusive: SUSPENDED means disabled and ACTIVE means enabled (so suspending or re-activating
// outside Terraform shows up as drift); any other status (NOT_ACTIVE, PENDING_ACTIVATION, ...)
// keeps the recorded value, because PingID cannot suspend a user who never activated (error
// 10561), so a disable of such a user exists only in our record and must not flap.
// dn and source_state are directory bookkeeping and stay as they are.
func Refreshed(prior Entry, current PingIDUser) Entry {
	e := prior
	e.Email = current.Email
	e.FirstName = current.FirstName
	e.LastName = current.LastName
	e.Status = current.Status
	if e.Devices.Managed || e.OtherDevices.Managed {
		slotsSeen, others := ObservedDevices(current.Devices)
		if e.Devices.Managed {
			e.Devices = slotsSeen
		}
		if e.OtherDevices.Managed {
			e.OtherDevices = others
		}
	}
	switch current.Status {
	case StatusSuspended:
		e.Enabled = false
	case StatusActive:
		e.Enabled = true
	}
	return e
}

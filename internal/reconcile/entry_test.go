package reconcile

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

// referenceJSON is the definition JSON() must match byte for byte.
func referenceJSON(t testing.TB, e Entry) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	m := map[string]any{
		"dn": e.DN, "enabled": e.Enabled, "first_name": e.FirstName,
		"last_name": e.LastName, "source_state": string(e.SourceState), "status": e.Status,
	}
	if e.Email != "" {
		m["email"] = e.Email // no email: no key (never `email = ""` in a plan)
	}
	err := enc.Encode(m)
	if err != nil {
		t.Fatalf("reference encoding: %v", err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

var trickyStrings = []string{
	"", "plain", `quote " and backslash \`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f",
	"\x00\x01\x1f\x7f", "é ü 中文 🙂", "\u2028\u2029", "bad utf8 \xff\xfe end", "\xc3", "trail\xe2\x80",
	"CN=Smith\\, John,OU=People,DC=corp,DC=example,DC=com", "/slash/", "\ufffd",
}

func TestEntryJSONMatchesEncodingJSON(t *testing.T) {
	for i, s := range trickyStrings {
		for _, enabled := range []bool{true, false} {
			e := Entry{DN: s, Email: s + "@x", Enabled: enabled, FirstName: s, LastName: "L" + s, Status: s, SourceState: SourceState(s)}
			if got, want := e.JSON(), referenceJSON(t, e); got != want {
				t.Errorf("string %d %q: JSON()\n got %s\nwant %s", i, s, got, want)
			}
		}
	}
	rng := rand.New(rand.NewSource(1))
	alphabet := []string{"a", "Z", "\"", "\\", "<", ">", "&", "\x00", "\x1f", "\n", "é", "\u2028", "\xff", "\xe2\x80", "🙂", " "}
	for i := 0; i < 2000; i++ {
		var parts [5]string
		for j := range parts {
			var b strings.Builder
			for n := rng.Intn(8); n > 0; n-- {
				b.WriteString(alphabet[rng.Intn(len(alphabet))])
			}
			parts[j] = b.String()
		}
		e := Entry{DN: parts[0], Email: parts[1], FirstName: parts[2], LastName: parts[3], Status: parts[4], Enabled: rng.Intn(2) == 0, SourceState: SourceOutOfScope}
		if got, want := e.JSON(), referenceJSON(t, e); got != want {
			t.Fatalf("random entry %#v: JSON()\n got %s\nwant %s", e, got, want)
		}
	}
}

func FuzzEntryJSON(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s, s+"x", true)
	}
	f.Fuzz(func(t *testing.T, a, b string, enabled bool) {
		e := Entry{DN: a, Email: b, FirstName: b + a, LastName: a, Status: b, Enabled: enabled, SourceState: SourceDeleted}
		if got, want := e.JSON(), referenceJSON(t, e); got != want {
			t.Fatalf("JSON()\n got %s\nwant %s", got, want)
		}
		back, err := ParseEntry(e.JSON())
		if err != nil {
			t.Fatalf("ParseEntry(JSON()): %v", err)
		}
		if utf8.ValidString(a) && utf8.ValidString(b) && back != e {
			t.Fatalf("round trip: got %#v, want %#v", back, e)
		}
	})
}

func TestEntryJSONIsSortedAndCompact(t *testing.T) {
	e := Entry{DN: "uid=a,dc=x", Email: "a@x", Enabled: true, FirstName: "A", LastName: "B", Status: "ACTIVE", SourceState: SourceInScope}
	want := `{"dn":"uid=a,dc=x","email":"a@x","enabled":true,"first_name":"A","last_name":"B","source_state":"in_scope","status":"ACTIVE"}`
	if got := e.JSON(); got != want {
		t.Errorf("JSON() = %s, want %s", got, want)
	}
}

func TestParseEntryRoundTrip(t *testing.T) {
	for _, s := range trickyStrings {
		if !utf8.ValidString(s) {
			continue // invalid UTF-8 is replaced by U+FFFD, by design of JSON
		}
		for _, state := range []SourceState{SourceInScope, SourceDisabled, SourceOutOfScope, SourceDeleted} {
			e := Entry{DN: s, Email: s, FirstName: s, LastName: s, Status: s, Enabled: state == SourceInScope, SourceState: state}
			got, err := ParseEntry(e.JSON())
			if err != nil {
				t.Fatalf("ParseEntry(%s): %v", e.JSON(), err)
			}
			if got != e {
				t.Errorf("round trip of %q: got %#v, want %#v", s, got, e)
			}
		}
	}
}

func TestParseEntryAcceptsAnyLayout(t *testing.T) {
	s := "{ \"status\": \"ACTIVE\",\n \"source_state\": \"disabled\", \"last_name\": \"B\", \"first_name\": \"A\",\n" +
		" \"enabled\": false, \"email\": \"a@x\", \"dn\": \"uid=a\" }\n"
	got, err := ParseEntry(s)
	if err != nil {
		t.Fatalf("ParseEntry: %v", err)
	}
	want := Entry{DN: "uid=a", Email: "a@x", FirstName: "A", LastName: "B", Status: "ACTIVE", SourceState: SourceDisabled}
	if got != want {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestParseEntryErrors(t *testing.T) {
	valid := Entry{DN: "d", Email: "e", FirstName: "f", LastName: "l", Enabled: true, Status: "ACTIVE", SourceState: SourceInScope}.JSON()
	tests := []struct {
		name, input, wantErr string
	}{
		{"unknown source_state", strings.Replace(valid, `"in_scope"`, `"gone"`, 1), `unknown source_state "gone"`},
		{"empty source_state", strings.Replace(valid, `"in_scope"`, `""`, 1), `unknown source_state ""`},
		{"missing key", strings.Replace(valid, `"dn":"d",`, ``, 1), "missing dn"},
		{"several missing keys", `{"dn":"d","email":"e","enabled":true,"source_state":"in_scope"}`, "missing first_name, last_name, status"},
		{"unknown key", strings.Replace(valid, `{`, `{"phone":"1",`, 1), `unknown field "phone"`},
		{"enabled not a bool", strings.Replace(valid, `true`, `"true"`, 1), "cannot unmarshal"},
		{"email not a string", strings.Replace(valid, `"e"`, `1`, 1), "cannot unmarshal"},
		{"null key value", strings.Replace(valid, `"f"`, `null`, 1), "missing first_name"},
		{"trailing data", valid + `{}`, "data after the JSON object"},
		{"not an object", `["a"]`, "cannot unmarshal"},
		{"empty", ``, "EOF"},
		{"truncated", valid[:len(valid)-1], "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEntry(tt.input)
			if err == nil {
				t.Fatalf("ParseEntry(%s) succeeded, want error containing %q", tt.input, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseEntry(%s) error = %q, want it to contain %q", tt.input, err, tt.wantErr)
			}
		})
	}
}

func TestParseUsersAndEncodeUsers(t *testing.T) {
	users := map[string]Entry{
		"jsmith": {DN: "uid=jsmith", Email: "j@x", Enabled: true, Status: "ACTIVE", SourceState: SourceInScope},
		"Ann":    {DN: "uid=ann", Status: "SUSPENDED", SourceState: SourceOutOfScope},
	}
	back, err := ParseUsers(EncodeUsers(users))
	if err != nil {
		t.Fatalf("ParseUsers: %v", err)
	}
	if len(back) != len(users) || back["jsmith"] != users["jsmith"] || back["Ann"] != users["Ann"] {
		t.Errorf("round trip: got %#v, want %#v", back, users)
	}
	_, err = ParseUsers(map[string]string{"jsmith": users["jsmith"].JSON(), "bad.user": `{"dn":""}`})
	if err == nil || !strings.Contains(err.Error(), `user "bad.user"`) {
		t.Errorf("ParseUsers with a bad value: error = %v, want it to name \"bad.user\"", err)
	}
}

func TestRefreshed(t *testing.T) {
	prior := Entry{DN: "uid=a", Email: "old@x", FirstName: "Old", LastName: "Name", Status: "ACTIVE", SourceState: SourceOutOfScope}
	tests := []struct {
		status       string
		priorEnabled bool
		wantEnabled  bool
	}{
		{"SUSPENDED", true, false},   // suspended outside Terraform: drift
		{"ACTIVE", false, true},      // re-activated outside Terraform: drift
		{"ACTIVE", true, true},       //
		{"NOT_ACTIVE", false, false}, // cannot be suspended: our record stands
		{"NOT_ACTIVE", true, true},   //
		{"PENDING_ACTIVATION", false, false},
		{"PENDING_CHANGE_DEVICE", true, true},
	}
	for _, tt := range tests {
		p := prior
		p.Enabled = tt.priorEnabled
		got := Refreshed(p, PingIDUser{Username: "a", Email: "new@x", FirstName: "New", LastName: "Last", Status: tt.status, Role: "REGULAR"})
		want := Entry{DN: "uid=a", Email: "new@x", FirstName: "New", LastName: "Last", Status: tt.status, Enabled: tt.wantEnabled, SourceState: SourceOutOfScope}
		if got != want {
			t.Errorf("Refreshed(enabled=%v, status %s) = %#v, want %#v", tt.priorEnabled, tt.status, got, want)
		}
	}
}

// assertParsePathsAgree checks the canonical fast path against encoding/json on one input.
func assertParsePathsAgree(t *testing.T, s string) {
	t.Helper()
	fast, fastErr := ParseEntry(s)
	slow, slowErr := parseEntryJSON(s)
	if (fastErr == nil) != (slowErr == nil) || fast != slow {
		t.Fatalf("ParseEntry(%q) = %#v, %v; encoding/json gives %#v, %v", s, fast, fastErr, slow, slowErr)
	}
}

func TestParseEntryFastPathAgreesWithEncodingJSON(t *testing.T) {
	plain := Entry{DN: "uid=a", Email: "é@x", FirstName: "A", LastName: "B", Status: "ACTIVE", SourceState: SourceOutOfScope}
	if _, ok := parseCanonical(plain.JSON()); !ok {
		t.Fatalf("canonical entry %s does not take the fast path", plain.JSON())
	}
	withDevices := plain
	withDevices.Devices = Devices{Managed: true}
	withDevices.Devices.Values[SlotSMS1], withDevices.Devices.Values[SlotVoice3] = "+15550102030", "+1555,12#"
	withDevices.OtherDevices = NewOtherDevices([]string{"iPhone: a", "Android: b"})
	if got, ok := parseCanonical(withDevices.JSON()); !ok || got != withDevices {
		t.Fatalf("canonical entry %s does not take the fast path: %+v, %v", withDevices.JSON(), got, ok)
	}
	rng := rand.New(rand.NewSource(2))
	alphabet := []string{"a", "\"", "\\", "\x01", "é", "\xff", "\u2028", "}", ",", "_", "in_scope", "true"}
	states := []SourceState{SourceInScope, SourceDisabled, SourceOutOfScope, SourceDeleted, "bogus"}
	for i := 0; i < 5000; i++ {
		var parts [5]string
		for j := range parts {
			var b strings.Builder
			for n := rng.Intn(4); n > 0; n-- {
				b.WriteString(alphabet[rng.Intn(len(alphabet))])
			}
			parts[j] = b.String()
		}
		e := Entry{DN: parts[0], Email: parts[1], FirstName: parts[2], LastName: parts[3], Status: parts[4],
			Enabled: rng.Intn(2) == 0, SourceState: states[rng.Intn(len(states))]}
		if rng.Intn(2) == 0 { // with device members
			e.Devices.Managed = true
			for n := rng.Intn(4); n > 0; n-- {
				e.Devices.Values[rng.Intn(NumSlots)] = parts[rng.Intn(len(parts))]
			}
			if rng.Intn(2) == 0 {
				var labels []string
				for n := rng.Intn(3); n > 0; n-- {
					labels = append(labels, parts[rng.Intn(len(parts))])
				}
				e.OtherDevices = NewOtherDevices(labels)
			}
		}
		s := []byte(e.JSON())
		assertParsePathsAgree(t, string(s))
		// Corrupt it: a random byte replaced, removed or the tail cut.
		k := rng.Intn(len(s))
		switch rng.Intn(3) {
		case 0:
			s[k] = `"\{}:,x`[rng.Intn(7)]
		case 1:
			s = append(s[:k], s[k+1:]...)
		default:
			s = s[:k]
		}
		assertParsePathsAgree(t, string(s))
	}
}

func FuzzParseEntry(f *testing.F) {
	f.Add(Entry{DN: "uid=a", Email: "a@x", Enabled: true, Status: "ACTIVE", SourceState: SourceInScope}.JSON())
	f.Add(Entry{DN: `x"y`, SourceState: SourceDeleted}.JSON())
	f.Add(`{"dn":"","email":"","enabled":false,"first_name":"","last_name":"","source_state":"disabled","status":""}`)
	f.Add(`{"devices":{"mfa_email_1":"a@x","mfa_sms_1":"+1"},"dn":"","email":"","enabled":true,"first_name":"","last_name":"","other_devices":["iPhone: x"],"source_state":"in_scope","status":""}`)
	f.Fuzz(func(t *testing.T, s string) { assertParsePathsAgree(t, s) })
}

package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

const (
	evaSMS   = "+15550102030"
	evaSMS2  = "+15550109999"
	evaEmail = "eva@example.test"
)

// withDevices sets slot values (and marks the member managed).
func withDevices(values map[Slot]string) func(*Entry) {
	return func(e *Entry) {
		e.Devices = Devices{Managed: true}
		for s, v := range values {
			e.Devices.Values[s] = v
		}
	}
}

func withOthers(labels ...string) func(*Entry) {
	return func(e *Entry) { e.OtherDevices = NewOtherDevices(labels) }
}

func dirDevices(values map[Slot]string) func(*DirectoryUser) {
	return func(d *DirectoryUser) {
		for s, v := range values {
			d.Devices[s] = v
		}
	}
}

func manageDevices(mode DeviceMode, slots ...Slot) func(*Options) {
	return func(o *Options) {
		o.ManageDevices = mode
		for _, s := range slots {
			o.MapSlots[s] = true
		}
	}
}

// referenceDevicesJSON is encoding/json's rendering of an entry with device members.
func referenceDevicesJSON(t *testing.T, e Entry) string {
	t.Helper()
	m := map[string]any{
		"dn": e.DN, "email": e.Email, "enabled": e.Enabled, "first_name": e.FirstName,
		"last_name": e.LastName, "source_state": string(e.SourceState), "status": e.Status,
	}
	if e.Devices.Managed {
		d := map[string]string{}
		for _, s := range Slots() {
			if v := e.Devices.Get(s); v != "" {
				d[s.Name()] = v
			}
		}
		m["devices"] = d
	}
	if e.OtherDevices.Managed {
		m["other_devices"] = append([]string{}, e.OtherDevices.Labels()...)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func TestEntryJSONWithDevices(t *testing.T) {
	for _, e := range []Entry{
		jsmith(withDevices(map[Slot]string{SlotSMS1: evaSMS, SlotEmail1: evaEmail, SlotVoice3: "+12025550123,2992#"})),
		jsmith(withDevices(nil)),
		jsmith(withDevices(map[Slot]string{SlotSMS2: `quote " <b>`}), withOthers("iPhone: iPhone of eva", "Android: \u2028 odd", "Email: Email 1")),
		jsmith(withDevices(nil), withOthers()),
	} {
		got, want := e.JSON(), referenceDevicesJSON(t, e)
		if got != want {
			t.Errorf("JSON()\n got %s\nwant %s", got, want)
		}
		back, err := ParseEntry(got)
		if err != nil {
			t.Fatalf("ParseEntry(%s): %v", got, err)
		}
		if back != e {
			t.Errorf("round trip of %s gave %+v", got, back)
		}
	}
	// Without device members the JSON is what earlier versions wrote, byte for byte.
	plain := jsmith()
	if got := plain.JSON(); got != referenceJSON(t, plain) || strings.Contains(got, "devices") {
		t.Errorf("an entry without devices renders %s", got)
	}
	want := `{"devices":{"mfa_email_1":"eva@example.test","mfa_sms_1":"+15550102030"},"dn":"` + dnJ +
		`","email":"jsmith@example.com","enabled":true,"first_name":"John","last_name":"Smith","other_devices":["iPhone: iPhone of eva"],"source_state":"in_scope","status":"ACTIVE"}`
	if got := jsmith(withDevices(map[Slot]string{SlotSMS1: evaSMS, SlotEmail1: evaEmail}), withOthers("iPhone: iPhone of eva")).JSON(); got != want {
		t.Errorf("JSON()\n got %s\nwant %s", got, want)
	}
}

func TestParseEntryDeviceErrors(t *testing.T) {
	base := `"dn":"d","email":"","enabled":true,"first_name":"","last_name":"","source_state":"in_scope","status":"ACTIVE"`
	for _, bad := range []string{
		`{"devices":{"mfa_sms_4":"+1"},` + base + `}`,
		`{"devices":{"mfa_sms_1":""},` + base + `}`,
		`{"devices":null,` + base + `}`,
		`{"devices":["x"],` + base + `}`,
		`{"other_devices":null,` + base + `}`,
		`{"other_devices":"iPhone",` + base + `}`,
	} {
		if _, err := ParseEntry(bad); err == nil {
			t.Errorf("ParseEntry accepted %s", bad)
		}
	}
}

func TestSlots(t *testing.T) {
	for _, c := range []struct {
		slot           Slot
		name, nickname string
		kind           DeviceKind
	}{
		{SlotEmail1, "mfa_email_1", "Email 1", KindEmail},
		{SlotEmail3, "mfa_email_3", "Email 3", KindEmail},
		{SlotSMS2, "mfa_sms_2", "SMS Number 2", KindSMS},
		{SlotVoice1, "mfa_voice_1", "Voice Number 1", KindVoice},
		{SlotVoice3, "mfa_voice_3", "Voice Number 3", KindVoice},
	} {
		if c.slot.Name() != c.name || c.slot.Nickname() != c.nickname || c.slot.Kind() != c.kind {
			t.Errorf("slot %d: %s %q %s", c.slot, c.slot.Name(), c.slot.Nickname(), c.slot.Kind())
		}
		if s, ok := ParseSlot(c.name); !ok || s != c.slot {
			t.Errorf("ParseSlot(%s) = %d, %v", c.name, s, ok)
		}
	}
	if _, ok := ParseSlot("mfa_sms_4"); ok {
		t.Error("ParseSlot accepted mfa_sms_4")
	}
}

func TestObservedDevices(t *testing.T) {
	slots, others := ObservedDevices([]Device{
		{ID: "1", Type: "SMS", Nickname: "SMS Number 1", Value: evaSMS, Primary: true},
		{ID: "2", Type: "iPhone", Nickname: "iPhone of eva"},
		{ID: "3", Type: "SMS", Nickname: "SMS Number 1", Value: evaSMS2},    // a second one under the nickname
		{ID: "4", Type: "Email", Nickname: "SMS Number 2", Value: evaEmail}, // wrong type for the slot
		{ID: "5", Type: "Email", Nickname: " email 1 ", Value: evaEmail},    // blanks and case do not matter
	})
	want := Devices{Managed: true}
	want.Values[SlotSMS1] = evaSMS
	want.Values[SlotEmail1] = evaEmail
	if slots != want {
		t.Errorf("slots = %+v", slots)
	}
	if got := others.Labels(); !reflect.DeepEqual(got, []string{"Email: SMS Number 2", "SMS: SMS Number 1", "iPhone: iPhone of eva"}) {
		t.Errorf("others = %q", got)
	}
}

func TestRefreshedReadsDevicesOnlyWhereRecorded(t *testing.T) {
	current := PingIDUser{Username: "jsmith", Email: "jsmith@example.com", FirstName: "John", LastName: "Smith", Status: "ACTIVE",
		Devices: []Device{{Type: "SMS", Nickname: "SMS Number 1", Value: evaSMS2}, {Type: "iPhone", Nickname: "iPhone of eva"}}}
	if got := Refreshed(jsmith(), current); got != jsmith() {
		t.Errorf("an entry without device members gained some: %+v", got)
	}
	got := Refreshed(jsmith(withDevices(map[Slot]string{SlotSMS1: evaSMS, SlotEmail1: evaEmail})), current)
	if want := jsmith(withDevices(map[Slot]string{SlotSMS1: evaSMS2})); got != want {
		t.Errorf("merge refresh = %+v, want %+v", got, want)
	}
	got = Refreshed(jsmith(withDevices(nil), withOthers()), current)
	if want := jsmith(withDevices(map[Slot]string{SlotSMS1: evaSMS2}), withOthers("iPhone: iPhone of eva")); got != want {
		t.Errorf("overwrite refresh = %+v, want %+v", got, want)
	}
}

func TestDeviceBaseline(t *testing.T) {
	prior := map[string]Entry{
		"plain":  jsmith(),
		"merged": jsmith(withDevices(nil)),
		"full":   jsmith(withDevices(nil), withOthers()),
	}
	if got := NeedsDeviceBaseline(prior, DevicesNone); got != nil {
		t.Errorf("none: %q", got)
	}
	if got := NeedsDeviceBaseline(prior, DevicesMerge); !reflect.DeepEqual(got, []string{"plain"}) {
		t.Errorf("merge: %q", got)
	}
	if got := NeedsDeviceBaseline(prior, DevicesOverwrite); !reflect.DeepEqual(got, []string{"merged", "plain"}) {
		t.Errorf("overwrite: %q", got)
	}
	devices := []Device{{Type: "Voice", Nickname: "Voice Number 1", Value: evaSMS}, {Type: "YubiKey", Nickname: "YubiKey"}}
	if got, want := WithDeviceBaseline(jsmith(), devices, DevicesOverwrite), jsmith(withDevices(map[Slot]string{SlotVoice1: evaSMS}), withOthers("YubiKey: YubiKey")); got != want {
		t.Errorf("baseline = %+v, want %+v", got, want)
	}
}

func TestPlanDevices(t *testing.T) {
	smsOnly := map[Slot]string{SlotSMS1: evaSMS}
	both := map[Slot]string{SlotSMS1: evaSMS, SlotEmail1: evaEmail}
	created := Entry{DN: dnJ, Email: "jsmith@example.com", FirstName: "John", LastName: "Smith", Enabled: true, Status: StatusNotActive, SourceState: SourceInScope}
	withCreated := func(edit ...func(*Entry)) Entry {
		e := created
		for _, f := range edit {
			f(&e)
		}
		return e
	}
	runPlanCases(t, []planCase{
		{
			name:        "none: entries carry no device members",
			options:     manageDevices(DevicesNone, SlotSMS1),
			prior:       map[string]Entry{"jsmith": jsmith()},
			inScope:     []DirectoryUser{dirJSmith(dirDevices(smsOnly))},
			wantPlanned: map[string]Entry{"jsmith": jsmith()},
		},
		{
			name:        "turning devices off drops the members without an API call",
			options:     manageDevices(DevicesNone),
			prior:       map[string]Entry{"jsmith": jsmith(withDevices(smsOnly), withOthers("iPhone: x"))},
			inScope:     []DirectoryUser{dirJSmith()},
			wantPlanned: map[string]Entry{"jsmith": jsmith()},
			wantActions: []string{"jsmith state_only"},
		},
		{
			name:        "merge: the same number is no change",
			options:     manageDevices(DevicesMerge, SlotSMS1, SlotEmail1),
			prior:       map[string]Entry{"jsmith": jsmith(withDevices(both))},
			inScope:     []DirectoryUser{dirJSmith(dirDevices(both))},
			wantPlanned: map[string]Entry{"jsmith": jsmith(withDevices(both))},
		},
		{
			name:        "merge: a changed number is replaced, a new address paired",
			options:     manageDevices(DevicesMerge, SlotSMS1, SlotEmail1),
			prior:       map[string]Entry{"jsmith": jsmith(withDevices(smsOnly))},
			inScope:     []DirectoryUser{dirJSmith(dirDevices(map[Slot]string{SlotSMS1: evaSMS2, SlotEmail1: evaEmail}))},
			wantPlanned: map[string]Entry{"jsmith": jsmith(withDevices(map[Slot]string{SlotSMS1: evaSMS2, SlotEmail1: evaEmail}))},
			wantActions: []string{"jsmith update"},
			wantReasons: map[string]string{"jsmith": "mfa_email_1 paired, mfa_sms_1 replaced"},
			wantChanges: map[string][]FieldChange{"jsmith": {
				{Field: "devices.mfa_email_1", From: "", To: evaEmail}, {Field: "devices.mfa_sms_1", From: evaSMS, To: evaSMS2}}},
		},
		{
			name:        "merge: a removed directory value unpairs; unmapped slots and other devices stay",
			options:     manageDevices(DevicesMerge, SlotSMS1),
			prior:       map[string]Entry{"jsmith": jsmith(withDevices(both))},
			inScope:     []DirectoryUser{dirJSmith()},
			wantPlanned: map[string]Entry{"jsmith": jsmith(withDevices(map[Slot]string{SlotEmail1: evaEmail}))},
			wantActions: []string{"jsmith update"},
			wantReasons: map[string]string{"jsmith": "mfa_sms_1 unpaired"},
		},
		{
			name:        "overwrite: other devices are planned empty",
			options:     manageDevices(DevicesOverwrite, SlotSMS1),
			prior:       map[string]Entry{"jsmith": jsmith(withDevices(smsOnly), withOthers("iPhone: iPhone of eva", "YubiKey: key"))},
			inScope:     []DirectoryUser{dirJSmith(dirDevices(smsOnly))},
			wantPlanned: map[string]Entry{"jsmith": jsmith(withDevices(smsOnly), withOthers())},
			wantActions: []string{"jsmith update"},
			wantReasons: map[string]string{"jsmith": "2 other devices unpaired"},
		},
		{
			name:    "disabled, out-of-scope and suspended users keep their devices as PingID has them",
			options: manageDevices(DevicesOverwrite, SlotSMS1),
			prior: map[string]Entry{
				"jsmith": jsmith(withDevices(smsOnly), withOthers("iPhone: x")),
				"gone":   jsmith(withDevices(smsOnly), withOthers("iPhone: y")),
			},
			inScope: []DirectoryUser{dirJSmith(dirDisabled, dirDevices(map[Slot]string{SlotSMS1: evaSMS2}))},
			wantPlanned: map[string]Entry{
				"jsmith": jsmith(withDevices(smsOnly), withOthers("iPhone: x"), disabledEntry(SourceDisabled), entryStatus(StatusSuspended)),
				"gone":   jsmith(withDevices(smsOnly), withOthers("iPhone: y"), disabledEntry(SourceDeleted), entryStatus(StatusSuspended)),
			},
			wantActions: []string{"gone disable", "jsmith disable"},
		},
		{
			// In scope and SUSPENDED: suspended outside Terraform, listed as left suspended.
			name:              "a user kept suspended (user_update = false) keeps its devices",
			options:           optionsWith(manageDevices(DevicesMerge, SlotSMS1), noUpdate),
			prior:             map[string]Entry{"jsmith": jsmith(withDevices(smsOnly), func(e *Entry) { e.Enabled = false; e.Status = StatusSuspended })},
			inScope:           []DirectoryUser{dirJSmith(dirDevices(map[Slot]string{SlotSMS1: evaSMS2}))},
			wantPlanned:       map[string]Entry{"jsmith": jsmith(withDevices(smsOnly), func(e *Entry) { e.Enabled = false; e.Status = StatusSuspended })},
			wantLeftSuspended: []string{"jsmith"},
		},
		{
			name:        "a re-enabled user gets its devices in the same plan",
			options:     manageDevices(DevicesMerge, SlotSMS1),
			prior:       map[string]Entry{"jsmith": jsmith(withDevices(nil), disabledEntry(SourceDisabled))},
			inScope:     []DirectoryUser{dirJSmith(dirDevices(smsOnly))},
			wantPlanned: map[string]Entry{"jsmith": jsmith(withDevices(smsOnly))},
			wantActions: []string{"jsmith enable"},
			wantReasons: map[string]string{"jsmith": "re-enabled in directory; mfa_sms_1 paired"},
		},
		{
			name:        "create pairs the mapped devices",
			options:     manageDevices(DevicesOverwrite, SlotSMS1, SlotEmail1),
			inScope:     []DirectoryUser{dirJSmith(dirDevices(both))},
			wantPlanned: map[string]Entry{"jsmith": withCreated(withDevices(both), withOthers())},
			wantActions: []string{"jsmith create"},
			wantReasons: map[string]string{"jsmith": "in scope, not in PingID; mfa_email_1 paired, mfa_sms_1 paired"},
		},
		{
			name:        "a disabled user is created without devices",
			options:     manageDevices(DevicesMerge, SlotSMS1),
			inScope:     []DirectoryUser{dirJSmith(dirDisabled, dirDevices(smsOnly))},
			wantPlanned: map[string]Entry{"jsmith": withCreated(withDevices(nil), func(e *Entry) { e.Enabled = false; e.SourceState = SourceDisabled; e.Status = StatusSuspended })},
			wantActions: []string{"jsmith create"},
		},
		{
			name:    "link compares with the existing user's devices",
			options: manageDevices(DevicesOverwrite, SlotSMS1),
			inScope: []DirectoryUser{dirJSmith(dirDevices(map[Slot]string{SlotSMS1: evaSMS2}))},
			existing: []PingIDUser{pingJSmith(func(u *PingIDUser) {
				u.Devices = []Device{{Type: "SMS", Nickname: "SMS Number 1", Value: evaSMS}, {Type: "Email", Nickname: "Email 1", Value: evaEmail}, {Type: "iPhone", Nickname: "iPhone"}}
			})},
			wantPlanned: map[string]Entry{"jsmith": jsmith(withDevices(map[Slot]string{SlotSMS1: evaSMS2, SlotEmail1: evaEmail}), withOthers())},
			wantActions: []string{"jsmith link"},
			wantReasons: map[string]string{"jsmith": "existing PingID user linked; email, first_name changed; mfa_sms_1 replaced, 1 other device unpaired"},
		},
		{
			name:              "PingID ADMIN users' devices are never touched",
			options:           manageDevices(DevicesOverwrite, SlotSMS1),
			prior:             map[string]Entry{"jsmith": jsmith(withDevices(smsOnly), withOthers("iPhone: x"))},
			admins:            []string{"jsmith"},
			inScope:           []DirectoryUser{dirJSmith(dirDevices(map[Slot]string{SlotSMS1: evaSMS2}))},
			wantPlanned:       map[string]Entry{"jsmith": jsmith(withDevices(smsOnly), withOthers("iPhone: x"))},
			wantSkippedAdmins: []string{"jsmith"},
		},
	})
}

func TestPlanDeviceSummary(t *testing.T) {
	in := Input{
		Prior: map[string]Entry{
			"jsmith": jsmith(withDevices(map[Slot]string{SlotSMS1: evaSMS}), withOthers("iPhone: x")),
		},
		InScope: []DirectoryUser{
			dirJSmith(dirDevices(map[Slot]string{SlotSMS1: evaSMS2})),
			{Username: "eva", DN: "uid=eva", Enabled: true, Devices: [NumSlots]string{SlotEmail1: evaEmail, SlotSMS1: evaSMS}},
		},
		Options: defaultOptions(),
	}
	manageDevices(DevicesOverwrite, SlotSMS1, SlotEmail1)(&in.Options)
	res, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	// jsmith: replace (1 pair, 1 unpair) + 1 other unpaired; eva: 2 pairs.
	if s := res.Summary; s.DevicePairs != 3 || s.DeviceUnpairs != 2 {
		t.Errorf("summary = %+v", s)
	}
	if line := res.SummaryLine(); !strings.HasSuffix(line, "; 3 devices to pair, 2 to unpair") {
		t.Errorf("summary line = %q", line)
	}
	// After apply and refresh, the next plan is empty.
	next := map[string]Entry{}
	for name, e := range res.Planned {
		next[name] = e
	}
	in.Prior = next
	again, err := Plan(in)
	if err != nil || again.HasChanges() {
		t.Errorf("second plan: %v, %+v", err, again.Actions)
	}
	if line := again.SummaryLine(); strings.Contains(line, "device") {
		t.Errorf("a plan without device changes mentions devices: %q", line)
	}
}

func TestPlanRejectsUnknownDeviceMode(t *testing.T) {
	in := Input{Options: defaultOptions()}
	in.Options.ManageDevices = "sometimes"
	if _, err := Plan(in); err == nil {
		t.Error("Plan accepted manage_devices = sometimes")
	}
}

// devicesOf models what PingID has after an apply that stored e: a device per slot value and
// one per other-device label ("Type: nickname").
func devicesOf(e Entry, othersBefore OtherDevices) []Device {
	var out []Device
	for _, s := range Slots() {
		if v := e.Devices.Get(s); v != "" {
			out = append(out, Device{Type: string(s.Kind()), Nickname: s.Nickname(), Value: v})
		}
	}
	others := othersBefore
	if e.OtherDevices.Managed {
		others = e.OtherDevices
	}
	for _, l := range others.Labels() {
		typ, nick, _ := strings.Cut(l, ": ")
		out = append(out, Device{Type: typ, Nickname: nick})
	}
	return out
}

// TestPlanDevicesProperties adds devices to the randomized worlds of TestPlanProperties: Diff
// agrees with Plan, every planned entry survives its JSON, a stored plan plans nothing, the
// devices of ADMINs and of users who are not enabled and in scope are never changed, and after
// PingID carries the plan out and Read refreshes, the next plan is empty.
func TestPlanDevicesProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(20261201))
	values := map[DeviceKind][]string{KindEmail: {"", "a@x", "b@x"}, KindSMS: {"", "+1555", "+1666"}, KindVoice: {"", "+1777", "+1888,12#"}}
	randomDevices := func() Devices {
		d := Devices{Managed: true}
		for _, s := range Slots() {
			if rng.Intn(3) == 0 {
				vs := values[s.Kind()]
				d.Values[s] = vs[rng.Intn(len(vs))]
			}
		}
		return d
	}
	randomOthers := func() OtherDevices {
		var labels []string
		for range rng.Intn(3) {
			labels = append(labels, []string{"iPhone: phone", "YubiKey: key", "SMS: SMS Number 1"}[rng.Intn(3)])
		}
		return NewOtherDevices(labels)
	}
	modes := []DeviceMode{DevicesNone, DevicesMerge, DevicesOverwrite}
	for iteration := range 400 {
		w := randomWorld(rng, 40)
		mode := modes[rng.Intn(len(modes))]
		w.options.ManageDevices = mode
		for _, s := range Slots() {
			w.options.MapSlots[s] = rng.Intn(2) == 0
		}
		for name, e := range w.firstPrior {
			if mode != DevicesNone { // as Read (or the baseline) records them for this mode
				e.Devices = randomDevices()
				if mode == DevicesOverwrite {
					e.OtherDevices = randomOthers()
				}
			}
			// As Read leaves it: enabled consistent with the status.
			w.firstPrior[name] = Refreshed(e, PingIDUser{Email: e.Email, FirstName: e.FirstName, LastName: e.LastName,
				Status: e.Status, Devices: devicesOf(e, e.OtherDevices)})
		}
		for key, d := range w.directory {
			for _, s := range Slots() {
				vs := values[s.Kind()]
				d.Devices[s] = vs[rng.Intn(len(vs))]
			}
			w.directory[key] = d
		}
		for key, u := range w.pingID {
			ds, others := randomDevices(), randomOthers()
			u.Devices = devicesOf(Entry{Devices: ds, OtherDevices: others}, OtherDevices{})
			w.pingID[key] = u
		}
		name := fmt.Sprintf("iteration %d mode %s", iteration, mode)
		in := w.input(w.firstPrior)
		res, err := Plan(in)
		var te *ThresholdError
		if err != nil && !errors.As(err, &te) {
			t.Fatalf("%s: Plan: %v", name, err)
		}
		assertDiffAgrees(t, in.Prior, res)
		for username, e := range res.Planned {
			if back, err := ParseEntry(e.JSON()); err != nil || back != e {
				t.Fatalf("%s: %s does not survive its JSON %s: %v", name, username, e.JSON(), err)
			}
			if (mode == DevicesNone) == e.Devices.Managed || (mode == DevicesOverwrite) != e.OtherDevices.Managed {
				t.Fatalf("%s: %s has device members %+v / %+v", name, username, e.Devices, e.OtherDevices)
			}
			prior, managed := in.Prior[username]
			if managed && mode != DevicesNone && (in.PriorAdmins[FoldUsername(username)] || !e.Enabled || e.SourceState != SourceInScope) {
				if e.Devices.Values != prior.Devices.Values || (mode == DevicesOverwrite && e.OtherDevices != prior.OtherDevices) {
					t.Fatalf("%s: %s (admin %v, %+v) had its devices changed: %+v -> %+v", name, username,
						in.PriorAdmins[FoldUsername(username)], e, prior.Devices, e.Devices)
				}
			}
		}
		again, err := Plan(w.input(res.Planned))
		if err != nil {
			t.Fatalf("%s: second Plan: %v", name, err)
		}
		if len(again.Actions) != 0 {
			t.Fatalf("%s: plan after apply is not empty: %v", name, describeActions(again.Actions))
		}
		// PingID carries the plan out (statuses as applyAndRefresh models them, devices as
		// planned); Read refreshes them.
		statuses := applyAndRefresh(res)
		refreshed := make(map[string]Entry, len(res.Planned))
		for username, e := range res.Planned {
			e.Status = statuses[username].Status
			before := in.Prior[username].OtherDevices
			if u, ok := in.Existing[FoldUsername(username)]; ok {
				_, before = ObservedDevices(u.Devices)
			}
			refreshed[username] = Refreshed(e, PingIDUser{Username: username, Email: e.Email, FirstName: e.FirstName,
				LastName: e.LastName, Status: e.Status, Devices: devicesOf(e, before)})
		}
		for username, e := range refreshed {
			if e.Devices != res.Planned[username].Devices || e.OtherDevices != res.Planned[username].OtherDevices {
				t.Fatalf("%s: refresh of %s after apply differs:\n  planned   %s\n  refreshed %s", name, username, res.Planned[username].JSON(), e.JSON())
			}
		}
		again, err = Plan(w.input(refreshed))
		if err != nil {
			t.Fatalf("%s: Plan after apply and refresh: %v", name, err)
		}
		if len(again.Actions) != 0 {
			t.Fatalf("%s: plan after apply and refresh is not empty: %v", name, describeActions(again.Actions))
		}
	}
}

// TestPlanRefusesASlotThatVanishedForEveryone: an attribute that no in-scope user has any more,
// while several users have a device in its slot, is a directory problem: the plan fails instead
// of unpairing the slot for everyone.
func TestPlanRefusesASlotThatVanishedForEveryone(t *testing.T) {
	plan := func(users int, keepOne bool) error {
		in := Input{Prior: map[string]Entry{}, Options: defaultOptions()}
		manageDevices(DevicesMerge, SlotSMS1)(&in.Options)
		for i := range users {
			name := fmt.Sprintf("u%d", i)
			e := jsmith(withDevices(map[Slot]string{SlotSMS1: fmt.Sprintf("+1555%04d", i)}))
			e.DN = "uid=" + name
			in.Prior[name] = e
			d := dirJSmith()
			d.Username, d.DN = name, e.DN
			if keepOne && i == 0 {
				d.Devices[SlotSMS1] = e.Devices.Get(SlotSMS1)
			}
			in.InScope = append(in.InScope, d)
		}
		_, err := Plan(in)
		return err
	}
	var vanished *VanishedSlotError
	if err := plan(3, false); !errors.As(err, &vanished) || vanished.Slot != SlotSMS1 || len(vanished.Users) != 3 ||
		!strings.Contains(err.Error(), "mfa_sms_1") || !strings.Contains(err.Error(), "bind account") {
		t.Errorf("3 users losing their SMS device: %v", err)
	}
	if err := plan(2, false); err != nil {
		t.Errorf("2 users losing their SMS device: %v", err)
	}
	if err := plan(5, true); err != nil {
		t.Errorf("4 of 5 users losing their SMS device, one keeping it: %v", err)
	}
}

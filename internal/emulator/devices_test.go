package emulator_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// pair calls offlinepairing and returns the raw deviceId digits of a success.
func (tn *tenant) pair(t *testing.T, user, typ, data string) string {
	t.Helper()
	r := tn.call(t, "offlinepairing", map[string]any{"username": user, "type": typ, "pairingData": data})
	expectError(t, r, 200)
	id, ok := r.body["deviceId"].(json.Number)
	if !ok {
		t.Fatalf("deviceId = %#v, want a JSON number", r.body["deviceId"])
	}
	return id.String()
}

// evaDevices are the stored devices of the test user "eva".
func evaDevices(t *testing.T, tn *tenant) []emulator.Device {
	t.Helper()
	return tn.mustUser(t, "eva").Devices
}

// detailsDevice returns devicesDetails[i] of a getuserdetails answer.
func detailsDevice(t *testing.T, r response, i int) map[string]any {
	t.Helper()
	ds, ok := r.userDetails(t)["devicesDetails"].([]any)
	if !ok || i >= len(ds) {
		t.Fatalf("devicesDetails = %v, want a device %d", r.userDetails(t)["devicesDetails"], i)
	}
	d, ok := ds[i].(map[string]any)
	if !ok {
		t.Fatalf("devicesDetails[%d] = %v", i, ds[i])
	}
	return d
}

// digits returns a JSON number's literal ("" for anything else).
func digits(v any) string {
	n, _ := v.(json.Number)
	return n.String()
}

func TestOfflinePairingIDsAreExact64BitIntegers(t *testing.T) {
	tn := newTenantWith(t, mustOptions(t, 20))
	if err := tn.srv.SeedUser(emulator.User{UserName: "eva"}); err != nil {
		t.Fatal(err)
	}
	first := tn.pair(t, "eva", "SMS", "+1 (555) 010-2030")
	second := tn.pair(t, "eva", "EMAIL", "eva@example.test")
	if len(first) != 19 || len(second) != 19 {
		t.Fatalf("device ids %s, %s: want 19 digits", first, second)
	}
	a, _ := strconv.ParseInt(first, 10, 64)
	b, _ := strconv.ParseInt(second, 10, 64)
	if a == b || float64(a) != float64(b) {
		t.Fatalf("ids %d and %d should differ yet share one float64 (so a float decoder would mix them up)", a, b)
	}
	// The raw response carries the digits, not a float rendering.
	r := tn.call(t, "getuserdetails", map[string]any{"userName": "eva"})
	if got := digits(detailsDevice(t, r, 0)["deviceId"]); got != first {
		t.Errorf("getuserdetails deviceId = %s, want %s", got, first)
	}
	stored := evaDevices(t, tn)
	if stored[0].ID != a || stored[1].ID != b {
		t.Errorf("stored ids %d, %d", stored[0].ID, stored[1].ID)
	}
}

func mustOptions(t *testing.T, maxDevices int) emulator.Options {
	t.Helper()
	opts, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	opts.MaxAllowedDevices = maxDevices
	return opts
}

func TestOfflinePairingStoresNormalisedValuesAndActivates(t *testing.T) {
	tn := newTenantWith(t, mustOptions(t, 5))
	for _, u := range []emulator.User{{UserName: "eva"}, {UserName: "sus", Status: emulator.StatusActive}} {
		if err := tn.srv.SeedUser(u); err != nil {
			t.Fatal(err)
		}
	}
	if err := tn.srv.SetUserStatus("sus", emulator.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	tn.pair(t, "eva", "SMS", "+1 (555) 010-2030")
	tn.pair(t, "eva", "VOICE", "+1 202-555-0123, 2992#")
	tn.pair(t, "eva", "EMAIL", " eva@example.test ")
	u := tn.mustUser(t, "eva")
	if u.Status != emulator.StatusActive {
		t.Errorf("pairing left the user %s, want ACTIVE", u.Status)
	}
	want := []emulator.Device{
		{Type: "SMS", Nickname: "SMS", Role: emulator.DeviceRolePrimary, Phone: "+15550102030"},
		{Type: "Voice", Nickname: "Voice", Role: emulator.DeviceRoleSecondary, Phone: "+12025550123,2992#"},
		{Type: "Email", Nickname: "Email", Role: emulator.DeviceRoleSecondary, Email: "eva@example.test"},
	}
	for i, d := range u.Devices {
		if d.Type != want[i].Type || d.Nickname != want[i].Nickname || d.Role != want[i].Role || d.Phone != want[i].Phone || d.Email != want[i].Email {
			t.Errorf("device %d = %+v, want %+v", i, d, want[i])
		}
	}
	// getuserdetails spells the types Email/SMS/Voice and returns phoneNumber/email.
	r := tn.call(t, "getuserdetails", map[string]any{"userName": "eva"})
	voice := detailsDevice(t, r, 1)
	if voice["type"] != "Voice" || voice["phoneNumber"] != "+12025550123,2992#" || voice["email"] != nil {
		t.Errorf("voice device details = %v", voice)
	}
	if email := detailsDevice(t, r, 2); email["type"] != "Email" || email["email"] != "eva@example.test" || email["phoneNumber"] != nil {
		t.Errorf("email device details = %v", email)
	}

	// A suspended user stays suspended; reactivation returns it to ACTIVE.
	tn.pair(t, "sus", "SMS", "+15550102031")
	if s := tn.mustUser(t, "sus"); s.Status != emulator.StatusSuspended {
		t.Errorf("pairing changed a suspended user to %s", s.Status)
	}
	expectError(t, tn.call(t, "activateuser", map[string]any{"userName": "sus"}), 200)
	if s := tn.mustUser(t, "sus"); s.Status != emulator.StatusActive {
		t.Errorf("reactivated user with a device is %s", s.Status)
	}
}

func TestOfflinePairingRejections(t *testing.T) {
	tn := newTenant(t) // PingID's default: one device per user
	if tn.srv.MaxAllowedDevices() != emulator.DefaultMaxAllowedDevices || emulator.DefaultMaxAllowedDevices != 1 {
		t.Fatalf("default maximum allowed devices = %d", tn.srv.MaxAllowedDevices())
	}
	if err := tn.srv.SeedUser(emulator.User{UserName: "eva"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"010-2", "+1 555 010 2030 ext. 5", "call me", "+1555010203012345678", "+15550102030,", "+15550102030,12a"} {
		r := tn.call(t, "offlinepairing", map[string]any{"username": "eva", "type": "SMS", "pairingData": bad})
		expectError(t, r, 20559)
		if r.body["errorMsg"] != "Invalid phone number." {
			t.Errorf("20559 message = %v", r.body["errorMsg"])
		}
	}
	for _, body := range []map[string]any{
		{"username": "eva", "type": "EMAIL", "pairingData": "not-an-address"},
		{"username": "eva", "type": "sms", "pairingData": "+15550102030"},
		{"username": "eva", "type": "TOKEN", "pairingData": "123456"},
		{"username": "eva", "type": "SMS", "pairingData": 15550102030},
		{"username": "eva", "type": "SMS", "pairingData": "+15550102030", "validateUniqueDevice": "maybe"},
	} {
		expectError(t, tn.call(t, "offlinepairing", body), 400)
	}
	expectError(t, tn.call(t, "offlinepairing", map[string]any{"username": "ghost", "type": "SMS", "pairingData": "+15550102030"}), 10564)
	if n := len(evaDevices(t, tn)); n != 0 {
		t.Fatalf("rejected pairings left %d devices", n)
	}

	tn.pair(t, "eva", "SMS", "+15550102030")
	r := tn.call(t, "offlinepairing", map[string]any{"username": "eva", "type": "EMAIL", "pairingData": "eva@example.test", "validateUniqueDevice": "true"})
	expectError(t, r, 20562)
	if r.body["errorMsg"] != "user.exceeded.num.of.devices" {
		t.Errorf("20562 message = %v", r.body["errorMsg"])
	}
	if err := tn.srv.SetMaxAllowedDevices(2); err != nil {
		t.Fatal(err)
	}
	tn.pair(t, "eva", "EMAIL", "eva@example.test")
	for _, n := range []int{0, 21, -1} {
		if err := tn.srv.SetMaxAllowedDevices(n); err == nil {
			t.Errorf("SetMaxAllowedDevices(%d) accepted", n)
		}
	}
	if _, err := emulator.New(emulator.Options{MaxAllowedDevices: 21}); err == nil {
		t.Error("New accepted 21 maximum allowed devices")
	}
}

func TestUpdateDeviceAttr(t *testing.T) {
	tn := newTenantWith(t, mustOptions(t, 3))
	if err := tn.srv.SeedUser(emulator.User{UserName: "eva"}); err != nil {
		t.Fatal(err)
	}
	sms := tn.pair(t, "eva", "SMS", "+15550102030")
	email := tn.pair(t, "eva", "EMAIL", "eva@example.test")
	voice := tn.pair(t, "eva", "VOICE", "+15550102031")

	// deviceId as a string (Postman) and as a number (Java sample) both address the device.
	expectError(t, tn.call(t, "updatedeviceattr", map[string]any{"userName": "eva", "deviceId": sms, "attributeName": "NICKNAME", "attributeValue": "SMS Number 1"}), 200)
	expectError(t, tn.call(t, "updatedeviceattr", map[string]any{"userName": "eva", "deviceId": json.Number(email), "attributeName": "NICKNAME", "attributeValue": "Email 1"}), 200)
	expectError(t, tn.call(t, "updatedeviceattr", map[string]any{"userName": "eva", "deviceId": voice, "attributeName": "SET_PRIMARY", "attributeValue": "true"}), 200)
	ds := evaDevices(t, tn)
	if ds[0].Nickname != "SMS Number 1" || ds[1].Nickname != "Email 1" || ds[2].Role != emulator.DeviceRolePrimary || ds[0].Role != emulator.DeviceRoleSecondary {
		t.Fatalf("after nickname and primary: %+v", ds)
	}
	expectError(t, tn.call(t, "updatedeviceattr", map[string]any{"userName": "eva", "deviceId": voice, "attributeName": "ORDER", "attributeValue": "1"}), 200)
	if ds := evaDevices(t, tn); strconv.FormatInt(ds[0].ID, 10) != voice || strconv.FormatInt(ds[1].ID, 10) != sms {
		t.Fatalf("after ORDER 1: %+v", ds)
	}
	r := tn.call(t, "getuserdetails", map[string]any{"userName": "eva"})
	if primary, _ := r.userDetails(t)["deviceDetails"].(map[string]any); digits(primary["deviceId"]) != voice {
		t.Errorf("deviceDetails = %v, want the new primary", primary)
	}

	for _, body := range []map[string]any{
		{"userName": "eva", "attributeName": "NICKNAME", "attributeValue": "x"},                                    // no deviceId
		{"userName": "eva", "deviceId": "1216975380183657999", "attributeName": "NICKNAME", "attributeValue": "x"}, // unknown
		{"userName": "eva", "deviceId": 1.216975380183657e18, "attributeName": "NICKNAME", "attributeValue": "x"},  // a float
		{"userName": "eva", "deviceId": sms, "attributeName": "NICKNAME", "attributeValue": " "},
		{"userName": "eva", "deviceId": sms, "attributeName": "NICKNAME", "attributeValue": strings.Repeat("n", 101)},
		{"userName": "eva", "deviceId": sms, "attributeName": "SET_PRIMARY", "attributeValue": "false"},
		{"userName": "eva", "deviceId": sms, "attributeName": "ORDER", "attributeValue": "4"},
		{"userName": "eva", "deviceId": sms, "attributeName": "COLOUR", "attributeValue": "red"},
		{"userName": "eva", "deviceId": sms, "attributeName": "NICKNAME", "attributeValue": 5},
	} {
		expectError(t, tn.call(t, "updatedeviceattr", body), 400)
	}
	expectError(t, tn.call(t, "updatedeviceattr", map[string]any{"userName": "ghost", "deviceId": sms, "attributeName": "NICKNAME", "attributeValue": "x"}), 10564)
}

func TestUnpairDevice(t *testing.T) {
	tn := newTenantWith(t, mustOptions(t, 3))
	if err := tn.srv.SeedUser(emulator.User{UserName: "eva"}); err != nil {
		t.Fatal(err)
	}
	sms := tn.pair(t, "eva", "SMS", "+15550102030")
	email := tn.pair(t, "eva", "EMAIL", "eva@example.test")

	// Unpairing the primary promotes the next device.
	expectError(t, tn.call(t, "unpairdevice", map[string]any{"userName": "eva", "deviceId": sms}), 200)
	ds := evaDevices(t, tn)
	if len(ds) != 1 || strconv.FormatInt(ds[0].ID, 10) != email || ds[0].Role != emulator.DeviceRolePrimary {
		t.Fatalf("after unpairing the primary: %+v", ds)
	}
	expectError(t, tn.call(t, "unpairdevice", map[string]any{"userName": "eva", "deviceId": sms}), 400) // already gone
	expectError(t, tn.call(t, "unpairdevice", map[string]any{"userName": "eva", "deviceId": json.Number(email)}), 200)
	if u := tn.mustUser(t, "eva"); len(u.Devices) != 0 || u.Status != emulator.StatusPendingChangeDevice {
		t.Fatalf("after the last unpair: %+v", u)
	}

	// Without a deviceId, unpairdevice unpairs EVERY device (the real API does; the client never sends it).
	tn.pair(t, "eva", "SMS", "+15550102030")
	tn.pair(t, "eva", "EMAIL", "eva@example.test")
	expectError(t, tn.call(t, "unpairdevice", map[string]any{"userName": "eva"}), 200)
	if n := len(evaDevices(t, tn)); n != 0 {
		t.Fatalf("unpairdevice without deviceId left %d devices", n)
	}
	expectError(t, tn.call(t, "unpairdevice", map[string]any{"userName": "ghost", "deviceId": sms}), 10564)
	expectError(t, tn.call(t, "unpairdevice", map[string]any{"userName": "eva", "deviceId": "12x"}), 400)
}

func TestSeededPhoneNumbersAreNormalised(t *testing.T) {
	tn := newTenant(t)
	err := tn.srv.SeedUser(emulator.User{UserName: "eva", Status: emulator.StatusActive, Devices: []emulator.Device{
		{Type: "Voice", Phone: "+1 (555) 010-2030"}, {Type: "iPhone", Nickname: "iPhone of eva"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ds := evaDevices(t, tn)
	if ds[0].Phone != "+15550102030" {
		t.Errorf("seeded number stored as %q", ds[0].Phone)
	}
	if len(ds) != 2 {
		t.Errorf("seeding is out of band and ignores the device limit: %d devices", len(ds))
	}
}

func TestMaxAllowedDevicesSettingHookAndPersistence(t *testing.T) {
	opts, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	opts.StatePath = filepath.Join(t.TempDir(), "state.json")
	tn := newTenantWith(t, opts)
	get := func() string {
		_, body := tn.hook(t, http.MethodGet, "/_emulator/settings", "")
		return strings.Join(strings.Fields(body), "")
	}
	post := func(body string) int {
		code, _ := tn.hook(t, http.MethodPost, "/_emulator/settings", body)
		return code
	}
	if code := post(`{"max_allowed_devices":21}`); code != http.StatusBadRequest {
		t.Errorf("21 devices: HTTP %d", code)
	}
	if code := post(`{"max_allowed_devices":4}`); code != http.StatusOK {
		t.Fatalf("4 devices: HTTP %d", code)
	}
	if got := get(); got != `{"max_allowed_devices":4}` {
		t.Fatalf("settings = %s", got)
	}
	// A restarted emulator keeps the tenant's setting; an explicit option replaces it.
	reopened, err := emulator.New(emulator.Options{StatePath: opts.StatePath})
	if err != nil {
		t.Fatal(err)
	}
	if n := reopened.MaxAllowedDevices(); n != 4 {
		t.Errorf("after restart: %d", n)
	}
	overridden, err := emulator.New(emulator.Options{StatePath: opts.StatePath, MaxAllowedDevices: 7})
	if err != nil {
		t.Fatal(err)
	}
	if n := overridden.MaxAllowedDevices(); n != 7 {
		t.Errorf("with the option: %d", n)
	}
	tn.srv.Reset()
	if n := tn.srv.MaxAllowedDevices(); n != 1 {
		t.Errorf("after Reset: %d", n)
	}
	if !regexp.MustCompile(`"max_allowed_devices":\s*1\b`).MatchString(get()) {
		t.Error("hook disagrees after reset")
	}
}

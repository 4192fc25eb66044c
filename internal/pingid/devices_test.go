package pingid

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Ids beyond float64 precision: 2^53 < id, and neighbours that one float64 cannot tell apart.
const (
	bigID     = "1216975380183657001"
	bigIDNext = "1216975380183657002"
	maxInt64  = "9223372036854775807"
)

func TestDeviceIDKeepsEveryDigit(t *testing.T) {
	for _, in := range []string{bigID, `"` + bigID + `"`, maxInt64, `"` + maxInt64 + `"`, "187835"} {
		var id DeviceID
		if err := json.Unmarshal([]byte(in), &id); err != nil {
			t.Fatalf("unmarshal %s: %v", in, err)
		}
		want := strings.Trim(in, `"`)
		if id.String() != want {
			t.Errorf("unmarshal %s = %s, want %s", in, id, want)
		}
		out, err := json.Marshal(id)
		if err != nil || string(out) != `"`+want+`"` {
			t.Errorf("marshal %s = %s, %v", id, out, err)
		}
	}
	var a, b DeviceID
	if err := json.Unmarshal([]byte(bigID), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(bigIDNext), &b); err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("%s and %s decoded to the same id", bigID, bigIDNext)
	}
}

func TestDeviceIDRefusesInexactValues(t *testing.T) {
	for _, in := range []string{`1.216975380183657e18`, `1216975380183657000.0`, `"12a"`, `-5`, `0`, `"0"`, `9223372036854775808`, `true`, `{}`} {
		var id DeviceID
		if err := json.Unmarshal([]byte(in), &id); err == nil {
			t.Errorf("unmarshal %s gave %s, want an error", in, id)
		}
	}
	var id DeviceID
	if err := json.Unmarshal([]byte("null"), &id); err != nil || !id.IsZero() {
		t.Errorf("null: %v, %v", id, err)
	}
}

// The zero DeviceID cannot be encoded, so no request body without a device id can be built.
func TestZeroDeviceIDCannotBeSent(t *testing.T) {
	_, err := json.Marshal(unpairDeviceRequest{UserName: "eva"})
	if err == nil || !errors.Is(err, errNoDeviceID) {
		t.Fatalf("marshal of an unpair request without a device id: %v", err)
	}
	_, err = json.Marshal(updateDeviceAttrRequest{UserName: "eva", AttributeName: AttributeNickname, AttributeValue: "x"})
	if err == nil {
		t.Fatal("an updatedeviceattr body without a device id was encoded")
	}
}

func TestParseUserDevices(t *testing.T) {
	raw := json.RawMessage(`{"userName":"eva","status":"ACTIVE","devicesDetails":[
		{"deviceId":` + bigID + `,"type":"SMS","nickname":"SMS Number 1","deviceRole":"PRIMARY","phoneNumber":"+15550102030","email":null},
		{"deviceId":"` + bigIDNext + `","type":"Email","nickname":"Email 1","deviceRole":"SECONDARY","email":"eva@example.test"},
		{"deviceId":1.5e18,"type":"iPhone","nickname":"iPhone of eva","deviceRole":"SECONDARY"}]}`)
	u, err := parseUser(raw, "eva")
	if err != nil {
		t.Fatal(err)
	}
	if u.DeviceCount != 3 || len(u.Devices) != 3 {
		t.Fatalf("devices: %+v", u.Devices)
	}
	sms, email, phone := u.Devices[0], u.Devices[1], u.Devices[2]
	if sms.ID.String() != bigID || sms.Type != DeviceTypeSMS || sms.Nickname != "SMS Number 1" || !sms.IsPrimary() || sms.Value() != "+15550102030" {
		t.Errorf("sms device: %+v", sms)
	}
	if email.ID.String() != bigIDNext || email.Value() != "eva@example.test" || email.IsPrimary() {
		t.Errorf("email device: %+v", email)
	}
	if !phone.ID.IsZero() || phone.Nickname != "iPhone of eva" || phone.Value() != "" {
		t.Errorf("a float device id must be kept as no id: %+v", phone)
	}
}

func TestParseResponseDeviceID(t *testing.T) {
	resp, err := parseResponsePayload([]byte(`{"responseBody":{"errorId":200,"deviceId":` + maxInt64 + `,"sessionId":"s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.DeviceID.String() != maxInt64 {
		t.Errorf("deviceId = %s, want %s", resp.DeviceID, maxInt64)
	}
}

func TestNormalizePhoneNumber(t *testing.T) {
	for in, want := range map[string]string{
		"+1 (555) 010-2030":          "+15550102030",
		"+15550102030":               "+15550102030",
		" +1.555.010.2030 ":          "+15550102030",
		"+1 202 555 0123, 2992#":     "+12025550123,2992#",
		"+1-202-555-0123,*12#":       "+12025550123,*12#",
		"972 52-123-4567":            "972521234567",
		"(411) 234/5678":             "4112345678",
		"+44\u00a020 7946\u20130958": "+442079460958",
		"+1 555 0102 ext. 5":         "+15550102ext5",
		"":                           "",
	} {
		if got := NormalizePhoneNumber(in); got != want {
			t.Errorf("NormalizePhoneNumber(%q) = %q, want %q", in, got, want)
		}
	}
	if !SameDeviceValue(DeviceTypeSMS, "+1 (555) 010-2030", "+15550102030") || SameDeviceValue(DeviceTypeVoice, "+15550102030", "+15550102031") {
		t.Error("SameDeviceValue on phone numbers")
	}
	if !SameDeviceValue(DeviceTypeEmail, " Eva@Example.test", "eva@example.test") || SameDeviceValue("EMAIL", "eva@example.test", "eve@example.test") {
		t.Error("SameDeviceValue on emails")
	}
}

func TestDeviceErrorsAreTypedAndActionable(t *testing.T) {
	tooMany := &APIError{Operation: OpOfflinePairing, Username: "eva", HTTPStatus: 400, ErrorID: ErrorIDTooManyDevices, Message: "user.exceeded.num.of.devices"}
	if !errors.Is(tooMany, ErrTooManyDevices) || errors.Is(tooMany, ErrInvalidPhoneNumber) {
		t.Error("20562 must match ErrTooManyDevices only")
	}
	if msg := tooMany.Error(); !strings.Contains(msg, "Maximum Allowed Devices") || !strings.Contains(msg, "20") {
		t.Errorf("20562 message does not name the setting: %s", msg)
	}
	legacy := &APIError{Operation: OpOfflinePairing, ErrorID: ErrorIDTooManyDevicesLegacy}
	if !errors.Is(legacy, ErrTooManyDevices) {
		t.Error("20549 on offlinepairing is the pre-2021 id of 20562")
	}
	if errors.Is(&APIError{Operation: OpGetUserDetails, ErrorID: ErrorIDTooManyDevicesLegacy}, ErrTooManyDevices) {
		t.Error("20549 outside offlinepairing is not the device limit")
	}
	invalid := &APIError{Operation: OpOfflinePairing, ErrorID: ErrorIDInvalidPhoneNumber}
	if !errors.Is(invalid, ErrInvalidPhoneNumber) || !strings.Contains(invalid.Error(), "+15550102030") {
		t.Errorf("20559: %v", invalid)
	}
}

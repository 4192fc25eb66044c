package conformance

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
)

func (tn *tenant) allowDevices(t *testing.T, n int) {
	t.Helper()
	if err := tn.emu.SetMaxAllowedDevices(n); err != nil {
		t.Fatal(err)
	}
}

// storedID is the emulator's id of the user's device number i.
func (tn *tenant) storedID(t *testing.T, user string, i int) string {
	t.Helper()
	ds := tn.user(t, user).Devices
	if i >= len(ds) {
		t.Fatalf("%s has %d devices, want device %d", user, len(ds), i)
	}
	return strconv.FormatInt(ds[i].ID, 10)
}

// TestDeviceRoundTrip pairs, names, promotes and unpairs devices through the client and checks
// both what the client reads back and the emulator's state, with 19-digit ids throughout.
func TestDeviceRoundTrip(t *testing.T) {
	tn := newTenant(t, nil)
	tn.allowDevices(t, 5)
	c := tn.client(t, nil)
	ctx := t.Context()
	tn.seed(t, emulator.User{UserName: "eva"})

	sms, err := c.PairDevice(ctx, pingid.Pairing{UserName: "eva", Type: pingid.PairingSMS, Data: "+1 (555) 010-2030"})
	if err != nil {
		t.Fatal(err)
	}
	email, err := c.PairDevice(ctx, pingid.Pairing{UserName: "eva", Type: pingid.PairingEmail, Data: "eva@example.test", Existing: []pingid.DeviceID{sms}})
	if err != nil {
		t.Fatal(err)
	}
	voice, err := c.PairDevice(ctx, pingid.Pairing{UserName: "eva", Type: pingid.PairingVoice, Data: "+1 202 555 0123,2992#"})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []pingid.DeviceID{sms, email, voice} {
		if want := tn.storedID(t, "eva", i); id.String() != want || len(want) != 19 {
			t.Errorf("device %d: client id %s, emulator id %s (want 19 digits, equal)", i, id, want)
		}
	}
	for _, step := range []struct {
		id   pingid.DeviceID
		name string
	}{{sms, "SMS Number 1"}, {email, "Email 1"}, {voice, "Voice Number 1"}} {
		if err := c.SetDeviceNickname(ctx, "eva", step.id, step.name); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetPrimaryDevice(ctx, "eva", voice); err != nil {
		t.Fatal(err)
	}

	u, err := c.GetUser(ctx, "eva")
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != pingid.StatusActive || len(u.Devices) != 3 || u.DeviceCount != 3 {
		t.Fatalf("after pairing: status %s, devices %+v", u.Status, u.Devices)
	}
	want := []pingid.Device{
		{ID: sms, Type: pingid.DeviceTypeSMS, Nickname: "SMS Number 1", Role: pingid.DeviceRoleSecondary, PhoneNumber: "+15550102030"},
		{ID: email, Type: pingid.DeviceTypeEmail, Nickname: "Email 1", Role: pingid.DeviceRoleSecondary, Email: "eva@example.test"},
		{ID: voice, Type: pingid.DeviceTypeVoice, Nickname: "Voice Number 1", Role: pingid.DeviceRolePrimary, PhoneNumber: "+12025550123,2992#"},
	}
	for i, d := range u.Devices {
		if d != want[i] {
			t.Errorf("device %d = %+v, want %+v", i, d, want[i])
		}
	}
	// The number as the directory writes it and as PingID stores it are one number.
	if !pingid.SameDeviceValue(u.Devices[0].Type, u.Devices[0].Value(), "+1 (555) 010-2030") {
		t.Errorf("stored %q does not match the directory's formatting", u.Devices[0].Value())
	}

	if err := c.UnpairDevice(ctx, "eva", email); err != nil {
		t.Fatal(err)
	}
	if ds := tn.user(t, "eva").Devices; len(ds) != 2 || strconv.FormatInt(ds[0].ID, 10) != sms.String() || strconv.FormatInt(ds[1].ID, 10) != voice.String() {
		t.Fatalf("after unpairing the email device: %+v", ds)
	}
	// Unpairing a device that is already gone meets the goal.
	if err := c.UnpairDevice(ctx, "eva", email); err != nil {
		t.Errorf("unpairing a device that is gone: %v", err)
	}
}

// TestUnpairWithoutDeviceIDIsNeverSent: the emulator, like PingID, unpairs every device when the
// deviceId is missing; the client must refuse to send such a call.
func TestUnpairWithoutDeviceIDIsNeverSent(t *testing.T) {
	tn := newTenant(t, nil)
	c := tn.client(t, nil)
	tn.seed(t, emulator.User{UserName: "eva", Status: emulator.StatusActive, Devices: []emulator.Device{{Type: "iPhone"}, {Type: "SMS", Phone: "+15550102030"}}})

	var none pingid.DeviceID
	err := c.UnpairDevice(t.Context(), "eva", none)
	if err == nil || !errors.Is(err, pingid.ErrInvalidInput) || !strings.Contains(err.Error(), "device id") {
		t.Fatalf("UnpairDevice without an id: %v", err)
	}
	if err := c.UpdateDeviceAttribute(t.Context(), "eva", none, pingid.AttributeSetPrimary, "true"); err == nil {
		t.Fatal("UpdateDeviceAttribute without an id was accepted")
	}
	if _, err := pingid.ParseDeviceID("0"); err == nil {
		t.Fatal("ParseDeviceID(0) gave an id")
	}
	assertAttempts(t, tn, c, pingid.OpUnpairDevice, 0)
	assertAttempts(t, tn, c, pingid.OpUpdateDeviceAttr, 0)
	if n := len(tn.user(t, "eva").Devices); n != 2 {
		t.Fatalf("eva has %d devices, want 2", n)
	}
}

func TestDeviceErrors(t *testing.T) {
	tn := newTenant(t, nil) // PingID's default: one device per user
	c := tn.client(t, nil)
	ctx := t.Context()
	tn.seed(t, emulator.User{UserName: "eva", Status: emulator.StatusActive, Devices: []emulator.Device{{Type: "iPhone", Nickname: "iPhone of eva"}}})

	_, err := c.PairDevice(ctx, pingid.Pairing{UserName: "eva", Type: pingid.PairingSMS, Data: "+15550102030"})
	if !errors.Is(err, pingid.ErrTooManyDevices) || apiError(t, err).ErrorID != pingid.ErrorIDTooManyDevices {
		t.Fatalf("pairing beyond the limit: %v", err)
	}
	if !strings.Contains(err.Error(), "Maximum Allowed Devices") {
		t.Errorf("the error does not name the PingID setting: %v", err)
	}
	assertAttempts(t, tn, c, pingid.OpOfflinePairing, 1) // a refusal is not retried

	tn.allowDevices(t, 2)
	_, err = c.PairDevice(ctx, pingid.Pairing{UserName: "eva", Type: pingid.PairingSMS, Data: "010-2"})
	if !errors.Is(err, pingid.ErrInvalidPhoneNumber) || apiError(t, err).ErrorID != pingid.ErrorIDInvalidPhoneNumber {
		t.Fatalf("pairing an invalid number: %v", err)
	}
	_, err = c.PairDevice(ctx, pingid.Pairing{UserName: "nobody", Type: pingid.PairingEmail, Data: "n@example.test"})
	if !errors.Is(err, pingid.ErrUserNotFound) {
		t.Fatalf("pairing for a missing user: %v", err)
	}
	if n := len(tn.user(t, "eva").Devices); n != 1 {
		t.Fatalf("refused pairings left %d devices", n)
	}
}

// TestLostDeviceResponses: offlinepairing is not idempotent. A response lost after PingID paired
// the device must not pair a second one; a lost unpair response is still a success.
func TestLostDeviceResponses(t *testing.T) {
	tn := newTenant(t, nil)
	tn.allowDevices(t, 5)
	c := tn.client(t, nil)
	ctx := t.Context()
	// eva already has an SMS device with the same number under another nickname: the look-up after
	// the lost response must not mistake it for the new one.
	tn.seed(t, emulator.User{UserName: "eva", Status: emulator.StatusActive, Devices: []emulator.Device{{Type: "SMS", Nickname: "SMS Number 2", Phone: "+15550102030"}}})
	before, err := c.GetUser(ctx, "eva")
	if err != nil {
		t.Fatal(err)
	}
	existing := []pingid.DeviceID{before.Devices[0].ID}

	tn.emu.SetFault(pingid.OpOfflinePairing, emulator.Fault{DropAfterProcessRate: 1, Count: 1})
	id, err := c.PairDevice(ctx, pingid.Pairing{UserName: "eva", Type: pingid.PairingSMS, Data: "+1 555 010 2030", Existing: existing})
	if err != nil {
		t.Fatal(err)
	}
	ds := tn.user(t, "eva").Devices
	if len(ds) != 2 || id.String() != strconv.FormatInt(ds[1].ID, 10) {
		t.Fatalf("after a lost pairing response: id %s, devices %+v (want exactly one new device)", id, ds)
	}
	assertAttempts(t, tn, c, pingid.OpOfflinePairing, 1)

	tn.emu.SetFault(pingid.OpUnpairDevice, emulator.Fault{DropAfterProcessRate: 1, Count: 1})
	if err := c.UnpairDevice(ctx, "eva", id); err != nil {
		t.Fatalf("unpair with a lost response: %v", err)
	}
	if ds := tn.user(t, "eva").Devices; len(ds) != 1 || ds[0].Nickname != "SMS Number 2" {
		t.Fatalf("after a lost unpair response: %+v", ds)
	}
	assertAttempts(t, tn, c, pingid.OpUnpairDevice, 1)

	// A pairing lost before processing is simply resent.
	tn.emu.SetFault(pingid.OpOfflinePairing, emulator.Fault{DropRate: 1, Count: 1})
	if _, err := c.PairDevice(ctx, pingid.Pairing{UserName: "eva", Type: pingid.PairingEmail, Data: "eva@example.test", Existing: existing}); err != nil {
		t.Fatal(err)
	}
	if n := len(tn.user(t, "eva").Devices); n != 2 {
		t.Fatalf("after a dropped request: %d devices, want 2", n)
	}
}

// TestPairingActivatesAndStatusIsObserved: pairing moves a NOT_ACTIVE user to ACTIVE, and the
// client reports the status PingID returns rather than predicting it.
func TestPairingActivatesAndStatusIsObserved(t *testing.T) {
	tn := newTenant(t, nil)
	c := tn.client(t, nil)
	ctx := t.Context()
	added, err := c.AddUser(ctx, pingid.NewUser{UserName: "neo"})
	if err != nil || added.Status != pingid.StatusNotActive {
		t.Fatalf("AddUser: %+v, %v", added, err)
	}
	if _, err := c.PairDevice(ctx, pingid.Pairing{UserName: "neo", Type: pingid.PairingEmail, Data: "neo@example.test"}); err != nil {
		t.Fatal(err)
	}
	u, err := c.GetUser(ctx, "neo")
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != pingid.StatusActive || len(u.Devices) != 1 || !u.Devices[0].IsPrimary() {
		t.Fatalf("after pairing: %+v", u)
	}
}

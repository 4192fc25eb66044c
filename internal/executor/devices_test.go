package executor

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// emulated is a PingID emulator with a real client in front of it.
func emulated(t *testing.T, maxDevices int) (*emulator.Server, *pingid.Client) {
	t.Helper()
	opts, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	opts.MaxAllowedDevices = maxDevices
	emu, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	c, err := pingid.NewClient(pingid.Config{
		Credentials: pingid.Credentials{OrgAlias: opts.OrgAlias, Token: opts.Token, Base64Key: opts.Base64Key, IDPURL: srv.URL + "/pingid"},
		MinBackoff:  time.Millisecond, MaxBackoff: 2 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return emu, c
}

func currentDevices(t *testing.T, c *pingid.Client, user string) []pingid.Device {
	t.Helper()
	u, err := c.GetUser(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return u.Devices
}

// nicknames lists "nickname=value" of the emulator's stored devices, in order.
func nicknames(t *testing.T, emu *emulator.Server, user string) []string {
	t.Helper()
	u, ok := emu.User(user)
	if !ok {
		t.Fatalf("no user %s", user)
	}
	var out []string
	for _, d := range u.Devices {
		out = append(out, d.Nickname+"="+d.Phone+d.Email)
	}
	return out
}

func work(user string, want map[reconcile.Slot]string, slots ...reconcile.Slot) DeviceWork {
	w := DeviceWork{Username: user, Slots: slots}
	for s, v := range want {
		w.Want[s] = v
	}
	return w
}

func TestApplyDevicesReplacesWithinTheDeviceLimit(t *testing.T) {
	emu, c := emulated(t, 2)
	if err := emu.SeedUser(emulator.User{UserName: "eva", Status: emulator.StatusActive, Devices: []emulator.Device{
		{Type: "SMS", Nickname: "SMS Number 1", Phone: "+15550100000"}, {Type: "iPhone", Nickname: "iPhone of eva"},
	}}); err != nil {
		t.Fatal(err)
	}
	// Replacing SMS 1 only fits under the limit of 2 because the old device goes first.
	w := work("eva", map[reconcile.Slot]string{reconcile.SlotSMS1: "+15550102030"}, reconcile.SlotSMS1)
	after, err := ApplyDevices(t.Context(), c, w, currentDevices(t, c, "eva"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(nicknames(t, emu, "eva"), " "); got != "iPhone of eva= SMS Number 1=+15550102030" {
		t.Errorf("devices = %s", got)
	}
	slots, others := reconcile.ObservedDevices(SyncDevices(after))
	if slots.Get(reconcile.SlotSMS1) != "+15550102030" || strings.Join(others.Labels(), ",") != "iPhone: iPhone of eva" {
		t.Errorf("reported devices = %+v, %q", slots, others.Labels())
	}
}

func TestApplyDevicesPartialFailureNamesSlotAndSetting(t *testing.T) {
	emu, c := emulated(t, 1) // PingID's default
	if err := emu.SeedUser(emulator.User{UserName: "neo"}); err != nil {
		t.Fatal(err)
	}
	w := work("neo", map[reconcile.Slot]string{reconcile.SlotSMS1: "+15550102030", reconcile.SlotEmail1: "neo@example.test"}, reconcile.SlotEmail1, reconcile.SlotSMS1)
	after, err := ApplyDevices(t.Context(), c, w, nil)
	var de *DeviceError
	if !errors.As(err, &de) || !de.HasSlot || de.Slot != reconcile.SlotSMS1 || !errors.Is(err, pingid.ErrTooManyDevices) {
		t.Fatalf("err = %v, want the device limit on mfa_sms_1", err)
	}
	for _, want := range []string{`"neo"`, "mfa_sms_1", "SMS Number 1", "Maximum Allowed Devices"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	// What did pair is reported (and is what PingID has).
	slots, _ := reconcile.ObservedDevices(SyncDevices(after))
	if slots.Get(reconcile.SlotEmail1) != "neo@example.test" || slots.Get(reconcile.SlotSMS1) != "" {
		t.Errorf("reported = %+v", slots)
	}
	if got := strings.Join(nicknames(t, emu, "neo"), " "); got != "Email 1=neo@example.test" {
		t.Errorf("PingID has %s", got)
	}
}

func TestApplyDevicesAdoptsTheSameAddressAndRemovesOnlyReviewedOthers(t *testing.T) {
	emu, c := emulated(t, 5)
	if err := emu.SeedUser(emulator.User{UserName: "eva", Status: emulator.StatusActive, Devices: []emulator.Device{
		{Type: "SMS", Nickname: "My phone", Phone: "+1 555 010 2030"},
		{Type: "YubiKey", Nickname: "key"},
		{Type: "iPhone", Nickname: "new since the plan"},
	}}); err != nil {
		t.Fatal(err)
	}
	emu.ResetCalls()
	w := work("eva", map[reconcile.Slot]string{reconcile.SlotSMS1: "+15550102030"}, reconcile.SlotSMS1)
	w.RemoveOthers = []string{"YubiKey: key", "SMS: My phone"}
	if _, err := ApplyDevices(t.Context(), c, w, currentDevices(t, c, "eva")); err != nil {
		t.Fatal(err)
	}
	// "My phone" has the slot's number: renamed into the slot, not unpaired and paired again.
	if got := strings.Join(nicknames(t, emu, "eva"), " "); got != "SMS Number 1=+15550102030 new since the plan=" {
		t.Errorf("devices = %s", got)
	}
	if n := emu.Calls()[pingid.OpOfflinePairing]; n != 0 {
		t.Errorf("%d offlinepairing calls, want 0", n)
	}
}

func TestApplyDevicesSetsPrimary(t *testing.T) {
	emu, c := emulated(t, 3)
	if err := emu.SeedUser(emulator.User{UserName: "neo"}); err != nil {
		t.Fatal(err)
	}
	w := work("neo", map[reconcile.Slot]string{reconcile.SlotEmail1: "neo@example.test", reconcile.SlotSMS1: "+15550102030"}, reconcile.SlotEmail1, reconcile.SlotSMS1)
	w.Primary, w.SetPrimary = reconcile.SlotSMS1, true
	if _, err := ApplyDevices(t.Context(), c, w, nil); err != nil {
		t.Fatal(err)
	}
	u, _ := emu.User("neo")
	for _, d := range u.Devices {
		if (d.Nickname == "SMS Number 1") != (d.Role == emulator.DeviceRolePrimary) {
			t.Errorf("device %s is %s", d.Nickname, d.Role)
		}
	}
	if u.Status != emulator.StatusActive {
		t.Errorf("status %s after pairing", u.Status)
	}
}

package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// DeviceClient is the part of the PingID client that device work needs.
type DeviceClient interface {
	PairDevice(ctx context.Context, p pingid.Pairing) (pingid.DeviceID, error)
	SetDeviceNickname(ctx context.Context, username string, id pingid.DeviceID, nickname string) error
	SetPrimaryDevice(ctx context.Context, username string, id pingid.DeviceID) error
	UnpairDevice(ctx context.Context, username string, id pingid.DeviceID) error
}

var _ DeviceClient = (*pingid.Client)(nil)

// DeviceWork is what to do to one user's devices: the reviewed difference of a plan.
type DeviceWork struct {
	Username string
	// Want is the planned value of each slot ("" = no device); only Slots are acted on.
	Want  [reconcile.NumSlots]string
	Slots []reconcile.Slot
	// RemoveOthers are the labels (reconcile.Device.Label) of devices outside the managed slots to
	// unpair; a device that appeared since the plan is not among them and stays.
	RemoveOthers []string
	// Primary, when SetPrimary, is made the primary device (users this run created).
	Primary    reconcile.Slot
	SetPrimary bool
}

// Empty reports whether there is nothing to do.
func (w DeviceWork) Empty() bool {
	return len(w.Slots) == 0 && len(w.RemoveOthers) == 0 && !w.SetPrimary
}

// WorkFromDiff is the device work that turns prior's devices into planned's.
func WorkFromDiff(username string, prior, planned reconcile.Entry) DeviceWork {
	c := reconcile.DeviceDiff(prior, planned)
	return DeviceWork{Username: username, Want: planned.Devices.Values, Slots: c.Slots, RemoveOthers: c.RemoveOthers}
}

// DeviceError is a device change PingID refused; the other changes of the user went ahead.
type DeviceError struct {
	Username string
	Slot     reconcile.Slot // meaningful when HasSlot
	HasSlot  bool
	Label    string // the other device, when !HasSlot
	Op       string // "pair", "unpair", "name", "make primary"
	Err      error
}

func (e *DeviceError) Error() string {
	if e.HasSlot {
		return fmt.Sprintf("user %q, device slot %s (PingID nickname %q): %s: %v", e.Username, e.Slot.Name(), e.Slot.Nickname(), e.Op, e.Err)
	}
	return fmt.Sprintf("user %q, device %q: %s: %v", e.Username, e.Label, e.Op, e.Err)
}

func (e *DeviceError) Unwrap() error { return e.Err }

// SyncDeviceValue converts a PingID device for the decision core, normalising its value.
func SyncDeviceValue(d pingid.Device) reconcile.Device {
	return reconcile.Device{
		ID: d.ID.String(), Type: d.Type, Nickname: d.Nickname,
		Value:   pingid.NormalizeDeviceValue(d.Type, d.Value()),
		Primary: d.IsPrimary(),
	}
}

// SyncDevices converts a PingID device list (see SyncDeviceValue).
func SyncDevices(ds []pingid.Device) []reconcile.Device {
	out := make([]reconcile.Device, len(ds))
	for i, d := range ds {
		out[i] = SyncDeviceValue(d)
	}
	return out
}

func pairingType(k reconcile.DeviceKind) pingid.PairingType {
	switch k {
	case reconcile.KindEmail:
		return pingid.PairingEmail
	case reconcile.KindSMS:
		return pingid.PairingSMS
	case reconcile.KindVoice:
	}
	return pingid.PairingVoice
}

// ApplyDevices carries out w against the user's current devices and returns the devices the
// user has afterwards (as far as the calls tell), so a partial failure is recorded truthfully.
//
// A slot whose address the user already has on a device outside the slots gets that device
// renamed into it instead of a second pairing. Then unpairs go first, so a replaced device frees
// its place under the organization's Maximum Allowed Devices before its successor is paired;
// then each remaining slot is paired and named; then the primary is set. A
// refused change does not stop the others; all refusals are returned, joined, as *DeviceError.
func ApplyDevices(ctx context.Context, c DeviceClient, w DeviceWork, current []pingid.Device) ([]pingid.Device, error) {
	devices := append([]pingid.Device(nil), current...)
	var errs []error
	fail := func(slot reconcile.Slot, hasSlot bool, label, op string, err error) {
		errs = append(errs, &DeviceError{Username: w.Username, Slot: slot, HasSlot: hasSlot, Label: label, Op: op, Err: err})
	}
	remove := func(id pingid.DeviceID) {
		for i, d := range devices {
			if d.ID == id {
				devices = append(devices[:i], devices[i+1:]...)
				return
			}
		}
	}

	// Which device sits in which slot, and which are "other" devices: as reconcile.ObservedDevices
	// decides, so the plan's labels match.
	slotDevice := map[reconcile.Slot]int{}
	var others []int
	for i, d := range devices {
		if s, ok := reconcile.DeviceSlot(SyncDeviceValue(d)); ok && SyncDeviceValue(d).Value != "" {
			if _, taken := slotDevice[s]; !taken {
				slotDevice[s] = i
				continue
			}
		}
		others = append(others, i)
	}
	// 1. Adopt: a slot to fill whose address the user already has on a device outside the slots
	// (their own "My phone") gets that device renamed into it, even where other_devices was to be
	// removed: the plan's outcome, with one device fewer to pair.
	adopted := map[int]bool{}
	filled := map[reconcile.Slot]bool{}
	for _, s := range w.Slots {
		want := w.Want[s]
		if i, ok := slotDevice[s]; want == "" || ok && SyncDeviceValue(devices[i]).Value == want {
			continue
		}
		for _, i := range others {
			d, sd := devices[i], SyncDeviceValue(devices[i])
			if adopted[i] || d.ID.IsZero() || !strings.EqualFold(sd.Type, string(s.Kind())) || sd.Value != want {
				continue
			}
			adopted[i] = true
			if err := c.SetDeviceNickname(ctx, w.Username, d.ID, s.Nickname()); err != nil {
				fail(s, true, "", "rename the user's device with this address into the slot", err)
				break
			}
			devices[i].Nickname = s.Nickname()
			filled[s] = true
			break
		}
	}

	// 2. Unpair: replaced or removed slot devices, and the reviewed other devices.
	type removal struct {
		device  pingid.Device
		slot    reconcile.Slot
		hasSlot bool
	}
	var unpair []removal
	for _, s := range w.Slots {
		if i, ok := slotDevice[s]; ok && SyncDeviceValue(devices[i]).Value != w.Want[s] {
			unpair = append(unpair, removal{devices[i], s, true})
		}
	}
	toRemove := map[string]int{}
	for _, l := range w.RemoveOthers {
		toRemove[l]++
	}
	for _, i := range others {
		label := SyncDeviceValue(devices[i]).Label()
		if toRemove[label] > 0 {
			toRemove[label]--
			if !adopted[i] {
				unpair = append(unpair, removal{device: devices[i]})
			}
		}
	}
	for _, r := range unpair {
		d := r.device
		if d.ID.IsZero() {
			fail(r.slot, r.hasSlot, SyncDeviceValue(d).Label(), "unpair", errors.New("PingID reported this device without a usable device id; remove it in PingID"))
			continue
		}
		if err := c.UnpairDevice(ctx, w.Username, d.ID); err != nil {
			fail(r.slot, r.hasSlot, SyncDeviceValue(d).Label(), "unpair", err)
			continue
		}
		remove(d.ID)
	}

	// 3. Pair and name.
	has := func(s reconcile.Slot) (pingid.DeviceID, bool) {
		for _, d := range devices {
			if ds, ok := reconcile.DeviceSlot(SyncDeviceValue(d)); ok && ds == s && SyncDeviceValue(d).Value == w.Want[s] {
				return d.ID, true
			}
		}
		return pingid.DeviceID{}, false
	}
	for _, s := range w.Slots {
		want := w.Want[s]
		if want == "" || filled[s] {
			continue
		}
		if _, ok := has(s); ok {
			continue
		}
		existing := make([]pingid.DeviceID, 0, len(devices))
		for _, d := range devices {
			existing = append(existing, d.ID)
		}
		id, err := c.PairDevice(ctx, pingid.Pairing{UserName: w.Username, Type: pairingType(s.Kind()), Data: want, Existing: existing})
		if err != nil {
			fail(s, true, "", "pair "+want, err)
			continue
		}
		nd := pingid.Device{ID: id, Type: string(s.Kind()), Nickname: string(s.Kind())}
		if s.Kind() == reconcile.KindEmail {
			nd.Email = want
		} else {
			nd.PhoneNumber = want
		}
		devices = append(devices, nd)
		if err := c.SetDeviceNickname(ctx, w.Username, id, s.Nickname()); err != nil {
			fail(s, true, "", "name the paired device", err)
			continue
		}
		rename(devices, id, s.Nickname())
	}

	// 3. Primary.
	if w.SetPrimary && w.Want[w.Primary] != "" {
		if id, ok := has(w.Primary); ok {
			if err := c.SetPrimaryDevice(ctx, w.Username, id); err != nil {
				fail(w.Primary, true, "", "make primary", err)
			} else {
				for i := range devices {
					devices[i].Role = pingid.DeviceRoleSecondary
					if devices[i].ID == id {
						devices[i].Role = pingid.DeviceRolePrimary
					}
				}
			}
		}
	}
	return devices, errors.Join(errs...)
}

func rename(devices []pingid.Device, id pingid.DeviceID, nickname string) {
	for i := range devices {
		if devices[i].ID == id {
			devices[i].Nickname = nickname
		}
	}
}

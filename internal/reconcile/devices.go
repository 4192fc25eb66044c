package reconcile

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Slot is one of the PingID Provisioner's nine managed device slots. Slot mfa_sms_2 is the
// device PingID lists under the nickname "SMS Number 2", and so on.
type Slot uint8

// The nine slots, in the order of their names (which is also the JSON key order).
const (
	SlotEmail1 Slot = iota
	SlotEmail2
	SlotEmail3
	SlotSMS1
	SlotSMS2
	SlotSMS3
	SlotVoice1
	SlotVoice2
	SlotVoice3
	NumSlots = 9
)

// DeviceKind is a device type as getuserdetails spells it.
type DeviceKind string

// The device kinds a slot can hold.
const (
	KindEmail DeviceKind = "Email"
	KindSMS   DeviceKind = "SMS"
	KindVoice DeviceKind = "Voice"
)

var (
	slotNames     = [NumSlots]string{"mfa_email_1", "mfa_email_2", "mfa_email_3", "mfa_sms_1", "mfa_sms_2", "mfa_sms_3", "mfa_voice_1", "mfa_voice_2", "mfa_voice_3"}
	slotNicknames = [NumSlots]string{"Email 1", "Email 2", "Email 3", "SMS Number 1", "SMS Number 2", "SMS Number 3", "Voice Number 1", "Voice Number 2", "Voice Number 3"}
)

// Slots returns the nine slots in order.
func Slots() [NumSlots]Slot {
	var out [NumSlots]Slot
	for i := range out {
		out[i] = Slot(i)
	}
	return out
}

// Name is the slot's attribute name, e.g. "mfa_sms_2".
func (s Slot) Name() string { return slotNames[s] }

// Nickname is the PingID device nickname the Provisioner manages for the slot, e.g. "SMS Number 2".
func (s Slot) Nickname() string { return slotNicknames[s] }

// Kind is the device type the slot holds.
func (s Slot) Kind() DeviceKind {
	switch {
	case s <= SlotEmail3:
		return KindEmail
	case s <= SlotSMS3:
		return KindSMS
	}
	return KindVoice
}

// ParseSlot returns the slot named name ("mfa_sms_2").
func ParseSlot(name string) (Slot, bool) {
	i := slices.Index(slotNames[:], name)
	if i < 0 {
		return 0, false
	}
	return Slot(i), true
}

// SlotNames lists the nine slot names in order.
func SlotNames() []string { return slices.Clone(slotNames[:]) }

// DeviceSlot returns the managed slot a PingID device sits in: its nickname is one of the nine
// managed nicknames (compared without surrounding blanks and letter case) and its type matches.
func DeviceSlot(d Device) (Slot, bool) {
	nick := strings.TrimSpace(d.Nickname)
	for i, n := range slotNicknames {
		if strings.EqualFold(nick, n) && strings.EqualFold(d.Type, string(Slot(i).Kind())) {
			return Slot(i), true
		}
	}
	return 0, false
}

// DeviceMode is manage_devices.
type DeviceMode string

// Device modes, as in the Provisioner's "Manage Devices".
const (
	DevicesNone      DeviceMode = "none"
	DevicesMerge     DeviceMode = "merge"
	DevicesOverwrite DeviceMode = "overwrite"
)

// Device is one PingID device of a user as the gather step reports it. Value is the phone
// number or email, normalised the way the gather step normalises directory values (so equal
// addresses are equal strings); ID is the decimal device id.
type Device struct {
	ID, Type, Nickname, Value string
	Primary                   bool
}

// Label is how an unmanaged device is listed in other_devices: "iPhone: iPhone of eva".
func (d Device) Label() string { return d.Type + ": " + d.Nickname }

// Devices is the `devices` member of an entry: the value of each managed slot ("" = no device).
// Managed is false when devices are not managed: the member is then absent from the JSON.
type Devices struct {
	Managed bool
	Values  [NumSlots]string
}

// Get returns the value of slot s.
func (d Devices) Get(s Slot) string { return d.Values[s] }

// Count is the number of slots holding a device.
func (d Devices) Count() int {
	n := 0
	for _, v := range d.Values {
		if v != "" {
			n++
		}
	}
	return n
}

// OtherDevices is the `other_devices` member: the sorted labels of the user's devices outside
// the managed slots (Device.Label). Managed is false when it is absent (manage_devices is not
// "overwrite"). It is kept as its canonical JSON array so that Entry stays comparable.
type OtherDevices struct {
	Managed bool
	list    string // canonical JSON array; "" when empty
}

// NewOtherDevices returns a managed list of labels (sorted, duplicates kept).
func NewOtherDevices(labels []string) OtherDevices {
	if len(labels) == 0 {
		return OtherDevices{Managed: true}
	}
	sorted := slices.Clone(labels)
	slices.Sort(sorted)
	var b strings.Builder
	b.WriteByte('[')
	for i, l := range sorted {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, l)
	}
	b.WriteByte(']')
	return OtherDevices{Managed: true, list: b.String()}
}

// Labels returns the sorted labels.
func (o OtherDevices) Labels() []string {
	if o.list == "" {
		return nil
	}
	var out []string
	if err := json.Unmarshal([]byte(o.list), &out); err != nil {
		panic(fmt.Sprintf("reconcile: corrupt other_devices %q: %v", o.list, err)) // built only by NewOtherDevices
	}
	return out
}

// Empty reports whether the list has no device.
func (o OtherDevices) Empty() bool { return o.list == "" }

func (o OtherDevices) json() string {
	if o.list == "" {
		return "[]"
	}
	return o.list
}

// ObservedDevices sorts a user's PingID devices into the managed slots and the rest. A slot
// takes the first device under its nickname with the slot's type; a second one under the same
// nickname, and every other device, is listed in the other devices.
func ObservedDevices(devices []Device) (Devices, OtherDevices) {
	out := Devices{Managed: true}
	var others []string
	for _, d := range devices {
		if s, ok := DeviceSlot(d); ok && out.Values[s] == "" && d.Value != "" {
			out.Values[s] = d.Value
			continue
		}
		others = append(others, d.Label())
	}
	return out, NewOtherDevices(others)
}

// withObservedDevices sets the device members of e from PingID's devices, as far as the options
// manage them (devices with "merge" and "overwrite", other_devices with "overwrite").
func withObservedDevices(e Entry, devices []Device, mode DeviceMode) Entry {
	e.Devices, e.OtherDevices = Devices{}, OtherDevices{}
	if mode != DevicesMerge && mode != DevicesOverwrite {
		return e
	}
	slotsSeen, others := ObservedDevices(devices)
	e.Devices = slotsSeen
	if mode == DevicesOverwrite {
		e.OtherDevices = others
	}
	return e
}

// WithDeviceBaseline gives a refreshed entry recorded without the device members the options now
// manage (the first plan after manage_devices was turned on, or changed to "overwrite") PingID's
// current devices, so the plan compares the directory with what PingID has. NeedsDeviceBaseline
// names the users that need one.
func WithDeviceBaseline(e Entry, devices []Device, mode DeviceMode) Entry {
	return withObservedDevices(e, devices, mode)
}

// NeedsDeviceBaseline lists, sorted, the prior users whose entries lack the device members mode
// manages: their PingID devices must be read for WithDeviceBaseline before Plan.
func NeedsDeviceBaseline(prior map[string]Entry, mode DeviceMode) []string {
	var out []string
	for username, e := range prior {
		if needsBaseline(e, mode) {
			out = append(out, username)
		}
	}
	slices.Sort(out)
	return out
}

func needsBaseline(e Entry, mode DeviceMode) bool {
	switch mode {
	case DevicesMerge:
		return !e.Devices.Managed
	case DevicesOverwrite:
		return !e.Devices.Managed || !e.OtherDevices.Managed
	case DevicesNone:
	}
	return false
}

// devicesEligible reports whether the devices of a user with this planned entry are managed in
// this plan. Devices are paired and unpaired only for users who are enabled and in scope: a user
// disabled in the directory, out of scope, deleted, or kept suspended in PingID cannot
// authenticate, so their devices are left as PingID has them (and shown as observed) until they
// are enabled again, when the plan brings them in line with the directory.
func devicesEligible(next Entry) bool {
	return next.Enabled && next.SourceState == SourceInScope
}

// planDevices sets next's device members: for an eligible user the mapped slots take the
// directory's values and, with "overwrite", other_devices is planned empty; otherwise they stay as
// observed (base). base is the user's current device view (prior entry, or observed for a link).
func planDevices(next *Entry, base Entry, d *DirectoryUser, o Options) {
	next.Devices, next.OtherDevices = Devices{}, OtherDevices{}
	if o.ManageDevices != DevicesMerge && o.ManageDevices != DevicesOverwrite {
		return
	}
	next.Devices = base.Devices
	next.Devices.Managed = true
	if o.ManageDevices == DevicesOverwrite {
		next.OtherDevices = base.OtherDevices
		next.OtherDevices.Managed = true
	}
	if d == nil || !devicesEligible(*next) {
		return
	}
	for _, s := range Slots() {
		if o.MapSlots[s] {
			next.Devices.Values[s] = d.Devices[s]
		}
	}
	if o.ManageDevices == DevicesOverwrite {
		next.OtherDevices = OtherDevices{Managed: true}
	}
}

// minVanishedSlotUsers is how many users must hold a device in a slot before a plan that would
// unpair it from every one of them is refused (vanishedSlots).
const minVanishedSlotUsers = 3

// vanishedSlots refuses a plan in which a mapped slot's attribute has no value for any in-scope
// user while at least minVanishedSlotUsers users have a device there: the directory stopped
// returning the attribute (its name changed, or the bind account may no longer read it), and
// following it would unpair the slot for everyone. Like a failed read, it must not look like
// every user's number was removed.
func vanishedSlots(in Input, res Result) error {
	o := in.Options
	if o.ManageDevices != DevicesMerge && o.ManageDevices != DevicesOverwrite || len(in.InScope) == 0 {
		return nil
	}
	for _, s := range Slots() {
		if !o.MapSlots[s] || slices.ContainsFunc(in.InScope, func(d DirectoryUser) bool { return d.Devices[s] != "" }) {
			continue
		}
		var losing []string
		for _, a := range res.Actions {
			if a.Prior != nil && a.Planned != nil && a.Prior.Devices.Values[s] != "" && a.Planned.Devices.Values[s] == "" {
				losing = append(losing, a.Username)
			}
		}
		if len(losing) >= minVanishedSlotUsers {
			return &VanishedSlotError{Slot: s, Users: losing}
		}
	}
	return nil
}

// VanishedSlotError is a plan refused by vanishedSlots.
type VanishedSlotError struct {
	Slot  Slot
	Users []string // sorted
}

func (e *VanishedSlotError) Error() string {
	return fmt.Sprintf("the attribute mapped to %s has no value for any user in scope, yet %d users have a device under %q (%s): "+
		"unpairing all of them looks like a directory problem, not %d changed numbers. Check that the attribute name is right and that "+
		"the bind account can read it. If these devices really are to go, unpair them in PingID: the next plan then has nothing to unpair",
		e.Slot.Name(), len(e.Users), e.Slot.Nickname(), strings.Join(limitNames(e.Users, 10), ", "), len(e.Users))
}

func limitNames(names []string, n int) []string {
	if len(names) <= n {
		return names
	}
	return append(slices.Clone(names[:n]), fmt.Sprintf("and %d more", len(names)-n))
}

// DeviceChanges are the device differences between two entries.
type DeviceChanges struct {
	Slots        []Slot   // slots whose value changes (pair, replace or unpair), in order
	RemoveOthers []string // labels of other devices to unpair
}

// Any reports whether a device changes.
func (c DeviceChanges) Any() bool { return len(c.Slots) > 0 || len(c.RemoveOthers) > 0 }

// DeviceDiff lists what changes between prior's and next's devices. A device member that next
// does not manage changes nothing (turning device management off unpairs nothing); one that
// prior did not record compares as empty.
func DeviceDiff(prior, next Entry) DeviceChanges {
	var c DeviceChanges
	if next.Devices.Managed {
		for _, s := range Slots() {
			if prior.Devices.Values[s] != next.Devices.Values[s] {
				c.Slots = append(c.Slots, s)
			}
		}
	}
	if next.OtherDevices.Managed && next.OtherDevices.Empty() {
		c.RemoveOthers = prior.OtherDevices.Labels()
	}
	return c
}

// deviceSummary counts the device calls of a change: pairs (new or replacing) and unpairs.
func deviceSummary(prior, next Entry, c DeviceChanges) (pair, unpair int) {
	for _, s := range c.Slots {
		if prior.Devices.Values[s] != "" {
			unpair++
		}
		if next.Devices.Values[s] != "" {
			pair++
		}
	}
	return pair, unpair + len(c.RemoveOthers)
}

// describeDevices is the human reason part for device changes, e.g.
// "mfa_sms_1 replaced, mfa_email_1 paired, 1 other device unpaired".
func describeDevices(prior, next Entry, c DeviceChanges) string {
	var parts []string
	for _, s := range c.Slots {
		from, to := prior.Devices.Values[s], next.Devices.Values[s]
		switch {
		case from == "":
			parts = append(parts, s.Name()+" paired")
		case to == "":
			parts = append(parts, s.Name()+" unpaired")
		default:
			parts = append(parts, s.Name()+" replaced")
		}
	}
	if n := len(c.RemoveOthers); n > 0 {
		word := "devices"
		if n == 1 {
			word = "device"
		}
		parts = append(parts, fmt.Sprintf("%d other %s unpaired", n, word))
	}
	return strings.Join(parts, ", ")
}

// devicesJSON writes the devices object: the slots with a device, in name order.
func devicesJSON(b *strings.Builder, d Devices) {
	b.WriteByte('{')
	first := true
	for i, v := range d.Values {
		if v == "" {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteByte('"')
		b.WriteString(slotNames[i])
		b.WriteString(`":`)
		writeJSONString(b, v)
	}
	b.WriteByte('}')
}

// parseDevicesObject reads a devices object decoded by encoding/json.
func parseDevicesObject(m map[string]string) (Devices, error) {
	d := Devices{Managed: true}
	for name, v := range m {
		s, ok := ParseSlot(name)
		if !ok {
			return Devices{}, fmt.Errorf("unknown device slot %q (want one of %s)", name, strings.Join(slotNames[:], ", "))
		}
		if v == "" {
			return Devices{}, fmt.Errorf("device slot %q has an empty value", name)
		}
		d.Values[s] = v
	}
	return d, nil
}

package pingid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Device operations (research §2.6, §4.5).
const (
	OpOfflinePairing   = "offlinepairing"
	OpUpdateDeviceAttr = "updatedeviceattr"
	OpUnpairDevice     = "unpairdevice"
)

// MaxAllowedDevicesLimit is the highest value of the organization's "Maximum Allowed Devices"
// setting (its default is 1).
const MaxAllowedDevicesLimit = 20

// Device types as getuserdetails spells them (offlinepairing takes the upper-case PairingType).
const (
	DeviceTypeEmail = "Email"
	DeviceTypeSMS   = "SMS"
	DeviceTypeVoice = "Voice"
)

// Device roles in devicesDetails.
const (
	DeviceRolePrimary   = "PRIMARY"
	DeviceRoleSecondary = "SECONDARY"
)

// DeviceID is a PingID device id: a positive 64-bit integer. PingID's ids (19 digits are normal)
// lie beyond float64 precision, so the id is kept as an integer from the response's digits and
// sent back exactly; it never passes through a float. The zero DeviceID is "no id": it cannot be
// encoded into a request, so no call can go out without one (an unpairdevice without a deviceId
// unpairs every device of the user).
type DeviceID struct{ v int64 }

// ParseDeviceID reads a device id from its decimal digits.
func ParseDeviceID(s string) (DeviceID, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return DeviceID{}, fmt.Errorf("%w: device id %q is not a positive 64-bit integer", ErrInvalidInput, s)
	}
	return DeviceID{v: n}, nil
}

// IsZero reports whether d holds no id.
func (d DeviceID) IsZero() bool { return d.v == 0 }

// String returns the id's decimal digits ("" for the zero DeviceID).
func (d DeviceID) String() string {
	if d.v == 0 {
		return ""
	}
	return strconv.FormatInt(d.v, 10)
}

// errNoDeviceID is returned by DeviceID.MarshalJSON for the zero id, so a request body holding
// one cannot even be encoded.
var errNoDeviceID = errors.New("pingid: refusing to send a request without a device id")

// MarshalJSON sends the id as a JSON string of its digits, as Ping's Postman collection does:
// a string survives any JSON layer in between, a large number may be rounded by one.
func (d DeviceID) MarshalJSON() ([]byte, error) {
	if d.v == 0 {
		return nil, errNoDeviceID
	}
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON accepts a JSON integer or a string of digits (PingID answers with numbers, some
// clients send strings). A number with a fraction or an exponent is refused: it can only come
// from a float that has already lost digits.
func (d *DeviceID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*d = DeviceID{}
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("device id: %w", err)
		}
	}
	id, err := ParseDeviceID(s)
	if err != nil {
		return fmt.Errorf("device id %s is not an exact 64-bit integer", b)
	}
	*d = id
	return nil
}

// Device is one entry of userDetails.devicesDetails.
type Device struct {
	ID          DeviceID // zero when PingID reported none (or one that is not an exact integer)
	Type        string   // "Email", "SMS", "Voice", "iPhone", "Android", "YubiKey", …
	Nickname    string
	Role        string // PRIMARY | SECONDARY
	Email       string
	PhoneNumber string
}

// Value is the address the device reaches: the email of an Email device, the phone number of an
// SMS or Voice device, "" for others.
func (d Device) Value() string {
	switch {
	case strings.EqualFold(d.Type, DeviceTypeEmail):
		return d.Email
	case strings.EqualFold(d.Type, DeviceTypeSMS), strings.EqualFold(d.Type, DeviceTypeVoice):
		return d.PhoneNumber
	}
	return ""
}

// IsPrimary reports whether the device is the user's primary device.
func (d Device) IsPrimary() bool { return strings.EqualFold(d.Role, DeviceRolePrimary) }

type wireDevice struct {
	DeviceID    json.RawMessage `json:"deviceId"`
	Type        *string         `json:"type"`
	Nickname    *string         `json:"nickname"`
	DeviceRole  *string         `json:"deviceRole"`
	Email       *string         `json:"email"`
	PhoneNumber *string         `json:"phoneNumber"`
}

// parseDevices decodes devicesDetails. A device whose id is missing or not an exact integer is
// kept with a zero ID (it is still the user's device), so callers can see it but cannot act on it.
func parseDevices(raw []json.RawMessage) ([]Device, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	out := make([]Device, 0, len(raw))
	for i, r := range raw {
		var w wireDevice
		if err := json.Unmarshal(r, &w); err != nil {
			return nil, fmt.Errorf("decoding devicesDetails[%d]: %w", i, err)
		}
		d := Device{
			Type:        deref(w.Type),
			Nickname:    deref(w.Nickname),
			Role:        deref(w.DeviceRole),
			Email:       deref(w.Email),
			PhoneNumber: deref(w.PhoneNumber),
		}
		if len(w.DeviceID) > 0 {
			var id DeviceID
			if err := id.UnmarshalJSON(w.DeviceID); err == nil {
				d.ID = id
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// PairingType is the offlinepairing type of a device this client pairs.
type PairingType string

// Pairing types (offlinepairing also knows TOKEN and AUTHENTICATOR_APP, which this provider does
// not pair).
const (
	PairingSMS   PairingType = "SMS"
	PairingVoice PairingType = "VOICE"
	PairingEmail PairingType = "EMAIL"
)

// DeviceType is how getuserdetails spells a device of this pairing type.
func (p PairingType) DeviceType() string {
	switch p {
	case PairingSMS:
		return DeviceTypeSMS
	case PairingVoice:
		return DeviceTypeVoice
	case PairingEmail:
		return DeviceTypeEmail
	}
	return ""
}

func (p PairingType) valid() bool { return p.DeviceType() != "" }

// DeviceAttribute is an attributeName of updatedeviceattr.
type DeviceAttribute string

// Device attributes updatedeviceattr changes.
const (
	AttributeNickname   DeviceAttribute = "NICKNAME"
	AttributeSetPrimary DeviceAttribute = "SET_PRIMARY"
	AttributeOrder      DeviceAttribute = "ORDER"
)

// Pairing is the input of PairDevice.
type Pairing struct {
	UserName string
	Type     PairingType
	// Data is the phone number (SMS, VOICE) or email address (EMAIL). PingID pairs it without
	// verifying it.
	Data string
	// Existing are the user's device ids before this call, as last read. When a response is lost
	// and the request may have been processed, a device of this type and value that is not among
	// them is taken as the one this call paired, instead of pairing a second one.
	Existing []DeviceID
}

type offlinePairingRequest struct {
	UserName    string      `json:"username"` // the pairing ops spell it in lower case [V S2]
	Type        PairingType `json:"type"`
	PairingData string      `json:"pairingData"`
}

type updateDeviceAttrRequest struct {
	UserName       string          `json:"userName"`
	DeviceID       DeviceID        `json:"deviceId"`
	AttributeName  DeviceAttribute `json:"attributeName"`
	AttributeValue string          `json:"attributeValue"`
}

// unpairDeviceRequest has no omitempty on DeviceID and DeviceID refuses to encode its zero value:
// a body without a device id (which would unpair all of the user's devices) cannot be built.
type unpairDeviceRequest struct {
	UserName string   `json:"userName"`
	DeviceID DeviceID `json:"deviceId"`
}

func requireDeviceID(op, username string, id DeviceID) error {
	if id.IsZero() {
		return fmt.Errorf("pingid %s %q: %w: no device id (an %s without one would unpair every device of the user)", op, username, ErrInvalidInput, OpUnpairDevice)
	}
	return nil
}

// SameDeviceValue reports whether two values of a device of deviceType (as getuserdetails spells
// it, or a PairingType) are the same address (NormalizeDeviceValue).
func SameDeviceValue(deviceType, a, b string) bool {
	return NormalizeDeviceValue(deviceType, a) == NormalizeDeviceValue(deviceType, b)
}

// PairDevice pairs an SMS, voice or email device (offlinepairing) and returns its id. The device
// gets PingID's default nickname; SetDeviceNickname names it.
//
// offlinepairing is not idempotent: after an attempt whose outcome is unknown the user's devices
// are read before anything is resent, and a new device of this type and value is taken as paired.
func (c *Client) PairDevice(ctx context.Context, p Pairing) (DeviceID, error) {
	if err := validateUsername(OpOfflinePairing, p.UserName); err != nil {
		return DeviceID{}, err
	}
	if !p.Type.valid() {
		return DeviceID{}, fmt.Errorf("pingid %s %q: %w: device type %q is not SMS, VOICE or EMAIL", OpOfflinePairing, p.UserName, ErrInvalidInput, p.Type)
	}
	if strings.TrimSpace(p.Data) == "" {
		return DeviceID{}, fmt.Errorf("pingid %s %q: %w: no phone number or email to pair", OpOfflinePairing, p.UserName, ErrInvalidInput)
	}
	known := make(map[DeviceID]bool, len(p.Existing))
	for _, id := range p.Existing {
		known[id] = true
	}
	var pairedEarlier DeviceID
	lookUp := func(ctx context.Context) (bool, error) {
		u, err := c.GetUser(ctx, p.UserName)
		if err != nil {
			return false, fmt.Errorf("pingid %s %q: an earlier attempt may have paired the device and reading the user's devices failed: %w", OpOfflinePairing, p.UserName, err)
		}
		for _, d := range u.Devices {
			if !d.ID.IsZero() && !known[d.ID] && strings.EqualFold(d.Type, p.Type.DeviceType()) && SameDeviceValue(d.Type, d.Value(), p.Data) {
				pairedEarlier = d.ID
				return true, nil
			}
		}
		return false, nil
	}
	body := offlinePairingRequest{UserName: p.UserName, Type: p.Type, PairingData: p.Data}
	res, err := c.call(ctx, OpOfflinePairing, p.UserName, body, callOptions{checkBeforeResend: lookUp})
	if !pairedEarlier.IsZero() {
		return pairedEarlier, nil
	}
	if err != nil {
		return DeviceID{}, err
	}
	if res.resp.DeviceID.IsZero() {
		return DeviceID{}, fmt.Errorf("pingid %s %q: success response without a deviceId", OpOfflinePairing, p.UserName)
	}
	return res.resp.DeviceID, nil
}

// UpdateDeviceAttribute sets one attribute of a device (updatedeviceattr). Setting the same
// value twice is harmless, so a lost response is simply retried.
func (c *Client) UpdateDeviceAttribute(ctx context.Context, username string, id DeviceID, attr DeviceAttribute, value string) error {
	if err := validateUsername(OpUpdateDeviceAttr, username); err != nil {
		return err
	}
	if err := requireDeviceID(OpUpdateDeviceAttr, username, id); err != nil {
		return err
	}
	switch attr {
	case AttributeNickname, AttributeSetPrimary, AttributeOrder:
	default:
		return fmt.Errorf("pingid %s %q: %w: attribute %q is not NICKNAME, SET_PRIMARY or ORDER", OpUpdateDeviceAttr, username, ErrInvalidInput, attr)
	}
	body := updateDeviceAttrRequest{UserName: username, DeviceID: id, AttributeName: attr, AttributeValue: value}
	_, err := c.call(ctx, OpUpdateDeviceAttr, username, body, callOptions{})
	return err
}

// SetDeviceNickname renames a device.
func (c *Client) SetDeviceNickname(ctx context.Context, username string, id DeviceID, nickname string) error {
	if strings.TrimSpace(nickname) == "" {
		return fmt.Errorf("pingid %s %q: %w: empty nickname", OpUpdateDeviceAttr, username, ErrInvalidInput)
	}
	return c.UpdateDeviceAttribute(ctx, username, id, AttributeNickname, nickname)
}

// SetPrimaryDevice makes a device the user's primary device.
func (c *Client) SetPrimaryDevice(ctx context.Context, username string, id DeviceID) error {
	return c.UpdateDeviceAttribute(ctx, username, id, AttributeSetPrimary, "true")
}

// UnpairDevice unpairs one device. The id is required: a zero DeviceID is refused before anything
// is sent, because unpairdevice without a deviceId unpairs all of the user's devices.
//
// When PingID refuses the call (or a retry follows a lost response), the user's devices are read:
// if the device is gone, the goal is met and nil is returned.
func (c *Client) UnpairDevice(ctx context.Context, username string, id DeviceID) error {
	if err := validateUsername(OpUnpairDevice, username); err != nil {
		return err
	}
	if err := requireDeviceID(OpUnpairDevice, username, id); err != nil {
		return err
	}
	gone := func(ctx context.Context) (bool, error) {
		u, err := c.GetUser(ctx, username)
		if err != nil {
			return false, err
		}
		for _, d := range u.Devices {
			if d.ID == id {
				return false, nil
			}
		}
		return true, nil
	}
	_, err := c.call(ctx, OpUnpairDevice, username, unpairDeviceRequest{UserName: username, DeviceID: id}, callOptions{checkBeforeResend: gone})
	var apiErr *APIError
	if err != nil && errors.As(err, &apiErr) && apiErr.ErrorID != 0 && !errors.Is(err, ErrUserNotFound) {
		if done, gerr := gone(ctx); gerr == nil && done {
			return nil
		}
	}
	return err
}

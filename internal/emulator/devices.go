package emulator

// The device operations offlinepairing, updatedeviceattr and unpairdevice (research §2.6, §4.5),
// and the organization's "Maximum Allowed Devices" setting.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Device types as getuserdetails spells them [V research §2.7, §4.5]; offlinepairing takes them
// in upper case (SMS, VOICE, EMAIL).
const (
	DeviceTypeSMS   = "SMS"
	DeviceTypeVoice = "Voice"
	DeviceTypeEmail = "Email"
)

// The organization's "Maximum Allowed Devices": 1 by default, at most 20 [V research §4.5].
const (
	DefaultMaxAllowedDevices = 1
	MaxAllowedDevicesLimit   = 20
)

// maxNicknameLength bounds a device nickname. Inferred: no source states PingID's limit.
const maxNicknameLength = 100

// pairingTypes maps offlinepairing's type to the device type getuserdetails reports.
// Inferred: TOKEN and AUTHENTICATOR_APP (documented) need a serial or secret the emulator does not
// model; they are answered "Invalid input.". Values match exactly (Java enum binding).
var pairingTypes = map[string]string{"SMS": DeviceTypeSMS, "VOICE": DeviceTypeVoice, "EMAIL": DeviceTypeEmail}

func isPhoneType(deviceType string) bool {
	return deviceType == DeviceTypeSMS || deviceType == DeviceTypeVoice
}

// normalizePhone stores a number the way PingID may: separators (blanks, '-', '.', '/',
// parentheses) dropped; a leading '+' and an extension after ',' (digits, '#', '*') kept
// [V research §4.5: "+12025550123,2992", which may hold # or *].
func normalizePhone(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch r {
		case ' ', '\t', '-', '.', '/', '(', ')', '\u00a0', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u202f':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// validPhone checks a normalised number. Inferred: no PingID document requires E.164 (the samples
// send 972521234567, +12021234567, 4112345678), so an optional '+' and 7 to 15 digits (the E.164
// maximum) are accepted, then an optional ',' extension of digits, '#', '*' and ',' pauses.
func validPhone(n string) bool {
	main, ext, hasExt := strings.Cut(n, ",")
	main = strings.TrimPrefix(main, "+")
	if len(main) < 7 || len(main) > 15 || strings.Trim(main, "0123456789") != "" {
		return false
	}
	if hasExt && (ext == "" || strings.Trim(ext, "0123456789#*,") != "") {
		return false
	}
	return true
}

// validEmail is a plausibility check. Inferred: PingID does not verify offline-paired addresses
// (research §2.6) but refuses a value that cannot be one.
func validEmail(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(domain, "@ ") &&
		!strings.ContainsAny(local, " ") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// deviceIDArg reads deviceId as a JSON integer or a string of digits, exactly (never through a
// float). present is false when the member is absent or null.
func (b requestBody) deviceIDArg() (id int64, present, ok bool) {
	raw, exists := b["deviceid"]
	raw = bytes.TrimSpace(raw)
	if !exists || len(raw) == 0 || string(raw) == "null" {
		return 0, false, true
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, true, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, true, false
	}
	return n, true, true
}

// optionalBoolOK reports whether an optional boolean member is absent, null, true/false or
// "true"/"false" (a plugin built on the Provisioner sends validateUniqueDevice as a string
// [V research §4.5]).
func (b requestBody) optionalBoolOK(name string) bool {
	raw, ok := b[name]
	if !ok {
		return true
	}
	switch string(bytes.TrimSpace(raw)) {
	case "null", "true", "false", `"true"`, `"false"`:
		return true
	}
	return false
}

// findDevice returns the index of the device with id, or -1.
func findDevice(u *User, id int64) int {
	return slices.IndexFunc(u.Devices, func(d Device) bool { return d.ID == id })
}

// opOfflinePairing pairs an SMS, voice or email device without verifying it [V S2] and returns its
// deviceId. A user at the organization's Maximum Allowed Devices gets 20562; a phone number that
// cannot be one gets 20559 [V research §4.5].
// Inferred: the first device becomes PRIMARY (a recorded real device paired by the Provisioner
// reads deviceRole PRIMARY), later ones SECONDARY; the nickname defaults to the type ("SMS");
// pairing moves a user that has not paired yet (NOT_ACTIVE, PENDING, PENDING_ACTIVATION,
// PENDING_CHANGE_DEVICE) to ACTIVE, and a SUSPENDED user stays suspended but returns to ACTIVE when
// reactivated. validateUniqueDevice is accepted and not modelled.
func (s *Server) opOfflinePairing(b requestBody) (result, error) {
	name, okName := b.userNameArg()
	typ, errType := b.str("type")
	data, errData := b.str("pairingdata")
	deviceType, okType := pairingTypes[typ]
	if !okName || errType != nil || errData != nil || !okType || !b.optionalBoolOK("validateuniquedevice") {
		return failure(errorIDInvalidInput), nil //nolint:nilerr // a malformed field is the API's "invalid input" answer, not a server error
	}
	d := Device{Type: deviceType, Nickname: deviceType, PairedAt: s.now().UTC()}
	if isPhoneType(deviceType) {
		d.Phone = normalizePhone(data)
		if !validPhone(d.Phone) {
			return failure(errorIDInvalidPhoneNumber), nil
		}
	} else {
		d.Email = strings.TrimSpace(data)
		if !validEmail(d.Email) {
			return failure(errorIDInvalidInput), nil
		}
	}

	s.mu.Lock()
	key := foldUserName(name)
	u, exists := s.users[key]
	if !exists {
		s.mu.Unlock()
		return failure(errorIDUserDoesNotExist), nil
	}
	if len(u.Devices) >= s.maxAllowedDevices {
		s.mu.Unlock()
		return failure(errorIDTooManyDevices), nil
	}
	d.ID = s.nextDeviceID
	s.nextDeviceID++
	d.Role = DeviceRoleSecondary
	if len(u.Devices) == 0 {
		d.Role = DeviceRolePrimary
	}
	u.Devices = append(u.Devices, d)
	switch u.Status {
	case StatusSuspended:
		u.PreviousStatus = StatusActive
	case StatusActive:
	default:
		u.Status = StatusActive
		u.ActivationCode = ""
	}
	s.changedLocked(key)
	s.mu.Unlock()
	return success(map[string]any{
		"deviceId":   d.ID,
		"sessionId":  newUniqueMsgID()[len("webs_"):],
		"deviceUuid": nil,
	}), s.persist()
}

// opUpdateDeviceAttr changes one attribute of a device [V S2]: NICKNAME (the value is the new
// nickname), SET_PRIMARY ("true": the device becomes PRIMARY and every other SECONDARY) or ORDER
// (the device's 1-based position in the list).
// Inferred: an unknown deviceId, a missing one, SET_PRIMARY with anything but "true", and an ORDER
// outside 1..number of devices are "Invalid input."; the value must be a JSON string.
func (s *Server) opUpdateDeviceAttr(b requestBody) (result, error) {
	name, okName := b.userNameArg()
	id, present, okID := b.deviceIDArg()
	attr, errAttr := b.str("attributename")
	value, errValue := b.str("attributevalue")
	if !okName || !present || !okID || errAttr != nil || errValue != nil {
		return failure(errorIDInvalidInput), nil //nolint:nilerr // a malformed field is the API's "invalid input" answer, not a server error
	}
	s.mu.Lock()
	key := foldUserName(name)
	u, exists := s.users[key]
	if !exists {
		s.mu.Unlock()
		return failure(errorIDUserDoesNotExist), nil
	}
	i := findDevice(u, id)
	if i < 0 {
		s.mu.Unlock()
		return failure(errorIDInvalidInput), nil
	}
	switch attr {
	case "NICKNAME":
		if n := utf8.RuneCountInString(value); strings.TrimSpace(value) == "" || n > maxNicknameLength {
			s.mu.Unlock()
			return failure(errorIDInvalidInput), nil
		}
		u.Devices[i].Nickname = value
	case "SET_PRIMARY":
		if value != "true" {
			s.mu.Unlock()
			return failure(errorIDInvalidInput), nil
		}
		for j := range u.Devices {
			u.Devices[j].Role = DeviceRoleSecondary
		}
		u.Devices[i].Role = DeviceRolePrimary
	case "ORDER":
		pos, ok := devicePosition(value, len(u.Devices))
		if !ok {
			s.mu.Unlock()
			return failure(errorIDInvalidInput), nil
		}
		d := u.Devices[i]
		u.Devices = slices.Insert(slices.Delete(u.Devices, i, i+1), pos-1, d)
	default:
		s.mu.Unlock()
		return failure(errorIDInvalidInput), nil
	}
	s.changedLocked(key)
	s.mu.Unlock()
	return success(nil), s.persist()
}

// devicePosition reads ORDER's value, a 1-based position among n devices.
func devicePosition(value string, n int) (int, bool) {
	pos, err := strconv.Atoi(value)
	return pos, err == nil && pos >= 1 && pos <= n
}

// opUnpairDevice unpairs the device deviceId, or — when deviceId is omitted — EVERY device of
// the user [V research §2.6 "omit → unpair all", §4.5: a PowerShell sample does exactly that].
// Inferred: an unknown deviceId is "Invalid input."; when the PRIMARY device goes, the first
// remaining device becomes PRIMARY; a user left without devices is PENDING_CHANGE_DEVICE ("the
// device was unpaired; must re-register"), a suspended one returns to that status when reactivated.
func (s *Server) opUnpairDevice(b requestBody) (result, error) {
	name, okName := b.userNameArg()
	id, present, okID := b.deviceIDArg()
	if !okName || !okID {
		return failure(errorIDInvalidInput), nil
	}
	s.mu.Lock()
	key := foldUserName(name)
	u, exists := s.users[key]
	if !exists {
		s.mu.Unlock()
		return failure(errorIDUserDoesNotExist), nil
	}
	if present {
		i := findDevice(u, id)
		if i < 0 {
			s.mu.Unlock()
			return failure(errorIDInvalidInput), nil
		}
		wasPrimary := u.Devices[i].Role == DeviceRolePrimary
		u.Devices = slices.Delete(u.Devices, i, i+1)
		if wasPrimary && len(u.Devices) > 0 {
			u.Devices[0].Role = DeviceRolePrimary
		}
	} else {
		u.Devices = nil
	}
	if len(u.Devices) == 0 {
		switch u.Status {
		case StatusActive:
			u.Status = StatusPendingChangeDevice
		case StatusSuspended:
			u.PreviousStatus = StatusPendingChangeDevice
		}
	}
	s.changedLocked(key)
	s.mu.Unlock()
	return success(nil), s.persist()
}

// MaxAllowedDevices returns the organization's "Maximum Allowed Devices" setting.
func (s *Server) MaxAllowedDevices() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxAllowedDevices
}

// SetMaxAllowedDevices changes the organization's "Maximum Allowed Devices" (1..20). Devices that
// are already paired stay, as when an administrator lowers the setting.
func (s *Server) SetMaxAllowedDevices(n int) error {
	if n < 1 || n > MaxAllowedDevicesLimit {
		return fmt.Errorf("%w: maximum allowed devices must be 1-%d, got %d", ErrInvalidSetting, MaxAllowedDevicesLimit, n)
	}
	s.mu.Lock()
	s.maxAllowedDevices = n
	s.generation++
	s.mu.Unlock()
	return s.persist()
}

package datastore

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// Entry is one user as read from the directory.
type Entry struct {
	DN       string
	Username string // value of the username attribute (first value)
	// ID is the stable directory identifier: objectGUID as a lowercase GUID
	// string, else entryUUID, else nsUniqueId, else empty.
	ID      string
	Enabled bool
	// Attributes holds the first value of each attribute named in
	// Query.Attributes, keyed by the name as requested. Absent attributes are
	// absent keys. objectGUID and objectSid are rendered as strings; other
	// values that are not valid UTF-8 (binary attributes) are base64-encoded.
	Attributes map[string]string
}

// adminLockedTime is the draft-behera ppolicy value for "locked by an
// administrator until unlocked": a disabled account. Any other timestamp is
// an intruder lockout that expires, so the account stays enabled.
const adminLockedTime = "000001010000Z"

// uacAccountDisable is ADS_UF_ACCOUNTDISABLE in userAccountControl.
const uacAccountDisable = 0x2

// groupClassFilter matches the object classes of static groups; entries of
// these classes are never users (see isGroupEntry).
const groupClassFilter = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group)(objectClass=posixGroup))"

// toEntry converts an in-scope LDAP entry; an entry without a username fails the read.
func toEntry(e *ldap.Entry, usernameAttr string, attributes []string, directoryType string) (Entry, error) {
	username, ok := firstValue(e, usernameAttr)
	if !ok || username == "" {
		return Entry{}, fmt.Errorf("entry %q: %w %q", e.DN, ErrMissingUsername, usernameAttr)
	}
	id, err := entryID(e)
	if err != nil {
		return Entry{}, err
	}
	enabled, err := entryEnabled(e, directoryType)
	if err != nil {
		return Entry{}, err
	}
	entry := Entry{DN: e.DN, Username: username, ID: id, Enabled: enabled, Attributes: map[string]string{}}
	for _, name := range attributes {
		v, ok, err := attributeValue(e, name)
		if err != nil {
			return Entry{}, err
		}
		if ok {
			entry.Attributes[name] = v
		}
	}
	return entry, nil
}

// findAttr returns the attribute of the attribute called name (case-insensitive),
// also accepting Active Directory's ranged form "name;range=lo-hi".
func findAttr(e *ldap.Entry, name string) *ldap.EntryAttribute {
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	for _, a := range e.Attributes {
		if base, _, ok := strings.Cut(a.Name, ";"); ok && strings.EqualFold(base, name) {
			if _, _, _, ok, _ := parseRange(a.Name, name); ok {
				return a
			}
		}
	}
	return nil
}

func firstValue(e *ldap.Entry, name string) (string, bool) {
	a := findAttr(e, name)
	if a == nil || len(a.Values) == 0 {
		return "", false
	}
	return a.Values[0], true
}

func firstRawValue(e *ldap.Entry, name string) ([]byte, bool) {
	a := findAttr(e, name)
	if a == nil || len(a.ByteValues) == 0 {
		return nil, false
	}
	return a.ByteValues[0], true
}

func isGroupEntry(e *ldap.Entry) bool {
	a := findAttr(e, "objectClass")
	if a == nil {
		return false
	}
	for _, v := range a.Values {
		switch strings.ToLower(v) {
		case "groupofnames", "groupofuniquenames", "group", "posixgroup":
			return true
		}
	}
	return false
}

// FormatGUID renders a 16-byte Active Directory objectGUID the way Windows
// tools do (without braces): the first three groups are little-endian.
func FormatGUID(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("objectGUID is %d bytes, want 16", len(b))
	}
	return fmt.Sprintf("%08x-%04x-%04x-%s-%s",
		binary.LittleEndian.Uint32(b[0:4]),
		binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]),
		hex.EncodeToString(b[8:10]),
		hex.EncodeToString(b[10:16])), nil
}

// FormatSID renders a binary objectSid as S-1-5-21-....
func FormatSID(b []byte) (string, error) {
	if len(b) < 8 || len(b) != 8+4*int(b[1]) {
		return "", fmt.Errorf("objectSid of %d bytes is malformed", len(b))
	}
	var authority uint64
	for _, c := range b[2:8] {
		authority = authority<<8 | uint64(c)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "S-%d-%d", b[0], authority)
	for i := 0; i < int(b[1]); i++ {
		fmt.Fprintf(&sb, "-%d", binary.LittleEndian.Uint32(b[8+4*i:]))
	}
	return sb.String(), nil
}

// UserAccountControlDisabled reports whether an Active Directory
// userAccountControl value has the ACCOUNTDISABLE bit. Lockout and password
// expiry are not in this bit (they are computed attributes), so they never
// count as disabled.
func UserAccountControlDisabled(value string) (bool, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil {
		return false, fmt.Errorf("userAccountControl %q is not an integer", value)
	}
	return n&uacAccountDisable != 0, nil
}

// entryID picks the stable identifier: objectGUID, entryUUID, nsUniqueId.
func entryID(e *ldap.Entry) (string, error) {
	if raw, ok := firstRawValue(e, "objectGUID"); ok {
		id, err := FormatGUID(raw)
		if err != nil {
			return "", fmt.Errorf("entry %q: %w", e.DN, err)
		}
		return id, nil
	}
	for _, name := range []string{"entryUUID", "nsUniqueId"} {
		if v, ok := firstValue(e, name); ok {
			return strings.ToLower(v), nil
		}
	}
	return "", nil
}

// entryEnabled applies the directory type's disabled-account markers.
func entryEnabled(e *ldap.Entry, directoryType string) (bool, error) {
	if directoryType == DirectoryActiveDirectory {
		v, ok := firstValue(e, "userAccountControl")
		if !ok {
			return true, nil
		}
		disabled, err := UserAccountControlDisabled(v)
		if err != nil {
			return false, fmt.Errorf("entry %q: %w", e.DN, err)
		}
		return !disabled, nil
	}
	// openldap and generic: the ppolicy admin lock and 389 DS's nsAccountLock.
	if v, ok := firstValue(e, "pwdAccountLockedTime"); ok && strings.TrimSpace(v) == adminLockedTime {
		return false, nil
	}
	if v, ok := firstValue(e, "nsAccountLock"); ok && strings.EqualFold(strings.TrimSpace(v), "true") {
		return false, nil
	}
	return true, nil
}

// DisabledMarkerAttributes are the attributes that mark a disabled account for the directory
// type, read for every user. openldap and generic read the same ones: a marker that a directory
// of the default type sets must never be ignored, or a locked account would be provisioned.
func DisabledMarkerAttributes(directoryType string) []string {
	if directoryType == DirectoryActiveDirectory {
		return []string{"userAccountControl"}
	}
	return []string{"pwdAccountLockedTime", "nsAccountLock"}
}

// attributeValue renders the first value of a requested attribute.
func attributeValue(e *ldap.Entry, name string) (string, bool, error) {
	a := findAttr(e, name)
	if a == nil || len(a.ByteValues) == 0 {
		return "", false, nil
	}
	raw := a.ByteValues[0]
	switch {
	case strings.EqualFold(name, "objectGUID"):
		v, err := FormatGUID(raw)
		if err != nil {
			return "", false, fmt.Errorf("entry %q: %w", e.DN, err)
		}
		return v, true, nil
	case strings.EqualFold(name, "objectSid"):
		v, err := FormatSID(raw)
		if err != nil {
			return "", false, fmt.Errorf("entry %q: %w", e.DN, err)
		}
		return v, true, nil
	case !utf8.Valid(raw):
		return base64.StdEncoding.EncodeToString(raw), true, nil
	}
	return string(raw), true, nil
}

// parseRange parses an Active Directory ranged attribute description such as
// "member;range=0-1499" or "member;range=1500-*" for attribute attr.
// ok is false when name is not a ranged form of attr; err reports a malformed range.
func parseRange(name, attr string) (low, high int, last, ok bool, err error) {
	parts := strings.Split(name, ";")
	if len(parts) < 2 || !strings.EqualFold(parts[0], attr) {
		return 0, 0, false, false, nil
	}
	for _, opt := range parts[1:] {
		if len(opt) < len("range=") || !strings.EqualFold(opt[:len("range=")], "range=") {
			continue
		}
		lo, hi, found := strings.Cut(opt[len("range="):], "-")
		if !found {
			return 0, 0, false, false, fmt.Errorf("malformed range option %q", name)
		}
		low, err = strconv.Atoi(lo)
		if err != nil || low < 0 {
			return 0, 0, false, false, fmt.Errorf("malformed range option %q", name)
		}
		if hi == "*" {
			return low, 0, true, true, nil
		}
		high, err = strconv.Atoi(hi)
		if err != nil || high < low-1 {
			return 0, 0, false, false, fmt.Errorf("malformed range option %q", name)
		}
		return low, high, false, true, nil
	}
	return 0, 0, false, false, nil
}

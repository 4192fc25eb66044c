package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// User statuses [V: PingID API docs, userDetails].
const (
	StatusActive              = "ACTIVE"
	StatusPending             = "PENDING"
	StatusNotActive           = "NOT_ACTIVE"
	StatusPendingActivation   = "PENDING_ACTIVATION"
	StatusSuspended           = "SUSPENDED"
	StatusPendingChangeDevice = "PENDING_CHANGE_DEVICE"
)

// User roles and device roles.
const (
	RoleRegular         = "REGULAR"
	RoleAdmin           = "ADMIN"
	DeviceRolePrimary   = "PRIMARY"
	DeviceRoleSecondary = "SECONDARY"
)

// MaxUserNameLength is the documented limit: "Up to 250 characters; can contain any characters,
// including blanks" [V: PingID API docs, User Management].
const MaxUserNameLength = 250

// Inferred: identifiers start at realistic magnitudes; their exact allocation is not documented.
// User ids look like the samples' (17457, 6461158). Device ids are 19-digit 64-bit integers
// [V research §4.5: a recorded "deviceId": 1216975380183657000, already rounded by a float]: far
// beyond float64 precision, where neighbouring ids round to the same float, so a client that
// decodes them as floats mixes devices up in every test.
const (
	firstUserID   = 100001
	firstDeviceID = 1216975380183657001
)

// Device is a paired device. ID 0 means "assign one" when seeding.
type Device struct {
	ID       int64     `json:"id"`
	Type     string    `json:"type"`     // e.g. "iPhone", "Android", "SMS", "Email"
	Nickname string    `json:"nickname"` // defaults to Type
	Role     string    `json:"role"`     // PRIMARY or SECONDARY; the first device defaults to PRIMARY
	Email    string    `json:"email,omitempty"`
	Phone    string    `json:"phone,omitempty"`
	PairedAt time.Time `json:"paired_at,omitzero"`
}

// User is a PingID user as the emulator stores it. JSON tags are the snake_case shape of the
// HTTP test hooks, the -seed file and the state file.
type User struct {
	UserName  string   `json:"username"`
	FirstName string   `json:"first_name,omitempty"`
	LastName  string   `json:"last_name,omitempty"`
	Email     string   `json:"email,omitempty"`
	Role      string   `json:"role"`
	Status    string   `json:"status"`
	Devices   []Device `json:"devices,omitempty"`

	CreatedAt time.Time `json:"created_at,omitzero"`

	// ID is the userId the API reports; 0 means "assign one" when seeding.
	ID int64 `json:"user_id,omitempty"`
	// PreviousStatus is the status before suspension, restored by activateuser.
	PreviousStatus string `json:"previous_status,omitempty"`
	// ActivationCode is the last code handed out by adduser/edituser/activateuser.
	ActivationCode string `json:"activation_code,omitempty"`
}

func (u User) clone() User {
	u.Devices = slices.Clone(u.Devices)
	return u
}

// foldUserName is the uniqueness key.
// Inferred: PingID usernames are matched case-insensitively (jsmith == JSmith), while the stored
// spelling is preserved and returned. No public source says either way; case-insensitive
// is the safer assumption for a provisioner because it never lets two accounts differ only in case.
func foldUserName(name string) string { return strings.ToLower(name) }

func validUserName(name string) bool {
	n := utf8.RuneCountInString(name) // Inferred: "characters" are Unicode code points.
	return n >= 1 && n <= MaxUserNameLength && utf8.ValidString(name)
}

func validStatus(status string) bool {
	switch status {
	case StatusActive, StatusPending, StatusNotActive, StatusPendingActivation, StatusSuspended, StatusPendingChangeDevice:
		return true
	}
	return false
}

func validRole(role string) bool { return role == RoleRegular || role == RoleAdmin }

// normalizeLocked fills defaults and validates u; s.mu must be held (it allocates device IDs).
func (s *Server) normalizeLocked(u *User) error {
	if !validUserName(u.UserName) {
		return fmt.Errorf("%w: username must be 1-%d characters", ErrInvalidUser, MaxUserNameLength)
	}
	if u.Role == "" {
		u.Role = RoleRegular
	}
	if !validRole(u.Role) {
		return fmt.Errorf("%w: role %q is not REGULAR or ADMIN", ErrInvalidUser, u.Role)
	}
	if u.Status == "" {
		u.Status = StatusNotActive
	}
	if !validStatus(u.Status) {
		return fmt.Errorf("%w: unknown status %q", ErrInvalidUser, u.Status)
	}
	if u.PreviousStatus != "" && !validStatus(u.PreviousStatus) {
		return fmt.Errorf("%w: unknown previous status %q", ErrInvalidUser, u.PreviousStatus)
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.now().UTC()
	}
	if u.ID == 0 {
		u.ID = s.nextUserID
		s.nextUserID++
	} else if u.ID >= s.nextUserID {
		s.nextUserID = u.ID + 1
	}
	for i := range u.Devices {
		d := &u.Devices[i]
		if d.Type == "" {
			return fmt.Errorf("%w: device %d has no type", ErrInvalidUser, i)
		}
		if d.Nickname == "" {
			d.Nickname = d.Type
		}
		if isPhoneType(d.Type) {
			d.Phone = normalizePhone(d.Phone)
		}
		if d.Role == "" {
			d.Role = DeviceRoleSecondary
			if i == 0 {
				d.Role = DeviceRolePrimary
			}
		}
		if d.Role != DeviceRolePrimary && d.Role != DeviceRoleSecondary {
			return fmt.Errorf("%w: device role %q is not PRIMARY or SECONDARY", ErrInvalidUser, d.Role)
		}
		if d.PairedAt.IsZero() {
			d.PairedAt = u.CreatedAt
		}
		if d.ID == 0 {
			d.ID = s.nextDeviceID
			s.nextDeviceID++
		} else if d.ID >= s.nextDeviceID {
			s.nextDeviceID = d.ID + 1
		}
	}
	return nil
}

// SeedUser adds a user out of band, in any status and role, with devices. Empty Role defaults to
// REGULAR, empty Status to NOT_ACTIVE; IDs are assigned when 0.
func (s *Server) SeedUser(u User) error {
	u = u.clone()
	s.mu.Lock()
	key := foldUserName(u.UserName)
	if _, exists := s.users[key]; exists {
		s.mu.Unlock()
		return fmt.Errorf("seed user: %w", ErrUserExists)
	}
	if err := s.normalizeLocked(&u); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("seed user: %w", err)
	}
	s.users[key] = &u
	s.changedLocked(key)
	s.mu.Unlock()
	return s.persist()
}

// Users returns deep copies of all users, sorted by username.
func (s *Server) Users() []User {
	s.mu.Lock()
	out := make([]User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u.clone())
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.UserName, b.UserName) })
	return out
}

// User returns a deep copy of the user (matched case-insensitively).
func (s *Server) User(username string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[foldUserName(username)]
	if !ok {
		return User{}, false
	}
	return u.clone(), true
}

// DeleteUserDirect removes a user out of band (drift tests); it reports whether the user existed.
func (s *Server) DeleteUserDirect(username string) bool {
	s.mu.Lock()
	key := foldUserName(username)
	_, ok := s.users[key]
	if ok {
		delete(s.users, key)
		s.changedLocked(key)
	}
	s.mu.Unlock()
	if ok {
		s.persistOrLog()
	}
	return ok
}

// SetUserStatus changes a user's status out of band. Suspending remembers the previous status
// like suspenduser does.
func (s *Server) SetUserStatus(username, status string) error {
	if !validStatus(status) {
		return fmt.Errorf("set user status: %w: unknown status %q", ErrInvalidUser, status)
	}
	s.mu.Lock()
	u, ok := s.users[foldUserName(username)]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("set user status: %w", ErrUserNotFound)
	}
	if status == StatusSuspended && u.Status != StatusSuspended {
		u.PreviousStatus = u.Status
	}
	if status != StatusSuspended {
		u.PreviousStatus = ""
	}
	u.Status = status
	s.changedLocked(foldUserName(username))
	s.mu.Unlock()
	return s.persist()
}

// UpdateUserDirect applies mutate to a copy of the user and stores the result if it is valid.
// Renames are allowed as long as the new name stays unique.
func (s *Server) UpdateUserDirect(username string, mutate func(*User)) error {
	s.mu.Lock()
	oldKey := foldUserName(username)
	current, ok := s.users[oldKey]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("update user: %w", ErrUserNotFound)
	}
	updated := current.clone()
	mutate(&updated)
	updated = updated.clone() // mutate may have kept a reference to the slice
	newKey := foldUserName(updated.UserName)
	if _, taken := s.users[newKey]; taken && newKey != oldKey {
		s.mu.Unlock()
		return fmt.Errorf("update user: %w", ErrUserExists)
	}
	if err := s.normalizeLocked(&updated); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("update user: %w", err)
	}
	delete(s.users, oldKey)
	s.users[newKey] = &updated
	s.changedLocked(oldKey, newKey)
	s.mu.Unlock()
	return s.persist()
}

// Reset forgets all users, faults and call counters (a fresh tenant with the same credentials).
func (s *Server) Reset() {
	s.mu.Lock()
	s.users = map[string]*User{}
	s.nextUserID, s.nextDeviceID = firstUserID, firstDeviceID
	s.maxAllowedDevices = s.defaultMaxDevices
	s.encoded = map[string][]byte{}
	s.generation++
	s.mu.Unlock()
	s.ClearFaults()
	s.ResetCalls()
	s.persistOrLog()
}

// newActivationCode returns a 12-digit pairing code.
// Inferred: the tables say "Long" but every example is a 12-digit JSON string (PingID API docs, User Management).
func newActivationCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000_000_000))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("%012d", n.Int64())
}

// restoreAfterSuspension is the status activateuser gives a SUSPENDED user.
// Inferred (the PingID API docs only say "a suspended user can be reactivated by calling
// ActivateUser"): the user returns to where it was; an ACTIVE user needs a device to stay ACTIVE,
// pending users get a fresh pairing code, and with no remembered status the device count decides.
func restoreAfterSuspension(u *User) (status string, needsCode bool) {
	switch {
	case u.PreviousStatus == StatusActive && len(u.Devices) > 0:
		return StatusActive, false
	case u.PreviousStatus == StatusPendingChangeDevice:
		return StatusPendingChangeDevice, false
	case u.PreviousStatus == "" && len(u.Devices) > 0:
		return StatusActive, false
	default:
		return StatusPendingActivation, true
	}
}

// mountainStandardTime is the zone of devicesDetails[].enrollment [V: PingID API docs, userDetails: "in MST"].
func mountainStandardTime() *time.Location { return time.FixedZone("MST", -7*60*60) }

const pingTimeLayout = "2006-01-02 15:04:05.000"

// userDetails renders the userDetails object of the API [V: PingID API docs, userDetails and the
// worked AddUser example; a real getuserdetails payload published in a public C# sample].
func userDetails(u *User) map[string]any {
	devices := make([]any, 0, len(u.Devices))
	var primary any
	for _, d := range u.Devices {
		rendered := deviceDetails(d)
		devices = append(devices, rendered)
		if primary == nil && d.Role == DeviceRolePrimary {
			primary = rendered
		}
	}
	if primary == nil && len(devices) > 0 {
		primary = devices[0]
	}
	return map[string]any{
		"userName": u.UserName,
		"fname":    nullIfEmpty(u.FirstName),
		"lname":    nullIfEmpty(u.LastName),
		"email":    nullIfEmpty(u.Email),
		"role":     u.Role,
		"status":   u.Status,
		// Inferred: every observed example has userEnabled == (status == ACTIVE).
		"userEnabled":      u.Status == StatusActive,
		"lastLogin":        nil,
		"deviceDetails":    primary,
		"devicesDetails":   devices,
		"spList":           []any{},
		"userInBypass":     false,
		"bypassExpiration": nil,
		"userId":           u.ID,
		"picURL":           pictureID(u),
		"lastTransactions": []any{},
	}
}

func deviceDetails(d Device) map[string]any {
	// Inferred: push is available on the phone apps only.
	push := d.Type == "iPhone" || d.Type == "Android"
	return map[string]any{
		"deviceId":    d.ID,
		"nickname":    d.Nickname,
		"displayID":   d.Nickname,
		"type":        d.Type,
		"deviceRole":  d.Role,
		"enrollment":  d.PairedAt.In(mountainStandardTime()).Format(pingTimeLayout),
		"pushEnabled": push,
		"email":       nullIfEmpty(d.Email),
		"phoneNumber": nullIfEmpty(d.Phone),
		"countryCode": nil,
		"deviceUuid":  nil,
		"hasWatch":    false,
	}
}

// pictureID mimics picURL, an opaque base32 identifier in the samples.
// Inferred: derived from the user id so it is stable across calls.
func pictureID(u *User) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "pingid-emulator-user-%d", u.ID))
	return base32.StdEncoding.EncodeToString(sum[:])
}

// nullIfEmpty renders an empty string as JSON null.
// Inferred: the emulator does not distinguish "" from null; edituser's "omitted fields become
// null" is stored as "".
func nullIfEmpty(v string) any {
	if v == "" {
		return nil
	}
	return v
}

package conformance

import (
	"errors"
	"strings"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
)

func strPtr(s string) *string { return &s }

// TestRoundTripEveryOperation drives each operation through the client and checks the result
// both in what the client returns and in the emulator's own state.
func TestRoundTripEveryOperation(t *testing.T) {
	tn := newTenant(t, nil)
	c := tn.client(t, nil)
	ctx := t.Context()

	// adduser: NOT_ACTIVE, REGULAR, fields stored.
	added, err := c.AddUser(ctx, pingid.NewUser{UserName: "jsmith", FirstName: "John", LastName: "Smith", Email: "john@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if added.UserName != "jsmith" || added.Status != pingid.StatusNotActive || added.Role != pingid.RoleRegular || added.Email != "john@example.com" {
		t.Errorf("adduser returned %+v", added)
	}
	if u := tn.user(t, "jsmith"); u.FirstName != "John" || u.LastName != "Smith" || u.Email != "john@example.com" || u.Status != emulator.StatusNotActive {
		t.Errorf("emulator after adduser: %+v", u)
	}

	// adduser with activation and the ADMIN role.
	admin, err := c.AddUser(ctx, pingid.NewUser{UserName: "boss", Role: "admin", ActivateUser: true})
	if err != nil {
		t.Fatal(err)
	}
	if admin.Status != pingid.StatusPendingActivation || admin.Role != pingid.RoleAdmin {
		t.Errorf("activated admin: %+v", admin)
	}
	if u := tn.user(t, "boss"); u.Status != emulator.StatusPendingActivation || u.Role != emulator.RoleAdmin || u.ActivationCode == "" {
		t.Errorf("emulator after activated adduser: %+v", u)
	}

	// getuserdetails matches case-insensitively and returns the stored spelling.
	got, err := c.GetUser(ctx, "JSMITH")
	if err != nil {
		t.Fatal(err)
	}
	if got.UserName != "jsmith" || got.FirstName != "John" || got.DeviceCount != 0 || got.UserEnabled {
		t.Errorf("getuserdetails: %+v", got)
	}

	// edituser is a full replace: omitted fields become null.
	edited, err := c.EditUser(ctx, pingid.User{UserName: "jsmith", FirstName: "Johnny", Role: pingid.RoleRegular}, false)
	if err != nil {
		t.Fatal(err)
	}
	if edited.FirstName != "Johnny" || edited.LastName != "" || edited.Email != "" {
		t.Errorf("edituser returned %+v", edited)
	}
	if u := tn.user(t, "jsmith"); u.FirstName != "Johnny" || u.LastName != "" || u.Email != "" {
		t.Errorf("emulator after edituser: %+v", u)
	}

	// UpdateUser merges: the ADMIN role and unmapped fields survive edituser's full replace.
	tn.seed(t, emulator.User{UserName: "carol", FirstName: "Carol", LastName: "King", Email: "old@example.com", Role: emulator.RoleAdmin,
		Status: emulator.StatusActive, Devices: []emulator.Device{{Type: "iPhone"}}})
	before := tn.emu.Calls()[pingid.OpEditUser]
	updated, changed, err := c.UpdateUser(ctx, "carol", pingid.UserFields{Email: strPtr("new@example.com")})
	if err != nil || !changed {
		t.Fatalf("UpdateUser = %+v, %v, %v", updated, changed, err)
	}
	if u := tn.user(t, "carol"); u.Email != "new@example.com" || u.Role != emulator.RoleAdmin || u.FirstName != "Carol" ||
		u.LastName != "King" || u.Status != emulator.StatusActive || len(u.Devices) != 1 {
		t.Errorf("emulator after UpdateUser: %+v", u)
	}
	if _, changed, err := c.UpdateUser(ctx, "carol", pingid.UserFields{Email: strPtr("new@example.com")}); err != nil || changed {
		t.Errorf("UpdateUser without a change: changed = %v, err = %v", changed, err)
	}
	if n := tn.emu.Calls()[pingid.OpEditUser] - before; n != 1 {
		t.Errorf("edituser called %d times for one real change, want 1", n)
	}

	// suspenduser / activateuser: an ACTIVE user with a device goes SUSPENDED and back.
	if err := c.SuspendUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	if u := tn.user(t, "carol"); u.Status != emulator.StatusSuspended {
		t.Errorf("after suspenduser: %s", u.Status)
	}
	if err := c.ActivateUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	if u := tn.user(t, "carol"); u.Status != emulator.StatusActive {
		t.Errorf("after activateuser of a suspended ACTIVE user: %s", u.Status)
	}
	// activateuser of a NOT_ACTIVE user hands out a code (which the client discards).
	if err := c.ActivateUser(ctx, "jsmith"); err != nil {
		t.Fatal(err)
	}
	if u := tn.user(t, "jsmith"); u.Status != emulator.StatusPendingActivation {
		t.Errorf("after activateuser of a NOT_ACTIVE user: %s", u.Status)
	}

	// deleteuser.
	if err := c.DeleteUser(ctx, "jsmith"); err != nil {
		t.Fatal(err)
	}
	if _, ok := tn.emu.User("jsmith"); ok {
		t.Error("jsmith still exists after deleteuser")
	}

	for _, op := range []string{pingid.OpAddUser, pingid.OpGetUserDetails, pingid.OpEditUser, pingid.OpSuspendUser, pingid.OpActivateUser, pingid.OpDeleteUser} {
		if c.Calls()[op] != tn.emu.Calls()[op] || c.Calls()[op] == 0 {
			t.Errorf("%s: client counted %d attempts, emulator %d", op, c.Calls()[op], tn.emu.Calls()[op])
		}
	}
}

// TestUsernamesRoundTripLiterally: PingID usernames may hold any character ("can contain any
// characters, including blanks"), up to 250 of them. They travel as JSON strings, so LDAP
// metacharacters are just characters, and a wildcard never matches anyone else.
func TestUsernamesRoundTripLiterally(t *testing.T) {
	tn := newTenant(t, nil)
	c := tn.client(t, nil)
	ctx := t.Context()
	names := []string{
		"jürgen.müller",
		"李雷",
		"ann marie",
		"*)(uid=*",
		"o'brien\\backslash",
		"名" + strings.Repeat("x", pingid.MaxUsernameLength-1),
	}
	for _, name := range names {
		if _, err := c.AddUser(ctx, pingid.NewUser{UserName: name, Email: "e@example.com"}); err != nil {
			t.Fatalf("adduser %q: %v", name, err)
		}
		u, err := c.GetUser(ctx, name)
		if err != nil || u.UserName != name {
			t.Errorf("getuserdetails %q = %+v, %v", name, u, err)
		}
	}
	if _, err := c.GetUser(ctx, "*"); !errors.Is(err, pingid.ErrUserNotFound) {
		t.Errorf("getuserdetails \"*\" = %v, want user not found (no wildcard matching)", err)
	}
	if n := len(tn.emu.Users()); n != len(names) {
		t.Errorf("emulator holds %d users, want %d", n, len(names))
	}
	for _, name := range names {
		if err := c.DeleteUser(ctx, name); err != nil {
			t.Errorf("deleteuser %q: %v", name, err)
		}
	}
	if n := len(tn.emu.Users()); n != 0 {
		t.Errorf("emulator holds %d users after deleting all", n)
	}
}

// TestErrorIDs covers every documented error id through the real client and emulator: the
// sentinel matches, the id and HTTP status are preserved, the operation and username are
// named, no secret is echoed, and an error id is never retried.
func TestErrorIDs(t *testing.T) {
	type call func(c *pingid.Client, tn *tenant) error
	ctx := t.Context()
	seedAll := func(t *testing.T, tn *tenant) {
		tn.seed(t,
			emulator.User{UserName: "jsmith", Status: emulator.StatusNotActive},
			emulator.User{UserName: "active", Status: emulator.StatusActive, Devices: []emulator.Device{{Type: "Android"}}},
		)
	}
	tests := []struct {
		name     string
		op       string
		user     string
		call     call
		sentinel error
		id       int
		// badCreds makes the client sign with credentials the tenant does not know.
		badCreds func(*pingid.Credentials)
	}{
		{"10556 adduser existing", pingid.OpAddUser, "jsmith", func(c *pingid.Client, _ *tenant) error {
			_, err := c.AddUser(ctx, pingid.NewUser{UserName: "jsmith"})
			return err
		}, pingid.ErrUserExists, 10556, nil},
		{"10556 adduser existing, other case", pingid.OpAddUser, "JSmith", func(c *pingid.Client, _ *tenant) error {
			_, err := c.AddUser(ctx, pingid.NewUser{UserName: "JSmith"})
			return err
		}, pingid.ErrUserExists, 10556, nil},
		{"10561 suspenduser NOT_ACTIVE", pingid.OpSuspendUser, "jsmith", func(c *pingid.Client, _ *tenant) error {
			return c.SuspendUser(ctx, "jsmith")
		}, pingid.ErrNotActive, 10561, nil},
		{"10562 activateuser ACTIVE", pingid.OpActivateUser, "active", func(c *pingid.Client, _ *tenant) error {
			return c.ActivateUser(ctx, "active")
		}, pingid.ErrAlreadyActive, 10562, nil},
		{"10564 getuserdetails", pingid.OpGetUserDetails, "ghost", func(c *pingid.Client, _ *tenant) error {
			_, err := c.GetUser(ctx, "ghost")
			return err
		}, pingid.ErrUserNotFound, 10564, nil},
		{"10564 edituser", pingid.OpEditUser, "ghost", func(c *pingid.Client, _ *tenant) error {
			_, err := c.EditUser(ctx, pingid.User{UserName: "ghost", Role: pingid.RoleRegular}, false)
			return err
		}, pingid.ErrUserNotFound, 10564, nil},
		{"10564 deleteuser", pingid.OpDeleteUser, "ghost", func(c *pingid.Client, _ *tenant) error {
			return c.DeleteUser(ctx, "ghost")
		}, pingid.ErrUserNotFound, 10564, nil},
		{"10564 suspenduser", pingid.OpSuspendUser, "ghost", func(c *pingid.Client, _ *tenant) error {
			return c.SuspendUser(ctx, "ghost")
		}, pingid.ErrUserNotFound, 10564, nil},
		{"10564 activateuser", pingid.OpActivateUser, "ghost", func(c *pingid.Client, _ *tenant) error {
			return c.ActivateUser(ctx, "ghost")
		}, pingid.ErrUserNotFound, 10564, nil},
		{"10564 UpdateUser reads first", pingid.OpGetUserDetails, "ghost", func(c *pingid.Client, _ *tenant) error {
			_, _, err := c.UpdateUser(ctx, "ghost", pingid.UserFields{Email: strPtr("x@example.com")})
			return err
		}, pingid.ErrUserNotFound, 10564, nil},
		{"400 wrong token", pingid.OpAddUser, "newbie", func(c *pingid.Client, _ *tenant) error {
			_, err := c.AddUser(ctx, pingid.NewUser{UserName: "newbie"})
			return err
		}, pingid.ErrInvalidInput, 400, func(cr *pingid.Credentials) { cr.Token = "0123456789abcdef0123456789abcdef" }},
		{"400 wrong org alias", pingid.OpGetUserDetails, "jsmith", func(c *pingid.Client, _ *tenant) error {
			_, err := c.GetUser(ctx, "jsmith")
			return err
		}, pingid.ErrInvalidInput, 400, func(cr *pingid.Credentials) { cr.OrgAlias = "00000000-0000-4000-8000-000000000000" }},
		{"400 request signed with another key", pingid.OpDeleteUser, "jsmith", func(c *pingid.Client, _ *tenant) error {
			return c.DeleteUser(ctx, "jsmith")
		}, pingid.ErrInvalidInput, 400, func(cr *pingid.Credentials) { cr.Base64Key = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTenant(t, nil)
			seedAll(t, tn)
			before := tn.emu.Users()
			c := tn.client(t, func(cfg *pingid.Config) {
				if tt.badCreds != nil {
					tt.badCreds(&cfg.Credentials)
				}
			})
			err := tt.call(c, tn)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			ae := apiError(t, err)
			if ae.ErrorID != tt.id || ae.HTTPStatus != 400 || ae.Operation != tt.op || ae.Username != tt.user {
				t.Errorf("APIError = %+v, want id %d, HTTP 400, op %s, user %s", ae, tt.id, tt.op, tt.user)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.op) || !strings.Contains(msg, tt.user) {
				t.Errorf("error %q does not name the operation and the user", msg)
			}
			assertNoSecrets(t, err, tn.secrets())
			assertAttempts(t, tn, c, tt.op, 1) // an error id is an answer, never retried
			if tt.badCreds != nil && len(tn.emu.Users()) != len(before) {
				t.Errorf("a request the emulator rejected changed its users: %v -> %v", before, tn.emu.Users())
			}
		})
	}
}

// TestInvalidInputIsRefusedBeforeSending: what PingID would reject is not sent at all.
func TestInvalidInputIsRefusedBeforeSending(t *testing.T) {
	tn := newTenant(t, nil)
	c := tn.client(t, nil)
	ctx := t.Context()
	long := strings.Repeat("ü", pingid.MaxUsernameLength+1)
	calls := map[string]func() error{
		"empty username":  func() error { _, err := c.GetUser(ctx, ""); return err },
		"blank username":  func() error { _, err := c.AddUser(ctx, pingid.NewUser{UserName: "   "}); return err },
		"251 characters":  func() error { _, err := c.AddUser(ctx, pingid.NewUser{UserName: long}); return err },
		"unknown role":    func() error { _, err := c.AddUser(ctx, pingid.NewUser{UserName: "x", Role: "OWNER"}); return err },
		"edit, no role":   func() error { _, err := c.EditUser(ctx, pingid.User{UserName: "x"}, false); return err },
		"delete 251 char": func() error { return c.DeleteUser(ctx, long) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, pingid.ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
	if n := len(tn.emu.Calls()); n != 0 {
		t.Errorf("invalid input reached the emulator: %v", tn.emu.Calls())
	}
}

package emulator_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

var activationCodePattern = regexp.MustCompile(`^[0-9]{12}$`)

func TestAddUser(t *testing.T) {
	tn := newTenant(t)

	r := tn.call(t, "adduser", map[string]any{"userName": "plain", "role": "REGULAR", "activateUser": false})
	expectError(t, r, 200)
	d := r.userDetails(t)
	if d["status"] != emulator.StatusNotActive || d["userEnabled"] != false {
		t.Fatalf("activateUser=false: %v", d)
	}
	if _, has := r.body["activationCode"]; has {
		t.Fatal("activationCode without activateUser")
	}
	for _, member := range []string{"lastLogin", "deviceDetails", "bypassExpiration", "fname", "lname", "email"} {
		if v, present := d[member]; !present || v != nil {
			t.Errorf("userDetails.%s = %v (present %v), want null", member, v, present)
		}
	}
	for _, member := range []string{"devicesDetails", "spList", "lastTransactions"} {
		if v, ok := d[member].([]any); !ok || len(v) != 0 {
			t.Errorf("userDetails.%s = %v, want []", member, d[member])
		}
	}
	if d["userInBypass"] != false || d["role"] != emulator.RoleRegular || d["userId"] == nil || d["picURL"] == "" {
		t.Errorf("userDetails = %v", d)
	}

	r = tn.call(t, "adduser", map[string]any{"userName": "activated", "role": "ADMIN", "activateUser": true})
	expectError(t, r, 200)
	code, _ := r.body["activationCode"].(string)
	if !activationCodePattern.MatchString(code) {
		t.Fatalf("activationCode = %v, want a 12-digit string", r.body["activationCode"])
	}
	if d := r.userDetails(t); d["status"] != emulator.StatusPendingActivation || d["userEnabled"] != false || d["role"] != "ADMIN" {
		t.Fatalf("activateUser=true: %v", d)
	}
	if u := tn.mustUser(t, "activated"); u.ActivationCode != code {
		t.Fatalf("stored activation code %q, answered %q", u.ActivationCode, code)
	}

	// Omitted role: REGULAR; invalid role or device type: invalid input.
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "norole"}), 200)
	if u := tn.mustUser(t, "norole"); u.Role != emulator.RoleRegular {
		t.Fatalf("default role = %q", u.Role)
	}
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "x1", "role": "SUPERUSER"}), 400)
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "x2", "role": "admin"}), 400)
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "x3", "deviceType": "TOASTER"}), 400)
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "x4", "activateUser": "yes"}), 400)
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "x5", "fname": 7}), 400)
	expectError(t, tn.call(t, "adduser", map[string]any{"role": "REGULAR"}), 400)

	// Duplicate.
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "plain"}), 10556)
	if got := tn.call(t, "adduser", map[string]any{"userName": "plain"}).body["errorMsg"]; got != "User already exists. Username should be unique within the organization." {
		t.Fatalf("10556 message = %q", got)
	}
}

func TestUserNameLength(t *testing.T) {
	tn := newTenant(t)
	for _, tc := range []struct {
		name    string
		errorID int
	}{
		{strings.Repeat("a", 250), 200},
		{strings.Repeat("b", 251), 400},
		{strings.Repeat("é", 250), 200}, // characters, not bytes
		{strings.Repeat("ü", 251), 400},
		{"", 400},
		{"with blanks and ünïcode", 200}, // "can contain any characters, including blanks"
	} {
		expectError(t, tn.call(t, "adduser", map[string]any{"userName": tc.name}), tc.errorID)
		_, exists := tn.srv.User(tc.name)
		if exists != (tc.errorID == 200) {
			t.Errorf("%d-char name: exists = %v", len([]rune(tc.name)), exists)
		}
	}
	expectError(t, tn.call(t, "getuserdetails", map[string]any{"userName": strings.Repeat("a", 250)}), 200)
	expectError(t, tn.call(t, "getuserdetails", map[string]any{"userName": strings.Repeat("a", 251)}), 400)
}

func TestUserNamesAreCaseInsensitive(t *testing.T) {
	tn := newTenant(t)
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "JSmith"}), 200)
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "jsmith"}), 10556)
	r := tn.call(t, "getuserdetails", map[string]any{"userName": "JSMITH"})
	expectError(t, r, 200)
	if got := r.userDetails(t)["userName"]; got != "JSmith" {
		t.Fatalf("userName = %v, want the stored spelling JSmith", got)
	}
	expectError(t, tn.call(t, "edituser", map[string]any{"userName": "jsmith", "fname": "John"}), 200)
	if u := tn.mustUser(t, "jSmItH"); u.UserName != "JSmith" || u.FirstName != "John" {
		t.Fatalf("after edit via other case: %+v", u)
	}
	expectError(t, tn.call(t, "deleteuser", map[string]any{"userName": "jsmith"}), 200)
	if len(tn.srv.Users()) != 0 {
		t.Fatal("delete via other case left the user")
	}
	if err := tn.srv.SeedUser(emulator.User{UserName: "Ann"}); err != nil {
		t.Fatal(err)
	}
	if err := tn.srv.SeedUser(emulator.User{UserName: "ANN"}); err == nil {
		t.Fatal("SeedUser accepted a case variant of an existing user")
	}
}

func TestGetUserDetails(t *testing.T) {
	tn := newTenant(t)
	err := tn.srv.SeedUser(emulator.User{
		UserName: "admin1", FirstName: "Ada", LastName: "Admin", Email: "ada@example.com",
		Role: emulator.RoleAdmin, Status: emulator.StatusActive,
		Devices: []emulator.Device{{Type: "iPhone", Nickname: "Ada's phone"}, {Type: "SMS", Phone: "+15555550100"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := tn.call(t, "getuserdetails", map[string]any{"userName": "admin1", "getSameDeviceUsers": true})
	expectError(t, r, 200)
	d := r.userDetails(t)
	if d["status"] != "ACTIVE" || d["userEnabled"] != true || d["role"] != "ADMIN" || d["email"] != "ada@example.com" {
		t.Fatalf("userDetails = %v", d)
	}
	devices, _ := d["devicesDetails"].([]any)
	if len(devices) != 2 {
		t.Fatalf("devicesDetails = %v", d["devicesDetails"])
	}
	primary, _ := d["deviceDetails"].(map[string]any)
	if primary["nickname"] != "Ada's phone" || primary["deviceRole"] != "PRIMARY" || primary["type"] != "iPhone" {
		t.Fatalf("deviceDetails = %v", primary)
	}
	second, _ := devices[1].(map[string]any)
	if second["deviceRole"] != "SECONDARY" || second["phoneNumber"] != "+15555550100" || second["deviceId"] == primary["deviceId"] {
		t.Fatalf("second device = %v", second)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$`).MatchString(fmt.Sprint(primary["enrollment"])) {
		t.Fatalf("enrollment = %v, want yyyy-MM-dd HH:mm:ss.SSS", primary["enrollment"])
	}
	if same, ok := r.body["sameDeviceUsersDetails"].([]any); !ok || len(same) != 0 {
		t.Fatalf("sameDeviceUsersDetails = %v", r.body["sameDeviceUsersDetails"])
	}

	r = tn.call(t, "getuserdetails", map[string]any{"userName": "ghost"})
	expectError(t, r, 10564)
	if r.body["errorMsg"] != "User does not exist." {
		t.Fatalf("10564 message = %v", r.body["errorMsg"])
	}
	expectError(t, tn.call(t, "getuserdetails", map[string]any{}), 400)
}

func TestEditUserIsFullReplace(t *testing.T) {
	tn := newTenant(t)
	err := tn.srv.SeedUser(emulator.User{
		UserName: "boss", FirstName: "Bea", LastName: "Boss", Email: "bea@example.com",
		Role: emulator.RoleAdmin, Status: emulator.StatusActive, Devices: []emulator.Device{{Type: "Android"}},
	})
	if err != nil {
		t.Fatal(err)
	}

	// Only email sent: fname/lname become null, the omitted role falls back to REGULAR.
	r := tn.call(t, "edituser", map[string]any{"userName": "boss", "email": "new@example.com"})
	expectError(t, r, 200)
	d := r.userDetails(t)
	if d["fname"] != nil || d["lname"] != nil || d["email"] != "new@example.com" || d["role"] != "REGULAR" {
		t.Fatalf("after partial edit: %v", d)
	}
	u := tn.mustUser(t, "boss")
	if u.FirstName != "" || u.LastName != "" || u.Role != emulator.RoleRegular {
		t.Fatalf("stored after partial edit: %+v", u)
	}
	if u.Status != emulator.StatusActive || len(u.Devices) != 1 {
		t.Fatalf("edituser must not touch status or devices: %+v", u)
	}

	// Everything sent (old-style aliases): everything stored.
	r = tn.call(t, "edituser", map[string]any{"userName": "boss", "fName": "Bea", "lName": "Boss", "email": "bea@example.com", "role": "ADMIN"})
	expectError(t, r, 200)
	if u := tn.mustUser(t, "boss"); u.FirstName != "Bea" || u.LastName != "Boss" || u.Role != emulator.RoleAdmin {
		t.Fatalf("after full edit: %+v", u)
	}

	expectError(t, tn.call(t, "edituser", map[string]any{"userName": "ghost", "role": "REGULAR"}), 10564)
	expectError(t, tn.call(t, "edituser", map[string]any{"userName": "boss", "role": "ROOT"}), 400)
}

func TestEditUserActivates(t *testing.T) {
	tn := newTenant(t)
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "later"}), 200)
	r := tn.call(t, "edituser", map[string]any{"userName": "later", "role": "REGULAR", "activateUser": true})
	expectError(t, r, 200)
	if r.userDetails(t)["status"] != emulator.StatusPendingActivation || !activationCodePattern.MatchString(fmt.Sprint(r.body["activationCode"])) {
		t.Fatalf("edituser activateUser=true on NOT_ACTIVE: %v", r.body)
	}
	// Already past NOT_ACTIVE: activateUser is ignored, no new code.
	r = tn.call(t, "edituser", map[string]any{"userName": "later", "role": "REGULAR", "activateUser": true})
	expectError(t, r, 200)
	if _, has := r.body["activationCode"]; has {
		t.Fatalf("second activation via edituser returned a code: %v", r.body)
	}
}

func TestDeleteUser(t *testing.T) {
	tn := newTenant(t)
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "gone"}), 200)
	expectError(t, tn.call(t, "deleteuser", map[string]any{"userName": "gone"}), 200)
	if _, exists := tn.srv.User("gone"); exists {
		t.Fatal("user still exists after deleteuser")
	}
	expectError(t, tn.call(t, "deleteuser", map[string]any{"userName": "gone"}), 10564)
	expectError(t, tn.call(t, "getuserdetails", map[string]any{"userName": "gone"}), 10564)
	// The name is free again.
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "gone"}), 200)
}

func TestStatusTransitions(t *testing.T) {
	phone := []emulator.Device{{Type: "iPhone"}}
	tests := []struct {
		name     string
		seed     emulator.User
		op       string
		errorID  int
		status   string // after the call
		wantCode bool
	}{
		{"suspend active", emulator.User{Status: "ACTIVE", Devices: phone}, "suspenduser", 200, "SUSPENDED", false},
		{"suspend pending activation", emulator.User{Status: "PENDING_ACTIVATION"}, "suspenduser", 200, "SUSPENDED", false},
		{"suspend pending", emulator.User{Status: "PENDING"}, "suspenduser", 200, "SUSPENDED", false},
		{"suspend pending change device", emulator.User{Status: "PENDING_CHANGE_DEVICE"}, "suspenduser", 200, "SUSPENDED", false},
		{"suspend not active", emulator.User{Status: "NOT_ACTIVE"}, "suspenduser", 10561, "NOT_ACTIVE", false},
		{"suspend suspended", emulator.User{Status: "SUSPENDED", PreviousStatus: "ACTIVE", Devices: phone}, "suspenduser", 200, "SUSPENDED", false},
		{"activate not active", emulator.User{Status: "NOT_ACTIVE"}, "activateuser", 200, "PENDING_ACTIVATION", true},
		{"activate pending", emulator.User{Status: "PENDING"}, "activateuser", 200, "PENDING_ACTIVATION", true},
		{"activate pending activation", emulator.User{Status: "PENDING_ACTIVATION"}, "activateuser", 200, "PENDING_ACTIVATION", true},
		{"activate active", emulator.User{Status: "ACTIVE", Devices: phone}, "activateuser", 10562, "ACTIVE", false},
		{"activate pending change device", emulator.User{Status: "PENDING_CHANGE_DEVICE"}, "activateuser", 200, "PENDING_CHANGE_DEVICE", false},
		{"reactivate suspended active", emulator.User{Status: "SUSPENDED", PreviousStatus: "ACTIVE", Devices: phone}, "activateuser", 200, "ACTIVE", false},
		{"reactivate suspended pending activation", emulator.User{Status: "SUSPENDED", PreviousStatus: "PENDING_ACTIVATION"}, "activateuser", 200, "PENDING_ACTIVATION", true},
		{"reactivate suspended change device", emulator.User{Status: "SUSPENDED", PreviousStatus: "PENDING_CHANGE_DEVICE"}, "activateuser", 200, "PENDING_CHANGE_DEVICE", false},
		{"reactivate seeded suspended with device", emulator.User{Status: "SUSPENDED", Devices: phone}, "activateuser", 200, "ACTIVE", false},
		{"reactivate seeded suspended without device", emulator.User{Status: "SUSPENDED"}, "activateuser", 200, "PENDING_ACTIVATION", true},
		{"reactivate active without devices left", emulator.User{Status: "SUSPENDED", PreviousStatus: "ACTIVE"}, "activateuser", 200, "PENDING_ACTIVATION", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTenant(t)
			tc.seed.UserName = "subject"
			if err := tn.srv.SeedUser(tc.seed); err != nil {
				t.Fatal(err)
			}
			r := tn.call(t, tc.op, map[string]any{"userName": "subject"})
			expectError(t, r, tc.errorID)
			u := tn.mustUser(t, "subject")
			if u.Status != tc.status {
				t.Fatalf("status = %s, want %s", u.Status, tc.status)
			}
			code, hasCode := r.body["activationCode"]
			if hasCode != tc.wantCode || (hasCode && !activationCodePattern.MatchString(fmt.Sprint(code))) {
				t.Fatalf("activationCode = %v (present %v), want present %v", code, hasCode, tc.wantCode)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	tn := newTenant(t)
	for _, u := range []emulator.User{{UserName: "new"}, {UserName: "on", Status: "ACTIVE", Devices: []emulator.Device{{Type: "Email"}}}} {
		if err := tn.srv.SeedUser(u); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		op, user string
		errorID  int
		msg      string
	}{
		{"suspenduser", "new", 10561, "User suspension failed. The user is not active and cannot be suspended."},
		{"activateuser", "on", 10562, "Activation failed. Active user can not be activated again."},
		{"suspenduser", "ghost", 10564, "User does not exist."},
		{"activateuser", "ghost", 10564, "User does not exist."},
		{"deleteuser", "", 400, "Invalid input."},
	} {
		r := tn.call(t, tc.op, map[string]any{"userName": tc.user})
		expectError(t, r, tc.errorID)
		if r.body["errorMsg"] != tc.msg {
			t.Errorf("%s %q: errorMsg %q, want %q", tc.op, tc.user, r.body["errorMsg"], tc.msg)
		}
	}
}

// A full lifecycle through the API only: add, activate, suspend, reactivate, delete.
func TestLifecycleThroughAPI(t *testing.T) {
	tn := newTenant(t)
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "life"}), 200)
	expectError(t, tn.call(t, "suspenduser", map[string]any{"userName": "life"}), 10561)
	expectError(t, tn.call(t, "activateuser", map[string]any{"userName": "life"}), 200)
	expectError(t, tn.call(t, "suspenduser", map[string]any{"userName": "life"}), 200)
	if u := tn.mustUser(t, "life"); u.Status != "SUSPENDED" || u.PreviousStatus != "PENDING_ACTIVATION" {
		t.Fatalf("after suspend: %+v", u)
	}
	r := tn.call(t, "activateuser", map[string]any{"userName": "life"})
	expectError(t, r, 200)
	if u := tn.mustUser(t, "life"); u.Status != "PENDING_ACTIVATION" || u.PreviousStatus != "" {
		t.Fatalf("after reactivation: %+v", u)
	}
	expectError(t, tn.call(t, "deleteuser", map[string]any{"userName": "life"}), 200)
}

func TestConcurrentAddsCreateOneUser(t *testing.T) {
	tn := newTenant(t)
	const callers = 16
	// Pre-sign outside the goroutines: t.Fatal must run on the test goroutine.
	bodies := make([]string, callers)
	for i := range bodies {
		name := "racer"
		if i%2 == 1 {
			name = "RACER"
		}
		bodies[i] = tn.documentedRequest(map[string]any{"userName": name, "fname": fmt.Sprint(i)}).compact(t)
	}
	ids := make([]int, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, raw, err := tn.post(t, "adduser", bodies[i])
			if err != nil || resp == nil {
				return
			}
			switch resp.StatusCode {
			case 200:
				ids[i] = 200
			case 400:
				if strings.Contains(raw, ".") { // signed 10556 answer
					ids[i] = 400
				}
			}
		}()
	}
	wg.Wait()
	created, rejected := 0, 0
	for _, id := range ids {
		switch id {
		case 200:
			created++
		case 400:
			rejected++
		}
	}
	if created != 1 || rejected != callers-1 {
		t.Fatalf("created %d, rejected %d, want 1 and %d", created, rejected, callers-1)
	}
	if n := len(tn.srv.Users()); n != 1 {
		t.Fatalf("%d users, want 1", n)
	}
}

func TestConcurrentMixedOperations(t *testing.T) {
	tn := newTenant(t)
	const workers = 8
	type step struct{ op, body string }
	plans := make([][]step, workers)
	for w := range workers {
		name := fmt.Sprintf("user%d", w)
		for _, op := range []string{"adduser", "getuserdetails", "activateuser", "suspenduser", "activateuser", "edituser", "getuserdetails"} {
			body := map[string]any{"userName": name, "role": "REGULAR", "fname": "F"}
			plans[w] = append(plans[w], step{op, tn.documentedRequest(body).compact(t)})
		}
	}
	failures := make([]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, s := range plans[w] {
				resp, _, err := tn.post(t, s.op, s.body)
				if err != nil || resp.StatusCode != 200 {
					failures[w] = fmt.Sprintf("%s: %v %v", s.op, err, resp)
					return
				}
			}
		}()
	}
	// Readers of the Go API run alongside.
	for range 50 {
		_ = tn.srv.Users()
		_ = tn.srv.Calls()
	}
	wg.Wait()
	for _, f := range failures {
		if f != "" {
			t.Fatal(f)
		}
	}
	for _, u := range tn.srv.Users() {
		if u.Status != emulator.StatusPendingActivation || u.FirstName != "F" {
			t.Fatalf("final state %+v", u)
		}
	}
	if calls := tn.srv.Calls(); calls["activateuser"] != 2*workers || calls["adduser"] != workers {
		t.Fatalf("calls = %v", calls)
	}
}

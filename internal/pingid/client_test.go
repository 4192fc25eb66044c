package pingid

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

func TestNewClientDefaults(t *testing.T) {
	f := newFakePingID(t)
	c, err := NewClient(Config{Credentials: f.credentials()})
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxConcurrency() != DefaultMaxConcurrency || c.maxRetries != DefaultMaxRetries || c.requestTimeout != DefaultRequestTimeout ||
		c.minBackoff != DefaultMinBackoff || c.maxBackoff != DefaultMaxBackoff || c.httpClient == nil || c.now == nil {
		t.Errorf("defaults not applied: %v max concurrency=%d retries=%d timeout=%v backoff=%v..%v", c, c.MaxConcurrency(), c.maxRetries, c.requestTimeout, c.minBackoff, c.maxBackoff)
	}
	c = f.client(func(cfg *Config) { cfg.MaxRetries = NoRetries })
	if c.maxRetries != 0 {
		t.Errorf("NoRetries gave maxRetries=%d", c.maxRetries)
	}
}

func TestRoundTripEveryOperation(t *testing.T) {
	for _, flat := range []bool{false, true} {
		name := "wrapped"
		if flat {
			name = "flat"
		}
		t.Run(name, func(t *testing.T) {
			f := newFakePingID(t)
			f.flat = flat
			c := f.client()
			ctx := context.Background()

			added, err := c.AddUser(ctx, NewUser{UserName: "jdoe", FirstName: "John", LastName: "Doe", Email: "jdoe@example.test"})
			if err != nil {
				t.Fatalf("AddUser: %v", err)
			}
			if added.UserName != "jdoe" || added.FirstName != "John" || added.LastName != "Doe" || added.Email != "jdoe@example.test" ||
				added.Role != RoleRegular || added.Status != StatusNotActive || added.UserEnabled || added.DeviceCount != 0 || len(added.Raw) == 0 {
				t.Errorf("AddUser returned %+v", added)
			}
			body := f.recorded(OpAddUser)[0].Body
			wantBody := map[string]any{"activateUser": false, "userName": "jdoe", "fname": "John", "lname": "Doe", "email": "jdoe@example.test", "role": "REGULAR"}
			if !reflect.DeepEqual(body, wantBody) {
				t.Errorf("adduser reqBody = %v, want %v", body, wantBody)
			}

			got, err := c.GetUser(ctx, "jdoe")
			if err != nil {
				t.Fatalf("GetUser: %v", err)
			}
			if got.UserName != "jdoe" || got.Email != "jdoe@example.test" || got.Status != StatusNotActive {
				t.Errorf("GetUser returned %+v", got)
			}
			if body := f.recorded(OpGetUserDetails)[0].Body; !reflect.DeepEqual(body, map[string]any{"userName": "jdoe", "getSameDeviceUsers": false}) {
				t.Errorf("getuserdetails reqBody = %v", body)
			}

			edited, err := c.EditUser(ctx, User{UserName: "jdoe", FirstName: "Johnny", LastName: "Doe", Email: "", Role: RoleAdmin}, false)
			if err != nil {
				t.Fatalf("EditUser: %v", err)
			}
			if edited.FirstName != "Johnny" || edited.Email != "" || edited.Role != RoleAdmin {
				t.Errorf("EditUser returned %+v", edited)
			}
			wantEdit := map[string]any{"activateUser": false, "userName": "jdoe", "fname": "Johnny", "lname": "Doe", "email": nil, "role": "ADMIN"}
			if body := f.recorded(OpEditUser)[0].Body; !reflect.DeepEqual(body, wantEdit) {
				t.Errorf("edituser reqBody = %v, want %v", body, wantEdit)
			}

			if err := c.ActivateUser(ctx, "jdoe"); err != nil {
				t.Fatalf("ActivateUser: %v", err)
			}
			if u, _ := f.user("jdoe"); u.Status != StatusPendingActivation {
				t.Errorf("status after activate = %s", u.Status)
			}
			if body := f.recorded(OpActivateUser)[0].Body; !reflect.DeepEqual(body, map[string]any{"userName": "jdoe"}) {
				t.Errorf("activateuser reqBody = %v", body)
			}

			f.seed("active", fakeUser{Role: RoleRegular, Status: StatusActive, Devices: 2})
			if err := c.SuspendUser(ctx, "active"); err != nil {
				t.Fatalf("SuspendUser: %v", err)
			}
			if u, _ := f.user("active"); u.Status != StatusSuspended {
				t.Errorf("status after suspend = %s", u.Status)
			}
			if err := c.ActivateUser(ctx, "active"); err != nil {
				t.Fatalf("ActivateUser(suspended): %v", err)
			}
			reenabled, err := c.GetUser(ctx, "active")
			if err != nil {
				t.Fatal(err)
			}
			if reenabled.Status != StatusActive || !reenabled.UserEnabled || reenabled.DeviceCount != 2 {
				t.Errorf("re-enabled user = %+v", reenabled)
			}

			if err := c.DeleteUser(ctx, "jdoe"); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
			if _, ok := f.user("jdoe"); ok {
				t.Error("user still exists after DeleteUser")
			}
			if body := f.recorded(OpDeleteUser)[0].Body; !reflect.DeepEqual(body, map[string]any{"userName": "jdoe"}) {
				t.Errorf("deleteuser reqBody = %v", body)
			}

			wantCalls := map[string]int64{OpAddUser: 1, OpGetUserDetails: 2, OpEditUser: 1, OpActivateUser: 2, OpSuspendUser: 1, OpDeleteUser: 1}
			if got := c.Calls(); !reflect.DeepEqual(got, wantCalls) {
				t.Errorf("Calls() = %v, want %v", got, wantCalls)
			}
		})
	}
}

func TestAddUserActivatedAndAdmin(t *testing.T) {
	f := newFakePingID(t)
	c := f.client()
	u, err := c.AddUser(context.Background(), NewUser{UserName: "boss", Role: "admin", ActivateUser: true})
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != RoleAdmin || u.Status != StatusPendingActivation || u.FirstName != "" {
		t.Errorf("user = %+v", u)
	}
	body := f.recorded(OpAddUser)[0].Body
	if body["activateUser"] != true || body["role"] != "ADMIN" || body["fname"] != nil {
		t.Errorf("adduser reqBody = %v", body)
	}
}

func TestInputValidatedBeforeCalling(t *testing.T) {
	f := newFakePingID(t)
	c := f.client()
	ctx := context.Background()
	long := strings.Repeat("é", MaxUsernameLength+1)
	for name, call := range map[string]func() error{
		"get empty":      func() error { _, err := c.GetUser(ctx, ""); return err },
		"add long":       func() error { _, err := c.AddUser(ctx, NewUser{UserName: long}); return err },
		"add bad role":   func() error { _, err := c.AddUser(ctx, NewUser{UserName: "x", Role: "ROOT"}); return err },
		"edit no role":   func() error { _, err := c.EditUser(ctx, User{UserName: "x"}, false); return err },
		"delete blank":   func() error { return c.DeleteUser(ctx, "  ") },
		"suspend empty":  func() error { return c.SuspendUser(ctx, "") },
		"activate empty": func() error { return c.ActivateUser(ctx, "") },
		"update no user": func() error { _, _, err := c.UpdateUser(ctx, "", UserFields{}); return err },
	} {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("err = %v, want ErrInvalidInput", err)
			}
		})
	}
	if calls := c.Calls(); len(calls) != 0 {
		t.Errorf("invalid input reached the API: %v", calls)
	}
	if _, err := c.GetUser(ctx, strings.Repeat("é", MaxUsernameLength)); !errors.Is(err, ErrUserNotFound) {
		t.Errorf("a 250-character username should be sent: %v", err)
	}
}

func TestErrorIDsMapToSentinels(t *testing.T) {
	sentinels := []error{ErrUserNotFound, ErrUserExists, ErrNotActive, ErrAlreadyActive, ErrInvalidInput, ErrBadSignature}
	tests := []struct {
		name    string
		op      string
		setup   func(f *fakePingID)
		call    func(c *Client) error
		want    error // nil: an APIError matching no sentinel
		errorID int
	}{
		{"10564 not found", OpGetUserDetails, nil,
			func(c *Client) error { _, err := c.GetUser(context.Background(), "ghost"); return err }, ErrUserNotFound, 10564},
		{"10564 on delete", OpDeleteUser, nil,
			func(c *Client) error { return c.DeleteUser(context.Background(), "ghost") }, ErrUserNotFound, 10564},
		{"10556 exists", OpAddUser, func(f *fakePingID) { f.seed("jdoe", fakeUser{Role: RoleRegular, Status: StatusActive}) },
			func(c *Client) error {
				_, err := c.AddUser(context.Background(), NewUser{UserName: "jdoe"})
				return err
			}, ErrUserExists, 10556},
		{"10561 not active", OpSuspendUser, func(f *fakePingID) { f.seed("new", fakeUser{Role: RoleRegular, Status: StatusNotActive}) },
			func(c *Client) error { return c.SuspendUser(context.Background(), "new") }, ErrNotActive, 10561},
		{"10562 already active", OpActivateUser, func(f *fakePingID) { f.seed("on", fakeUser{Role: RoleRegular, Status: StatusActive, Devices: 1}) },
			func(c *Client) error { return c.ActivateUser(context.Background(), "on") }, ErrAlreadyActive, 10562},
		{"400 invalid input", OpEditUser, func(f *fakePingID) { f.addFaults(OpEditUser, fault{status: 400, errorID: 400}) },
			func(c *Client) error {
				_, err := c.EditUser(context.Background(), User{UserName: "x", Role: RoleRegular}, false)
				return err
			}, ErrInvalidInput, 400},
		{"10558 other id preserved", OpEditUser, func(f *fakePingID) { f.addFaults(OpEditUser, fault{status: 400, errorID: 10558}) },
			func(c *Client) error {
				_, err := c.EditUser(context.Background(), User{UserName: "x", Role: RoleRegular}, false)
				return err
			}, nil, 10558},
		{"raw JSON 10564", OpGetUserDetails, func(f *fakePingID) {
			f.addFaults(OpGetUserDetails, fault{status: 400, body: `{"responseBody":{"errorId":"10564","errorMsg":"User does not exist.","uniqueMsgId":"webs_raw"}}`})
		}, func(c *Client) error { _, err := c.GetUser(context.Background(), "ghost"); return err }, ErrUserNotFound, 10564},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePingID(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			c := f.client()
			err := tc.call(c)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if apiErr.ErrorID != tc.errorID || apiErr.HTTPStatus != http.StatusBadRequest || apiErr.Operation != tc.op || apiErr.Message == "" {
				t.Errorf("APIError = %+v", apiErr)
			}
			for _, s := range sentinels {
				if got := errors.Is(err, s); got != errors.Is(tc.want, s) {
					t.Errorf("errors.Is(err, %v) = %v", s, got)
				}
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.op) || !strings.Contains(msg, apiErr.Username) || !strings.Contains(msg, strconv.Itoa(tc.errorID)) {
				t.Errorf("error %q does not name operation, username and id", msg)
			}
			assertNoSecrets(t, msg, testToken, testBase64Key)
			// Client errors are final: not retried.
			if n := c.Calls()[tc.op]; n != 1 {
				t.Errorf("%s attempts = %d, want 1", tc.op, n)
			}
		})
	}
}

func TestForgedResponsesAreNeverBelieved(t *testing.T) {
	otherKey := mustDecodeKey(t, otherBase64Key)
	okPayload := `{"responseBody":{"errorId":200,"errorMsg":"ok","userDetails":{"userName":"jdoe","status":"ACTIVE","role":"REGULAR"}}}`
	tests := map[string]fault{
		"wrong key":              {status: 200, body: testJWS(t, "HS256", otherKey, okPayload)},
		"alg none":               {status: 200, body: algNoneJWS(okPayload)},
		"unsigned JSON 200":      {status: 200, body: okPayload},
		"unsigned claims ok 400": {status: 400, body: okPayload},
		"wrong key on 400":       {status: 400, body: testJWS(t, "HS256", otherKey, `{"responseBody":{"errorId":10564}}`)},
	}
	for name, flt := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFakePingID(t)
			f.seed("jdoe", fakeUser{Role: RoleRegular, Status: StatusActive})
			f.addFaults(OpGetUserDetails, flt)
			f.addFaults(OpDeleteUser, flt)
			c := f.client()
			u, err := c.GetUser(context.Background(), "jdoe")
			if !errors.Is(err, ErrBadSignature) || u != nil {
				t.Fatalf("GetUser = %v, %v; want ErrBadSignature", u, err)
			}
			if err := c.DeleteUser(context.Background(), "jdoe"); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("DeleteUser err = %v, want ErrBadSignature", err)
			}
			assertNoSecrets(t, err.Error(), testToken, testBase64Key)
			if calls := c.Calls(); calls[OpGetUserDetails] != 1 || calls[OpDeleteUser] != 1 {
				t.Errorf("a forged response was retried: %v", calls)
			}
		})
	}
}

func TestUpdateUserPreservesRoleAndUnmanagedFields(t *testing.T) {
	f := newFakePingID(t)
	f.seed("chief", fakeUser{FName: strPtr("Ada"), LName: strPtr("Lovelace"), Email: strPtr("ada@old.test"), Role: RoleAdmin, Status: StatusActive, Devices: 1})
	c := f.client()
	ctx := context.Background()

	after, changed, err := c.UpdateUser(ctx, "chief", UserFields{Email: strPtr("ada@new.test")})
	if err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if !changed {
		t.Error("changed = false for a new email")
	}
	want := fakeUser{FName: strPtr("Ada"), LName: strPtr("Lovelace"), Email: strPtr("ada@new.test"), Role: RoleAdmin, Status: StatusActive, Devices: 1}
	if got, _ := f.user("chief"); !reflect.DeepEqual(got, want) {
		t.Errorf("stored user = %+v, want %+v", got, want)
	}
	if after.Email != "ada@new.test" || after.FirstName != "Ada" || after.Role != RoleAdmin || after.Status != StatusActive || after.DeviceCount != 1 {
		t.Errorf("returned user = %+v", after)
	}
	wantBody := map[string]any{"activateUser": false, "userName": "chief", "fname": "Ada", "lname": "Lovelace", "email": "ada@new.test", "role": "ADMIN"}
	if body := f.recorded(OpEditUser)[0].Body; !reflect.DeepEqual(body, wantBody) {
		t.Errorf("edituser reqBody = %v, want all fields %v", body, wantBody)
	}
}

func TestUpdateUserSkipsEditWhenNothingChanged(t *testing.T) {
	f := newFakePingID(t)
	f.seed("same", fakeUser{FName: strPtr("Bo"), LName: nil, Email: strPtr("bo@x.test"), Role: RoleRegular, Status: StatusActive})
	c := f.client()
	for name, fields := range map[string]UserFields{
		"all nil":       {},
		"same values":   {FirstName: strPtr("Bo"), Email: strPtr("bo@x.test")},
		"empty vs null": {LastName: strPtr("")},
	} {
		t.Run(name, func(t *testing.T) {
			u, changed, err := c.UpdateUser(context.Background(), "same", fields)
			if err != nil || changed || u == nil || u.FirstName != "Bo" {
				t.Fatalf("UpdateUser = %+v, %v, %v", u, changed, err)
			}
		})
	}
	if n := c.Calls()[OpEditUser]; n != 0 {
		t.Errorf("edituser called %d times with nothing to change", n)
	}
}

func TestUpdateUserOfMissingUser(t *testing.T) {
	f := newFakePingID(t)
	c := f.client()
	_, changed, err := c.UpdateUser(context.Background(), "ghost", UserFields{Email: strPtr("x@y.test")})
	if !errors.Is(err, ErrUserNotFound) || changed {
		t.Fatalf("UpdateUser = %v, %v; want ErrUserNotFound", changed, err)
	}
}

func TestErrorMessagesRedactEchoedSecrets(t *testing.T) {
	f := newFakePingID(t)
	f.addFaults(OpGetUserDetails, fault{status: 400, body: `{"errorId":400,"errorMsg":"bad token ` + testToken + ` key ` + testBase64Key + `"}`})
	c := f.client()
	_, err := c.GetUser(context.Background(), "jdoe")
	if !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("err = %v", err)
	}
	assertNoSecrets(t, err.Error(), testToken, testBase64Key, strings.TrimRight(testBase64Key, "="))
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("error %q lost the rest of the message", err)
	}
}

func TestDefaultClientDoesNotFollowRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/elsewhere") {
			elsewhere.Add(1)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(Config{Credentials: Credentials{OrgAlias: testOrgAlias, Token: testToken, Base64Key: testBase64Key, IDPURL: srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.DeleteUser(context.Background(), "jdoe")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusTemporaryRedirect {
		t.Fatalf("err = %v, want an APIError with HTTP 307", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the signed request was replayed to the redirect target %d times", n)
	}
}

package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// hook performs one test-hook request the way the demo scripts do with curl.
func (tn *tenant) hook(t testing.TB, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, tn.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := tn.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(raw)
}

func TestHookUsers(t *testing.T) {
	tn := newTenant(t)
	status, body := tn.hook(t, "POST", "/_emulator/users",
		`{"username":"Admin One","role":"ADMIN","status":"ACTIVE","devices":[{"type":"iPhone","nickname":"phone"}]}`)
	if status != http.StatusCreated {
		t.Fatalf("seed: HTTP %d %s", status, body)
	}
	var seeded emulator.User
	if err := json.Unmarshal([]byte(body), &seeded); err != nil {
		t.Fatal(err)
	}
	if seeded.ID == 0 || len(seeded.Devices) != 1 || seeded.Devices[0].ID == 0 || seeded.Devices[0].Role != "PRIMARY" {
		t.Fatalf("seeded user = %+v", seeded)
	}
	// The seeded ACTIVE admin is what the API reports.
	r := tn.call(t, "getuserdetails", map[string]any{"userName": "admin one"})
	expectError(t, r, 200)
	if d := r.userDetails(t); d["status"] != "ACTIVE" || d["role"] != "ADMIN" || d["userEnabled"] != true {
		t.Fatalf("userDetails of seeded user = %v", d)
	}

	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"username":"ADMIN ONE"}`, http.StatusConflict},
		{`{"username":"x","colour":"blue"}`, http.StatusBadRequest},
		{`{"username":"x","status":"HAPPY"}`, http.StatusBadRequest},
		{`{"username":""}`, http.StatusBadRequest},
		{`[{"username":"b"},{"username":"a/c"}]`, http.StatusCreated},
	} {
		if status, body := tn.hook(t, "POST", "/_emulator/users", tc.body); status != tc.status {
			t.Errorf("seed %s: HTTP %d %s, want %d", tc.body, status, body, tc.status)
		}
	}

	status, body = tn.hook(t, "GET", "/_emulator/users", "")
	var users []emulator.User
	if err := json.Unmarshal([]byte(body), &users); err != nil || status != http.StatusOK {
		t.Fatalf("dump: HTTP %d %v %s", status, err, body)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.UserName)
	}
	if strings.Join(names, ",") != "Admin One,a/c,b" {
		t.Fatalf("dump order = %v", names)
	}

	if status, _ := tn.hook(t, "GET", "/_emulator/users/"+url.PathEscape("a/c"), ""); status != http.StatusOK {
		t.Fatalf("get a/c: HTTP %d", status)
	}
	if status, _ := tn.hook(t, "GET", "/_emulator/users/nobody", ""); status != http.StatusNotFound {
		t.Fatalf("get nobody: HTTP %d", status)
	}

	status, body = tn.hook(t, "POST", "/_emulator/users/"+url.PathEscape("Admin One")+"/status", `{"status":"SUSPENDED"}`)
	if status != http.StatusOK {
		t.Fatalf("status: HTTP %d %s", status, body)
	}
	if u := tn.mustUser(t, "Admin One"); u.Status != "SUSPENDED" || u.PreviousStatus != "ACTIVE" {
		t.Fatalf("after status hook: %+v", u)
	}
	if status, _ := tn.hook(t, "POST", "/_emulator/users/b/status", `{"status":"ASLEEP"}`); status != http.StatusBadRequest {
		t.Fatalf("invalid status: HTTP %d", status)
	}
	if status, _ := tn.hook(t, "POST", "/_emulator/users/nobody/status", `{"status":"ACTIVE"}`); status != http.StatusNotFound {
		t.Fatalf("status of nobody: HTTP %d", status)
	}

	if status, _ := tn.hook(t, "DELETE", "/_emulator/users/"+url.PathEscape("a/c"), ""); status != http.StatusNoContent {
		t.Fatalf("delete a/c: HTTP %d", status)
	}
	if _, exists := tn.srv.User("a/c"); exists {
		t.Fatal("delete hook left the user")
	}
	if status, _ := tn.hook(t, "DELETE", "/_emulator/users/"+url.PathEscape("a/c"), ""); status != http.StatusNotFound {
		t.Fatalf("second delete: HTTP %d", status)
	}

	if status, _ := tn.hook(t, "POST", "/_emulator/reset", ""); status != http.StatusNoContent || len(tn.srv.Users()) != 0 {
		t.Fatalf("reset: HTTP %d, %d users left", status, len(tn.srv.Users()))
	}
}

func TestHookFaultsAndCalls(t *testing.T) {
	tn := newTenant(t)
	status, body := tn.hook(t, "POST", "/_emulator/faults", `{"op":"getuserdetails","rate_429":1,"retry_after_ms":3000,"count":1}`)
	if status != http.StatusNoContent {
		t.Fatalf("set fault: HTTP %d %s", status, body)
	}
	_, body = tn.hook(t, "GET", "/_emulator/faults", "")
	var specs []emulator.FaultSpec
	if err := json.Unmarshal([]byte(body), &specs); err != nil || len(specs) != 1 || specs[0].Op != "getuserdetails" || specs[0].RetryAfterMS != 3000 {
		t.Fatalf("faults = %s (%v)", body, err)
	}

	req := tn.documentedRequest(map[string]any{"userName": "u"}).compact(t)
	resp, _, err := tn.post(t, "getuserdetails", req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("HTTP %d Retry-After %q, want 429 / 3", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	tn.hook(t, "POST", "/_emulator/faults", `{"op":"*","rate_500":1}`)
	tn.hook(t, "DELETE", "/_emulator/faults", "")
	expectError(t, tn.send(t, "getuserdetails", req), 10564)

	for _, bad := range []string{`{"op":"nosuchop","rate_500":1}`, `{"op":"adduser","rate_five_hundred":1}`, `not json`} {
		if status, _ := tn.hook(t, "POST", "/_emulator/faults", bad); status != http.StatusBadRequest {
			t.Errorf("fault %s: HTTP %d, want 400", bad, status)
		}
	}

	_, body = tn.hook(t, "GET", "/_emulator/calls", "")
	var calls map[string]int64
	if err := json.Unmarshal([]byte(body), &calls); err != nil || len(calls) != 1 || calls["getuserdetails"] != 2 {
		t.Fatalf("calls = %s (%v); hooks must not count", body, err)
	}
	tn.hook(t, "DELETE", "/_emulator/calls", "")
	if got := tn.srv.Calls(); len(got) != 0 {
		t.Fatalf("calls after DELETE: %v", got)
	}
}

func TestHookProperties(t *testing.T) {
	tn := newTenant(t)
	status, body := tn.hook(t, "GET", "/_emulator/properties", "")
	if status != http.StatusOK || !strings.Contains(body, "\nidp_url="+tn.http.URL+"/pingid\n") {
		t.Fatalf("properties hook: HTTP %d\n%s", status, body)
	}
	if status, _ := tn.hook(t, "GET", "/_emulator/nothing", ""); status != http.StatusNotFound {
		t.Fatalf("unknown hook: HTTP %d", status)
	}
}

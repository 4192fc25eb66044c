package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// fakeClient is an in-memory PingID with the documented status rules that matter here:
// suspend fails with 10561 on NOT_ACTIVE users, activate fails with 10562 on ACTIVE users.
type fakeClient struct {
	mu    sync.Mutex
	users map[string]*pingid.User
	calls []string
	fail  map[string]error // "op username" -> error
}

func newFake(users ...pingid.User) *fakeClient {
	f := &fakeClient{users: map[string]*pingid.User{}, fail: map[string]error{}}
	for _, u := range users {
		f.users[strings.ToLower(u.UserName)] = &u
	}
	return f
}

func (f *fakeClient) record(op, name string) (*pingid.User, error) {
	f.calls = append(f.calls, op+" "+name)
	if err := f.fail[op+" "+name]; err != nil {
		return nil, err
	}
	u, ok := f.users[strings.ToLower(name)]
	if !ok && op != "add" {
		return nil, &pingid.APIError{Operation: op, Username: name, ErrorID: 10564}
	}
	return u, nil
}

func (f *fakeClient) GetUser(_ context.Context, name string) (*pingid.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := f.record("get", name)
	if err != nil {
		return nil, err
	}
	c := *u
	return &c, nil
}

func (f *fakeClient) AddUser(_ context.Context, nu pingid.NewUser) (*pingid.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, err := f.record("add", nu.UserName); err != nil {
		return nil, err
	} else if u != nil {
		return nil, &pingid.APIError{Operation: "adduser", Username: nu.UserName, ErrorID: 10556}
	}
	u := &pingid.User{UserName: nu.UserName, Email: nu.Email, FirstName: nu.FirstName, LastName: nu.LastName, Role: nu.Role, Status: "NOT_ACTIVE"}
	f.users[strings.ToLower(nu.UserName)] = u
	c := *u
	return &c, nil
}

func (f *fakeClient) UpdateUser(_ context.Context, name string, fl pingid.UserFields) (*pingid.User, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := f.record("update", name)
	if err != nil {
		return nil, false, err
	}
	if fl.Email != nil {
		u.Email = *fl.Email
	}
	if fl.FirstName != nil {
		u.FirstName = *fl.FirstName
	}
	if fl.LastName != nil {
		u.LastName = *fl.LastName
	}
	c := *u
	return &c, true, nil
}

func (f *fakeClient) SuspendUser(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := f.record("suspend", name)
	if err != nil {
		return err
	}
	if u.Status == "NOT_ACTIVE" {
		return &pingid.APIError{Operation: "suspenduser", Username: name, ErrorID: 10561}
	}
	u.Status = "SUSPENDED"
	return nil
}

func (f *fakeClient) ActivateUser(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := f.record("activate", name)
	if err != nil {
		return err
	}
	if u.Status == "ACTIVE" {
		return &pingid.APIError{Operation: "activateuser", Username: name, ErrorID: 10562}
	}
	u.Status = "PENDING_ACTIVATION"
	return nil
}

func (f *fakeClient) DeleteUser(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.record("delete", name); err != nil {
		return err
	}
	delete(f.users, strings.ToLower(name))
	return nil
}

// The device operations: the fake has no devices (device work is tested against the emulator
// in devices_test.go); they are recorded like the rest.
func (f *fakeClient) PairDevice(_ context.Context, p pingid.Pairing) (pingid.DeviceID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.record("pair", p.UserName); err != nil {
		return pingid.DeviceID{}, err
	}
	return pingid.ParseDeviceID("1")
}

func (f *fakeClient) SetDeviceNickname(_ context.Context, name string, _ pingid.DeviceID, _ string) error {
	return f.deviceCall("nickname", name)
}

func (f *fakeClient) SetPrimaryDevice(_ context.Context, name string, _ pingid.DeviceID) error {
	return f.deviceCall("primary", name)
}

func (f *fakeClient) UnpairDevice(_ context.Context, name string, _ pingid.DeviceID) error {
	return f.deviceCall("unpair", name)
}

func (f *fakeClient) deviceCall(op, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.record(op, name)
	return err
}

func (f *fakeClient) status(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, ok := f.users[strings.ToLower(name)]; ok {
		return u.Status
	}
	return "<absent>"
}

func TestDisableNeverActivatedUser(t *testing.T) {
	f := newFake(pingid.User{UserName: "new", Status: "NOT_ACTIVE"}, pingid.User{UserName: "act", Status: "ACTIVE"})
	if err := Disable(context.Background(), f, "new"); err != nil {
		t.Fatal(err)
	}
	if err := Disable(context.Background(), f, "act"); err != nil {
		t.Fatal(err)
	}
	if f.status("new") != "SUSPENDED" || f.status("act") != "SUSPENDED" {
		t.Errorf("statuses: new=%s act=%s", f.status("new"), f.status("act"))
	}
	want := []string{"suspend new", "activate new", "suspend new", "suspend act"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls = %v, want %v", f.calls, want)
	}
}

func TestEnableAndDeleteAreIdempotent(t *testing.T) {
	f := newFake(pingid.User{UserName: "act", Status: "ACTIVE"})
	if err := Enable(context.Background(), f, "act"); err != nil {
		t.Errorf("enable of an active user: %v", err)
	}
	if err := Delete(context.Background(), f, "ghost"); err != nil {
		t.Errorf("delete of an absent user: %v", err)
	}
	f.fail["delete act"] = errors.New("boom")
	if err := Delete(context.Background(), f, "act"); err == nil {
		t.Error("delete failure was swallowed")
	}
}

func entry(email string, enabled bool, status string) *reconcile.Entry {
	return &reconcile.Entry{Email: email, FirstName: "F", LastName: "L", Enabled: enabled, Status: status, SourceState: reconcile.SourceInScope}
}

func TestRunActions(t *testing.T) {
	f := newFake(
		pingid.User{UserName: "linked", Email: "old@x", Role: "REGULAR", Status: "ACTIVE"},
		pingid.User{UserName: "racer", Role: "REGULAR", Status: "NOT_ACTIVE"}, // created after the plan
		pingid.User{UserName: "upd", Email: "a@x", Status: "ACTIVE"},
		pingid.User{UserName: "leaver", Status: "ACTIVE"},
		pingid.User{UserName: "back", Status: "SUSPENDED"},
		pingid.User{UserName: "gone", Status: "ACTIVE"},
		pingid.User{UserName: "broken", Status: "ACTIVE"},
	)
	f.fail["update broken"] = errors.New("HTTP 500")
	actions := []reconcile.Action{
		{Username: "fresh", Kind: reconcile.KindCreate, Planned: entry("fresh@x", true, "NOT_ACTIVE")},
		{Username: "freshoff", Kind: reconcile.KindCreate, Planned: entry("off@x", false, "NOT_ACTIVE")},
		{Username: "linked", Kind: reconcile.KindLink, Planned: entry("new@x", true, "ACTIVE")},
		{Username: "racer", Kind: reconcile.KindCreate, Planned: entry("r@x", true, "NOT_ACTIVE")},
		{Username: "vanished", Kind: reconcile.KindLink, Planned: entry("v@x", true, "ACTIVE")},
		{Username: "upd", Kind: reconcile.KindUpdate, Prior: entry("a@x", true, "ACTIVE"), Planned: entry("b@x", true, "ACTIVE"),
			Changes: []reconcile.FieldChange{{Field: "email", From: "a@x", To: "b@x"}}},
		{Username: "leaver", Kind: reconcile.KindDisable, Prior: entry("", true, "ACTIVE"), Planned: entry("", false, "ACTIVE")},
		{Username: "back", Kind: reconcile.KindEnable, Prior: entry("", false, "SUSPENDED"), Planned: entry("", true, "SUSPENDED")},
		{Username: "gone", Kind: reconcile.KindDelete, Prior: entry("", true, "ACTIVE")},
		{Username: "broken", Kind: reconcile.KindUpdate, Prior: entry("a", true, "ACTIVE"), Planned: entry("b", true, "ACTIVE"),
			Changes: []reconcile.FieldChange{{Field: "email", From: "a", To: "b"}}},
		{Username: "bookkeeping", Kind: reconcile.KindStateOnly, Prior: entry("", true, "ACTIVE"), Planned: entry("", true, "ACTIVE")},
	}
	results := Run(context.Background(), f, actions, Options{Concurrency: 3, Mapping: reconcile.Mapping{MapEmail: true}})
	if len(results) != len(actions) {
		t.Fatalf("%d results for %d actions", len(results), len(actions))
	}
	for i, r := range results {
		if r.Action.Username != actions[i].Username {
			t.Errorf("result %d is for %q, want %q (order must match input)", i, r.Action.Username, actions[i].Username)
		}
		wantErr := r.Action.Username == "broken"
		if (r.Err != nil) != wantErr {
			t.Errorf("%s: err = %v", r.Action.Username, r.Err)
		}
	}
	checks := map[string]string{
		"fresh": "NOT_ACTIVE", "freshoff": "SUSPENDED", "linked": "ACTIVE", "racer": "NOT_ACTIVE", "vanished": "NOT_ACTIVE",
		"upd": "ACTIVE", "leaver": "SUSPENDED", "back": "PENDING_ACTIVATION", "gone": "<absent>", "broken": "ACTIVE",
	}
	for name, want := range checks {
		if got := f.status(name); got != want {
			t.Errorf("%s status = %s, want %s", name, got, want)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.users["linked"].Email != "new@x" || f.users["upd"].Email != "b@x" || f.users["fresh"].Email != "fresh@x" {
		t.Errorf("mapped fields not written: linked=%q upd=%q fresh=%q", f.users["linked"].Email, f.users["upd"].Email, f.users["fresh"].Email)
	}
	if f.users["linked"].FirstName != "" {
		t.Errorf("unmapped first name was written: %q", f.users["linked"].FirstName)
	}
	for _, c := range f.calls {
		if c == "add linked" {
			t.Error("a linked user must not be added")
		}
	}
}

func TestRunEnableSkipsUsersThatAreNotSuspended(t *testing.T) {
	f := newFake(pingid.User{UserName: "never", Status: "NOT_ACTIVE"})
	res := Run(context.Background(), f, []reconcile.Action{{Username: "never", Kind: reconcile.KindEnable,
		Prior: entry("", false, "NOT_ACTIVE"), Planned: entry("", true, "NOT_ACTIVE")}}, Options{Concurrency: 1})
	if res[0].Err != nil || len(f.calls) != 0 {
		t.Errorf("err=%v calls=%v, want no call", res[0].Err, f.calls)
	}
}

func TestRunCancelledContextStartsNothing(t *testing.T) {
	f := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var actions []reconcile.Action
	for i := range 20 {
		actions = append(actions, reconcile.Action{Username: fmt.Sprintf("u%d", i), Kind: reconcile.KindCreate, Planned: entry("", true, "NOT_ACTIVE")})
	}
	for _, r := range Run(ctx, f, actions, Options{Concurrency: 4}) {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", r.Action.Username, r.Err)
		}
	}
	if len(f.calls) != 0 {
		t.Errorf("calls after cancellation: %v", f.calls)
	}
}

// Issue 16: an empty planned email (the user has none) is never written: linking a user whose
// directory entry has no mail keeps the email PingID has.
func TestRunNeverSendsAnEmptyEmail(t *testing.T) {
	f := newFake(pingid.User{UserName: "linked", Email: "kept@x", Role: "REGULAR", Status: "ACTIVE"})
	res := Run(context.Background(), f, []reconcile.Action{
		{Username: "linked", Kind: reconcile.KindLink, Planned: entry("", true, "ACTIVE")},
	}, Options{Concurrency: 1, Mapping: reconcile.Mapping{MapEmail: true, MapFirstName: true}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if got := f.users["linked"].Email; got != "kept@x" {
		t.Errorf("email after link = %q, want kept@x (no empty email sent)", got)
	}
}

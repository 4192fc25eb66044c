package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

func TestGenerateOptions(t *testing.T) {
	a, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	b, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a.OrgAlias) {
		t.Errorf("org alias %q is not UUID-shaped", a.OrgAlias)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a.Token) {
		t.Errorf("token %q is not 32 hex digits", a.Token)
	}
	key, err := base64.StdEncoding.DecodeString(a.Base64Key)
	if err != nil || len(key) != 32 {
		t.Errorf("key decodes to %d bytes (%v), want 32", len(key), err)
	}
	if a.OrgAlias == b.OrgAlias || a.Token == b.Token || a.Base64Key == b.Base64Key {
		t.Error("two generated tenants share credentials")
	}
}

func TestNewValidatesOptions(t *testing.T) {
	good, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]emulator.Options{
		"partial credentials": {OrgAlias: good.OrgAlias, Token: good.Token},
		"key not base64":      {OrgAlias: good.OrgAlias, Token: good.Token, Base64Key: "!!!"},
		"key too short":       {OrgAlias: good.OrgAlias, Token: good.Token, Base64Key: base64.StdEncoding.EncodeToString([]byte("short"))},
	} {
		if _, err := emulator.New(opts); err == nil {
			t.Errorf("%s: New accepted it", name)
		} else if strings.Contains(err.Error(), good.Token) {
			t.Errorf("%s: error leaks the token: %v", name, err)
		}
	}
	srv, err := emulator.New(emulator.Options{})
	if err != nil {
		t.Fatalf("zero Options should generate a tenant: %v", err)
	}
	if o := srv.Options(); o.OrgAlias == "" || o.Token == "" || o.Base64Key == "" {
		t.Fatalf("generated tenant = %+v", o)
	}
}

func TestPropertiesFile(t *testing.T) {
	srv, err := emulator.New(emulator.Options{
		OrgAlias:  "aaaaaaaa-a1b2-123a-b456-1234abcd5678",
		Token:     "1a2b3c4d5e6f",
		Base64Key: "JWC41crr322aUfdckVfJKHvGKNIPyAPGL7rMsTbzHlA=",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.PropertiesFile("http://127.0.0.1:4242/pingid")
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	want := []string{
		`use_base64_key=JWC41crr322aUfdckVfJKHvGKNIPyAPGL7rMsTbzHlA\=`,
		`use_signature=true`,
		`token=1a2b3c4d5e6f`,
		`idp_url=http://127.0.0.1:4242/pingid`,
		`org_alias=aaaaaaaa-a1b2-123a-b456-1234abcd5678`,
		`admin_url=http://127.0.0.1:4242/ConsoleAdmin`,
		`authenticator_url=http://127.0.0.1:4242/pingid/ppm`,
	}
	if len(lines) != len(want)+1 || !strings.HasPrefix(lines[0], "#Auto-Generated from PingOne, downloaded by id=[") {
		t.Fatalf("properties file:\n%s", got)
	}
	for i, w := range want {
		if lines[i+1] != w {
			t.Errorf("line %d = %q, want %q", i+2, lines[i+1], w)
		}
	}
}

func TestPersistenceSurvivesRestart(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "tenant.json")
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	first, err := emulator.New(emulator.Options{StatePath: statePath, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	opts := first.Options()
	// Credentials are on disk before any mutation, so a restarted tenant is the same tenant.
	if info, err := os.Stat(statePath); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v; want it written with 0600", err, info)
	}

	tn := newTenantWith(t, opts) // a second Server on the same file, seen through HTTP
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "api-user", "fname": "Api", "activateUser": true}), 200)
	if reread, err := emulator.New(emulator.Options{StatePath: statePath}); err != nil {
		t.Fatal(err)
	} else if _, ok := reread.User("api-user"); !ok {
		t.Fatal("adduser was not saved before its response")
	}
	if err := tn.srv.SeedUser(emulator.User{UserName: "seeded", Status: "ACTIVE", Role: "ADMIN", Devices: []emulator.Device{{Type: "Android"}}}); err != nil {
		t.Fatal(err)
	}
	expectError(t, tn.call(t, "suspenduser", map[string]any{"userName": "seeded"}), 200)
	before := tn.srv.Users()

	restarted, err := emulator.New(emulator.Options{StatePath: statePath})
	if err != nil {
		t.Fatal(err)
	}
	if o := restarted.Options(); o.OrgAlias != opts.OrgAlias || o.Token != opts.Token || o.Base64Key != opts.Base64Key {
		t.Fatal("restart without credentials did not reuse the stored tenant")
	}
	wantJSON, _ := json.Marshal(before)
	gotJSON, _ := json.Marshal(restarted.Users())
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("after restart:\n%s\nwant\n%s", gotJSON, wantJSON)
	}

	// Reactivation still knows the pre-suspension status, and new ids do not reuse old ones.
	tn2 := newTenantWith(t, emulator.Options{StatePath: statePath})
	expectError(t, tn2.call(t, "activateuser", map[string]any{"userName": "seeded"}), 200)
	if u := tn2.mustUser(t, "seeded"); u.Status != emulator.StatusActive {
		t.Fatalf("reactivated after restart: %+v", u)
	}
	r := tn2.call(t, "adduser", map[string]any{"userName": "third"})
	expectError(t, r, 200)
	newIDNumber, _ := r.userDetails(t)["userId"].(json.Number)
	newID, _ := newIDNumber.Int64()
	for _, u := range before {
		if newID <= u.ID {
			t.Fatalf("new userId %v not above existing %d", newID, u.ID)
		}
	}

	if _, err := emulator.New(emulator.Options{OrgAlias: "x", Token: "y", Base64Key: opts.Base64Key, StatePath: statePath}); err == nil {
		t.Fatal("New accepted a state file of another tenant")
	}
	if err := os.WriteFile(statePath, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := emulator.New(emulator.Options{StatePath: statePath}); err == nil {
		t.Fatal("New accepted a corrupt state file")
	}
}

func TestReadStateCredentials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	if _, ok, err := emulator.ReadStateCredentials(path); ok || err != nil {
		t.Fatalf("missing file: ok=%v err=%v", ok, err)
	}
	srv, err := emulator.New(emulator.Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := emulator.ReadStateCredentials(path)
	if err != nil || !ok || got.Token != srv.Options().Token || got.OrgAlias != srv.Options().OrgAlias {
		t.Fatalf("ReadStateCredentials = %+v %v %v", got, ok, err)
	}
}

func TestDirectHooks(t *testing.T) {
	tn := newTenant(t)
	srv := tn.srv
	for _, u := range []emulator.User{{UserName: "carol"}, {UserName: "alice", Status: "ACTIVE", Devices: []emulator.Device{{Type: "Email", Email: "a@example.com"}}}, {UserName: "bob"}} {
		if err := srv.SeedUser(u); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.SeedUser(emulator.User{UserName: "dave", Status: "HAPPY"}); !errors.Is(err, emulator.ErrInvalidUser) {
		t.Fatalf("invalid status: %v", err)
	}
	if err := srv.SeedUser(emulator.User{UserName: "dave", Devices: []emulator.Device{{Nickname: "no type"}}}); !errors.Is(err, emulator.ErrInvalidUser) {
		t.Fatalf("device without type: %v", err)
	}

	users := srv.Users()
	if len(users) != 3 || users[0].UserName != "alice" || users[2].UserName != "carol" {
		t.Fatalf("Users() = %+v", users)
	}
	users[0].Devices[0].Nickname = "changed by caller"
	users[0].Status = "SUSPENDED"
	if u := tn.mustUser(t, "alice"); u.Devices[0].Nickname != "Email" || u.Status != "ACTIVE" {
		t.Fatalf("Users() returned shared state: %+v", u)
	}

	// Out-of-band edit, including a new device, is what the API then reports.
	err := srv.UpdateUserDirect("ALICE", func(u *emulator.User) {
		u.Email = "drifted@example.com"
		u.Devices = append(u.Devices, emulator.Device{Type: "SMS"})
	})
	if err != nil {
		t.Fatal(err)
	}
	d := tn.call(t, "getuserdetails", map[string]any{"userName": "alice"}).userDetails(t)
	if devices, _ := d["devicesDetails"].([]any); d["email"] != "drifted@example.com" || len(devices) != 2 {
		t.Fatalf("after UpdateUserDirect: %v", d)
	}
	if err := srv.UpdateUserDirect("alice", func(u *emulator.User) { u.UserName = "BOB" }); !errors.Is(err, emulator.ErrUserExists) {
		t.Fatalf("rename onto bob: %v", err)
	}
	if err := srv.UpdateUserDirect("alice", func(u *emulator.User) { u.UserName = "alicia" }); err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.User("alice"); ok {
		t.Fatal("old name still resolves after rename")
	}
	if err := srv.UpdateUserDirect("ghost", func(*emulator.User) {}); !errors.Is(err, emulator.ErrUserNotFound) {
		t.Fatalf("update ghost: %v", err)
	}

	if err := srv.SetUserStatus("bob", "PENDING"); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetUserStatus("ghost", "ACTIVE"); !errors.Is(err, emulator.ErrUserNotFound) {
		t.Fatalf("status of ghost: %v", err)
	}
	if !srv.DeleteUserDirect("Carol") || srv.DeleteUserDirect("carol") {
		t.Fatal("DeleteUserDirect must report whether the user existed")
	}
	expectError(t, tn.call(t, "getuserdetails", map[string]any{"userName": "carol"}), 10564)

	srv.SetFault("*", emulator.Fault{Rate500: 1})
	srv.Reset()
	if len(srv.Users()) != 0 || len(srv.Faults()) != 0 || len(srv.Calls()) != 0 {
		t.Fatalf("Reset left users %v, faults %v, calls %v", srv.Users(), srv.Faults(), srv.Calls())
	}
}

// Concurrent mutations coalesce their saves; none may be lost.
func TestConcurrentMutationsAreAllPersisted(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "tenant.json")
	tn := newTenantWith(t, emulator.Options{StatePath: statePath})
	const workers = 12
	bodies := make([]string, workers)
	for i := range bodies {
		bodies[i] = tn.documentedRequest(map[string]any{"userName": "p" + strconv.Itoa(i)}).compact(t)
	}
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = tn.post(t, "adduser", bodies[i])
		}()
	}
	wg.Wait()
	if n := len(tn.srv.Users()); n != workers {
		t.Fatalf("%d users in memory, want %d", n, workers)
	}
	reread, err := emulator.New(emulator.Options{StatePath: statePath})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(reread.Users()); n != workers {
		t.Fatalf("%d users on disk, want %d", n, workers)
	}
}

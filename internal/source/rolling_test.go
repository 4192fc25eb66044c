package source_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/source"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%03d", i)
	}
	return out
}

func TestDueReadsEveryoneFirstThenASpreadShare(t *testing.T) {
	const window = 24 * time.Hour
	users := names(240)
	rt := source.NewReadTimes()
	// Nothing recorded: everyone is due (e.g. right after switching from "full").
	if due := rt.Due(users, t0, window); len(due) != 240 {
		t.Fatalf("due with no bookkeeping = %d, want all 240", len(due))
	}
	rt.Record(users, t0)
	rt.Refreshed(t0)
	// One hour later: a 24th of the users, the longest unread first.
	at := t0.Add(time.Hour)
	due := rt.Due(users, at, window)
	if len(due) != 10 {
		t.Fatalf("due after 1 h of a 24 h window = %d, want 10", len(due))
	}
	// Plans every hour for a day: every user is read once, about ten per plan, and none waits
	// longer than the window.
	seen := map[string]int{}
	for h := 1; h <= 24; h++ {
		at := t0.Add(time.Duration(h) * time.Hour)
		due := rt.Due(users, at, window)
		if len(due) < 10 || len(due) > 11 {
			t.Fatalf("hour %d: %d due, want 10 (a 24th, plus users falling overdue)", h, len(due))
		}
		for _, n := range due {
			seen[n]++
		}
		rt.Record(due, at)
		rt.Refreshed(at)
		for _, n := range users {
			last, _ := rt.LastRead(n)
			if at.Sub(last) > window {
				t.Fatalf("hour %d: %s last read %s ago, longer than the window", h, n, at.Sub(last))
			}
		}
	}
	if len(seen) != 240 {
		t.Errorf("%d of 240 users read in a day of hourly plans", len(seen))
	}
}

func TestDueAfterALongPauseReadsTheOverdue(t *testing.T) {
	users := names(10)
	rt := source.NewReadTimes()
	rt.Record(users[:5], t0)
	rt.Record(users[5:], t0.Add(20*time.Hour))
	rt.Refreshed(t0.Add(20 * time.Hour))
	// At t0+25h: users 0-4 are overdue (25 h), 5-9 not (5 h); the share is 10×5/24 = 2.
	due := rt.Due(users, t0.Add(25*time.Hour), 24*time.Hour)
	if strings.Join(due, ",") != strings.Join(users[:5], ",") {
		t.Errorf("due = %v, want the five overdue users %v", due, users[:5])
	}
	// Two days without a plan: everyone.
	if due := rt.Due(users, t0.Add(72*time.Hour), 24*time.Hour); len(due) != 10 {
		t.Errorf("due after two idle days = %d, want 10", len(due))
	}
}

func TestReadTimesRoundTripAndRetain(t *testing.T) {
	rt := source.NewReadTimes()
	rt.Record([]string{"b", "a"}, t0)
	rt.Record([]string{"c"}, t0.Add(time.Minute))
	rt.Refreshed(t0.Add(time.Minute))
	raw, err := rt.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"refreshed":%d,"read":{"%d":["a","b"],"%d":["c"]}}`, t0.Add(time.Minute).Unix(), t0.Unix(), t0.Add(time.Minute).Unix())
	if string(raw) != want {
		t.Fatalf("encoded %s, want %s", raw, want)
	}
	back, err := source.DecodeReadTimes(raw)
	if err != nil {
		t.Fatal(err)
	}
	back.Retain(map[string]reconcile.Entry{"a": {}, "c": {}})
	if _, ok := back.LastRead("b"); ok {
		t.Error("b kept after Retain")
	}
	if last, ok := back.LastRead("c"); !ok || !last.Equal(t0.Add(time.Minute)) {
		t.Errorf("c last read %v %v", last, ok)
	}
	if _, err := source.DecodeReadTimes([]byte(`{"read":{"soon":["a"]}}`)); err == nil {
		t.Error("a bad time decoded")
	}
	if rt, err := source.DecodeReadTimes(nil); err != nil || len(rt.Due([]string{"x"}, t0, time.Hour)) != 1 {
		t.Errorf("empty bookkeeping = %v, %v", rt, err)
	}
}

func TestActedOnFindsEveryUserThePlanTouches(t *testing.T) {
	str := func(s string) *string { return &s }
	entry := func(name, mail string, enabled bool, state reconcile.SourceState) reconcile.Entry {
		return reconcile.Entry{DN: "uid=" + name + "," + baseDN, Email: mail, Enabled: enabled, Status: "ACTIVE", SourceState: state}
	}
	prior := map[string]reconcile.Entry{
		"same":     entry("same", "same@example.com", true, reconcile.SourceInScope),
		"changed":  entry("changed", "old@example.com", true, reconcile.SourceInScope),
		"disabled": entry("disabled", "d@example.com", true, reconcile.SourceInScope),
		"leaver":   entry("leaver", "l@example.com", true, reconcile.SourceInScope),
		"back":     entry("back", "b@example.com", false, reconcile.SourceOutOfScope),
		"parked":   entry("parked", "p@example.com", false, reconcile.SourceOutOfScope),
	}
	dirUser := func(name, mail string, enabled bool) reconcile.DirectoryUser {
		return reconcile.DirectoryUser{Username: name, DN: "uid=" + name + "," + baseDN, Email: str(mail), Enabled: enabled}
	}
	snap := &source.Snapshot{
		InScope: []reconcile.DirectoryUser{
			dirUser("same", "same@example.com", true),
			dirUser("changed", "new@example.com", true),
			dirUser("disabled", "d@example.com", false),
			dirUser("back", "b@example.com", true),
			dirUser("newcomer", "n@example.com", true),
		},
		OutOfScope: map[string]reconcile.DirectoryUser{
			"leaver": dirUser("leaver", "l@example.com", true),
			"parked": dirUser("parked", "p@example.com", true),
		},
		Existing: map[string]reconcile.PingIDUser{},
	}
	opts := reconcile.Options{
		UserCreate: true, UserUpdate: true, UserDisableDelete: true, RemoveAction: reconcile.RemoveDisable, MaxDeprovisions: 0,
		Mapping: reconcile.Mapping{MapEmail: true},
	}
	got, err := source.ActedOn(prior, nil, snap, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Not "same" (nothing to do), not "parked" (left long ago, already disabled), never the
	// newcomer (it is looked up, not refreshed); max_deprovisions = 0 does not hide anyone.
	want := []string{"back", "changed", "disabled", "leaver"}
	if !slices.Equal(got, want) {
		t.Errorf("ActedOn = %v, want %v", got, want)
	}
	// The settings decide: without user_update neither the changed mail nor the returning user
	// is acted on, and with remove_user_action = "delete" the parked user is.
	opts.UserUpdate, opts.RemoveAction = false, reconcile.RemoveDelete
	got, err = source.ActedOn(prior, nil, snap, opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"disabled", "leaver", "parked"}; !slices.Equal(got, want) {
		t.Errorf("ActedOn without user_update, with delete = %v, want %v", got, want)
	}
}

func TestRefreshUsersReadsOnlyThoseNamed(t *testing.T) {
	f := &fakeClient{users: map[string]*pingid.User{
		"a": {UserName: "a", Email: "drift@example.com", Status: "ACTIVE", Role: pingid.RoleRegular},
		"b": {UserName: "b", Email: "b-drift@example.com", Status: "ACTIVE", Role: pingid.RoleAdmin},
	}}
	prior := map[string]reconcile.Entry{
		"a":    {Email: "a@example.com", Enabled: true, Status: "ACTIVE"},
		"b":    {Email: "b@example.com", Enabled: true, Status: "ACTIVE"},
		"gone": {Email: "g@example.com", Enabled: true, Status: "ACTIVE"},
	}
	got, err := source.Gatherer{PingID: f, Concurrency: 4}.RefreshUsers(context.Background(), prior, []string{"a", "gone", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if f.calls != 2 {
		t.Errorf("%d GetUser calls, want 2 (a once, gone)", f.calls)
	}
	if got.Users["a"].Email != "drift@example.com" || got.Users["b"] != prior["b"] {
		t.Errorf("users = %+v: a refreshed, b kept as it was", got.Users)
	}
	if _, ok := got.Users["gone"]; ok || strings.Join(got.Gone, ",") != "gone" {
		t.Errorf("gone = %v, users %v", got.Gone, got.Users)
	}
	if len(got.Admins) != 0 {
		t.Errorf("admins = %v: b was not read", got.Admins)
	}
}

package reconcile

import (
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// assertDiffAgrees checks that apply (Diff on the two maps) finds exactly the planned actions.
func assertDiffAgrees(t *testing.T, prior map[string]Entry, res Result) {
	t.Helper()
	diff := Diff(prior, res.Planned, res.LinkSet)
	if len(diff) != len(res.Actions) {
		t.Fatalf("Diff found %d actions, Plan %d:\n diff %v\n plan %v", len(diff), len(res.Actions), kinds(diff), kinds(res.Actions))
	}
	for i, d := range diff {
		p := res.Actions[i]
		if d.Username != p.Username || d.Kind != p.Kind {
			t.Fatalf("action %d: Diff %s %s, Plan %s %s (%s)", i, d.Username, d.Kind, p.Username, p.Kind, p.Reason)
		}
		if d.Kind != KindLink && !reflect.DeepEqual(d.Changes, p.Changes) {
			t.Errorf("%s %s: Diff changes %v, Plan changes %v", d.Username, d.Kind, d.Changes, p.Changes)
		}
		if !reflect.DeepEqual(d.Planned, p.Planned) || (d.Kind != KindLink && !reflect.DeepEqual(d.Prior, p.Prior)) {
			t.Errorf("%s %s: Diff entries %v -> %v, Plan %v -> %v", d.Username, d.Kind, d.Prior, d.Planned, p.Prior, p.Planned)
		}
		if d.Reason == "" || p.Reason == "" {
			t.Errorf("%s %s: empty reason (Diff %q, Plan %q)", d.Username, d.Kind, d.Reason, p.Reason)
		}
	}
}

func kinds(actions []Action) []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = a.Username + " " + string(a.Kind)
	}
	return out
}

func TestDiff(t *testing.T) {
	base := jsmith()
	tests := []struct {
		name        string
		prior, next map[string]Entry
		linkSet     map[string]bool
		want        []string
		wantReason  string
	}{
		{"identical: nothing", map[string]Entry{"jsmith": base}, map[string]Entry{"jsmith": base}, nil, nil, ""},
		{"only planned: create", nil, map[string]Entry{"jsmith": base}, nil, []string{"jsmith create"}, "in scope, not in PingID"},
		{"only planned, disabled: create (add, then disable)", nil, map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDisabled))}, nil,
			[]string{"jsmith create"}, "disabled in directory, created disabled"},
		{"only planned, in link set: link", nil, map[string]Entry{"jsmith": base}, map[string]bool{"jsmith": true}, []string{"jsmith link"}, "existing PingID user linked"},
		{"only prior: delete", map[string]Entry{"jsmith": base}, nil, nil, []string{"jsmith delete"}, "no longer managed"},
		{"enabled true -> false: disable", map[string]Entry{"jsmith": base}, map[string]Entry{"jsmith": jsmith(disabledEntry(SourceOutOfScope))}, nil,
			[]string{"jsmith disable"}, "left group/filter"},
		{"disable wins over an attribute change", map[string]Entry{"jsmith": base}, map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDisabled), entryMail("n@x"))}, nil,
			[]string{"jsmith disable"}, "disabled in directory; email changed"},
		{"enabled false -> true: enable", map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDisabled))}, map[string]Entry{"jsmith": jsmith(entryMail("n@x"))}, nil,
			[]string{"jsmith enable"}, "re-enabled in directory; email changed"},
		{"mapped field: update", map[string]Entry{"jsmith": base}, map[string]Entry{"jsmith": jsmith(func(e *Entry) { e.FirstName = "Jon" })}, nil,
			[]string{"jsmith update"}, "first_name changed"},
		{"status only: state_only, never an API call", map[string]Entry{"jsmith": base}, map[string]Entry{"jsmith": jsmith(entryStatus(StatusSuspended))}, nil,
			[]string{"jsmith state_only"}, "status changed"},
		{"dn and source_state: state_only", map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDisabled))},
			map[string]Entry{"jsmith": jsmith(disabledEntry(SourceOutOfScope), entryMoved())}, nil, []string{"jsmith state_only"}, "left group/filter; DN changed"},
		{"sorted by username", map[string]Entry{"b": base, "c": base}, map[string]Entry{"a": base, "c": jsmith(entryMail("n@x"))}, nil,
			[]string{"a create", "b delete", "c update"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.prior, tt.next, tt.linkSet)
			if k := kinds(got); !reflect.DeepEqual(k, append([]string{}, tt.want...)) {
				t.Fatalf("Diff = %q, want %q", k, tt.want)
			}
			if tt.wantReason != "" && got[0].Reason != tt.wantReason {
				t.Errorf("reason = %q, want %q", got[0].Reason, tt.wantReason)
			}
		})
	}
}

// world is a randomized directory + PingID from which Plan inputs are derived, so that the
// apply of one plan can be simulated and planned again.
type world struct {
	options    Options
	directory  map[string]DirectoryUser // folded -> user; InScope users are those with inScope[key]
	inScope    map[string]bool
	pingID     map[string]PingIDUser // folded -> unmanaged PingID user
	admins     map[string]bool       // folded
	firstPrior map[string]Entry
}

func randomCase(rng *rand.Rand, s string) string {
	r := []rune(s)
	for i := range r {
		if rng.Intn(3) == 0 {
			r[i] = unicode.ToUpper(r[i])
		}
	}
	return string(r)
}

func randomWorld(rng *rand.Rand, n int) world {
	pick := func(values ...string) string { return values[rng.Intn(len(values))] }
	optional := func(values ...string) *string {
		if rng.Intn(5) == 0 {
			return nil
		}
		return strp(pick(values...))
	}
	w := world{
		options: Options{
			UserCreate: rng.Intn(2) == 0, UserUpdate: rng.Intn(2) == 0, UserDisableDelete: rng.Intn(2) == 0,
			ProvisionDisabledUsers: rng.Intn(2) == 0, RemoveAction: []RemoveAction{RemoveDisable, RemoveDelete}[rng.Intn(2)],
			MaxDeprovisions: rng.Intn(n/4+2) - 1, MaxDeprovisionsPercent: []float64{-1, 0, 5, 20, 50, 100}[rng.Intn(6)],
			ReactivateSuspendedUsers: rng.Intn(2) == 0,
			Mapping:                  Mapping{MapEmail: rng.Intn(3) > 0, MapFirstName: rng.Intn(3) > 0, MapLastName: rng.Intn(3) > 0},
		},
		directory: map[string]DirectoryUser{}, inScope: map[string]bool{}, pingID: map[string]PingIDUser{},
		admins: map[string]bool{}, firstPrior: map[string]Entry{},
	}
	states := []SourceState{SourceInScope, SourceDisabled, SourceOutOfScope, SourceDeleted}
	statuses := []string{"ACTIVE", "NOT_ACTIVE", "SUSPENDED", "PENDING_ACTIVATION"}
	for i := range n {
		name := fmt.Sprintf("user%d", i)
		key := FoldUsername(name)
		managed := rng.Intn(3) > 0
		if managed {
			w.firstPrior[randomCase(rng, name)] = Entry{
				DN: pick("uid=a", "uid=b"), Email: pick("a@x", "b@x", ""), FirstName: pick("A", "B"), LastName: pick("L", "M", ""),
				Enabled: rng.Intn(2) == 0, Status: statuses[rng.Intn(len(statuses))], SourceState: states[rng.Intn(len(states))],
			}
			w.admins[key] = rng.Intn(8) == 0
		} else if rng.Intn(2) == 0 {
			w.pingID[key] = PingIDUser{Username: randomCase(rng, name), Email: pick("a@x", "c@x"), FirstName: pick("A", "C"),
				LastName: pick("L", "N"), Status: statuses[rng.Intn(len(statuses))], Role: []string{"REGULAR", "REGULAR", RoleAdmin}[rng.Intn(3)]}
		}
		if rng.Intn(5) > 0 { // present in the directory
			w.directory[key] = DirectoryUser{Username: randomCase(rng, name), DN: pick("uid=a", "uid=b"), Enabled: rng.Intn(3) > 0,
				Email: optional("a@x", "b@x"), FirstName: optional("A", "B"), LastName: optional("L", "M")}
			w.inScope[key] = rng.Intn(4) > 0
		}
	}
	return w
}

// input derives what the provider would pass to Plan for a given (refreshed) prior state.
func (w world) input(prior map[string]Entry) Input {
	in := Input{Prior: prior, PriorAdmins: map[string]bool{}, OutOfScope: map[string]DirectoryUser{},
		Existing: map[string]PingIDUser{}, Options: w.options}
	managed := map[string]bool{}
	for username := range prior {
		key := FoldUsername(username)
		managed[key] = true
		if w.admins[key] {
			in.PriorAdmins[key] = true
		}
		if d, ok := w.directory[key]; ok && !w.inScope[key] {
			in.OutOfScope[key] = d
		}
	}
	for key, d := range w.directory {
		if !w.inScope[key] {
			continue
		}
		in.InScope = append(in.InScope, d)
		if u, ok := w.pingID[key]; ok && !managed[key] {
			in.Existing[key] = u
		}
	}
	return in
}

// TestPlanProperties runs Plan over randomized worlds and checks that apply's Diff agrees with
// it, that the applied plan converges (the next plan is empty), and the option invariants.
func TestPlanProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(20260125))
	for iteration := range 400 {
		w := randomWorld(rng, 60)
		in := w.input(w.firstPrior)
		res, err := Plan(in)
		var te *ThresholdError
		if err != nil && !errors.As(err, &te) {
			t.Fatalf("iteration %d: Plan: %v", iteration, err)
		}
		name := fmt.Sprintf("iteration %d options %+v", iteration, w.options)
		assertDiffAgrees(t, in.Prior, res)
		checkInvariants(t, name, in, res, te)

		// Apply stores the planned map verbatim; without drift the next plan must be empty.
		again, err := Plan(w.input(res.Planned))
		if err != nil {
			t.Fatalf("%s: second Plan: %v", name, err)
		}
		if len(again.Actions) != 0 || !reflect.DeepEqual(again.Planned, res.Planned) {
			t.Fatalf("%s: plan after apply is not empty: %v", name, describeActions(again.Actions))
		}
		// The same world with a prior state that Read produced (Refreshed), applied through a
		// model of PingID and refreshed again: the next plan must still be empty.
		for username, e := range w.firstPrior {
			w.firstPrior[username] = Refreshed(e, PingIDUser{Email: e.Email, FirstName: e.FirstName, LastName: e.LastName, Status: e.Status})
		}
		in = w.input(w.firstPrior)
		res, _ = Plan(in)
		refreshed := applyAndRefresh(res)
		again, err = Plan(w.input(refreshed))
		if err != nil {
			t.Fatalf("%s: Plan after apply and refresh: %v", name, err)
		}
		if len(again.Actions) != 0 || !reflect.DeepEqual(again.Planned, refreshed) {
			t.Fatalf("%s: plan after apply and refresh is not empty: %v", name, describeActions(again.Actions))
		}
		if t.Failed() {
			t.Fatalf("%s failed", name)
		}
	}
}

// applyAndRefresh models PingID executing the actions (a NOT_ACTIVE user cannot be suspended
// or activated; suspend and activate change the status; nothing else does) and returns what
// Read then stores.
func applyAndRefresh(res Result) map[string]Entry {
	status := map[string]string{}
	for username, e := range res.Planned {
		status[username] = e.Status
	}
	for _, a := range res.Actions {
		if a.Planned == nil {
			continue
		}
		s := a.Planned.Status
		switch {
		case !a.Planned.Enabled:
			// A disable always ends SUSPENDED: the executor activates a NOT_ACTIVE user first.
			s = StatusSuspended
		case a.Kind == KindCreate:
			s = StatusNotActive
		case s == StatusNotActive:
		case s == StatusSuspended:
			s = StatusActive
		}
		status[a.Username] = s
	}
	refreshed := make(map[string]Entry, len(res.Planned))
	for username, e := range res.Planned {
		refreshed[username] = Refreshed(e, PingIDUser{Username: username, Email: e.Email, FirstName: e.FirstName, LastName: e.LastName, Status: status[username]})
	}
	return refreshed
}

func describeActions(actions []Action) string {
	var b strings.Builder
	for _, a := range actions {
		fmt.Fprintf(&b, "\n  %s %s (%s) %v -> %v", a.Username, a.Kind, a.Reason, a.Prior, a.Planned)
	}
	return b.String()
}

func checkInvariants(t *testing.T, name string, in Input, res Result, te *ThresholdError) {
	t.Helper()
	o := in.Options
	deprovisions, links := 0, 0
	for _, a := range res.Actions {
		key := FoldUsername(a.Username)
		if !o.ReactivateSuspendedUsers && a.Kind == KindEnable && SuspendedOutside(*a.Prior) && !in.PriorAdmins[key] {
			t.Errorf("%s: %s, suspended outside Terraform, re-enabled without reactivate_suspended_users", name, a.Username)
		}
		if a.Kind == KindLink {
			links++
			if !o.ReactivateSuspendedUsers && in.Existing[key].Status == StatusSuspended && a.Planned.Enabled {
				t.Errorf("%s: suspended %s re-activated by its link without reactivate_suspended_users", name, a.Username)
			}
		}
		switch a.Kind {
		case KindCreate:
			if !o.UserCreate {
				t.Errorf("%s: %s created without user_create", name, a.Username)
			}
			if want := map[bool]string{true: StatusNotActive, false: StatusSuspended}[a.Planned.Enabled]; a.Planned.Status != want {
				t.Errorf("%s: %s created with status %q, want %q (what PingID then reports)", name, a.Username, a.Planned.Status, want)
			}
		case KindUpdate, KindEnable:
			if !o.UserUpdate {
				t.Errorf("%s: %s %s without user_update", name, a.Username, a.Kind)
			}
		case KindDisable, KindDelete:
			deprovisions++
			if !o.UserDisableDelete {
				t.Errorf("%s: %s %s without user_disable_delete", name, a.Username, a.Kind)
			}
		case KindLink:
			if in.Existing[key].Role == RoleAdmin {
				t.Errorf("%s: ADMIN %s linked", name, a.Username)
			}
			if in.Existing[key].Status != StatusSuspended && !a.Planned.Enabled {
				deprovisions++
			}
		case KindStateOnly:
			// Bookkeeping: checked by the rules below.
		}
		if in.PriorAdmins[key] && a.Kind != KindStateOnly {
			t.Errorf("%s: ADMIN %s gets %s", name, a.Username, a.Kind)
		}
		if a.Prior != nil && a.Planned != nil {
			p, q := *a.Prior, *a.Planned
			// Status is what the last read returned, except after a disable: suspenduser
			// always leaves the user SUSPENDED, so that is planned (and a refresh agrees).
			switch {
			case a.Kind == KindDisable && q.Status != StatusSuspended:
				t.Errorf("%s: %s disabled with planned status %q, want SUSPENDED", name, a.Username, q.Status)
			case a.Kind != KindDisable && p.Status != q.Status:
				t.Errorf("%s: %s status predicted %q -> %q", name, a.Username, p.Status, q.Status)
			}
			if (!o.MapEmail && p.Email != q.Email) || (!o.MapFirstName && p.FirstName != q.FirstName) || (!o.MapLastName && p.LastName != q.LastName) {
				t.Errorf("%s: %s unmapped field changed %v -> %v", name, a.Username, p, q)
			}
			if !o.UserUpdate && (p.Email != q.Email || p.FirstName != q.FirstName || p.LastName != q.LastName) {
				t.Errorf("%s: %s attributes changed without user_update", name, a.Username)
			}
		}
	}
	allowed := AllowedDeprovisions(o.MaxDeprovisionsPercent, len(in.Prior)+links)
	overCount := o.MaxDeprovisions >= 0 && deprovisions > o.MaxDeprovisions
	overPercent := allowed >= 0 && deprovisions > allowed
	if wantErr := overCount || overPercent; wantErr != (te != nil) {
		t.Errorf("%s: %d deprovisions with max %d and %d allowed by the share, threshold error %v", name, deprovisions, o.MaxDeprovisions, allowed, te)
	}
	if te != nil && (te.Both != (overCount && overPercent) || (te.Brake == BrakePercent) == overCount) {
		t.Errorf("%s: threshold error names %s (both %v), want count %v, percent %v", name, te.Brake, te.Both, overCount, overPercent)
	}
	if te != nil && len(te.Users) != deprovisions {
		t.Errorf("%s: threshold error lists %d users, want %d", name, len(te.Users), deprovisions)
	}
	for username, e := range res.Planned {
		if back, err := ParseEntry(e.JSON()); err != nil || back != e {
			t.Errorf("%s: %s does not round-trip: %v", name, username, err)
		}
	}
	// Every in-scope, enabled, non-ADMIN user is managed when creating is on.
	planned := map[string]bool{}
	for username := range res.Planned {
		planned[FoldUsername(username)] = true
	}
	for _, d := range in.InScope {
		key := FoldUsername(d.Username)
		if o.UserCreate && d.Enabled && in.Existing[key].Role != RoleAdmin && !planned[key] {
			t.Errorf("%s: in-scope %s is not planned", name, d.Username)
		}
	}
}

package reconcile

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Issue 16: a linked user's plan entry shows only the new values; LinkDetails says what each
// link overwrites in PingID (old -> new), and FormatLinkDetails lists at most 50 of them.
func TestLinkDetailsShowWhatTheLinkOverwrites(t *testing.T) {
	in := planCase{
		inScope: []DirectoryUser{
			dirJSmith(),
			dirJSmith(func(d *DirectoryUser) { d.Username, d.DN = "adoe", "uid=adoe,ou=people,dc=example,dc=com" }),
			dirJSmith(func(d *DirectoryUser) { d.Username = "new" }), // created: not a link
		},
		existing: []PingIDUser{
			pingJSmith(), // old@example.com, Johnny
			{Username: "adoe", Email: "jsmith@example.com", FirstName: "John", LastName: "Smith", Status: StatusActive, Role: "REGULAR"},
		},
	}.input()
	res, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []LinkDetail{
		{Username: "adoe"}, // already as the directory says
		{Username: "jsmith", Changes: []FieldChange{{"email", "old@example.com", "jsmith@example.com"}, {"first_name", "Johnny", "John"}}},
	}
	if got := res.LinkDetails(); !reflect.DeepEqual(got, want) {
		t.Fatalf("LinkDetails = %+v, want %+v", got, want)
	}
	wantText := "  adoe: no PingID field changes\n" +
		`  jsmith: email "old@example.com" -> "jsmith@example.com", first_name "Johnny" -> "John"`
	if got := FormatLinkDetails(res.LinkDetails()); got != wantText {
		t.Errorf("FormatLinkDetails:\n%s\nwant\n%s", got, wantText)
	}
}

func TestLinkDetailsSuspendingLinkAndMissingValues(t *testing.T) {
	in := planCase{
		inScope:  []DirectoryUser{dirJSmith(dirDisabled)},
		existing: []PingIDUser{pingJSmith(func(u *PingIDUser) { u.Email = "" })},
	}.input()
	res, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	got := FormatLinkDetails(res.LinkDetails())
	want := `  jsmith: email (none) -> "jsmith@example.com", enabled true -> false, first_name "Johnny" -> "John"`
	if got != want {
		t.Errorf("FormatLinkDetails:\n%s\nwant\n%s", got, want)
	}
}

func TestFormatLinkDetailsCapsAt50(t *testing.T) {
	var details []LinkDetail
	for i := range 53 {
		details = append(details, LinkDetail{Username: fmt.Sprintf("u%02d", i), Changes: []FieldChange{{"email", "a", "b"}}})
	}
	got := FormatLinkDetails(details)
	lines := strings.Split(got, "\n")
	if len(lines) != 51 || !strings.HasPrefix(lines[49], "  u49: ") || lines[50] != "  ... and 3 more linked users" {
		t.Errorf("want 50 users and a count of the rest, got %d lines:\n%s", len(lines), got)
	}
}

func TestOutcomeCountsDoneAndFailed(t *testing.T) {
	var o Outcome
	for _, r := range []struct {
		kind   ActionKind
		failed bool
	}{{KindCreate, false}, {KindCreate, false}, {KindCreate, true}, {KindDisable, false}, {KindStateOnly, false}, {KindLink, true}} {
		o.Record(r.kind, r.failed)
	}
	if got, want := o.String(), "done: 2 created, 1 disabled; failed: 1 create, 1 link"; got != want {
		t.Errorf("Outcome = %q, want %q", got, want)
	}
	var none Outcome
	none.Record(KindUpdate, true)
	if got, want := none.String(), "done: nothing; failed: 1 update"; got != want {
		t.Errorf("Outcome = %q, want %q", got, want)
	}
}

// Issue 16: a directory entry without mail is planned without an email (no "email" key), and
// an empty directory value never replaces the email PingID has.
func TestPlanNoMailMeansNoEmail(t *testing.T) {
	res, err := Plan(planCase{inScope: []DirectoryUser{dirJSmith(func(d *DirectoryUser) { d.Email = nil })}}.input())
	if err != nil {
		t.Fatal(err)
	}
	if js := res.Planned["jsmith"].JSON(); strings.Contains(js, `"email"`) {
		t.Errorf("created user without mail planned with an email key: %s", js)
	}
	runPlanCases(t, []planCase{{
		name:        "an empty mail value does not clear the email PingID has",
		prior:       map[string]Entry{"jsmith": jsmith()},
		inScope:     []DirectoryUser{dirJSmith(dirMail(""))},
		wantPlanned: map[string]Entry{"jsmith": jsmith()},
	}, {
		name:        "an empty mail value creates a user without email",
		inScope:     []DirectoryUser{dirJSmith(dirMail(""))},
		wantPlanned: map[string]Entry{"jsmith": jsmith(entryMail(""), entryStatus(StatusNotActive))},
		wantActions: []string{"jsmith create"},
	}})
}

// State written by earlier versions holds "email":"" for users without one: it reads as no
// email, and keeps its spelling, so an upgrade rewrites no user's value and plans nothing.
func TestParseEntryEmptyEmailOldAndNewForm(t *testing.T) {
	old := `{"dn":"uid=x","email":"","enabled":true,"first_name":"X","last_name":"Y","source_state":"in_scope","status":"ACTIVE"}`
	current := `{"dn":"uid=x","enabled":true,"first_name":"X","last_name":"Y","source_state":"in_scope","status":"ACTIVE"}`
	for _, form := range []string{old, current} {
		for _, s := range []string{form, strings.ReplaceAll(form, ",", ", ")} { // the fast and the general path
			e, err := ParseEntry(s)
			if err != nil {
				t.Fatal(err)
			}
			if e.Email != "" {
				t.Errorf("%s: email %q", s, e.Email)
			}
			if got := e.JSON(); got != form {
				t.Errorf("%s: JSON = %s, want it as it was", s, got)
			}
			refreshed := Refreshed(e, PingIDUser{FirstName: "X", LastName: "Y", Status: StatusActive})
			if refreshed != e || refreshed.JSON() != form {
				t.Errorf("%s: refresh rewrote the entry: %s", s, refreshed.JSON())
			}
		}
	}
	// An old entry that gets an email is written in the current form from then on.
	e, _ := ParseEntry(old)
	e.Email = "x@example.com"
	if got := e.JSON(); !strings.Contains(got, `"email":"x@example.com"`) {
		t.Errorf("JSON = %s", got)
	}
}

func TestPlannedDisableIsSuspendedInDestroy(t *testing.T) {
	actions, te := DestroyActions(map[string]Entry{"jsmith": jsmith(entryStatus(StatusNotActive))}, nil, RemoveDisable, -1, -1)
	if te != nil || len(actions) != 1 || actions[0].Planned.Status != StatusSuspended {
		t.Fatalf("destroy disable: %+v, %v", actions, te)
	}
}

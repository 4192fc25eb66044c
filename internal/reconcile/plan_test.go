package reconcile

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	dnJ      = "uid=jsmith,ou=people,dc=example,dc=com"
	dnJMoved = "uid=jsmith,ou=former,dc=example,dc=com"
)

func strp(s string) *string { return &s }

// jsmith is the managed entry that matches dirJSmith exactly.
func jsmith(edit ...func(*Entry)) Entry {
	e := Entry{DN: dnJ, Email: "jsmith@example.com", FirstName: "John", LastName: "Smith", Enabled: true, Status: "ACTIVE", SourceState: SourceInScope}
	for _, f := range edit {
		f(&e)
	}
	return e
}

func dirJSmith(edit ...func(*DirectoryUser)) DirectoryUser {
	d := DirectoryUser{Username: "jsmith", DN: dnJ, Enabled: true, Email: strp("jsmith@example.com"), FirstName: strp("John"), LastName: strp("Smith")}
	for _, f := range edit {
		f(&d)
	}
	return d
}

func pingJSmith(edit ...func(*PingIDUser)) PingIDUser {
	u := PingIDUser{Username: "jsmith", Email: "old@example.com", FirstName: "Johnny", LastName: "Smith", Status: "ACTIVE", Role: "REGULAR"}
	for _, f := range edit {
		f(&u)
	}
	return u
}

func disabledEntry(state SourceState) func(*Entry) {
	return func(e *Entry) { e.Enabled = false; e.SourceState = state }
}
func inState(state SourceState) func(*Entry) { return func(e *Entry) { e.SourceState = state } }
func dirDisabled(d *DirectoryUser)           { d.Enabled = false }
func dirMail(mail string) func(*DirectoryUser) {
	return func(d *DirectoryUser) { d.Email = strp(mail) }
}
func entryMail(mail string) func(*Entry)         { return func(e *Entry) { e.Email = mail } }
func entryMoved() func(*Entry)                   { return func(e *Entry) { e.DN = dnJMoved } }
func entryStatus(status string) func(*Entry)     { return func(e *Entry) { e.Status = status } }
func pingStatus(status string) func(*PingIDUser) { return func(u *PingIDUser) { u.Status = status } }
func optionsWith(edit ...func(*Options)) func(*Options) {
	return func(o *Options) {
		for _, f := range edit {
			f(o)
		}
	}
}

var (
	noCreate          = func(o *Options) { o.UserCreate = false }
	noUpdate          = func(o *Options) { o.UserUpdate = false }
	noDisableDelete   = func(o *Options) { o.UserDisableDelete = false }
	noProvisionDisabl = func(o *Options) { o.ProvisionDisabledUsers = false }
	deleteMode        = func(o *Options) { o.RemoveAction = RemoveDelete }
	unmapEmail        = func(o *Options) { o.MapEmail = false }
	reactivate        = func(o *Options) { o.ReactivateSuspendedUsers = true }
)

// defaultOptions are the Provisioner defaults with every field mapped and no threshold.
func defaultOptions() Options {
	return Options{UserCreate: true, UserUpdate: true, UserDisableDelete: true, ProvisionDisabledUsers: true,
		RemoveAction: RemoveDisable, MaxDeprovisions: -1, MaxDeprovisionsPercent: -1, Mapping: Mapping{MapEmail: true, MapFirstName: true, MapLastName: true}}
}

type planCase struct {
	name                string
	options             func(*Options)
	prior               map[string]Entry
	admins              []string // as stored; folded by the harness
	inScope             []DirectoryUser
	outOfScope          []DirectoryUser
	existing            []PingIDUser
	wantPlanned         map[string]Entry
	wantActions         []string          // "username kind"
	wantReasons         map[string]string // username -> expected reason
	wantChanges         map[string][]FieldChange
	wantSkippedAdmins   []string
	wantSkippedDisabled []string
	wantLeftSuspended   []string
	wantReactivated     []string
}

func (c planCase) input() Input {
	in := Input{Prior: c.prior, PriorAdmins: map[string]bool{}, InScope: c.inScope,
		OutOfScope: map[string]DirectoryUser{}, Existing: map[string]PingIDUser{}, Options: defaultOptions()}
	if c.options != nil {
		c.options(&in.Options)
	}
	if in.Prior == nil {
		in.Prior = map[string]Entry{}
	}
	for _, a := range c.admins {
		in.PriorAdmins[FoldUsername(a)] = true
	}
	for _, d := range c.outOfScope {
		in.OutOfScope[FoldUsername(d.Username)] = d
	}
	for _, u := range c.existing {
		in.Existing[FoldUsername(u.Username)] = u
	}
	return in
}

func runPlanCases(t *testing.T, cases []planCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.input()
			res, err := Plan(in)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			want := c.wantPlanned
			if want == nil {
				want = map[string]Entry{}
			}
			if !reflect.DeepEqual(res.Planned, want) {
				t.Errorf("Planned:\n got %v\nwant %v", res.Planned, want)
			}
			var got []string
			for _, a := range res.Actions {
				got = append(got, a.Username+" "+string(a.Kind))
				if r, ok := c.wantReasons[a.Username]; ok && a.Reason != r {
					t.Errorf("%s reason = %q, want %q", a.Username, a.Reason, r)
				}
				if ch, ok := c.wantChanges[a.Username]; ok && !reflect.DeepEqual(a.Changes, ch) {
					t.Errorf("%s changes = %v, want %v", a.Username, a.Changes, ch)
				}
			}
			if !slices.Equal(got, c.wantActions) {
				t.Errorf("actions = %q, want %q", got, c.wantActions)
			}
			if !slices.Equal(res.Summary.SkippedAdmins, c.wantSkippedAdmins) {
				t.Errorf("SkippedAdmins = %q, want %q", res.Summary.SkippedAdmins, c.wantSkippedAdmins)
			}
			if !slices.Equal(res.Summary.SkippedDisabled, c.wantSkippedDisabled) {
				t.Errorf("SkippedDisabled = %q, want %q", res.Summary.SkippedDisabled, c.wantSkippedDisabled)
			}
			if !slices.Equal(res.Summary.LeftSuspended, c.wantLeftSuspended) {
				t.Errorf("LeftSuspended = %q, want %q", res.Summary.LeftSuspended, c.wantLeftSuspended)
			}
			if !slices.Equal(res.Summary.Reactivated, c.wantReactivated) {
				t.Errorf("Reactivated = %q, want %q", res.Summary.Reactivated, c.wantReactivated)
			}
			// Every plan must be reproducible from the maps alone at apply.
			assertDiffAgrees(t, in.Prior, res)
		})
	}
}

func TestPlanNewUsers(t *testing.T) {
	created := Entry{DN: dnJ, Email: "jsmith@example.com", FirstName: "John", LastName: "Smith", Enabled: true, Status: StatusNotActive, SourceState: SourceInScope}
	createdDisabled := created
	createdDisabled.Enabled = false
	createdDisabled.SourceState = SourceDisabled
	createdDisabled.Status = StatusSuspended // added, then suspended: what PingID then reports
	createdNoMail := created
	createdNoMail.Email = ""
	runPlanCases(t, []planCase{{
		name:        "in scope, not in PingID: created with the directory spelling",
		inScope:     []DirectoryUser{dirJSmith(func(d *DirectoryUser) { d.Username = "JSmith" })},
		wantPlanned: map[string]Entry{"JSmith": created},
		wantActions: []string{"JSmith create"},
		wantReasons: map[string]string{"JSmith": "in scope, not in PingID"},
		wantChanges: map[string][]FieldChange{"JSmith": {
			{"dn", "", dnJ}, {"email", "", "jsmith@example.com"}, {"enabled", "false", "true"}, {"first_name", "", "John"},
			{"last_name", "", "Smith"}, {"source_state", "", "in_scope"}, {"status", "", "NOT_ACTIVE"}}},
	}, {
		name:    "user_create = false creates no one",
		options: noCreate,
		inScope: []DirectoryUser{dirJSmith(), dirJSmith(func(d *DirectoryUser) { d.Username = "ann"; d.Enabled = false })},
	}, {
		name:        "disabled directory user is created disabled (provision_disabled_users)",
		inScope:     []DirectoryUser{dirJSmith(dirDisabled)},
		wantPlanned: map[string]Entry{"jsmith": createdDisabled},
		wantActions: []string{"jsmith create"},
		wantReasons: map[string]string{"jsmith": "disabled in directory, created disabled"},
	}, {
		name:                "disabled directory user is not created without provision_disabled_users",
		options:             noProvisionDisabl,
		inScope:             []DirectoryUser{dirJSmith(dirDisabled)},
		wantSkippedDisabled: []string{"jsmith"},
	}, {
		name:                "disabled directory user is not created when removal deletes (no delete/re-create cycle)",
		options:             deleteMode,
		inScope:             []DirectoryUser{dirJSmith(dirDisabled)},
		wantSkippedDisabled: []string{"jsmith"},
	}, {
		name:        "remove_user_action delete without user_disable_delete still provisions disabled users",
		options:     optionsWith(deleteMode, noDisableDelete),
		inScope:     []DirectoryUser{dirJSmith(dirDisabled)},
		wantPlanned: map[string]Entry{"jsmith": createdDisabled},
		wantActions: []string{"jsmith create"},
	}, {
		name:        "unmapped field is not set",
		options:     unmapEmail,
		inScope:     []DirectoryUser{dirJSmith()},
		wantPlanned: map[string]Entry{"jsmith": createdNoMail},
		wantActions: []string{"jsmith create"},
	}, {
		name:        "missing directory value stays empty",
		inScope:     []DirectoryUser{dirJSmith(func(d *DirectoryUser) { d.Email = nil })},
		wantPlanned: map[string]Entry{"jsmith": createdNoMail},
		wantActions: []string{"jsmith create"},
	}})
}

func TestPlanLinksExistingUsers(t *testing.T) {
	linked := Entry{DN: dnJ, Email: "jsmith@example.com", FirstName: "John", LastName: "Smith", Enabled: true, Status: "ACTIVE", SourceState: SourceInScope}
	asIs := Entry{DN: dnJ, Email: "old@example.com", FirstName: "Johnny", LastName: "Smith", Enabled: true, Status: "ACTIVE", SourceState: SourceInScope}
	with := func(e Entry, f func(*Entry)) Entry { f(&e); return e }
	runPlanCases(t, []planCase{{
		name:        "JSmith in the directory links jsmith and keeps the PingID spelling",
		inScope:     []DirectoryUser{dirJSmith(func(d *DirectoryUser) { d.Username = "JSmith" })},
		existing:    []PingIDUser{pingJSmith()},
		wantPlanned: map[string]Entry{"jsmith": linked},
		wantActions: []string{"jsmith link"},
		wantReasons: map[string]string{"jsmith": "existing PingID user linked; email, first_name changed"},
		wantChanges: map[string][]FieldChange{"jsmith": {{"email", "old@example.com", "jsmith@example.com"}, {"first_name", "Johnny", "John"}}},
	}, {
		name:        "user_update = false links without changing attributes",
		options:     noUpdate,
		inScope:     []DirectoryUser{dirJSmith()},
		existing:    []PingIDUser{pingJSmith()},
		wantPlanned: map[string]Entry{"jsmith": asIs},
		wantActions: []string{"jsmith link"},
		wantChanges: map[string][]FieldChange{"jsmith": nil},
	}, {
		name:        "unmapped and missing values keep the PingID values",
		options:     unmapEmail,
		inScope:     []DirectoryUser{dirJSmith(func(d *DirectoryUser) { d.FirstName = nil })},
		existing:    []PingIDUser{pingJSmith()},
		wantPlanned: map[string]Entry{"jsmith": asIs},
		wantActions: []string{"jsmith link"},
	}, {
		name:        "linking needs no user_create",
		options:     noCreate,
		inScope:     []DirectoryUser{dirJSmith()},
		existing:    []PingIDUser{pingJSmith()},
		wantPlanned: map[string]Entry{"jsmith": linked},
		wantActions: []string{"jsmith link"},
	}, {
		name:              "an existing ADMIN is never linked",
		inScope:           []DirectoryUser{dirJSmith(func(d *DirectoryUser) { d.Username = "JSMITH" })},
		existing:          []PingIDUser{pingJSmith(func(u *PingIDUser) { u.Role = RoleAdmin })},
		wantSkippedAdmins: []string{"jsmith"},
	}, {
		name:              "a suspended PingID user is linked and left suspended",
		inScope:           []DirectoryUser{dirJSmith()},
		existing:          []PingIDUser{pingJSmith(pingStatus(StatusSuspended))},
		wantPlanned:       map[string]Entry{"jsmith": with(linked, func(e *Entry) { e.Enabled = false; e.Status = StatusSuspended })},
		wantActions:       []string{"jsmith link"},
		wantReasons:       map[string]string{"jsmith": "existing PingID user linked, left suspended (suspended in PingID); email, first_name changed"},
		wantLeftSuspended: []string{"jsmith"},
	}, {
		name:            "a suspended PingID user is re-activated on link with reactivate_suspended_users",
		options:         reactivate,
		inScope:         []DirectoryUser{dirJSmith()},
		existing:        []PingIDUser{pingJSmith(pingStatus(StatusSuspended))},
		wantPlanned:     map[string]Entry{"jsmith": with(linked, entryStatus(StatusSuspended))},
		wantActions:     []string{"jsmith link"},
		wantReasons:     map[string]string{"jsmith": "existing PingID user linked, re-activated (suspended outside Terraform); email, first_name changed"},
		wantReactivated: []string{"jsmith"},
	}, {
		name:              "a suspended PingID user stays suspended on link without user_update, even with reactivate_suspended_users",
		options:           optionsWith(noUpdate, reactivate),
		inScope:           []DirectoryUser{dirJSmith()},
		existing:          []PingIDUser{pingJSmith(pingStatus(StatusSuspended))},
		wantPlanned:       map[string]Entry{"jsmith": with(asIs, func(e *Entry) { e.Enabled = false; e.Status = StatusSuspended })},
		wantActions:       []string{"jsmith link"},
		wantLeftSuspended: []string{"jsmith"},
	}, {
		name:        "a never-activated PingID user is linked enabled, not listed as left suspended",
		inScope:     []DirectoryUser{dirJSmith()},
		existing:    []PingIDUser{pingJSmith(pingStatus(StatusNotActive))},
		wantPlanned: map[string]Entry{"jsmith": with(linked, entryStatus(StatusNotActive))},
		wantActions: []string{"jsmith link"},
	}, {
		name:        "a suspended PingID user disabled in the directory is linked as it is",
		inScope:     []DirectoryUser{dirJSmith(dirDisabled)},
		existing:    []PingIDUser{pingJSmith(pingStatus(StatusSuspended))},
		wantPlanned: map[string]Entry{"jsmith": with(linked, func(e *Entry) { e.Enabled = false; e.Status = StatusSuspended; e.SourceState = SourceDisabled })},
		wantActions: []string{"jsmith link"},
		wantReasons: map[string]string{"jsmith": "existing PingID user linked; disabled in directory; email, first_name changed"},
	}, {
		name:        "a disabled directory user is linked and suspended",
		inScope:     []DirectoryUser{dirJSmith(dirDisabled)},
		existing:    []PingIDUser{pingJSmith()},
		wantPlanned: map[string]Entry{"jsmith": with(with(linked, disabledEntry(SourceDisabled)), entryStatus(StatusSuspended))},
		wantActions: []string{"jsmith link"},
		wantReasons: map[string]string{"jsmith": "existing PingID user linked; disabled in directory, suspended; email, first_name changed"},
	}, {
		name:        "a disabled directory user is linked as is without user_disable_delete",
		options:     optionsWith(noDisableDelete, noUpdate),
		inScope:     []DirectoryUser{dirJSmith(dirDisabled)},
		existing:    []PingIDUser{pingJSmith()},
		wantPlanned: map[string]Entry{"jsmith": with(asIs, inState(SourceDisabled))},
		wantActions: []string{"jsmith link"},
	}, {
		name:                "a disabled directory user is not linked without provision_disabled_users",
		options:             noProvisionDisabl,
		inScope:             []DirectoryUser{dirJSmith(dirDisabled)},
		existing:            []PingIDUser{pingJSmith()},
		wantSkippedDisabled: []string{"jsmith"},
	}})
}

func TestPlanManagedUsersInScope(t *testing.T) {
	runPlanCases(t, []planCase{{
		name:        "nothing changed: no action",
		prior:       map[string]Entry{"jsmith": jsmith()},
		inScope:     []DirectoryUser{dirJSmith()},
		wantPlanned: map[string]Entry{"jsmith": jsmith()},
	}, {
		name:        "matching is case-insensitive and the stored spelling is kept",
		prior:       map[string]Entry{"jsmith": jsmith()},
		inScope:     []DirectoryUser{dirJSmith(func(d *DirectoryUser) { d.Username = "JSmith" })},
		wantPlanned: map[string]Entry{"jsmith": jsmith()},
	}, {
		name:        "mapped attribute changed: update with exactly that change",
		prior:       map[string]Entry{"jsmith": jsmith()},
		inScope:     []DirectoryUser{dirJSmith(dirMail("john.smith@example.com"))},
		wantPlanned: map[string]Entry{"jsmith": jsmith(entryMail("john.smith@example.com"))},
		wantActions: []string{"jsmith update"},
		wantReasons: map[string]string{"jsmith": "email changed"},
		wantChanges: map[string][]FieldChange{"jsmith": {{"email", "jsmith@example.com", "john.smith@example.com"}}},
	}, {
		name:        "user_update = false: no update",
		options:     noUpdate,
		prior:       map[string]Entry{"jsmith": jsmith()},
		inScope:     []DirectoryUser{dirJSmith(dirMail("john.smith@example.com"))},
		wantPlanned: map[string]Entry{"jsmith": jsmith()},
	}, {
		name:        "unmapped attribute changed: no diff",
		options:     unmapEmail,
		prior:       map[string]Entry{"jsmith": jsmith()},
		inScope:     []DirectoryUser{dirJSmith(dirMail("john.smith@example.com"))},
		wantPlanned: map[string]Entry{"jsmith": jsmith()},
	}, {
		name:        "attribute missing in the directory keeps the PingID value",
		prior:       map[string]Entry{"jsmith": jsmith()},
		inScope:     []DirectoryUser{dirJSmith(func(d *DirectoryUser) { d.Email, d.LastName = nil, nil })},
		wantPlanned: map[string]Entry{"jsmith": jsmith()},
	}, {
		name:        "drift: attribute changed in PingID is corrected",
		prior:       map[string]Entry{"jsmith": jsmith(func(e *Entry) { e.LastName = "Smyth" })},
		inScope:     []DirectoryUser{dirJSmith()},
		wantPlanned: map[string]Entry{"jsmith": jsmith()},
		wantActions: []string{"jsmith update"},
		wantReasons: map[string]string{"jsmith": "last_name changed"},
	}, {
		name:        "DN changed only: bookkeeping",
		prior:       map[string]Entry{"jsmith": jsmith(entryMoved())},
		inScope:     []DirectoryUser{dirJSmith()},
		wantPlanned: map[string]Entry{"jsmith": jsmith()},
		wantActions: []string{"jsmith state_only"},
		wantReasons: map[string]string{"jsmith": "DN changed"},
	}, {
		name:        "status is copied from the refreshed entry",
		prior:       map[string]Entry{"jsmith": jsmith(entryStatus("PENDING_ACTIVATION"))},
		inScope:     []DirectoryUser{dirJSmith()},
		wantPlanned: map[string]Entry{"jsmith": jsmith(entryStatus("PENDING_ACTIVATION"))},
	}, {
		name:        "re-enabled in the directory: enable",
		prior:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDisabled), entryStatus(StatusSuspended))},
		inScope:     []DirectoryUser{dirJSmith()},
		wantPlanned: map[string]Entry{"jsmith": jsmith(entryStatus(StatusSuspended))},
		wantActions: []string{"jsmith enable"},
		wantReasons: map[string]string{"jsmith": "re-enabled in directory"},
	}, {
		name:        "re-enabled in the directory without user_update: stays disabled, and keeps the state it was suspended for",
		options:     noUpdate,
		prior:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDisabled), entryStatus(StatusSuspended))},
		inScope:     []DirectoryUser{dirJSmith()},
		wantPlanned: map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDisabled), entryStatus(StatusSuspended))},
	}, {
		name:        "back in the group without user_update, moved: bookkeeping only",
		options:     noUpdate,
		prior:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceOutOfScope), entryStatus(StatusSuspended), entryMoved())},
		inScope:     []DirectoryUser{dirJSmith()},
		wantPlanned: map[string]Entry{"jsmith": jsmith(disabledEntry(SourceOutOfScope), entryStatus(StatusSuspended))},
		wantActions: []string{"jsmith state_only"},
		wantReasons: map[string]string{"jsmith": "DN changed; stays disabled: user_update = false"},
	}, {
		name:        "back in the group: enable with the attribute change",
		prior:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceOutOfScope), entryMoved())},
		inScope:     []DirectoryUser{dirJSmith(dirMail("new@example.com"))},
		wantPlanned: map[string]Entry{"jsmith": jsmith(entryMail("new@example.com"))},
		wantActions: []string{"jsmith enable"},
		wantReasons: map[string]string{"jsmith": "back in group/filter; email changed"},
		wantChanges: map[string][]FieldChange{"jsmith": {{"dn", dnJMoved, dnJ}, {"email", "jsmith@example.com", "new@example.com"},
			{"enabled", "false", "true"}, {"source_state", "out_of_scope", "in_scope"}}},
	}, {
		name:        "back in the directory after deletion: enable",
		prior:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDeleted))},
		inScope:     []DirectoryUser{dirJSmith()},
		wantPlanned: map[string]Entry{"jsmith": jsmith()},
		wantActions: []string{"jsmith enable"},
		wantReasons: map[string]string{"jsmith": "back in directory and in scope"},
	}, {
		name:              "suspended outside Terraform while in scope: left suspended, attributes still updated",
		prior:             map[string]Entry{"jsmith": jsmith(disabledEntry(SourceInScope), entryStatus(StatusSuspended), entryMail("old@example.com"))},
		inScope:           []DirectoryUser{dirJSmith()},
		wantPlanned:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceInScope), entryStatus(StatusSuspended))},
		wantActions:       []string{"jsmith update"},
		wantReasons:       map[string]string{"jsmith": "email changed"},
		wantLeftSuspended: []string{"jsmith"},
	}, {
		name:              "suspended outside Terraform and unchanged: no action, so the next plan is empty",
		prior:             map[string]Entry{"jsmith": jsmith(disabledEntry(SourceInScope), entryStatus(StatusSuspended))},
		inScope:           []DirectoryUser{dirJSmith()},
		wantPlanned:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceInScope), entryStatus(StatusSuspended))},
		wantLeftSuspended: []string{"jsmith"},
	}, {
		name:            "suspended outside Terraform with reactivate_suspended_users: enabled",
		options:         reactivate,
		prior:           map[string]Entry{"jsmith": jsmith(disabledEntry(SourceInScope), entryStatus(StatusSuspended))},
		inScope:         []DirectoryUser{dirJSmith()},
		wantPlanned:     map[string]Entry{"jsmith": jsmith(entryStatus(StatusSuspended))},
		wantActions:     []string{"jsmith enable"},
		wantReasons:     map[string]string{"jsmith": "suspended outside Terraform"},
		wantReactivated: []string{"jsmith"},
	}, {
		name:              "reactivate_suspended_users needs user_update",
		options:           optionsWith(reactivate, noUpdate),
		prior:             map[string]Entry{"jsmith": jsmith(disabledEntry(SourceInScope), entryStatus(StatusSuspended))},
		inScope:           []DirectoryUser{dirJSmith()},
		wantPlanned:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceInScope), entryStatus(StatusSuspended))},
		wantLeftSuspended: []string{"jsmith"},
	}, {
		name:        "recorded as disabled but not SUSPENDED in PingID (never activated): re-enabled as before",
		prior:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceInScope), entryStatus(StatusNotActive))},
		inScope:     []DirectoryUser{dirJSmith()},
		wantPlanned: map[string]Entry{"jsmith": jsmith(entryStatus(StatusNotActive))},
		wantActions: []string{"jsmith enable"},
	}, {
		name:        "suspended outside Terraform, then disabled in the directory: bookkeeping only, no suspend call",
		prior:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceInScope), entryStatus(StatusSuspended))},
		inScope:     []DirectoryUser{dirJSmith(dirDisabled)},
		wantPlanned: map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDisabled), entryStatus(StatusSuspended))},
		wantActions: []string{"jsmith state_only"},
	}, {
		name:              "an ADMIN suspended outside Terraform is withheld, not listed as left suspended",
		options:           reactivate,
		admins:            []string{"jsmith"},
		prior:             map[string]Entry{"jsmith": jsmith(disabledEntry(SourceInScope), entryStatus(StatusSuspended))},
		inScope:           []DirectoryUser{dirJSmith()},
		wantPlanned:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceInScope), entryStatus(StatusSuspended))},
		wantSkippedAdmins: []string{"jsmith"},
	}})
}

func TestPlanDeprovisioning(t *testing.T) {
	runPlanCases(t, []planCase{{
		name:        "disabled in the directory: disable",
		prior:       map[string]Entry{"jsmith": jsmith()},
		inScope:     []DirectoryUser{dirJSmith(dirDisabled)},
		wantPlanned: map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDisabled), entryStatus(StatusSuspended))},
		wantActions: []string{"jsmith disable"},
		wantReasons: map[string]string{"jsmith": "disabled in directory"},
		// status is planned as PingID will report it, so the refresh after apply is no change.
		wantChanges: map[string][]FieldChange{"jsmith": {{"enabled", "true", "false"}, {"source_state", "in_scope", "disabled"}, {"status", "ACTIVE", "SUSPENDED"}}},
	}, {
		name:        "disabled in the directory with an attribute change: disable carrying the update",
		prior:       map[string]Entry{"jsmith": jsmith()},
		inScope:     []DirectoryUser{dirJSmith(dirDisabled, dirMail("new@example.com"))},
		wantPlanned: map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDisabled), entryMail("new@example.com"), entryStatus(StatusSuspended))},
		wantActions: []string{"jsmith disable"},
		wantReasons: map[string]string{"jsmith": "disabled in directory; email changed"},
	}, {
		name:        "disabled in the directory, remove_user_action delete: delete",
		options:     deleteMode,
		prior:       map[string]Entry{"jsmith": jsmith()},
		inScope:     []DirectoryUser{dirJSmith(dirDisabled)},
		wantActions: []string{"jsmith delete"},
		wantReasons: map[string]string{"jsmith": "disabled in directory"},
	}, {
		name:        "disabled in the directory without user_disable_delete: bookkeeping only",
		options:     noDisableDelete,
		prior:       map[string]Entry{"jsmith": jsmith()},
		inScope:     []DirectoryUser{dirJSmith(dirDisabled)},
		wantPlanned: map[string]Entry{"jsmith": jsmith(inState(SourceDisabled))},
		wantActions: []string{"jsmith state_only"},
		wantReasons: map[string]string{"jsmith": "disabled in directory; not deprovisioned: user_disable_delete = false"},
	}, {
		name:        "already disabled: nothing to do",
		prior:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDisabled))},
		inScope:     []DirectoryUser{dirJSmith(dirDisabled)},
		wantPlanned: map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDisabled))},
	}, {
		name:        "created disabled, delete mode: deleted (level-triggered, not flapping)",
		options:     deleteMode,
		prior:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDisabled))},
		inScope:     []DirectoryUser{dirJSmith(dirDisabled)},
		wantActions: []string{"jsmith delete"},
	}, {
		name:        "left the group: disable, DN from the directory",
		prior:       map[string]Entry{"jsmith": jsmith()},
		outOfScope:  []DirectoryUser{dirJSmith(func(d *DirectoryUser) { d.DN = dnJMoved; d.Email = strp("ignored@example.com") })},
		wantPlanned: map[string]Entry{"jsmith": jsmith(disabledEntry(SourceOutOfScope), entryMoved(), entryStatus(StatusSuspended))},
		wantActions: []string{"jsmith disable"},
		wantReasons: map[string]string{"jsmith": "left group/filter"},
	}, {
		name:        "deleted from the directory: disable, DN kept",
		prior:       map[string]Entry{"jsmith": jsmith()},
		wantPlanned: map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDeleted), entryStatus(StatusSuspended))},
		wantActions: []string{"jsmith disable"},
		wantReasons: map[string]string{"jsmith": "deleted from directory"},
	}, {
		name:        "left the group, delete mode: delete",
		options:     deleteMode,
		prior:       map[string]Entry{"jsmith": jsmith(), "ann": jsmith(disabledEntry(SourceOutOfScope))},
		outOfScope:  []DirectoryUser{dirJSmith()},
		wantActions: []string{"ann delete", "jsmith delete"},
		wantReasons: map[string]string{"jsmith": "left group/filter", "ann": "deleted from directory"},
	}, {
		name:        "left the group without user_disable_delete: bookkeeping only",
		options:     noDisableDelete,
		prior:       map[string]Entry{"jsmith": jsmith()},
		outOfScope:  []DirectoryUser{dirJSmith()},
		wantPlanned: map[string]Entry{"jsmith": jsmith(inState(SourceOutOfScope))},
		wantActions: []string{"jsmith state_only"},
		wantReasons: map[string]string{"jsmith": "left group/filter; not deprovisioned: user_disable_delete = false"},
	}, {
		name:        "out of scope and already disabled: no repeated action",
		prior:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceOutOfScope))},
		outOfScope:  []DirectoryUser{dirJSmith()},
		wantPlanned: map[string]Entry{"jsmith": jsmith(disabledEntry(SourceOutOfScope))},
	}, {
		name:        "already disabled user leaves the scope: bookkeeping only",
		prior:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDisabled))},
		wantPlanned: map[string]Entry{"jsmith": jsmith(disabledEntry(SourceDeleted))},
		wantActions: []string{"jsmith state_only"},
		wantReasons: map[string]string{"jsmith": "deleted from directory"},
	}, {
		name:        "drift: re-activated in PingID while out of scope is disabled again",
		prior:       map[string]Entry{"jsmith": jsmith(inState(SourceOutOfScope))},
		outOfScope:  []DirectoryUser{dirJSmith()},
		wantPlanned: map[string]Entry{"jsmith": jsmith(disabledEntry(SourceOutOfScope), entryStatus(StatusSuspended))},
		wantActions: []string{"jsmith disable"},
		wantReasons: map[string]string{"jsmith": "left group/filter, still enabled in PingID"},
	}})
}

func TestPlanNeverTouchesAdmins(t *testing.T) {
	runPlanCases(t, []planCase{{
		name:              "admin leaving the group keeps its entry with bookkeeping",
		prior:             map[string]Entry{"jsmith": jsmith()},
		admins:            []string{"JSmith"},
		outOfScope:        []DirectoryUser{dirJSmith(func(d *DirectoryUser) { d.DN = dnJMoved })},
		wantPlanned:       map[string]Entry{"jsmith": jsmith(inState(SourceOutOfScope), entryMoved())},
		wantActions:       []string{"jsmith state_only"},
		wantReasons:       map[string]string{"jsmith": "PingID ADMIN, not changed (would disable: left group/filter)"},
		wantSkippedAdmins: []string{"jsmith"},
	}, {
		name:              "admin is not deleted",
		options:           deleteMode,
		prior:             map[string]Entry{"jsmith": jsmith()},
		admins:            []string{"jsmith"},
		inScope:           []DirectoryUser{dirJSmith(dirDisabled)},
		wantPlanned:       map[string]Entry{"jsmith": jsmith(inState(SourceDisabled))},
		wantActions:       []string{"jsmith state_only"},
		wantSkippedAdmins: []string{"jsmith"},
	}, {
		name:              "admin is not updated",
		prior:             map[string]Entry{"jsmith": jsmith()},
		admins:            []string{"jsmith"},
		inScope:           []DirectoryUser{dirJSmith(dirMail("new@example.com"))},
		wantPlanned:       map[string]Entry{"jsmith": jsmith()},
		wantSkippedAdmins: []string{"jsmith"},
	}, {
		name:              "admin is not re-enabled",
		prior:             map[string]Entry{"jsmith": jsmith(disabledEntry(SourceInScope))},
		admins:            []string{"jsmith"},
		inScope:           []DirectoryUser{dirJSmith()},
		wantPlanned:       map[string]Entry{"jsmith": jsmith(disabledEntry(SourceInScope))},
		wantSkippedAdmins: []string{"jsmith"},
	}, {
		name:        "unchanged admin is not reported",
		prior:       map[string]Entry{"jsmith": jsmith()},
		admins:      []string{"jsmith"},
		inScope:     []DirectoryUser{dirJSmith()},
		wantPlanned: map[string]Entry{"jsmith": jsmith()},
	}})
}

// manyLeaving has n managed users who all left the directory, plus one admin who left too.
func manyLeaving(n int, limit int) Input {
	in := planCase{prior: map[string]Entry{"root": jsmith()}, admins: []string{"root"}}.input()
	for i := range n {
		in.Prior[fmt.Sprintf("user%03d", i)] = jsmith()
	}
	in.Options.MaxDeprovisions = limit
	return in
}

func TestPlanThreshold(t *testing.T) {
	tests := []struct {
		name      string
		users     int
		max       int
		wantError bool
	}{
		{"above the limit fails", 3, 2, true},
		{"at the limit passes", 3, 3, false},
		{"zero allows none", 1, 0, true},
		{"zero with nothing to deprovision passes", 0, 0, false},
		{"negative is unlimited", 200, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Plan(manyLeaving(tt.users, tt.max))
			var te *ThresholdError
			if got := errors.As(err, &te); got != tt.wantError {
				t.Fatalf("Plan error = %v, want threshold error: %v", err, tt.wantError)
			}
			// The result is complete either way, so the provider can still show the plan.
			if res.Summary.Disable != tt.users || len(res.Planned) != tt.users+1 {
				t.Errorf("summary %+v with %d planned, want %d disables and %d planned", res.Summary, len(res.Planned), tt.users, tt.users+1)
			}
			if te == nil {
				return
			}
			if te.Max != tt.max || len(te.Users) != tt.users {
				t.Errorf("ThresholdError{Max: %d, %d users}, want max %d and %d users (the admin is not deprovisioned)", te.Max, len(te.Users), tt.max, tt.users)
			}
			if !slices.IsSortedFunc(te.Users, func(a, b Action) int { return strings.Compare(a.Username, b.Username) }) {
				t.Errorf("threshold users are not sorted")
			}
		})
	}
}

func TestPlanThresholdCountsSuspendingLinks(t *testing.T) {
	in := planCase{inScope: []DirectoryUser{dirJSmith(dirDisabled)}, existing: []PingIDUser{pingJSmith()}}.input()
	in.Options.MaxDeprovisions = 0
	_, err := Plan(in)
	var te *ThresholdError
	if !errors.As(err, &te) || len(te.Users) != 1 || te.Users[0].Kind != KindLink {
		t.Fatalf("Plan error = %v, want a threshold error for the suspending link", err)
	}
	in.Existing["jsmith"] = pingJSmith(pingStatus(StatusSuspended)) // already suspended: nothing is deprovisioned
	if _, err := Plan(in); err != nil {
		t.Errorf("linking an already suspended user: %v", err)
	}
}

func TestThresholdErrorMessage(t *testing.T) {
	_, err := Plan(manyLeaving(2, 1))
	msg := err.Error()
	for _, want := range []string{
		"2 users would be deprovisioned (disabled or deleted), more than max_deprovisions = 1: ",
		"user000 (deleted from directory), user001 (deleted from directory). To proceed: ",
		"raise max_deprovisions for this run",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	_, err = Plan(manyLeaving(1, 0))
	if msg := err.Error(); !strings.HasPrefix(msg, "1 user would be deprovisioned") {
		t.Errorf("singular message = %q", msg)
	}
	_, err = Plan(manyLeaving(57, 10))
	msg = err.Error()
	if !strings.Contains(msg, "user049 (deleted from directory), and 7 more. To proceed") || strings.Contains(msg, "user050") {
		t.Errorf("long list is not truncated after 50: %q", msg)
	}
}

func TestPlanInputErrors(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Input)
		wantErr string
	}{
		{"invalid remove action", func(in *Input) { in.Options.RemoveAction = "" }, `invalid remove action ""`},
		{"duplicate in scope", func(in *Input) {
			in.InScope = []DirectoryUser{dirJSmith(), dirJSmith(func(d *DirectoryUser) { d.Username = "JSMITH" })}
		}, `"JSMITH" appears twice`},
		{"duplicate in scope of a managed user", func(in *Input) {
			in.Prior = map[string]Entry{"jsmith": jsmith()}
			in.InScope = []DirectoryUser{dirJSmith(), dirJSmith(func(d *DirectoryUser) { d.Username = "JSMITH" })}
		}, `"JSMITH" appears twice`},
		{"directory user without a username", func(in *Input) { in.InScope = []DirectoryUser{{DN: "uid=x"}} },
			`directory user "uid=x" has no username`},
		{"prior users colliding by case", func(in *Input) { in.Prior = map[string]Entry{"jsmith": jsmith(), "JSmith": jsmith()} },
			`prior users "JSmith" and "jsmith" differ only in letter case`},
		{"existing user under another name", func(in *Input) {
			in.InScope = []DirectoryUser{dirJSmith()}
			in.Existing["jsmith"] = PingIDUser{Username: "someone"}
		}, `existing PingID user for "jsmith" is named "someone"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := planCase{}.input()
			tt.edit(&in)
			_, err := Plan(in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Plan error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestPlanSummary(t *testing.T) {
	in := planCase{
		options: optionsWith(func(o *Options) { o.ProvisionDisabledUsers = false }),
		prior: map[string]Entry{
			"upd": jsmith(), "dis": jsmith(), "ena": jsmith(disabledEntry(SourceDisabled)), "gone": jsmith(), "adm": jsmith(),
		},
		admins: []string{"adm"},
		inScope: []DirectoryUser{
			{Username: "new1", Enabled: true}, {Username: "new2", Enabled: true}, {Username: "Linked", Enabled: true},
			{Username: "off", Enabled: false},
			dirJSmith(func(d *DirectoryUser) { d.Username = "upd"; d.Email = strp("x@y") }),
			dirJSmith(func(d *DirectoryUser) { d.Username = "dis"; d.Enabled = false }),
			dirJSmith(func(d *DirectoryUser) { d.Username = "ena" }),
			dirJSmith(func(d *DirectoryUser) { d.Username = "adm"; d.Email = strp("x@y") }),
		},
		existing: []PingIDUser{{Username: "linked", Status: "ACTIVE"}},
	}.input()
	res, err := Plan(in)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	want := Summary{Provision: 3, Link: 1, Update: 1, Disable: 2, Enable: 1, Delete: 0, SkippedAdmins: []string{"adm"}, SkippedDisabled: []string{"off"}}
	if !reflect.DeepEqual(res.Summary, want) {
		t.Errorf("Summary = %+v, want %+v", res.Summary, want)
	}
	wantLine := "3 to provision (1 existing PingID user to link), 1 to update, 2 to disable, 1 to enable, 0 to delete; " +
		"1 PingID ADMIN user left unchanged; 1 disabled directory user not provisioned"
	if got := res.SummaryLine(); got != wantLine {
		t.Errorf("SummaryLine() = %q, want %q", got, wantLine)
	}
	if !res.LinkSet["linked"] || len(res.LinkSet) != 1 {
		t.Errorf("LinkSet = %v, want only linked", res.LinkSet)
	}
	if !slices.IsSortedFunc(res.Actions, func(a, b Action) int { return strings.Compare(a.Username, b.Username) }) {
		t.Errorf("actions are not sorted by username")
	}
	if got := (Result{Summary: Summary{Provision: 2}}).SummaryLine(); got != "2 to provision, 0 to update, 0 to disable, 0 to enable, 0 to delete" {
		t.Errorf("SummaryLine without links = %q", got)
	}
}

func TestPlanActionEntries(t *testing.T) {
	in := planCase{prior: map[string]Entry{"jsmith": jsmith()}, inScope: []DirectoryUser{dirJSmith(dirMail("n@x"))}}.input()
	res, err := Plan(in)
	if err != nil || len(res.Actions) != 1 {
		t.Fatalf("Plan = %+v, %v; want one action", res.Actions, err)
	}
	a := res.Actions[0]
	if a.Prior == nil || *a.Prior != jsmith() || a.Planned == nil || *a.Planned != res.Planned["jsmith"] {
		t.Errorf("action entries Prior=%v Planned=%v, want the prior and planned entries", a.Prior, a.Planned)
	}
}

func TestScopeDelta(t *testing.T) {
	prior := map[string]Entry{"jsmith": jsmith(), "Ann": jsmith(), "bob": jsmith()}
	inScope := []DirectoryUser{{Username: "JSmith"}, {Username: "carol"}, {Username: "ANN"}, {Username: "Dave"}}
	left, notManaged := ScopeDelta(prior, inScope)
	if !slices.Equal(left, []string{"bob"}) || !slices.Equal(notManaged, []string{"Dave", "carol"}) {
		t.Errorf("ScopeDelta = %q, %q; want [bob], [Dave carol]", left, notManaged)
	}
}

func TestAllowedDeprovisions(t *testing.T) {
	tests := []struct {
		percent float64
		managed int
		want    int
	}{
		{20, 12, 2},   // 2.4: rounded down
		{20, 15, 3},   // exactly 3
		{10, 30, 3},   // exact despite floating point
		{20, 4, 1},    // 0.8: a single leaver never stops a small tenant
		{20, 0, 1},    // first plan: nothing managed yet
		{12.5, 16, 2}, // fractional share
		{100, 7, 7},
		{0, 50, 0},   // 0 allows none
		{-1, 50, -1}, // no limit
	}
	for _, tt := range tests {
		if got := AllowedDeprovisions(tt.percent, tt.managed); got != tt.want {
			t.Errorf("AllowedDeprovisions(%v, %d) = %d, want %d", tt.percent, tt.managed, got, tt.want)
		}
	}
}

func TestPlanThresholdPercent(t *testing.T) {
	// manyLeaving(n, -1) manages n+1 users (one ADMIN, never deprovisioned) and deprovisions n.
	withShare := func(leaving, staying int, maxCount int, percent float64) Input {
		in := manyLeaving(leaving, maxCount)
		for i := range staying {
			name := fmt.Sprintf("stay%03d", i)
			in.Prior[name] = jsmith(func(e *Entry) { e.DN = "uid=" + name })
			in.InScope = append(in.InScope, DirectoryUser{Username: name, DN: "uid=" + name, Enabled: true,
				Email: strp("jsmith@example.com"), FirstName: strp("John"), LastName: strp("Smith")})
		}
		in.Options.MaxDeprovisionsPercent = percent
		return in
	}
	tests := []struct {
		name             string
		in               Input
		wantBrake        string
		wantBoth         bool
		wantManaged      int
		wantAllowedShare int
	}{
		// 12 managed users: 20 % allows 2.
		{name: "2 of 12 pass", in: withShare(2, 9, -1, 20)},
		{name: "3 of 12 fail on the share", in: withShare(3, 8, -1, 20), wantBrake: BrakePercent, wantManaged: 12, wantAllowedShare: 2},
		{name: "3 of 12 with -1 pass", in: withShare(3, 8, -1, -1)},
		{name: "3 of 12 with 25 % pass", in: withShare(3, 8, -1, 25)},
		{name: "the count brake still applies", in: withShare(3, 8, 2, 50), wantBrake: BrakeCount, wantManaged: 12, wantAllowedShare: 6},
		{name: "both brakes", in: withShare(3, 8, 2, 20), wantBrake: BrakeCount, wantBoth: true, wantManaged: 12, wantAllowedShare: 2},
		{name: "a single leaver of 3 passes", in: withShare(1, 1, -1, 20)},
		{name: "two leavers of 3 fail", in: withShare(2, 0, -1, 20), wantBrake: BrakePercent, wantManaged: 3, wantAllowedShare: 1},
		{name: "0 % allows none", in: withShare(1, 8, -1, 0), wantBrake: BrakePercent, wantManaged: 10, wantAllowedShare: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(tt.in)
			var te *ThresholdError
			if !errors.As(err, &te) {
				if tt.wantBrake != "" || err != nil {
					t.Fatalf("Plan error = %v, want brake %q", err, tt.wantBrake)
				}
				return
			}
			if tt.wantBrake == "" {
				t.Fatalf("Plan error = %v, want none", err)
			}
			if te.Brake != tt.wantBrake || te.Both != tt.wantBoth || te.Managed != tt.wantManaged || te.Allowed != tt.wantAllowedShare {
				t.Errorf("ThresholdError = %+v, want brake %s (both %v), %d managed, %d allowed", te, tt.wantBrake, tt.wantBoth, tt.wantManaged, tt.wantAllowedShare)
			}
		})
	}
}

func TestPlanThresholdPercentFirstPlan(t *testing.T) {
	// A first plan manages nobody yet: the share is of the users it links. Linking 5 existing
	// PingID users of whom 2 are disabled in the directory suspends 40 % of them.
	in := planCase{}.input()
	in.Options.MaxDeprovisionsPercent = 20
	for i := range 5 {
		name := fmt.Sprintf("user%d", i)
		in.InScope = append(in.InScope, DirectoryUser{Username: name, DN: "uid=" + name, Enabled: i >= 2})
		in.Existing[name] = PingIDUser{Username: name, Status: StatusActive, Role: "REGULAR"}
	}
	in.InScope = append(in.InScope, DirectoryUser{Username: "newcomer", DN: "uid=newcomer", Enabled: true})
	_, err := Plan(in)
	var te *ThresholdError
	if !errors.As(err, &te) || te.Brake != BrakePercent || te.Managed != 5 || te.Allowed != 1 || len(te.Users) != 2 {
		t.Fatalf("Plan error = %#v, want the share brake for 2 of 5 linked users", err)
	}
	// Creating users deprovisions nobody: a first plan of new users always passes.
	in.Existing = map[string]PingIDUser{}
	if _, err := Plan(in); err != nil {
		t.Errorf("first plan creating users: %v", err)
	}
}

func TestThresholdErrorMessagePercent(t *testing.T) {
	te := &ThresholdError{Brake: BrakePercent, Max: 10, Percent: 20, Managed: 12, Allowed: 2,
		Users: []Action{{Username: "a", Reason: "left group/filter"}, {Username: "b", Reason: "left group/filter"}, {Username: "c", Reason: "deleted from directory"}}}
	want := "3 users would be deprovisioned (disabled or deleted), more than max_deprovisions_percent = 20 % of the 12 users this connection manages (at most 2): " +
		"a (left group/filter), b (left group/filter), c (deleted from directory). To proceed: check that the source location (base_dn, group_dn, filter) and the " +
		"directory return the users you expect, then raise max_deprovisions_percent for this run (-1 = unlimited)"
	if got := te.Error(); got != want {
		t.Errorf("message:\n got %q\nwant %q", got, want)
	}
	te.Both, te.Brake, te.Max, te.Percent = true, BrakeCount, 2, 12.5
	got := te.Error()
	for _, part := range []string{"more than max_deprovisions = 2, and more than max_deprovisions_percent = 12.5 % of the 12 users", "raise max_deprovisions and max_deprovisions_percent for this run"} {
		if !strings.Contains(got, part) {
			t.Errorf("message %q lacks %q", got, part)
		}
	}
}

func TestDestroyActionsBrakes(t *testing.T) {
	prior := map[string]Entry{}
	for i := range 12 {
		prior[fmt.Sprintf("user%02d", i)] = jsmith()
	}
	prior["gone"] = jsmith(disabledEntry(SourceDeleted)) // already disabled: nothing to do for "disable"
	if _, te := DestroyActions(prior, nil, RemoveDisable, -1, -1); te != nil {
		t.Errorf("no limits: %v", te)
	}
	_, te := DestroyActions(prior, nil, RemoveDisable, -1, 20)
	if te == nil || te.Brake != BrakePercent || te.Managed != 13 || te.Allowed != 2 || len(te.Users) != 12 {
		t.Errorf("20 %% of 13: %+v", te)
	}
	_, te = DestroyActions(prior, nil, RemoveDelete, 10, 100)
	if te == nil || te.Brake != BrakeCount || te.Both || len(te.Users) != 13 {
		t.Errorf("max_deprovisions = 10 with delete: %+v", te)
	}
	if actions, te := DestroyActions(prior, nil, RemoveDisable, 12, 100); te != nil || len(actions) != 12 {
		t.Errorf("both raised: %d actions, %v", len(actions), te)
	}
}

func TestPlanSummaryCountsReactivations(t *testing.T) {
	in := planCase{
		options:  reactivate,
		prior:    map[string]Entry{"jsmith": jsmith(disabledEntry(SourceInScope), entryStatus(StatusSuspended))},
		inScope:  []DirectoryUser{dirJSmith(), {Username: "adoe", DN: "uid=adoe", Enabled: true}, {Username: "bwayne", DN: "uid=bwayne", Enabled: true}},
		existing: []PingIDUser{{Username: "adoe", Status: StatusSuspended, Role: "REGULAR"}, {Username: "bwayne", Status: StatusSuspended, Role: "REGULAR"}},
	}.input()
	res, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := "2 to provision (2 existing PingID users to link), 0 to update, 0 to disable, 3 to enable, 0 to delete; 3 users suspended outside Terraform to re-activate"; res.SummaryLine() != want {
		t.Errorf("summary %q, want %q", res.SummaryLine(), want)
	}
	in.Options.ReactivateSuspendedUsers = false
	res, _ = Plan(in)
	if want := "2 to provision (2 existing PingID users to link), 0 to update, 0 to disable, 0 to enable, 0 to delete; 3 users suspended outside Terraform left suspended"; res.SummaryLine() != want {
		t.Errorf("summary %q, want %q", res.SummaryLine(), want)
	}
	if !slices.Equal(res.Summary.LeftSuspended, []string{"adoe", "bwayne", "jsmith"}) {
		t.Errorf("LeftSuspended = %q", res.Summary.LeftSuspended)
	}
}

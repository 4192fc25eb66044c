package reconcile

import (
	"fmt"
	"slices"
	"strings"
)

// DirectoryUser is one user as the directory returns it. A nil attribute is unmapped or
// missing in the directory; either way the PingID value is kept.
type DirectoryUser struct {
	Username, DN               string
	Enabled                    bool
	Email, FirstName, LastName *string
	// Devices holds the value of each mapped device slot, normalised like Device.Value; ""
	// means the attribute is empty or missing (the slot's device is to be unpaired). Left out of
	// JSON when empty, so snapshots of connections without devices are as before.
	Devices [NumSlots]string `json:",omitzero"`
}

// PingIDUser is one user as PingID returns it.
type PingIDUser struct {
	Username, Email, FirstName, LastName, Status, Role string
	Devices                                            []Device `json:",omitempty"`
}

// RemoveAction is what deprovisioning does to a PingID user.
type RemoveAction string

const (
	RemoveDisable RemoveAction = "disable"
	RemoveDelete  RemoveAction = "delete"
)

// Options are the connection settings that drive decisions.
type Options struct {
	UserCreate, UserUpdate, UserDisableDelete, ProvisionDisabledUsers bool
	RemoveAction                                                      RemoveAction
	// MaxDeprovisions: more disables+deletes than this fail the plan; negative = unlimited.
	MaxDeprovisions int
	// MaxDeprovisionsPercent: more disables+deletes than this share of the managed users fail
	// the plan (see AllowedDeprovisions); negative = unlimited.
	MaxDeprovisionsPercent float64
	// ReactivateSuspendedUsers: re-activate managed or linked users whom PingID reports
	// SUSPENDED although this connection did not suspend them; otherwise they are left suspended.
	ReactivateSuspendedUsers bool
	Mapping
}

// Mapping says which PingID fields a connection maps; unmapped fields are never changed, by the
// plan or by the executor.
type Mapping struct {
	MapEmail, MapFirstName, MapLastName bool

	// ManageDevices is manage_devices ("" = none). MapSlots says which device slots are mapped:
	// only those follow the directory; the other managed nicknames are left as they are.
	ManageDevices DeviceMode
	MapSlots      [NumSlots]bool
	// PrimaryOnCreate (when SetPrimaryOnCreate) is made the primary device of users the
	// connection creates; linked users keep theirs.
	PrimaryOnCreate    Slot
	SetPrimaryOnCreate bool
}

// deleteMode reports whether removal deletes users.
func (o Options) deleteMode() bool { return o.UserDisableDelete && o.RemoveAction == RemoveDelete }

// Input is everything Plan decides from. Maps keyed by "lower" use FoldUsername.
type Input struct {
	Prior       map[string]Entry         // refreshed state, keyed by username as stored (PingID spelling)
	PriorAdmins map[string]bool          // lower(username) of prior users whose PingID role is ADMIN
	InScope     []DirectoryUser          // in-scope directory users, unique case-insensitively
	OutOfScope  map[string]DirectoryUser // lower(username) -> directory entry of prior users not in scope but still in the directory
	Existing    map[string]PingIDUser    // lower(username) -> PingID user, for in-scope users not in Prior that exist in PingID
	Options     Options
}

// ActionKind is what the executor does for one user.
type ActionKind string

const (
	KindCreate    ActionKind = "create"
	KindLink      ActionKind = "link"
	KindUpdate    ActionKind = "update"
	KindDisable   ActionKind = "disable"
	KindEnable    ActionKind = "enable"
	KindDelete    ActionKind = "delete"
	KindStateOnly ActionKind = "state_only" // no API call: dn/source_state/status bookkeeping
)

// FieldChange is one changed field of an entry, in the JSON field names; enabled is "true"/"false".
type FieldChange struct{ Field, From, To string }

// Action is one user's planned action. Prior is nil for create and link, Planned is nil for
// delete. For link, Changes are relative to the existing PingID user as seen at plan time.
type Action struct {
	Username string
	Kind     ActionKind
	Reason   string
	Changes  []FieldChange
	Prior    *Entry
	Planned  *Entry
}

// Summary counts actions by kind (Provision counts creates and links).
type Summary struct {
	Provision, Link, Update, Disable, Enable, Delete int
	DevicePairs, DeviceUnpairs                       int      // devices to pair (new or replacing) and to unpair
	SkippedAdmins                                    []string // ADMIN users whose action was withheld, or who were not linked
	SkippedDisabled                                  []string // disabled directory users not provisioned (provision_disabled_users = false, or remove_user_action = "delete")
	// LeftSuspended are in-scope users whom PingID reports SUSPENDED although this connection
	// did not suspend them (suspended outside Terraform), left suspended by this plan.
	LeftSuspended []string
	// Reactivated are such users that this plan re-activates (reactivate_suspended_users); each
	// is also counted in Enable (a re-activating link in Provision and Link too).
	Reactivated []string
}

// Result is the outcome of Plan.
type Result struct {
	Planned map[string]Entry // the planned `users` map
	Actions []Action         // sorted by username
	Summary Summary
	LinkSet map[string]bool // planned keys that link an existing PingID user instead of adding one
}

// HasChanges reports whether the planned map differs from the prior one.
func (r Result) HasChanges() bool { return len(r.Actions) > 0 }

func (o Options) validate() error {
	if o.RemoveAction != RemoveDisable && o.RemoveAction != RemoveDelete {
		return fmt.Errorf("invalid remove action %q: want %q or %q", o.RemoveAction, RemoveDisable, RemoveDelete)
	}
	switch o.ManageDevices {
	case "", DevicesNone, DevicesMerge, DevicesOverwrite:
	default:
		return fmt.Errorf("invalid manage_devices %q: want %q, %q or %q", o.ManageDevices, DevicesNone, DevicesMerge, DevicesOverwrite)
	}
	if o.SetPrimaryOnCreate && o.PrimaryOnCreate >= NumSlots {
		return fmt.Errorf("invalid primary device slot %d", o.PrimaryOnCreate)
	}
	return nil
}

// priorUser is one prior entry while planning.
type priorUser struct {
	username, key string
	entry         Entry
	inScope       bool
}

func duplicateInScope(d DirectoryUser) error {
	return fmt.Errorf("directory user %q appears twice in scope (usernames match case-insensitively)", d.Username)
}

// planner accumulates one Plan run.
type planner struct {
	in           Input
	res          Result
	deprovisions []Action
}

// Plan decides the planned `users` map and the actions for one connection; see the package
// documentation for the rules. When more users would be deprovisioned than allowed it returns
// the full Result together with a *ThresholdError.
func Plan(in Input) (Result, error) {
	if err := in.Options.validate(); err != nil {
		return Result{}, err
	}
	// One look-up per user: the prior entries are indexed by folded name into a slice that
	// also records which of them are in scope.
	prior := make([]priorUser, 0, len(in.Prior))
	priorByFold := make(map[string]int, len(in.Prior))
	for username, e := range in.Prior {
		key := FoldUsername(username)
		if i, dup := priorByFold[key]; dup {
			other := prior[i].username
			return Result{}, fmt.Errorf("prior users %q and %q differ only in letter case", min(other, username), max(other, username))
		}
		priorByFold[key] = len(prior)
		prior = append(prior, priorUser{username: username, key: key, entry: e})
	}
	p := planner{in: in, res: Result{
		Planned: make(map[string]Entry, max(len(in.Prior), len(in.InScope))),
		LinkSet: map[string]bool{},
	}}
	unmanaged := map[string]struct{}{} // folded names of in-scope users not in prior, for the duplicate check
	for _, d := range in.InScope {
		if d.Username == "" {
			// Skipping the user would later read as "left the scope" and deprovision it.
			return Result{}, fmt.Errorf("directory user %q has no username", d.DN)
		}
		key := FoldUsername(d.Username)
		if i, ok := priorByFold[key]; ok {
			u := &prior[i]
			if u.inScope {
				return Result{}, duplicateInScope(d)
			}
			u.inScope = true
			state := SourceInScope
			if !d.Enabled {
				state = SourceDisabled
			}
			p.managed(u.username, key, u.entry, state, &d)
			continue
		}
		if _, dup := unmanaged[key]; dup {
			return Result{}, duplicateInScope(d)
		}
		unmanaged[key] = struct{}{}
		if existing, ok := in.Existing[key]; ok {
			if err := p.link(key, d, existing); err != nil {
				return Result{}, err
			}
			continue
		}
		p.create(d)
	}
	for _, u := range prior {
		if u.inScope {
			continue
		}
		if d, ok := in.OutOfScope[u.key]; ok {
			p.managed(u.username, u.key, u.entry, SourceOutOfScope, &d)
		} else {
			p.managed(u.username, u.key, u.entry, SourceDeleted, nil)
		}
	}

	byUsername := func(a, b Action) int { return strings.Compare(a.Username, b.Username) }
	slices.SortFunc(p.res.Actions, byUsername)
	slices.Sort(p.res.Summary.SkippedAdmins)
	slices.Sort(p.res.Summary.SkippedDisabled)
	if err := vanishedSlots(in, p.res); err != nil {
		return Result{}, err
	}
	slices.Sort(p.res.Summary.LeftSuspended)
	slices.Sort(p.res.Summary.Reactivated)
	slices.SortFunc(p.deprovisions, byUsername)
	// The share is of the users the connection manages or is about to take over: the prior
	// users and the existing PingID users it links (the only users a first plan can suspend).
	managed := len(in.Prior) + p.res.Summary.Link
	if te := checkBrakes(p.deprovisions, managed, in.Options.MaxDeprovisions, in.Options.MaxDeprovisionsPercent); te != nil {
		return p.res, te
	}
	return p.res, nil
}

// managed decides for a user in the prior state. d is the directory user (nil when deleted).
func (p *planner) managed(username, key string, prior Entry, state SourceState, d *DirectoryUser) {
	o := p.in.Options
	next := prior
	next.SourceState = state
	if d != nil {
		next.DN = d.DN
	}
	var notes []string
	if state == SourceInScope || state == SourceDisabled {
		if o.UserUpdate {
			applyMapped(&next, *d, o)
		}
	}
	removal := state != SourceInScope
	switch {
	case state == SourceInScope && SuspendedOutside(prior) && !p.in.PriorAdmins[key]:
		// This connection suspends users only in a removal state, so an in-scope user it
		// records as disabled, whom PingID reports SUSPENDED, was suspended in PingID (or,
		// after user_update = false kept a returning user disabled, is one the directory has
		// not changed since): such a lockout is undone only on request.
		if o.UserUpdate && o.ReactivateSuspendedUsers {
			next.Enabled = true
			p.res.Summary.Reactivated = append(p.res.Summary.Reactivated, username)
		} else {
			p.res.Summary.LeftSuspended = append(p.res.Summary.LeftSuspended, username)
		}
	case state == SourceInScope && o.UserUpdate:
		next.Enabled = true
	case state == SourceInScope && !prior.Enabled:
		// The user this connection deprovisioned is back, but without user_update it is not
		// re-enabled. The entry keeps the removal state it was suspended for: that is what
		// tells, once user_update is on again, a suspension of this connection (re-enabled)
		// from one made outside Terraform (an in-scope entry: left suspended).
		if prior.SourceState != SourceInScope {
			next.SourceState = prior.SourceState
		}
		notes = append(notes, "stays disabled: user_update = false")
	case removal && o.deleteMode():
		if p.in.PriorAdmins[key] {
			p.withheldAdmin(username, prior, state, next.DN, KindDelete, removalReason(state))
			return
		}
		a := Action{Username: username, Kind: KindDelete, Reason: removalReason(state), Prior: ptr(prior)}
		p.record(a)
		return
	case removal && o.UserDisableDelete:
		next.Enabled = false
	case removal && prior.Enabled:
		notes = append(notes, "not deprovisioned: user_disable_delete = false")
	}

	planDevices(&next, prior, d, o)
	kind := classify(prior, next)
	if p.in.PriorAdmins[key] && kind != KindStateOnly && kind != "" {
		p.withheldAdmin(username, prior, state, next.DN, kind, describe(kind, prior, next))
		return
	}
	if kind == KindDisable {
		next.Status = StatusSuspended // what PingID reports after any disable (see the package doc)
	}
	p.res.Planned[username] = next
	if kind == "" {
		return
	}
	reason := describe(kind, prior, next)
	if len(notes) > 0 {
		reason += "; " + strings.Join(notes, "; ")
	}
	p.record(Action{Username: username, Kind: kind, Reason: reason, Changes: changes(prior, next), Prior: ptr(prior), Planned: ptr(next)})
}

// withheldAdmin keeps an ADMIN user's entry with dn/source_state bookkeeping only.
func (p *planner) withheldAdmin(username string, prior Entry, state SourceState, dn string, wouldBe ActionKind, wouldBeReason string) {
	next := prior
	next.SourceState = state
	next.DN = dn
	planDevices(&next, prior, nil, p.in.Options) // devices stay as PingID has them
	p.res.Planned[username] = next
	p.res.Summary.SkippedAdmins = append(p.res.Summary.SkippedAdmins, username)
	if next == prior {
		return
	}
	reason := fmt.Sprintf("PingID ADMIN, not changed (would %s: %s)", wouldBe, wouldBeReason)
	p.record(Action{Username: username, Kind: KindStateOnly, Reason: reason, Changes: changes(prior, next), Prior: ptr(prior), Planned: ptr(next)})
}

// link decides for an in-scope directory user who is not managed yet but exists in PingID.
func (p *planner) link(key string, d DirectoryUser, existing PingIDUser) error {
	o := p.in.Options
	username := existing.Username
	if username == "" {
		username = d.Username
	} else if FoldUsername(username) != key {
		return fmt.Errorf("existing PingID user for %q is named %q", d.Username, username)
	}
	if existing.Role == RoleAdmin {
		p.res.Summary.SkippedAdmins = append(p.res.Summary.SkippedAdmins, username)
		return nil
	}
	state := SourceInScope
	if !d.Enabled {
		if !o.ProvisionDisabledUsers || o.deleteMode() {
			p.res.Summary.SkippedDisabled = append(p.res.Summary.SkippedDisabled, d.Username)
			return nil
		}
		state = SourceDisabled
	}
	current := Entry{
		DN:          d.DN,
		Email:       existing.Email,
		FirstName:   existing.FirstName,
		LastName:    existing.LastName,
		Enabled:     existing.Status != StatusSuspended,
		Status:      existing.Status,
		SourceState: state,
	}
	current = withObservedDevices(current, existing.Devices, o.ManageDevices)
	next := current
	suspended := existing.Status == StatusSuspended
	if o.UserUpdate {
		applyMapped(&next, d, o)
		if state == SourceInScope && (!suspended || o.ReactivateSuspendedUsers) {
			next.Enabled = true
		}
	}
	if state == SourceDisabled && o.UserDisableDelete {
		next.Enabled = false
	}
	if current.Enabled && !next.Enabled {
		next.Status = StatusSuspended // the link suspends the user
	}
	planDevices(&next, current, &d, o)
	reason := describe(KindLink, Entry{}, next)
	switch {
	case current.Enabled && !next.Enabled:
		reason += ", suspended"
	case !current.Enabled && next.Enabled:
		reason += ", re-activated (suspended outside Terraform)"
		p.res.Summary.Reactivated = append(p.res.Summary.Reactivated, username)
		p.res.Summary.Enable++
	case suspended && state == SourceInScope:
		reason += ", left suspended (suspended in PingID)"
		p.res.Summary.LeftSuspended = append(p.res.Summary.LeftSuspended, username)
	}
	if fields := changedAttributes(current, next); fields != "" {
		reason += "; " + fields + " changed"
	}
	if dd := describeDevices(current, next, DeviceDiff(current, next)); dd != "" {
		reason += "; " + dd
	}
	p.res.Planned[username] = next
	p.res.LinkSet[username] = true
	a := Action{Username: username, Kind: KindLink, Reason: reason, Changes: changes(current, next), Prior: nil, Planned: ptr(next)}
	p.countDevices(current, next)
	p.record(a)
	if current.Enabled && !next.Enabled {
		p.deprovisions = append(p.deprovisions, a)
	}
	return nil
}

// create decides for an in-scope directory user found neither in the state nor in PingID.
func (p *planner) create(d DirectoryUser) {
	o := p.in.Options
	if !o.UserCreate {
		return
	}
	state := SourceInScope
	if !d.Enabled {
		if !o.ProvisionDisabledUsers || o.deleteMode() {
			p.res.Summary.SkippedDisabled = append(p.res.Summary.SkippedDisabled, d.Username)
			return
		}
		state = SourceDisabled
	}
	next := Entry{DN: d.DN, Enabled: d.Enabled, Status: StatusNotActive, SourceState: state}
	if !d.Enabled {
		next.Status = StatusSuspended // added, then suspended
	}
	applyMapped(&next, d, o)
	planDevices(&next, Entry{}, &d, o)
	p.res.Planned[d.Username] = next
	p.record(Action{Username: d.Username, Kind: KindCreate, Reason: describe(KindCreate, Entry{}, next), Changes: changes(Entry{}, next), Planned: ptr(next)})
}

// countDevices adds the device calls of a change to the summary.
func (p *planner) countDevices(prior, next Entry) {
	pair, unpair := deviceSummary(prior, next, DeviceDiff(prior, next))
	p.res.Summary.DevicePairs += pair
	p.res.Summary.DeviceUnpairs += unpair
}

// record adds an action and counts it.
func (p *planner) record(a Action) {
	p.res.Actions = append(p.res.Actions, a)
	if a.Planned != nil && a.Kind != KindLink {
		var prior Entry
		if a.Prior != nil {
			prior = *a.Prior
		}
		p.countDevices(prior, *a.Planned)
	}
	s := &p.res.Summary
	switch a.Kind {
	case KindCreate:
		s.Provision++
	case KindLink:
		s.Provision++
		s.Link++
	case KindUpdate:
		s.Update++
	case KindEnable:
		s.Enable++
	case KindDisable:
		s.Disable++
		p.deprovisions = append(p.deprovisions, a)
	case KindDelete:
		s.Delete++
		p.deprovisions = append(p.deprovisions, a)
	case KindStateOnly:
		// Bookkeeping: no API call to count.
	}
}

// SuspendedOutside reports whether a refreshed entry is a user suspended outside Terraform:
// in scope (this connection deprovisions only users in a removal state), recorded as disabled
// and reported SUSPENDED by PingID. Its planned entry keeps enabled = false and status
// SUSPENDED, which is what PingID holds, so the next plan sees the same and stays empty.
func SuspendedOutside(e Entry) bool {
	return e.SourceState == SourceInScope && !e.Enabled && e.Status == StatusSuspended
}

// applyMapped copies the mapped, present directory values into e.
func applyMapped(e *Entry, d DirectoryUser, o Options) {
	// An empty email is no email: it never replaces the one PingID has (PingID stores none as
	// null, and edituser would clear it).
	if o.MapEmail && d.Email != nil && *d.Email != "" {
		e.Email = *d.Email
	}
	if o.MapFirstName && d.FirstName != nil {
		e.FirstName = *d.FirstName
	}
	if o.MapLastName && d.LastName != nil {
		e.LastName = *d.LastName
	}
}

// ScopeDelta names the look-ups Plan needs, sorted: prior usernames whose user is not in scope
// (look them up in the directory: found -> Input.OutOfScope, absent -> deleted) and in-scope
// directory usernames not in the prior state (look them up in PingID -> Input.Existing).
func ScopeDelta(prior map[string]Entry, inScope []DirectoryUser) (leftScope, notManaged []string) {
	scope := make(map[string]struct{}, len(inScope))
	for _, d := range inScope {
		scope[FoldUsername(d.Username)] = struct{}{}
	}
	managed := make(map[string]struct{}, len(prior))
	for username := range prior {
		key := FoldUsername(username)
		managed[key] = struct{}{}
		if _, ok := scope[key]; !ok {
			leftScope = append(leftScope, username)
		}
	}
	for _, d := range inScope {
		if _, ok := managed[FoldUsername(d.Username)]; !ok {
			notManaged = append(notManaged, d.Username)
		}
	}
	slices.Sort(leftScope)
	slices.Sort(notManaged)
	return leftScope, notManaged
}

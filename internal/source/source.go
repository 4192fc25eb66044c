// Package source is the gather step of a provisioning connection: it reads the source location
// from the directory, looks the users whose fate depends on more than the in-scope list up in
// the directory and in PingID, and refreshes the managed users from PingID. Its result is the
// Snapshot that internal/reconcile decides from; it knows nothing of Terraform.
//
// Every failure is an error: a partial read must never look like users leaving.
package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/fanout"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/progress"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// maxListedInvalid bounds how many unusable directory entries an error names.
const maxListedInvalid = 20

// Client is the part of the PingID client the gather step needs; *pingid.Client implements it.
type Client interface {
	GetUser(ctx context.Context, username string) (*pingid.User, error)
}

var _ Client = (*pingid.Client)(nil)

// DirectoryError is a gather failure of the directory (the datastore): it could not be reached,
// bound to or searched, or what it returned cannot be provisioned. Its text is the cause's.
type DirectoryError struct{ Err error }

func (e *DirectoryError) Error() string { return e.Err.Error() }
func (e *DirectoryError) Unwrap() error { return e.Err }

// PingIDError is a gather failure of a PingID look-up (Work says which: "refresh", "plan-time
// look-ups"...): PingID refused the credentials, could not be reached or kept failing. Its text
// is the cause's.
type PingIDError struct {
	Work string
	Err  error
}

func (e *PingIDError) Error() string { return e.Err.Error() }
func (e *PingIDError) Unwrap() error { return e.Err }

// Gatherer reads a connection's source: the directory it is configured for and PingID, with at
// most Concurrency PingID look-ups in flight.
type Gatherer struct {
	Datastore   datastore.Config
	PingID      Client
	Concurrency int
	// Progress reports long PingID look-ups (the zero value reports nothing).
	Progress progress.Reporter
}

// Spec is the part of a connection's configuration that decides what is read. Its JSON form is
// fingerprinted into every Snapshot, so renaming a field makes every stored snapshot stale
// (it is then re-read once, which is safe).
type Spec struct {
	Query                                  datastore.Query
	EmailAttr, FirstNameAttr, LastNameAttr string
	UsernameAttr                           string
	// DeviceAttrs are the attributes mapped to the device slots ("" = unmapped), set only when
	// devices are managed; left out of the fingerprint when empty, so snapshots of connections
	// without devices stay valid.
	DeviceAttrs [reconcile.NumSlots]string `json:",omitzero"`
}

// Fingerprint identifies the source location and mapping a snapshot is read with.
func (s Spec) Fingerprint() string {
	b, _ := json.Marshal(s) // plain structs of strings: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// MappedAttributes lists the mapped directory attributes (email, first and last name, then the
// device slots), in that order, each once, leaving out unmapped ones.
func (s Spec) MappedAttributes() []string {
	var attrs []string
	for _, a := range append([]string{s.EmailAttr, s.FirstNameAttr, s.LastNameAttr}, s.DeviceAttrs[:]...) {
		if a != "" && !slices.Contains(attrs, a) {
			attrs = append(attrs, a)
		}
	}
	return attrs
}

// Snapshot is everything outside Terraform that a plan depends on. The JSON field names are a
// stored format (the provider keeps the snapshot in private state); do not rename them.
type Snapshot struct {
	// Fingerprint is the Spec.Fingerprint the snapshot was read with.
	Fingerprint string                             `json:"fingerprint"`
	InScope     []reconcile.DirectoryUser          `json:"in_scope"`
	OutOfScope  map[string]reconcile.DirectoryUser `json:"out_of_scope"`
	Existing    map[string]reconcile.PingIDUser    `json:"existing"`
	// Admins are managed users whose PingID role is ADMIN, found by the refresh.
	Admins map[string]bool `json:"admins"`
	// MembersOutsideBase counts group members outside base_dn (never in scope), for a warning;
	// absent from snapshots stored before it existed.
	MembersOutsideBase int `json:"members_outside_base,omitempty"`
}

// Read reads the source location and looks up, in the directory and in PingID, the users whose
// fate depends on more than the in-scope list: prior users no longer in scope (left the scope,
// or deleted) and in-scope users not yet managed (maybe already in PingID). admins is recorded
// in the snapshot as it is.
func (g Gatherer) Read(ctx context.Context, spec Spec, prior map[string]reconcile.Entry, admins map[string]bool) (*Snapshot, error) {
	dir, err := datastore.Open(ctx, g.Datastore)
	if err != nil {
		return nil, &DirectoryError{Err: err}
	}
	defer func() { _ = dir.Close() }()

	entries, stats, err := dir.SearchWithStats(ctx, spec.Query)
	if err != nil {
		return nil, &DirectoryError{Err: err}
	}
	snap := &Snapshot{
		Fingerprint:        spec.Fingerprint(),
		InScope:            make([]reconcile.DirectoryUser, 0, len(entries)),
		OutOfScope:         map[string]reconcile.DirectoryUser{},
		Existing:           map[string]reconcile.PingIDUser{},
		Admins:             admins,
		MembersOutsideBase: stats.MembersOutsideBase,
	}
	var invalid []string
	for _, e := range entries {
		if err := pingid.CheckUsername(e.Username); err != nil {
			invalid = append(invalid, fmt.Sprintf("%s: %s", e.DN, err))
			continue
		}
		snap.InScope = append(snap.InScope, spec.directoryUser(e))
	}
	if len(invalid) > 0 {
		shown, more := invalid, ""
		if len(invalid) > maxListedInvalid {
			shown, more = invalid[:maxListedInvalid], fmt.Sprintf("; and %d more", len(invalid)-maxListedInvalid)
		}
		return nil, &DirectoryError{Err: fmt.Errorf("%d directory entries have usernames PingID cannot hold (fix them or narrow the source location): %s%s",
			len(invalid), strings.Join(shown, "; "), more)}
	}

	left, fresh := reconcile.ScopeDelta(prior, snap.InScope)
	if len(left) > 0 {
		found, err := dir.LookupUsers(ctx, spec.Query.BaseDN, spec.UsernameAttr, left, spec.Query.Attributes, spec.Query.DisabledFilter)
		if err != nil {
			return nil, &DirectoryError{Err: fmt.Errorf("look up users who left the source location: %w", err)}
		}
		for lower, e := range found {
			snap.OutOfScope[lower] = spec.directoryUser(e)
		}
	}

	existing, err := g.lookUp(ctx, "plan-time look-ups", fresh)
	if err != nil {
		return nil, err
	}
	for _, u := range existing {
		snap.Existing[reconcile.FoldUsername(u.UserName)] = pingIDUser(u)
	}
	return snap, nil
}

// Refreshed is the managed users as PingID has them now.
type Refreshed struct {
	// Users are the prior entries with PingID's current attributes and status (drift).
	Users map[string]reconcile.Entry
	// Admins holds FoldUsername of each managed user whose PingID role is ADMIN.
	Admins map[string]bool
	// Gone are the managed users no longer in PingID, sorted; they are not in Users, so a plan
	// re-creates those still in scope.
	Gone []string
}

// Refresh reads every managed user from PingID.
func (g Gatherer) Refresh(ctx context.Context, prior map[string]reconcile.Entry) (*Refreshed, error) {
	names := make([]string, 0, len(prior))
	for name := range prior {
		names = append(names, name)
	}
	slices.Sort(names)
	found, err := g.lookUp(ctx, "refresh", names)
	if err != nil {
		return nil, err
	}
	out := &Refreshed{Users: make(map[string]reconcile.Entry, len(found)), Admins: map[string]bool{}}
	for _, name := range names {
		u, ok := found[name]
		if !ok {
			out.Gone = append(out.Gone, name)
			continue
		}
		out.Users[name] = reconcile.Refreshed(prior[name], pingIDUser(u))
		if u.Role == reconcile.RoleAdmin {
			out.Admins[reconcile.FoldUsername(name)] = true
		}
	}
	return out, nil
}

// Devices reads the PingID devices of users (normalised, see DeviceValues), for
// reconcile.WithDeviceBaseline; users no longer in PingID are left out.
func (g Gatherer) Devices(ctx context.Context, usernames []string) (map[string][]reconcile.Device, error) {
	found, err := g.lookUp(ctx, "device look-ups", usernames)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]reconcile.Device, len(found))
	for name, u := range found {
		out[name] = DeviceValues(u.Devices)
	}
	return out, nil
}

// DeviceValues converts PingID devices for the decision core, with values normalised
// (pingid.NormalizeDeviceValue) like the directory's, so equal addresses compare equal.
func DeviceValues(ds []pingid.Device) []reconcile.Device {
	if len(ds) == 0 {
		return nil
	}
	out := make([]reconcile.Device, len(ds))
	for i, d := range ds {
		out[i] = reconcile.Device{
			ID: d.ID.String(), Type: d.Type, Nickname: d.Nickname,
			Value: pingid.NormalizeDeviceValue(d.Type, d.Value()), Primary: d.IsPrimary(),
		}
	}
	return out
}

// lookUp fetches users concurrently, keyed by the name asked for; absent users are left out,
// any other error fails the whole look-up.
func (g Gatherer) lookUp(ctx context.Context, work string, usernames []string) (map[string]*pingid.User, error) {
	out := make(map[string]*pingid.User, len(usernames))
	var mu sync.Mutex
	tracker := g.Progress.Start(ctx, work, len(usernames))
	err := fanout.Each(ctx, len(usernames), g.Concurrency, func(ctx context.Context, i int) error {
		u, err := g.PingID.GetUser(ctx, usernames[i])
		tracker.Done(1)
		if errors.Is(err, pingid.ErrUserNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		mu.Lock()
		out[usernames[i]] = u
		mu.Unlock()
		return nil
	})
	tracker.Finish(err)
	if err != nil {
		return out, &PingIDError{Work: work, Err: err}
	}
	return out, nil
}

func (s Spec) directoryUser(e datastore.Entry) reconcile.DirectoryUser {
	value := func(attr string) *string {
		if attr == "" {
			return nil
		}
		v, ok := e.Attributes[attr]
		if !ok {
			return nil
		}
		return &v
	}
	d := reconcile.DirectoryUser{
		Username:  e.Username,
		DN:        e.DN,
		Enabled:   e.Enabled,
		Email:     value(s.EmailAttr),
		FirstName: value(s.FirstNameAttr),
		LastName:  value(s.LastNameAttr),
	}
	for _, slot := range reconcile.Slots() {
		if attr := s.DeviceAttrs[slot]; attr != "" {
			d.Devices[slot] = pingid.NormalizeDeviceValue(string(slot.Kind()), e.Attributes[attr])
		}
	}
	return d
}

func pingIDUser(u *pingid.User) reconcile.PingIDUser {
	return reconcile.PingIDUser{
		Username: u.UserName, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Status: u.Status, Role: u.Role,
		Devices: DeviceValues(u.Devices),
	}
}

package source

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// ReadTimes is the bookkeeping of rolling drift detection: when each managed user was last
// read from PingID (or written by an apply, which sees the user as PingID holds it), and when
// the last rolling refresh ran. Its JSON form is a stored format (the provider keeps it in
// private state): users are grouped by the second they were read, so 50 000 users read by a
// handful of refreshes cost little more than their names.
type ReadTimes struct {
	users     map[string]int64 // username -> unix seconds
	refreshed int64            // unix seconds of the last rolling refresh; 0 = none
}

type readTimesJSON struct {
	Refreshed int64               `json:"refreshed"`
	Read      map[string][]string `json:"read"` // unix seconds (decimal) -> usernames, sorted
}

// NewReadTimes returns empty bookkeeping: every user is due.
func NewReadTimes() *ReadTimes { return &ReadTimes{users: map[string]int64{}} }

// DecodeReadTimes parses what Encode produced; empty input is empty bookkeeping.
func DecodeReadTimes(raw []byte) (*ReadTimes, error) {
	rt := NewReadTimes()
	if len(raw) == 0 {
		return rt, nil
	}
	var j readTimesJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("decode drift detection read times: %w", err)
	}
	rt.refreshed = j.Refreshed
	for at, names := range j.Read {
		secs, err := strconv.ParseInt(at, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("decode drift detection read times: bad time %q", at)
		}
		for _, name := range names {
			rt.users[name] = secs
		}
	}
	return rt, nil
}

// Encode renders the bookkeeping as deterministic JSON.
func (rt *ReadTimes) Encode() ([]byte, error) {
	j := readTimesJSON{Refreshed: rt.refreshed, Read: map[string][]string{}}
	for name, secs := range rt.users {
		at := strconv.FormatInt(secs, 10)
		j.Read[at] = append(j.Read[at], name)
	}
	for _, names := range j.Read {
		slices.Sort(names)
	}
	b, err := json.Marshal(j) // map keys are sorted by encoding/json
	if err != nil {
		return nil, fmt.Errorf("encode drift detection read times: %w", err)
	}
	return b, nil
}

// LastRead returns when name was last read, if known.
func (rt *ReadTimes) LastRead(name string) (time.Time, bool) {
	secs, ok := rt.users[name]
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(secs, 0), true
}

// Record notes that names were read (or written) at t.
func (rt *ReadTimes) Record(names []string, t time.Time) {
	for _, name := range names {
		rt.users[name] = t.Unix()
	}
}

// Forget makes names due at the next refresh (their values in state were not read).
func (rt *ReadTimes) Forget(names []string) {
	for _, name := range names {
		delete(rt.users, name)
	}
}

// Refreshed notes a rolling refresh at t.
func (rt *ReadTimes) Refreshed(t time.Time) { rt.refreshed = t.Unix() }

// Retain forgets users that are no longer managed.
func (rt *ReadTimes) Retain(managed map[string]reconcile.Entry) {
	for name := range rt.users {
		if _, ok := managed[name]; !ok {
			delete(rt.users, name)
		}
	}
}

// Due returns, sorted, the managed users a rolling refresh at now reads besides the ones it
// must act on: every user not read within window (or never recorded), and at least the share
// of the others that keeps the reads spread over the window, floor(N × time since the last
// rolling refresh / window), taking the longest-unread first. So every managed user is read at
// least once per window (at the first refresh after it falls due), and regular plans read
// about the same number of users each instead of everyone at once when the window ends.
func (rt *ReadTimes) Due(names []string, now time.Time, window time.Duration) []string {
	type candidate struct {
		name string
		at   int64
	}
	cands := make([]candidate, 0, len(names))
	nowSecs := now.Unix()
	overdue := 0
	for _, name := range names {
		at, ok := rt.users[name]
		if !ok {
			at = 0 // never read: the most overdue of all
		}
		if !ok || time.Duration(nowSecs-at)*time.Second >= window {
			overdue++
		}
		cands = append(cands, candidate{name, at})
	}
	share := 0
	if rt.refreshed > 0 && window > 0 {
		elapsed := time.Duration(nowSecs-rt.refreshed) * time.Second
		if elapsed > 0 {
			share = int(float64(len(names)) * float64(elapsed) / float64(window))
		}
	}
	n := min(max(overdue, share), len(cands))
	slices.SortFunc(cands, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.name, b.name))
	})
	out := make([]string, n)
	for i := range n {
		out[i] = cands[i].name
	}
	slices.Sort(out)
	return out
}

// RefreshUsers reads the named managed users from PingID; every other user of prior keeps its
// last refreshed values. Admins covers only the users read.
func (g Gatherer) RefreshUsers(ctx context.Context, prior map[string]reconcile.Entry, names []string) (*Refreshed, error) {
	names = slices.Clone(names)
	slices.Sort(names)
	names = slices.Compact(names)
	found, err := g.lookUp(ctx, "refresh (rolling)", names)
	if err != nil {
		return nil, err
	}
	out := &Refreshed{Users: make(map[string]reconcile.Entry, len(prior)), Admins: map[string]bool{}}
	for name, e := range prior {
		out.Users[name] = e
	}
	for _, name := range names {
		e, managed := prior[name]
		if !managed {
			continue
		}
		u, ok := found[name]
		if !ok {
			out.Gone = append(out.Gone, name)
			delete(out.Users, name)
			continue
		}
		out.Users[name] = reconcile.Refreshed(e, pingIDUser(u))
		if u.Role == reconcile.RoleAdmin {
			out.Admins[reconcile.FoldUsername(name)] = true
		}
	}
	return out, nil
}

// ActedOn returns, sorted, the managed users a plan over snap with opts acts on (create,
// update, suspend, re-enable, delete, or record a new dn or source_state): the users rolling
// drift detection must read from PingID before planning, so that no decision rests on values
// it did not read. A decision depends on the user's own entries only, so the other users get
// no action from the real plan either, as long as opts are the settings it plans with.
// The deprovisioning brakes are not applied: too many deprovisions still name their users.
func ActedOn(prior map[string]reconcile.Entry, admins map[string]bool, snap *Snapshot, opts reconcile.Options) ([]string, error) {
	opts.MaxDeprovisions, opts.MaxDeprovisionsPercent = -1, -1
	res, err := reconcile.Plan(reconcile.Input{
		Prior: prior, PriorAdmins: admins, InScope: snap.InScope, OutOfScope: snap.OutOfScope, Existing: snap.Existing, Options: opts,
	})
	if err != nil {
		return nil, fmt.Errorf("finding the users to read: %w", err)
	}
	var out []string
	for _, a := range res.Actions {
		if _, managed := prior[a.Username]; managed {
			out = append(out, a.Username)
		}
	}
	slices.Sort(out)
	return out, nil
}

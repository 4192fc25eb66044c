package executor

import (
	"context"
	"errors"
	"fmt"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/fanout"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/progress"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// Options says how to carry out actions.
type Options struct {
	// Concurrency is the number of users worked on at once; the client bounds API calls too.
	Concurrency int
	// Mapping says which fields the connection maps: only those are ever written.
	reconcile.Mapping
	// Progress reports a long apply (the zero value reports nothing).
	Progress progress.Reporter
}

// Result is the outcome of one action.
type Result struct {
	Action reconcile.Action
	Err    error
	// Done, when an action failed part-way (a device PingID refused after the user was created
	// or updated), is the user's entry as it now stands: record it instead of the prior one.
	Done *reconcile.Entry
}

// Run carries out every action and returns one result per action, in the input order. A
// failed action does not stop the others: the caller records exactly what succeeded. A
// cancelled context stops the remaining actions, which fail with the context's error.
func Run(ctx context.Context, c Client, actions []reconcile.Action, opts Options) []Result {
	results := make([]Result, len(actions))
	started := make([]bool, len(actions))
	// Each action records its own outcome and never fails the fan-out, so nothing else is
	// cancelled; Each's error can only be ctx's, which the not-started results below report.
	tracker := opts.Progress.Start(ctx, "apply", len(actions))
	_ = fanout.Each(ctx, len(actions), opts.Concurrency, func(_ context.Context, i int) error {
		started[i] = true
		var o outcome
		o.err = runOne(ctx, c, actions[i], opts, &o)
		results[i] = Result{Action: actions[i], Err: o.err, Done: o.done}
		tracker.Done(1)
		return nil
	})
	tracker.Finish(ctx.Err())
	for i, a := range actions {
		if !started[i] {
			results[i] = Result{Action: a, Err: fmt.Errorf("not started: %w", ctx.Err())}
		}
	}
	return results
}

// outcome collects what runOne leaves behind besides its error.
type outcome struct {
	err  error
	done *reconcile.Entry
}

func runOne(ctx context.Context, c Client, a reconcile.Action, opts Options, o *outcome) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	switch a.Kind {
	case reconcile.KindStateOnly:
		return nil
	case reconcile.KindDelete:
		return Delete(ctx, c, a.Username)
	case reconcile.KindCreate:
		return add(ctx, c, a, opts, true, o)
	case reconcile.KindLink:
		return link(ctx, c, a, opts, true, o)
	case reconcile.KindUpdate, reconcile.KindDisable, reconcile.KindEnable:
		return update(ctx, c, a, opts, o)
	}
	return fmt.Errorf("unknown action %q for %q", a.Kind, a.Username)
}

// devices carries out the planned device changes of a user (work, built from the user as PingID
// has it) against the devices it has now: current when given (a user just created), else read
// afresh, since what an edituser response lists is not documented. On a refusal o.done records
// the planned entry with the devices the user has afterwards.
func devices(ctx context.Context, c Client, a reconcile.Action, current *pingid.User, work func(*pingid.User) DeviceWork, o *outcome) error {
	if current == nil {
		u, err := c.GetUser(ctx, a.Username)
		if err != nil {
			return fmt.Errorf("read devices: %w", err)
		}
		current = u
	}
	w := work(current)
	if w.Empty() {
		return nil
	}
	after, err := ApplyDevices(ctx, c, w, current.Devices)
	if err != nil {
		done := *a.Planned
		slots, others := reconcile.ObservedDevices(SyncDevices(after))
		if done.Devices.Managed {
			done.Devices = slots
		}
		if done.OtherDevices.Managed {
			done.OtherDevices = others
		}
		o.done = &done
	}
	return err
}

// linkWork is the device work of a user being linked or created: the planned devices against
// what the user has now; with other_devices managed, every other device the user has goes (the
// plan showed them as to be unpaired).
func linkWork(username string, planned reconcile.Entry, current *pingid.User) DeviceWork {
	if !planned.Devices.Managed {
		return DeviceWork{Username: username}
	}
	var have reconcile.Entry
	have.Devices, have.OtherDevices = reconcile.ObservedDevices(SyncDevices(current.Devices))
	if !planned.OtherDevices.Managed {
		have.OtherDevices = reconcile.OtherDevices{}
	}
	return WorkFromDiff(username, have, planned)
}

func plannedEntry(a reconcile.Action) (reconcile.Entry, error) {
	if a.Planned == nil {
		return reconcile.Entry{}, fmt.Errorf("%s of %q has no planned entry", a.Kind, a.Username)
	}
	return *a.Planned, nil
}

// fields returns the mapped fields of the planned entry. An empty email is never sent: a user
// without one has none planned, and edituser would clear the email PingID has.
func fields(e reconcile.Entry, opts Options) pingid.UserFields {
	var f pingid.UserFields
	if opts.MapEmail && e.Email != "" {
		f.Email = &e.Email
	}
	if opts.MapFirstName {
		f.FirstName = &e.FirstName
	}
	if opts.MapLastName {
		f.LastName = &e.LastName
	}
	return f
}

// add creates the user; a user that exists by now (created since the plan) is linked instead.
func add(ctx context.Context, c Client, a reconcile.Action, opts Options, mayLink bool, o *outcome) error {
	e, err := plannedEntry(a)
	if err != nil {
		return err
	}
	f := fields(e, opts)
	nu := pingid.NewUser{UserName: a.Username, Role: pingid.RoleRegular}
	if f.Email != nil {
		nu.Email = *f.Email
	}
	if f.FirstName != nil {
		nu.FirstName = *f.FirstName
	}
	if f.LastName != nil {
		nu.LastName = *f.LastName
	}
	created, err := c.AddUser(ctx, nu)
	if err != nil {
		if mayLink && errors.Is(err, pingid.ErrUserExists) {
			return link(ctx, c, a, opts, false, o)
		}
		return fmt.Errorf("add: %w", err)
	}
	if !e.Enabled {
		return Disable(ctx, c, a.Username) // devices are not managed for disabled users
	}
	if !e.Devices.Managed {
		return nil
	}
	return devices(ctx, c, a, created, func(u *pingid.User) DeviceWork {
		w := linkWork(a.Username, e, u)
		if opts.SetPrimaryOnCreate && !w.Empty() {
			w.Primary, w.SetPrimary = opts.PrimaryOnCreate, true
		}
		return w
	}, o)
}

// link brings an existing PingID user under management: mapped fields are merged into its
// record (read, merge, write), then its enabled state is set. A user gone since the plan is
// added instead.
func link(ctx context.Context, c Client, a reconcile.Action, opts Options, mayAdd bool, o *outcome) error {
	e, err := plannedEntry(a)
	if err != nil {
		return err
	}
	u, _, err := c.UpdateUser(ctx, a.Username, fields(e, opts))
	if err != nil {
		if mayAdd && errors.Is(err, pingid.ErrUserNotFound) {
			return add(ctx, c, a, opts, false, o)
		}
		return fmt.Errorf("link: %w", err)
	}
	switch {
	case !e.Enabled && u.Status != reconcile.StatusSuspended:
		return Disable(ctx, c, a.Username)
	case e.Enabled && u.Status == reconcile.StatusSuspended:
		if err := Enable(ctx, c, a.Username); err != nil {
			return err
		}
	}
	if u.Role == pingid.RoleAdmin {
		return nil // an ADMIN is never linked by the plan; one made ADMIN since keeps its devices
	}
	if !e.Devices.Managed {
		return nil
	}
	return devices(ctx, c, a, nil, func(u *pingid.User) DeviceWork { return linkWork(a.Username, e, u) }, o)
}

// update writes changed mapped fields, then suspends or re-activates as planned.
func update(ctx context.Context, c Client, a reconcile.Action, opts Options, o *outcome) error {
	e, err := plannedEntry(a)
	if err != nil {
		return err
	}
	if a.ChangesMappedFields() {
		if _, _, err = c.UpdateUser(ctx, a.Username, fields(e, opts)); err != nil {
			return fmt.Errorf("update: %w", err)
		}
	}
	switch a.Kind {
	case reconcile.KindDisable:
		return Disable(ctx, c, a.Username)
	case reconcile.KindEnable:
		// Only a suspended user needs activating: activating a user who never activated (a
		// disable that could not suspend it) would hand out an activation code for nothing.
		if a.Prior == nil || a.Prior.Status == reconcile.StatusSuspended {
			if err := Enable(ctx, c, a.Username); err != nil {
				return err
			}
		}
	case reconcile.KindUpdate:
		// The field update above, and the devices below.
	case reconcile.KindCreate, reconcile.KindLink, reconcile.KindDelete, reconcile.KindStateOnly:
		// runOne never routes these here.
	}
	if a.Prior == nil {
		return nil
	}
	w := WorkFromDiff(a.Username, *a.Prior, e)
	if w.Empty() {
		return nil
	}
	return devices(ctx, c, a, nil, func(*pingid.User) DeviceWork { return w }, o)
}

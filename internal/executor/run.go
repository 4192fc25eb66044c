package executor

import (
	"context"
	"errors"
	"fmt"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/fanout"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// Options says how to carry out actions.
type Options struct {
	// Concurrency is the number of users worked on at once; the client bounds API calls too.
	Concurrency int
	// Mapping says which fields the connection maps: only those are ever written.
	reconcile.Mapping
}

// Result is the outcome of one action.
type Result struct {
	Action reconcile.Action
	Err    error
}

// Run carries out every action and returns one result per action, in the input order. A
// failed action does not stop the others: the caller records exactly what succeeded. A
// cancelled context stops the remaining actions, which fail with the context's error.
func Run(ctx context.Context, c Client, actions []reconcile.Action, opts Options) []Result {
	results := make([]Result, len(actions))
	started := make([]bool, len(actions))
	// Each action records its own outcome and never fails the fan-out, so nothing else is
	// cancelled; Each's error can only be ctx's, which the not-started results below report.
	_ = fanout.Each(ctx, len(actions), opts.Concurrency, func(_ context.Context, i int) error {
		started[i] = true
		results[i] = Result{Action: actions[i], Err: runOne(ctx, c, actions[i], opts)}
		return nil
	})
	for i, a := range actions {
		if !started[i] {
			results[i] = Result{Action: a, Err: fmt.Errorf("not started: %w", ctx.Err())}
		}
	}
	return results
}

func runOne(ctx context.Context, c Client, a reconcile.Action, opts Options) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	switch a.Kind {
	case reconcile.KindStateOnly:
		return nil
	case reconcile.KindDelete:
		return Delete(ctx, c, a.Username)
	case reconcile.KindCreate:
		return add(ctx, c, a, opts, true)
	case reconcile.KindLink:
		return link(ctx, c, a, opts, true)
	case reconcile.KindUpdate, reconcile.KindDisable, reconcile.KindEnable:
		return update(ctx, c, a, opts)
	}
	return fmt.Errorf("unknown action %q for %q", a.Kind, a.Username)
}

func plannedEntry(a reconcile.Action) (reconcile.Entry, error) {
	if a.Planned == nil {
		return reconcile.Entry{}, fmt.Errorf("%s of %q has no planned entry", a.Kind, a.Username)
	}
	return *a.Planned, nil
}

// fields returns the mapped fields of the planned entry.
func fields(e reconcile.Entry, opts Options) pingid.UserFields {
	var f pingid.UserFields
	if opts.MapEmail {
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
func add(ctx context.Context, c Client, a reconcile.Action, opts Options, mayLink bool) error {
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
	if _, err := c.AddUser(ctx, nu); err != nil {
		if mayLink && errors.Is(err, pingid.ErrUserExists) {
			return link(ctx, c, a, opts, false)
		}
		return fmt.Errorf("add: %w", err)
	}
	if !e.Enabled {
		return Disable(ctx, c, a.Username)
	}
	return nil
}

// link brings an existing PingID user under management: mapped fields are merged into its
// record (read, merge, write), then its enabled state is set. A user gone since the plan is
// added instead.
func link(ctx context.Context, c Client, a reconcile.Action, opts Options, mayAdd bool) error {
	e, err := plannedEntry(a)
	if err != nil {
		return err
	}
	u, _, err := c.UpdateUser(ctx, a.Username, fields(e, opts))
	if err != nil {
		if mayAdd && errors.Is(err, pingid.ErrUserNotFound) {
			return add(ctx, c, a, opts, false)
		}
		return fmt.Errorf("link: %w", err)
	}
	switch {
	case !e.Enabled && u.Status != reconcile.StatusSuspended:
		return Disable(ctx, c, a.Username)
	case e.Enabled && u.Status == reconcile.StatusSuspended:
		return Enable(ctx, c, a.Username)
	}
	return nil
}

// update writes changed mapped fields, then suspends or re-activates as planned.
func update(ctx context.Context, c Client, a reconcile.Action, opts Options) error {
	e, err := plannedEntry(a)
	if err != nil {
		return err
	}
	if a.ChangesMappedFields() {
		if _, _, err := c.UpdateUser(ctx, a.Username, fields(e, opts)); err != nil {
			return fmt.Errorf("update: %w", err)
		}
	}
	switch a.Kind {
	case reconcile.KindDisable:
		return Disable(ctx, c, a.Username)
	case reconcile.KindEnable:
		// Only a suspended user needs activating: activating a user who never activated (a
		// disable that could not suspend it) would hand out an activation code for nothing.
		if a.Prior != nil && a.Prior.Status != reconcile.StatusSuspended {
			return nil
		}
		return Enable(ctx, c, a.Username)
	case reconcile.KindUpdate:
		// The field update above is all there is.
	case reconcile.KindCreate, reconcile.KindLink, reconcile.KindDelete, reconcile.KindStateOnly:
		// runOne never routes these here.
	}
	return nil
}

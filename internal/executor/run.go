package executor

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/sync"
)

// Options says how to carry out actions.
type Options struct {
	// Concurrency is the number of users worked on at once; the client bounds API calls too.
	Concurrency int
	// Map* say which fields the connection maps: only those are ever written.
	MapEmail, MapFirstName, MapLastName bool
}

// Result is the outcome of one action.
type Result struct {
	Action sync.Action
	Err    error
}

// Run carries out every action and returns one result per action, in the input order. A
// failed action does not stop the others: the caller records exactly what succeeded. A
// cancelled context stops the remaining actions, which fail with the context's error.
func Run(ctx context.Context, c Client, actions []sync.Action, opts Options) []Result {
	results := make([]Result, len(actions))
	workers := min(max(opts.Concurrency, 1), len(actions))
	next := make(chan int)
	var wg gosync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = Result{Action: actions[i], Err: runOne(ctx, c, actions[i], opts)}
			}
		}()
	}
	for i := range actions {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

func runOne(ctx context.Context, c Client, a sync.Action, opts Options) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	switch a.Kind {
	case sync.KindStateOnly:
		return nil
	case sync.KindDelete:
		return Delete(ctx, c, a.Username)
	case sync.KindCreate:
		return add(ctx, c, a, opts, true)
	case sync.KindLink:
		return link(ctx, c, a, opts, true)
	case sync.KindUpdate, sync.KindDisable, sync.KindEnable:
		return update(ctx, c, a, opts)
	}
	return fmt.Errorf("unknown action %q for %q", a.Kind, a.Username)
}

func plannedEntry(a sync.Action) (sync.Entry, error) {
	if a.Planned == nil {
		return sync.Entry{}, fmt.Errorf("%s of %q has no planned entry", a.Kind, a.Username)
	}
	return *a.Planned, nil
}

// fields returns the mapped fields of the planned entry.
func fields(e sync.Entry, opts Options) pingid.UserFields {
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
func add(ctx context.Context, c Client, a sync.Action, opts Options, mayLink bool) error {
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
func link(ctx context.Context, c Client, a sync.Action, opts Options, mayAdd bool) error {
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
	case !e.Enabled && u.Status != sync.StatusSuspended:
		return Disable(ctx, c, a.Username)
	case e.Enabled && u.Status == sync.StatusSuspended:
		return Enable(ctx, c, a.Username)
	}
	return nil
}

// update writes changed mapped fields, then suspends or re-activates as planned.
func update(ctx context.Context, c Client, a sync.Action, opts Options) error {
	e, err := plannedEntry(a)
	if err != nil {
		return err
	}
	if hasFieldChanges(a) {
		if _, _, err := c.UpdateUser(ctx, a.Username, fields(e, opts)); err != nil {
			return fmt.Errorf("update: %w", err)
		}
	}
	switch a.Kind {
	case sync.KindDisable:
		return Disable(ctx, c, a.Username)
	case sync.KindEnable:
		// Only a suspended user needs activating: activating a user who never activated (a
		// disable that could not suspend it) would hand out an activation code for nothing.
		if a.Prior != nil && a.Prior.Status != sync.StatusSuspended {
			return nil
		}
		return Enable(ctx, c, a.Username)
	}
	return nil
}

func hasFieldChanges(a sync.Action) bool {
	for _, ch := range a.Changes {
		switch ch.Field {
		case "email", "first_name", "last_name":
			return true
		}
	}
	return false
}

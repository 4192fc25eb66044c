// Package executor is the execute step: it carries out provisioning decisions against the PingID
// API, turning the pure actions computed by internal/reconcile into client calls, fanned out
// through internal/fanout, with a per-user result, so callers can record exactly what succeeded.
package executor

import (
	"context"
	"errors"
	"fmt"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// Client is the part of the PingID client the executor needs; *pingid.Client implements it.
type Client interface {
	GetUser(ctx context.Context, username string) (*pingid.User, error)
	AddUser(ctx context.Context, u pingid.NewUser) (*pingid.User, error)
	UpdateUser(ctx context.Context, username string, f pingid.UserFields) (*pingid.User, bool, error)
	SuspendUser(ctx context.Context, username string) error
	ActivateUser(ctx context.Context, username string) error
	DeleteUser(ctx context.Context, username string) error
	DeviceClient
}

var _ Client = (*pingid.Client)(nil)

// Disable leaves a user unable to authenticate.
//
// PingID refuses to suspend a user who never activated (NOT_ACTIVE, error 10561), yet such a
// user can still self-enrol at their next PingID login, so skipping them would leave a
// leaver with a way in. ActivateUser moves a NOT_ACTIVE user to PENDING_ACTIVATION (the
// activation code it returns is discarded, never stored or logged), which can be suspended;
// the record, its attributes and role are kept, and re-enabling later is an ordinary
// ActivateUser. Deleting instead would lose nothing for such a user, but "disable" promises
// to keep the record.
func Disable(ctx context.Context, c Client, username string) error {
	err := c.SuspendUser(ctx, username)
	if err == nil {
		return nil
	}
	if !errors.Is(err, pingid.ErrNotActive) {
		return fmt.Errorf("suspend %q: %w", username, err)
	}
	if err := c.ActivateUser(ctx, username); err != nil && !errors.Is(err, pingid.ErrAlreadyActive) {
		return fmt.Errorf("prepare never-activated user %q for suspension: %w", username, err)
	}
	if err := c.SuspendUser(ctx, username); err != nil {
		return fmt.Errorf("suspend never-activated user %q: %w", username, err)
	}
	return nil
}

// Enable lets a suspended user authenticate again; an already active user is left alone.
func Enable(ctx context.Context, c Client, username string) error {
	if err := c.ActivateUser(ctx, username); err != nil && !errors.Is(err, pingid.ErrAlreadyActive) {
		return fmt.Errorf("activate %q: %w", username, err)
	}
	return nil
}

// Delete removes a user; a user that is already gone counts as deleted.
func Delete(ctx context.Context, c Client, username string) error {
	if err := c.DeleteUser(ctx, username); err != nil && !errors.Is(err, pingid.ErrUserNotFound) {
		return fmt.Errorf("delete %q: %w", username, err)
	}
	return nil
}

// Remove applies a remove-user action ("disable" or "delete").
func Remove(ctx context.Context, c Client, username, action string) error {
	if action == RemoveDelete {
		return Delete(ctx, c, username)
	}
	return Disable(ctx, c, username)
}

// Remove-user actions, as in the PingID Provisioner's "Remove User Action": the planner's
// values, as strings for schemas.
const (
	RemoveDisable = string(reconcile.RemoveDisable)
	RemoveDelete  = string(reconcile.RemoveDelete)
)

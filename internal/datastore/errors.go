package datastore

import (
	"errors"
	"fmt"

	"github.com/go-ldap/ldap/v3"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotAGroup: group_dn names an entry that is not a static group.
	ErrNotAGroup = errors.New("not a group")
	// ErrMissingUsername: an in-scope entry lacks the username attribute.
	ErrMissingUsername = errors.New("missing username attribute")
	// ErrDuplicateUsername: two entries map to the same username (case-insensitively).
	ErrDuplicateUsername = errors.New("duplicate username")
	// ErrNestingTooDeep: nested groups go deeper than MaxNestingDepth.
	ErrNestingTooDeep = errors.New("group nesting too deep")
	// ErrReferral: the server answered with a referral or continuation reference,
	// so part of the scope lives on another server.
	ErrReferral = errors.New("referral")
	// ErrNoSuchEntry: the base DN or group DN does not exist (or is not visible to the bind account).
	ErrNoSuchEntry = errors.New("no such entry")
	// ErrNotActiveDirectory: directory_type is active_directory but the server is not.
	ErrNotActiveDirectory = errors.New("not an Active Directory server")
	// ErrClosed: the connection was closed (Close, context cancellation or a transport failure).
	ErrClosed = errors.New("connection closed")
)

// Operations reported in Error.Op.
const (
	OpDial   = "dial"
	OpTLS    = "tls"
	OpBind   = "bind"
	OpSearch = "search"
)

// Error is a failed directory operation: what failed (Op), where (Target: the
// URL for dial/tls/bind, the base or entry DN for search) and the LDAP result
// code when the server sent one. It never contains the bind password.
type Error struct {
	Op     string
	Target string
	Code   uint16
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("ldap %s %q failed: %v", e.Op, e.Target, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// newError wraps err, extracting the LDAP result code when there is one.
func newError(op, target string, err error) *Error {
	e := &Error{Op: op, Target: target, Err: err}
	var le *ldap.Error
	// Codes 200-206 are go-ldap's own (network, filter compile...), not the server's.
	if errors.As(err, &le) && (le.ResultCode < ldap.ErrorNetwork || le.ResultCode > ldap.ErrorEmptyPassword) {
		e.Code = le.ResultCode
	}
	return e
}

package datastore

import (
	"errors"
	"fmt"
	"strings"

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

// resultError shows an LDAP result as `LDAP result code 49 "Invalid Credentials"`, followed by
// the server's diagnostic message only when it sent one: go-ldap's own text ends in a bare
// colon otherwise. errors.As still finds the *ldap.Error.
type resultError struct{ le *ldap.Error }

func (e resultError) Error() string {
	s := fmt.Sprintf("LDAP result code %d %q", e.le.ResultCode, ldap.LDAPResultCodeMap[e.le.ResultCode])
	if e.le.Err != nil {
		if msg := strings.TrimSpace(e.le.Err.Error()); msg != "" {
			s += ": " + msg
		}
	}
	return s
}

func (e resultError) Unwrap() error { return e.le }

// readable gives an *ldap.Error straight from go-ldap its resultError form; other errors are
// returned as they are.
func readable(err error) error {
	if le, ok := err.(*ldap.Error); ok { //nolint:errorlint // only go-ldap's unwrapped result, not one wrapped with context
		return resultError{le: le}
	}
	return err
}

// Active Directory puts the reason of a result 49 in its diagnostic message as "data <hex>"
// (the Win32 error of the logon attempt).
var adBindReasons = map[string]string{
	"525": "the bind_dn does not exist",
	"52e": "the password does not match the bind_dn",
	"530": "the account may not log on at this time",
	"531": "the account may not log on from this host",
	"532": "the account's password has expired",
	"533": "the account is disabled",
	"701": "the account has expired",
	"773": "the account must change its password",
	"775": "the account is locked out",
}

// bindHint says what to check after a failed bind, or "" when the result says nothing more.
func bindHint(err error) string {
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		return ""
	}
	var le *ldap.Error
	if errors.As(err, &le) && le.Err != nil {
		msg := strings.ToLower(le.Err.Error())
		for code, reason := range adBindReasons {
			if strings.Contains(msg, "data "+code+",") || strings.HasSuffix(msg, "data "+code) {
				return "the directory rejected bind_dn and bind_password: " + reason
			}
		}
	}
	return "the directory rejected bind_dn and bind_password: check that bind_dn names the service account " +
		"and that bind_password is its current password; a locked or expired account is refused the same way"
}

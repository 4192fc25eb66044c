package pingid

import (
	"errors"
	"fmt"
	"strings"
)

// PingID API error ids (PingID API docs, error codes).
const (
	ErrorIDOK            = 200
	ErrorIDInvalidInput  = 400
	ErrorIDUserExists    = 10556
	ErrorIDNotActive     = 10561
	ErrorIDAlreadyActive = 10562
	ErrorIDUserNotFound  = 10564

	// ErrorIDTooManyDevices (user.exceeded.num.of.devices): the organization's "Maximum
	// Allowed Devices" setting allows no further device for this user.
	ErrorIDTooManyDevices = 20562
	// ErrorIDTooManyDevicesLegacy is the id PingID answered 20562's case with before Oct 2021
	// (research §4.5); it is read that way only for offlinepairing.
	ErrorIDTooManyDevicesLegacy = 20549
	// ErrorIDInvalidPhoneNumber (INVALID_PHONE_NUMBER): PingID refused a phone number.
	ErrorIDInvalidPhoneNumber = 20559
)

// Sentinels for errors.Is; an *APIError matches the one for its ErrorID.
var (
	ErrUserNotFound  = errors.New("pingid: user does not exist")
	ErrUserExists    = errors.New("pingid: user already exists")
	ErrNotActive     = errors.New("pingid: user is not active")
	ErrAlreadyActive = errors.New("pingid: user is already active")
	ErrInvalidInput  = errors.New("pingid: invalid input")

	// ErrTooManyDevices: pairing would exceed the organization's "Maximum Allowed Devices".
	ErrTooManyDevices = errors.New("pingid: user has the maximum number of devices")
	// ErrInvalidPhoneNumber: PingID refused a phone number.
	ErrInvalidPhoneNumber = errors.New("pingid: invalid phone number")

	// ErrBadSignature: the response was not a JWS signed with our key (unsigned, wrong key,
	// another alg). Such a response is never believed, whatever it claims.
	ErrBadSignature = errors.New("pingid: response signature missing or invalid")
)

// APIError is a response the PingID API (or something in front of it) refused the call with.
// ErrorID is 0 when the body carried none (for example an HTML page from a proxy).
type APIError struct {
	Operation   string
	Username    string
	HTTPStatus  int
	ErrorID     int
	Message     string
	UniqueMsgID string
	// Unsigned marks an error body that was not signed: the service answers that way when it
	// rejects the request envelope itself, typically because of wrong credentials.
	Unsigned bool
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pingid %s %q: ", e.Operation, e.Username)
	if e.ErrorID != 0 {
		fmt.Fprintf(&b, "error %d", e.ErrorID)
	} else {
		b.WriteString("error")
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.UniqueMsgID != "" {
		fmt.Fprintf(&b, " [%s]", e.UniqueMsgID)
	}
	switch {
	case e.tooManyDevices():
		b.WriteString(" (the PingID organization's \"Maximum Allowed Devices\" setting — PingOne admin portal, " +
			"Setup > PingID > Configuration, default 1, at most 20 — allows no further device for this user: " +
			"raise it, or remove one of the user's devices)")
	case e.ErrorID == ErrorIDInvalidPhoneNumber:
		b.WriteString(" (PingID refused the phone number: give it in international form with its country code, " +
			"for example +15550102030, and an extension after a comma, for example +15550102030,123)")
	}
	if e.Unsigned && e.HTTPStatus == 400 {
		b.WriteString(" (the response was not signed, which usually means PingID rejected the request itself: " +
			"check org_alias, token and use_base64_key, and that idp_url is this organization's)")
	}
	return b.String()
}

// Is lets errors.Is(err, ErrUserNotFound) and friends work on an *APIError.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUserNotFound:
		return e.ErrorID == ErrorIDUserNotFound
	case ErrUserExists:
		return e.ErrorID == ErrorIDUserExists
	case ErrNotActive:
		return e.ErrorID == ErrorIDNotActive
	case ErrAlreadyActive:
		return e.ErrorID == ErrorIDAlreadyActive
	case ErrInvalidInput:
		return e.ErrorID == ErrorIDInvalidInput
	case ErrTooManyDevices:
		return e.tooManyDevices()
	case ErrInvalidPhoneNumber:
		return e.ErrorID == ErrorIDInvalidPhoneNumber
	}
	return false
}

func (e *APIError) tooManyDevices() bool {
	return e.ErrorID == ErrorIDTooManyDevices || (e.ErrorID == ErrorIDTooManyDevicesLegacy && e.Operation == OpOfflinePairing)
}

// signatureError wraps ErrBadSignature with the operation and a reason that names no secret.
type signatureError struct {
	Operation, Username string
	HTTPStatus          int
	Reason              string
}

func (e *signatureError) Error() string {
	return fmt.Sprintf("pingid %s %q: %v (HTTP %d): %s", e.Operation, e.Username, ErrBadSignature, e.HTTPStatus, e.Reason)
}

func (e *signatureError) Unwrap() error { return ErrBadSignature }

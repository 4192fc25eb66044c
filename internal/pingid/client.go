package pingid

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/concurrency"
)

// Config defaults.
const (
	// DefaultMaxConcurrency caps the adaptive limit (see internal/concurrency, which starts at
	// 8 and grows only while PingID answers at a steady latency). 64 in flight at the ~100 ms a
	// call takes from a customer network is ~640 calls/s: enough to meet a tenant that serves
	// 500 calls/s (which needs 50 in flight), where 32 would stop at ~320.
	DefaultMaxConcurrency = 64
	// InitialConcurrency is where the adaptive limit starts (capped by MaxConcurrency).
	InitialConcurrency    = concurrency.DefaultInitial
	DefaultMaxRetries     = 5
	DefaultRequestTimeout = 30 * time.Second
	DefaultMinBackoff     = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second

	// NoRetries as Config.MaxRetries disables retries (0 means "use the default").
	NoRetries = -1

	// MaxUsernameLength is the documented PingID limit ("Up to 250 characters").
	MaxUsernameLength = 250

	RoleRegular = "REGULAR"
	RoleAdmin   = "ADMIN"

	StatusActive              = "ACTIVE"
	StatusPending             = "PENDING"
	StatusNotActive           = "NOT_ACTIVE"
	StatusPendingActivation   = "PENDING_ACTIVATION"
	StatusSuspended           = "SUSPENDED"
	StatusPendingChangeDevice = "PENDING_CHANGE_DEVICE"
)

// Operation names, as they appear in the URL path and in Calls().
const (
	OpAddUser        = "adduser"
	OpGetUserDetails = "getuserdetails"
	OpEditUser       = "edituser"
	OpDeleteUser     = "deleteuser"
	OpSuspendUser    = "suspenduser"
	OpActivateUser   = "activateuser"
)

// maxResponseBytes bounds how much of a response is read; user details are a few KiB.
const maxResponseBytes = 4 << 20

// Config configures a Client. Zero values select the documented defaults.
type Config struct {
	Credentials
	HTTPClient     *http.Client     // nil -> a client with sane transport timeouts that refuses redirects
	MaxConcurrency int              // cap of the adaptive limit on calls in flight, default 64
	MaxRetries     int              // retries after the first attempt, default 5; NoRetries (-1) disables
	RequestTimeout time.Duration    // per attempt, default 30s
	MinBackoff     time.Duration    // default 500ms
	MaxBackoff     time.Duration    // default 30s; also caps Retry-After
	Now            func() time.Time // for tests; default time.Now
}

// Client calls the PingID API 4.9. It is safe for concurrent use.
type Client struct {
	creds          Credentials
	key            []byte
	endpointBase   string // idp_url without a trailing slash
	signer         jose.Signer
	httpClient     *http.Client
	limiter        *concurrency.Controller // adaptive limit shared by every call
	maxRetries     int
	requestTimeout time.Duration
	minBackoff     time.Duration
	maxBackoff     time.Duration
	now            func() time.Time
	// sleep waits between attempts; tests replace it to observe the chosen delays.
	sleep func(ctx context.Context, d time.Duration) error

	callsMu sync.Mutex
	calls   map[string]int64

	retries     atomic.Int64
	throttled   atomic.Int64 // 429 answers
	unavailable atomic.Int64 // 503 answers
}

// NewClient validates the credentials and builds a client.
func NewClient(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuring PingID client: %w", err)
	}
	key, err := DecodeKey(cfg.Base64Key)
	if err != nil {
		return nil, fmt.Errorf("configuring PingID client: %w", err)
	}
	signer, err := newRequestSigner(key, cfg.OrgAlias, cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("configuring PingID client: %w", err)
	}

	c := &Client{
		creds:          cfg.Credentials,
		key:            key,
		endpointBase:   strings.TrimRight(cfg.IDPURL, "/"),
		signer:         signer,
		httpClient:     cfg.HTTPClient,
		maxRetries:     cfg.MaxRetries,
		requestTimeout: cfg.RequestTimeout,
		minBackoff:     cfg.MinBackoff,
		maxBackoff:     cfg.MaxBackoff,
		now:            cfg.Now,
		sleep:          sleepContext,
		calls:          map[string]int64{},
	}
	maxConcurrency := cfg.MaxConcurrency
	if maxConcurrency <= 0 {
		maxConcurrency = DefaultMaxConcurrency
	}
	c.limiter = concurrency.New(concurrency.Options{Max: maxConcurrency})
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.requestTimeout <= 0 {
		c.requestTimeout = DefaultRequestTimeout
	}
	if c.minBackoff <= 0 {
		c.minBackoff = DefaultMinBackoff
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = DefaultMaxBackoff
	}
	if c.minBackoff > c.maxBackoff {
		c.minBackoff = c.maxBackoff
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.httpClient == nil {
		c.httpClient = defaultHTTPClient(maxConcurrency)
	}
	return c, nil
}

func defaultHTTPClient(maxConnsPerHost int) *http.Client {
	var transport *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		transport = dt.Clone() // keeps proxy-from-environment, dial and keep-alive timeouts
	} else {
		transport = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			ExpectContinueTimeout: time.Second,
		}
	}
	transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	transport.TLSHandshakeTimeout = 10 * time.Second
	transport.MaxIdleConnsPerHost = maxConnsPerHost
	transport.IdleConnTimeout = 90 * time.Second
	return &http.Client{
		Transport: transport,
		// The request body carries the token; never replay it to wherever a redirect points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Calls returns the number of attempts sent per operation since the client was created.
func (c *Client) Calls() map[string]int64 {
	c.callsMu.Lock()
	defer c.callsMu.Unlock()
	out := make(map[string]int64, len(c.calls))
	for op, n := range c.calls {
		out[op] = n
	}
	return out
}

// Stats is a snapshot of the client's traffic since it was created, for progress reports.
type Stats struct {
	Attempts       int64 // requests sent, retries included
	Retries        int64
	Throttled      int64 // 429 answers
	Unavailable    int64 // 503 answers
	Concurrency    int   // the adaptive limit now
	MaxConcurrency int   // its cap (max_concurrency)
	PeakLimit      int   // the highest limit reached
}

// Stats returns the client's counters and the current concurrency limit.
func (c *Client) Stats() Stats {
	var attempts int64
	c.callsMu.Lock()
	for _, n := range c.calls {
		attempts += n
	}
	c.callsMu.Unlock()
	ls := c.limiter.Stats()
	return Stats{
		Attempts: attempts, Retries: c.retries.Load(), Throttled: c.throttled.Load(), Unavailable: c.unavailable.Load(),
		Concurrency: ls.Limit, MaxConcurrency: ls.Max, PeakLimit: ls.Peak,
	}
}

// Concurrency is the number of calls the client lets into flight now (the adaptive limit,
// at most MaxConcurrency). Fan-outs size their worker pools from MaxConcurrency and let the
// client's limit decide how many of them call at once.
func (c *Client) Concurrency() int { return c.limiter.Limit() }

// MaxConcurrency is the cap of the adaptive limit.
func (c *Client) MaxConcurrency() int { return c.limiter.Max() }

func (c *Client) countAttempt(op string) {
	c.callsMu.Lock()
	c.calls[op]++
	c.callsMu.Unlock()
}

// User is a PingID user as getuserdetails (or adduser/edituser) returns it.
type User struct {
	UserName, FirstName, LastName, Email string
	Role                                 string // "REGULAR" | "ADMIN"
	Status                               string // ACTIVE, PENDING, NOT_ACTIVE, PENDING_ACTIVATION, SUSPENDED, PENDING_CHANGE_DEVICE
	UserEnabled                          bool
	DeviceCount                          int             // len(devicesDetails), or 1 if only deviceDetails is set
	Devices                              []Device        // devicesDetails, in PingID's order
	Raw                                  json.RawMessage // the userDetails object as received
}

// NewUser is the input of AddUser. An empty Role means REGULAR.
type NewUser struct {
	UserName, FirstName, LastName, Email, Role string
	ActivateUser                               bool
}

// UserFields are the mapped attributes UpdateUser may change; nil leaves a field as is.
type UserFields struct {
	FirstName, LastName, Email *string
}

type wireUser struct {
	UserName       string            `json:"userName"`
	FName          *string           `json:"fname"`
	LName          *string           `json:"lname"`
	Email          *string           `json:"email"`
	Role           *string           `json:"role"`
	Status         *string           `json:"status"`
	UserEnabled    *bool             `json:"userEnabled"`
	DeviceDetails  json.RawMessage   `json:"deviceDetails"`
	DevicesDetails []json.RawMessage `json:"devicesDetails"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// nullIfEmpty sends "" as null: PingID stores unset names/emails as null.
func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func parseUser(raw json.RawMessage, requested string) (*User, error) {
	var w wireUser
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("decoding userDetails: %w", err)
	}
	u := &User{
		UserName:  w.UserName,
		FirstName: deref(w.FName),
		LastName:  deref(w.LName),
		Email:     deref(w.Email),
		Role:      deref(w.Role),
		Status:    deref(w.Status),
		Raw:       append(json.RawMessage(nil), raw...),
	}
	if u.UserName == "" {
		u.UserName = requested
	}
	if w.UserEnabled != nil {
		u.UserEnabled = *w.UserEnabled
	}
	devices, err := parseDevices(w.DevicesDetails)
	if err != nil {
		return nil, err
	}
	u.Devices = devices
	u.DeviceCount = len(w.DevicesDetails)
	if u.DeviceCount == 0 {
		if dd := strings.TrimSpace(string(w.DeviceDetails)); dd != "" && dd != "null" {
			u.DeviceCount = 1
		}
	}
	return u, nil
}

// Request bodies. Field names follow the current documentation (userName, fname, lname).
type userNameRequest struct {
	UserName string `json:"userName"`
}

type getUserRequest struct {
	UserName           string `json:"userName"`
	GetSameDeviceUsers bool   `json:"getSameDeviceUsers"`
}

type writeUserRequest struct {
	ActivateUser bool    `json:"activateUser"`
	UserName     string  `json:"userName"`
	FName        *string `json:"fname"`
	LName        *string `json:"lname"`
	Email        *string `json:"email"`
	Role         string  `json:"role"`
}

func validateUsername(op, username string) error {
	if strings.TrimSpace(username) == "" {
		return fmt.Errorf("pingid %s: %w: username is empty", op, ErrInvalidInput)
	}
	if n := utf8.RuneCountInString(username); n > MaxUsernameLength {
		return fmt.Errorf("pingid %s %q: %w: username has %d characters, the limit is %d", op, username, ErrInvalidInput, n, MaxUsernameLength)
	}
	return nil
}

func normalizeRole(op, username, role string) (string, error) {
	switch r := strings.ToUpper(strings.TrimSpace(role)); r {
	case RoleRegular, RoleAdmin:
		return r, nil
	default:
		return "", fmt.Errorf("pingid %s %q: %w: role must be %s or %s", op, username, ErrInvalidInput, RoleRegular, RoleAdmin)
	}
}

// userFromResponse decodes userDetails, or reads the user back when a response lacks them.
func (c *Client) userFromResponse(ctx context.Context, op, username string, resp *apiResponse) (*User, error) {
	if resp.UserDetails == nil {
		u, err := c.GetUser(ctx, username)
		if err != nil {
			return nil, fmt.Errorf("pingid %s %q: response had no userDetails; reading the user back: %w", op, username, err)
		}
		return u, nil
	}
	u, err := parseUser(resp.UserDetails, username)
	if err != nil {
		return nil, fmt.Errorf("pingid %s %q: %w", op, username, err)
	}
	return u, nil
}

// GetUser reads one user. A missing user is an error matching ErrUserNotFound.
func (c *Client) GetUser(ctx context.Context, username string) (*User, error) {
	if err := validateUsername(OpGetUserDetails, username); err != nil {
		return nil, err
	}
	res, err := c.call(ctx, OpGetUserDetails, username, getUserRequest{UserName: username}, callOptions{})
	if err != nil {
		return nil, err
	}
	if res.resp.UserDetails == nil {
		return nil, fmt.Errorf("pingid %s %q: success response without userDetails", OpGetUserDetails, username)
	}
	u, err := parseUser(res.resp.UserDetails, username)
	if err != nil {
		return nil, fmt.Errorf("pingid %s %q: %w", OpGetUserDetails, username, err)
	}
	return u, nil
}

// AddUser creates a user. An existing user is an error matching ErrUserExists, unless an
// earlier attempt of this very call (whose answer was lost) created it: then the created
// user is returned. A lost response is never answered by a blind second adduser: the user
// is looked up first, so no duplicate is created.
func (c *Client) AddUser(ctx context.Context, nu NewUser) (*User, error) {
	if err := validateUsername(OpAddUser, nu.UserName); err != nil {
		return nil, err
	}
	role := nu.Role
	if role == "" {
		role = RoleRegular
	}
	role, err := normalizeRole(OpAddUser, nu.UserName, role)
	if err != nil {
		return nil, err
	}
	body := writeUserRequest{
		ActivateUser: nu.ActivateUser,
		UserName:     nu.UserName,
		FName:        nullIfEmpty(nu.FirstName),
		LName:        nullIfEmpty(nu.LastName),
		Email:        nullIfEmpty(nu.Email),
		Role:         role,
	}

	var createdEarlier *User
	lookUp := func(ctx context.Context) (bool, error) {
		u, err := c.GetUser(ctx, nu.UserName)
		switch {
		case err == nil:
			createdEarlier = u
			return true, nil
		case errors.Is(err, ErrUserNotFound):
			return false, nil
		default:
			return false, fmt.Errorf("pingid %s %q: an earlier attempt may have succeeded and looking the user up failed: %w", OpAddUser, nu.UserName, err)
		}
	}
	res, err := c.call(ctx, OpAddUser, nu.UserName, body, callOptions{checkBeforeResend: lookUp})
	if createdEarlier != nil {
		return createdEarlier, nil
	}
	if err != nil {
		if res.unknownOutcome && errors.Is(err, ErrUserExists) {
			// The lost attempt landed after our lookup: the user is ours.
			u, gerr := c.GetUser(ctx, nu.UserName)
			if gerr != nil {
				return nil, fmt.Errorf("pingid %s %q: created by an earlier attempt; reading it back: %w", OpAddUser, nu.UserName, gerr)
			}
			return u, nil
		}
		return nil, err
	}
	return c.userFromResponse(ctx, OpAddUser, nu.UserName, res.resp)
}

// EditUser replaces the user's fname, lname, email and role with u's (edituser is a full
// replace: empty fields become null). Use UpdateUser to change only some fields.
func (c *Client) EditUser(ctx context.Context, u User, activateUser bool) (*User, error) {
	if err := validateUsername(OpEditUser, u.UserName); err != nil {
		return nil, err
	}
	// An omitted role would be nulled by the full replace; refuse rather than guess.
	role, err := normalizeRole(OpEditUser, u.UserName, u.Role)
	if err != nil {
		return nil, err
	}
	body := writeUserRequest{
		ActivateUser: activateUser,
		UserName:     u.UserName,
		FName:        nullIfEmpty(u.FirstName),
		LName:        nullIfEmpty(u.LastName),
		Email:        nullIfEmpty(u.Email),
		Role:         role,
	}
	res, err := c.call(ctx, OpEditUser, u.UserName, body, callOptions{})
	if err != nil {
		return nil, err
	}
	return c.userFromResponse(ctx, OpEditUser, u.UserName, res.resp)
}

// UpdateUser reads the user, applies the non-nil fields and, only if something changed,
// writes every field back with edituser so the role and other fields survive the full
// replace. It returns the user after the update and whether edituser was called.
func (c *Client) UpdateUser(ctx context.Context, username string, f UserFields) (*User, bool, error) {
	current, err := c.GetUser(ctx, username)
	if err != nil {
		return nil, false, err
	}
	merged := *current
	changed := false
	apply := func(dst *string, v *string) {
		if v != nil && *v != *dst {
			*dst = *v
			changed = true
		}
	}
	apply(&merged.FirstName, f.FirstName)
	apply(&merged.LastName, f.LastName)
	apply(&merged.Email, f.Email)
	if !changed {
		return current, false, nil
	}
	if merged.Role == "" {
		// A null role is how PingID shows the default role.
		merged.Role = RoleRegular
	}
	after, err := c.EditUser(ctx, merged, false)
	if err != nil {
		return nil, false, err
	}
	return after, true, nil
}

// DeleteUser deletes the user. ErrUserNotFound is returned when it did not exist, except
// when an earlier attempt of this call may have deleted it (then it is success).
func (c *Client) DeleteUser(ctx context.Context, username string) error {
	if err := validateUsername(OpDeleteUser, username); err != nil {
		return err
	}
	res, err := c.call(ctx, OpDeleteUser, username, userNameRequest{UserName: username}, callOptions{})
	if err != nil && res.unknownOutcome && errors.Is(err, ErrUserNotFound) {
		return nil
	}
	return err
}

// SuspendUser suspends the user. ErrNotActive (10561) is returned for users that are not
// active; the caller decides what that means.
func (c *Client) SuspendUser(ctx context.Context, username string) error {
	if err := validateUsername(OpSuspendUser, username); err != nil {
		return err
	}
	res, err := c.call(ctx, OpSuspendUser, username, userNameRequest{UserName: username}, callOptions{})
	if err != nil && res.unknownOutcome && errors.Is(err, ErrNotActive) {
		// A lost earlier attempt may have suspended the user, making the retry "not active".
		if u, gerr := c.GetUser(ctx, username); gerr == nil && u.Status == StatusSuspended {
			return nil
		}
	}
	return err
}

// ActivateUser activates (or re-enables a suspended) user. ErrAlreadyActive (10562) is
// returned for active users, unless an earlier attempt of this call may have activated it.
// The activation code in the response is discarded and never logged.
func (c *Client) ActivateUser(ctx context.Context, username string) error {
	if err := validateUsername(OpActivateUser, username); err != nil {
		return err
	}
	res, err := c.call(ctx, OpActivateUser, username, userNameRequest{UserName: username}, callOptions{})
	if err != nil && res.unknownOutcome && errors.Is(err, ErrAlreadyActive) {
		return nil
	}
	return err
}

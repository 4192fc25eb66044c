// Package emulator is a local, faithful stand-in for the PingID API 4.9 user-management endpoints
// (adduser, getuserdetails, edituser, deleteuser, suspenduser, activateuser) and the device
// endpoints (offlinepairing, updatedeviceattr, unpairdevice) with the organization's Maximum
// Allowed Devices setting, number normalisation and 64-bit device ids.
//
// It verifies every request the way the service does (HS256 JWS signed with the tenant's
// use_base64_key, org alias, token and the reqHeader), answers with signed JWS responses wrapped in
// responseBody, models the user state machine, and offers test hooks (seeding, dumping, fault
// injection, call counters) both as Go methods and over HTTP under /_emulator/.
//
// The wire protocol is the one of the public PingID API 4.9 documentation (developer.pingidentity.com,
// "PingID API": overview, user management, error codes) and Ping's official samples; "[V: ...]"
// names the part of it a behaviour comes from. Behaviour that no source documents is marked
// "Inferred:" where it is implemented. Comments cite these sources by id:
//
//	S1   PingID API overview: properties file, envelope, signing, response envelope
//	     (developer.pingidentity.com/pingid-api/pid_c_PingIDapiOverview.html)
//	S2   PingID API user management: every user, device and job endpoint
//	     (developer.pingidentity.com/pingid-api/pid_c_PingIDapiUserManagement.html)
//	S3   PingID API worked AddUser example, with tokens
//	     (developer.pingidentity.com/pingid-api/pid_c_PingIDapiExampleUserRegistration.html)
//	S4   PingID API error codes: error ids and HTTP statuses
//	     (developer.pingidentity.com/pingid-api/pid_c_PingIDapiErrorCodes.html)
//	S5   official Java sample, github.com/pingidentity/pingid-api-playground
//	S6   official Node sample, github.com/pingidentity/pingid-node-samples
//	S7   official Python sample, github.com/pingidentity/pingid-python-samples
//	S8   official PowerShell sample, github.com/pingidentity/pingid-powershell-scripts
//	S9   Ping's Postman collection, github.com/pingidentity/Postman-Calls (endpoint URLs, field casing)
//	S11  PingFederate PingID Provisioner documentation (docs.pingidentity.com)
//	C1-C5 public third-party clients: a TypeScript portal client (C1), Gluu's PingID broker (C2),
//	     a custom PingFederate adapter (C3), One Identity SPS's PingID plugin (C4), a C# WinForms
//	     sample with a real getuserdetails payload (C5)
package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// APIPrefix is where the PingID API is mounted: POST {base}/pingid/rest/4/{op}/do, so a
// properties file's idp_url is the base URL + "/pingid".
const APIPrefix = "/pingid/rest/4/"

// HookPrefix is where the test hooks are mounted. They are not part of the real API and are
// unauthenticated: the emulator is meant for loopback use only.
const HookPrefix = "/_emulator/"

// Sentinel errors returned by the direct (Go) test hooks.
var (
	ErrUserExists   = errors.New("user already exists")
	ErrUserNotFound = errors.New("user does not exist")
	ErrInvalidUser  = errors.New("invalid user")
	// ErrInvalidSetting: an organization setting out of its range.
	ErrInvalidSetting = errors.New("invalid setting")
)

// Options configures a Server. Empty credentials are taken from StatePath when it holds a stored
// tenant, otherwise generated (see GenerateOptions).
type Options struct {
	OrgAlias  string
	Token     string
	Base64Key string // use_base64_key as in pingid.properties (standard base64, unescaped)

	// StatePath is an optional JSON file: loaded by New, rewritten (atomic rename) after every
	// mutation. It contains the credentials, so it is written with mode 0600.
	StatePath string

	// MaxAllowedDevices is the organization's "Maximum Allowed Devices" (1..20); 0 means PingID's
	// default, 1, or the value stored in StatePath; a non-zero value replaces the stored one.
	MaxAllowedDevices int

	// Now is the clock; time.Now when nil.
	Now func() time.Time

	// Logf receives operational problems (e.g. a failed state save); nil discards them.
	// Messages never contain credentials.
	Logf func(format string, args ...any)
}

// Server is the emulator. It implements http.Handler and is safe for concurrent use.
type Server struct {
	orgAlias  string
	token     string
	base64Key string
	key       []byte // decoded signing key
	wrongKey  []byte // signs responses for the BadSignatureRate fault
	statePath string
	now       func() time.Time
	logf      func(format string, args ...any)
	hooks     *http.ServeMux

	mu           sync.Mutex
	users        map[string]*User // keyed by foldUserName(UserName)
	nextUserID   int64
	nextDeviceID int64
	// maxAllowedDevices is the org setting; defaultMaxDevices what Reset restores.
	maxAllowedDevices, defaultMaxDevices int
	generation                           uint64            // bumped by every mutation; compared with savedGeneration
	encoded                              map[string][]byte // state-file JSON per user key, dropped when the user changes

	saveMu          sync.Mutex // serialises state-file writes; guards savedGeneration
	savedGeneration uint64

	faultMu sync.Mutex
	faults  map[string]*Fault // op ("*" = all) -> active fault
	calls   map[string]int64

	limits limiter
}

// GenerateOptions returns a fresh random tenant: a UUID-shaped org alias, a 32-hex-digit token
// and a 32-byte signing key, the shapes PingOne uses.
func GenerateOptions() (Options, error) {
	alias := make([]byte, 16)
	token := make([]byte, 16)
	key := make([]byte, 32)
	for _, b := range [][]byte{alias, token, key} {
		if _, err := rand.Read(b); err != nil {
			return Options{}, fmt.Errorf("generate emulator credentials: %w", err)
		}
	}
	alias[6] = alias[6]&0x0f | 0x40 // version 4
	alias[8] = alias[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(alias)
	return Options{
		OrgAlias:  h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32],
		Token:     hex.EncodeToString(token),
		Base64Key: base64.StdEncoding.EncodeToString(key),
	}, nil
}

// New builds a Server. When opts.StatePath names an existing state file, its users are loaded;
// its stored credentials are used when opts has none, and must match opts otherwise (a state
// file belongs to one tenant).
func New(opts Options) (*Server, error) {
	s := &Server{
		statePath:    opts.StatePath,
		now:          opts.Now,
		logf:         opts.Logf,
		users:        map[string]*User{},
		encoded:      map[string][]byte{},
		nextUserID:   firstUserID,
		nextDeviceID: firstDeviceID,
		faults:       map[string]*Fault{},
		calls:        map[string]int64{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	switch n := opts.MaxAllowedDevices; {
	case n == 0:
		s.defaultMaxDevices = DefaultMaxAllowedDevices
	case n < 1 || n > MaxAllowedDevicesLimit:
		return nil, fmt.Errorf("emulator options: %w: maximum allowed devices must be 1-%d, got %d", ErrInvalidSetting, MaxAllowedDevicesLimit, n)
	default:
		s.defaultMaxDevices = n
	}
	s.maxAllowedDevices = s.defaultMaxDevices
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}

	var stored *stateFile
	if s.statePath != "" {
		var err error
		if stored, err = readStateFile(s.statePath); err != nil {
			return nil, err
		}
	}
	creds := opts
	noCreds := opts.OrgAlias == "" && opts.Token == "" && opts.Base64Key == ""
	switch {
	case noCreds && stored != nil:
		creds.OrgAlias, creds.Token, creds.Base64Key = stored.OrgAlias, stored.Token, stored.Base64Key
	case noCreds:
		generated, err := GenerateOptions()
		if err != nil {
			return nil, err
		}
		creds.OrgAlias, creds.Token, creds.Base64Key = generated.OrgAlias, generated.Token, generated.Base64Key
	case stored != nil && (stored.OrgAlias != opts.OrgAlias || stored.Token != opts.Token || stored.Base64Key != opts.Base64Key):
		return nil, fmt.Errorf("emulator state file %s belongs to another tenant (credentials differ)", s.statePath)
	}
	if creds.OrgAlias == "" || creds.Token == "" || creds.Base64Key == "" {
		return nil, errors.New("emulator options: org alias, token and base64 key must all be set (or all empty)")
	}
	key, err := decodeKey(creds.Base64Key)
	if err != nil {
		return nil, err
	}
	s.orgAlias, s.token, s.base64Key, s.key = creds.OrgAlias, creds.Token, creds.Base64Key, key

	s.wrongKey = make([]byte, 32)
	if _, err := rand.Read(s.wrongKey); err != nil {
		return nil, fmt.Errorf("generate emulator fault key: %w", err)
	}
	if stored != nil {
		if err := s.loadState(stored); err != nil {
			return nil, err
		}
		if opts.MaxAllowedDevices != 0 {
			s.maxAllowedDevices = opts.MaxAllowedDevices
		}
	}
	s.hooks = s.newHookMux()
	// Write the file at once so a fresh tenant's credentials survive even without mutations.
	if s.statePath != "" {
		s.mu.Lock()
		s.generation++
		s.mu.Unlock()
		if err := s.persist(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// decodeKey decodes use_base64_key. PingOne exports standard base64; the Python sample decodes
// with the URL-safe alphabet, so both (padded or not) are accepted.
func decodeKey(b64 string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := enc.DecodeString(b64)
		if err != nil {
			continue
		}
		// HS256 needs a key at least as long as the hash (RFC 7518 §3.2); PingOne keys are 32 bytes.
		if len(key) < 32 {
			return nil, fmt.Errorf("emulator base64 key decodes to %d bytes, need at least 32", len(key))
		}
		return key, nil
	}
	return nil, errors.New("emulator base64 key is not valid base64")
}

// Options returns the effective tenant (credentials and state path) of the server.
func (s *Server) Options() Options {
	return Options{OrgAlias: s.orgAlias, Token: s.token, Base64Key: s.base64Key, StatePath: s.statePath, Now: s.now, MaxAllowedDevices: s.defaultMaxDevices}
}

// ServeHTTP routes the PingID API under APIPrefix and the test hooks under HookPrefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, HookPrefix):
		s.hooks.ServeHTTP(w, r)
	case strings.HasPrefix(r.URL.Path, APIPrefix):
		s.serveAPI(w, r)
	default:
		http.NotFound(w, r)
	}
}

// PropertiesFile renders a pingid.properties exactly like PingOne exports it (Java properties
// syntax, `=` in the key escaped as `\=`), pointing idp_url at idpURL (the emulator's base URL +
// "/pingid"). The result contains secrets.
func (s *Server) PropertiesFile(idpURL string) string {
	idpURL = strings.TrimSuffix(idpURL, "/")
	base := strings.TrimSuffix(idpURL, "/pingid")
	var b strings.Builder
	b.WriteString("#Auto-Generated from PingOne, downloaded by id=[pingid-emulator] email=[emulator@localhost]\n")
	b.WriteString("use_base64_key=" + escapePropertyValue(s.base64Key) + "\n")
	b.WriteString("use_signature=true\n")
	b.WriteString("token=" + escapePropertyValue(s.token) + "\n")
	b.WriteString("idp_url=" + idpURL + "\n")
	b.WriteString("org_alias=" + escapePropertyValue(s.orgAlias) + "\n")
	// Inferred: the emulator has no admin console or authenticator; these point at the emulator
	// so the file has every key PingOne writes, without sending anyone to the real service.
	b.WriteString("admin_url=" + base + "/ConsoleAdmin\n")
	b.WriteString("authenticator_url=" + idpURL + "/ppm\n")
	return b.String()
}

// escapePropertyValue escapes like PingOne's export: its files show `=` as `\=` (in the key) but
// URLs with raw `:`, so only `=` and the escape character itself are escaped.
func escapePropertyValue(v string) string {
	return strings.NewReplacer(`\`, `\\`, `=`, `\=`).Replace(v)
}

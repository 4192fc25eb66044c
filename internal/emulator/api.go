package emulator

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Operations the emulator serves [V: PingID API docs, User Management].
const (
	OpAddUser        = "adduser"
	OpGetUserDetails = "getuserdetails"
	OpEditUser       = "edituser"
	OpDeleteUser     = "deleteuser"
	OpSuspendUser    = "suspenduser"
	OpActivateUser   = "activateuser"

	OpOfflinePairing   = "offlinepairing"
	OpUpdateDeviceAttr = "updatedeviceattr"
	OpUnpairDevice     = "unpairdevice"
)

// Error ids and their messages [V: PingID API docs, error codes table].
const (
	errorIDOK               = 200
	errorIDInvalidInput     = 400
	errorIDUserExists       = 10556
	errorIDCannotSuspend    = 10561
	errorIDAlreadyActive    = 10562
	errorIDUserDoesNotExist = 10564
	// [V research §4.5]: user.exceeded.num.of.devices (20549 before Oct 2021), INVALID_PHONE_NUMBER.
	errorIDInvalidPhoneNumber = 20559
	errorIDTooManyDevices     = 20562
	errorIDServiceError       = 500 // Inferred: the "PingID Service Errors" section could not be retrieved.
)

const (
	maxRequestBytes        = 1 << 20
	uniqueMsgIDRandomBytes = 32                 // base64url without padding = 43 characters
	responseContentType    = "application/json" // Inferred: not documented.
	rateLimitedBody        = "Too Many Requests"
	// Inferred: a 503 comes from the load balancer in front of the service, as HTML.
	serviceUnavailableBody        = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
	serviceUnavailableContentType = "text/html"
)

func errorMessage(id int) string {
	switch id {
	case errorIDOK:
		return "ok"
	case errorIDInvalidInput:
		return "Invalid input."
	case errorIDUserExists:
		return "User already exists. Username should be unique within the organization."
	case errorIDCannotSuspend:
		return "User suspension failed. The user is not active and cannot be suspended."
	case errorIDAlreadyActive:
		return "Activation failed. Active user can not be activated again."
	case errorIDUserDoesNotExist:
		return "User does not exist."
	case errorIDInvalidPhoneNumber:
		return "Invalid phone number."
	case errorIDTooManyDevices:
		// Inferred: the research has the message key, not the text shown to users.
		return "user.exceeded.num.of.devices"
	default:
		return "PingID service error."
	}
}

func knownOp(op string) bool {
	switch op {
	case OpAddUser, OpGetUserDetails, OpEditUser, OpDeleteUser, OpSuspendUser, OpActivateUser,
		OpOfflinePairing, OpUpdateDeviceAttr, OpUnpairDevice:
		return true
	}
	return false
}

// opFromPath extracts {op} from /pingid/rest/4/{op}/do.
// Inferred: ops match case-insensitively (S2 also writes e.g. "WebAuthnFinishPairing").
func opFromPath(path string) (string, bool) {
	op, rest, ok := strings.Cut(strings.TrimPrefix(path, APIPrefix), "/")
	if !ok || rest != "do" || op == "" {
		return "", false
	}
	return strings.ToLower(op), true
}

// apiResponse is what an operation produced, before any response fault is applied.
type apiResponse struct {
	httpStatus int
	body       map[string]any // the responseBody object
	signed     bool           // false: raw JSON (envelope/auth failures, service errors)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	op, ok := opFromPath(r.URL.Path)
	if !ok || !knownOp(op) {
		// Inferred: unknown operations get a plain 404, like an unmapped servlet path.
		http.NotFound(w, r)
		return
	}
	s.countCall(op)
	if r.Method != http.MethodPost {
		// Inferred: the service is documented as POST-only; other methods get 405.
		w.Header().Set("Allow", http.MethodPost)
		s.writeRaw(w, http.StatusMethodNotAllowed, s.invalidInput())
		return
	}

	// The gateway's rate limit answers before the service sees the call.
	latency, done, retryAfter, admitted := s.admit()
	if !admitted {
		w.Header().Set("Retry-After", retryAfterSeconds(retryAfter))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, rateLimitedBody)
		return
	}
	defer done()

	fault, faulted := s.takeFault(op)
	action := faultNone
	if faulted {
		latency += fault.Latency
		action = fault.pick()
	}
	if latency > 0 {
		timer := time.NewTimer(latency)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return // the client is gone; nobody reads an answer
		}
	}
	switch action {
	case faultDrop:
		dropConnection(w)
		return
	case fault429:
		w.Header().Set("Retry-After", retryAfterSeconds(fault.RetryAfter))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, rateLimitedBody)
		return
	case fault500:
		s.writeRaw(w, http.StatusInternalServerError, s.responseBody(errorIDServiceError, nil, nil))
		return
	case fault503:
		if fault.RetryAfter > 0 {
			w.Header().Set("Retry-After", retryAfterSeconds(fault.RetryAfter))
		}
		w.Header().Set("Content-Type", serviceUnavailableContentType)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, serviceUnavailableBody)
		return
	case faultNone, faultDropAfterProcess, faultBadSignature:
		// Served normally; the last two act on the answer below.
	}

	resp := s.handleRequest(r, op)
	if action == faultDropAfterProcess {
		dropConnection(w)
		return
	}
	if !resp.signed {
		s.writeRaw(w, resp.httpStatus, resp.body)
		return
	}
	key := s.key
	if action == faultBadSignature {
		key = s.wrongKey
	}
	s.writeSigned(w, resp.httpStatus, resp.body, key)
}

// retryAfterSeconds renders Retry-After in whole seconds, rounded up (HTTP has no finer unit).
func retryAfterSeconds(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs < 0 {
		secs = 0
	}
	return strconv.FormatInt(secs, 10)
}

// dropConnection closes the connection without writing a response.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
		return
	}
	// Not hijackable (HTTP/2): aborting the handler resets the stream, which is the same to a client.
	panic(http.ErrAbortHandler)
}

// handleRequest authenticates the request and runs the operation.
func (s *Server) handleRequest(r *http.Request, op string) apiResponse {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(raw) > maxRequestBytes {
		return apiResponse{httpStatus: http.StatusBadRequest, body: s.invalidInput()}
	}
	body, err := s.authenticate(raw)
	if err != nil {
		// Inferred: no source documents the answer to a bad signature, org, token or timestamp
		// (the error codes table has no entry for it); the emulator answers HTTP 400 "Invalid input." as unsigned raw JSON,
		// which some public clients report seeing.
		return apiResponse{httpStatus: http.StatusBadRequest, body: s.invalidInput()}
	}
	clientData := body.clientData()

	var res result
	switch op {
	case OpAddUser:
		res, err = s.opAddUser(body)
	case OpGetUserDetails:
		res, err = s.opGetUserDetails(body)
	case OpEditUser:
		res, err = s.opEditUser(body)
	case OpDeleteUser:
		res, err = s.opDeleteUser(body)
	case OpSuspendUser:
		res, err = s.opSuspendUser(body)
	case OpActivateUser:
		res, err = s.opActivateUser(body)
	case OpOfflinePairing:
		res, err = s.opOfflinePairing(body)
	case OpUpdateDeviceAttr:
		res, err = s.opUpdateDeviceAttr(body)
	case OpUnpairDevice:
		res, err = s.opUnpairDevice(body)
	}
	if err != nil {
		s.logf("pingid emulator: %s: %v", op, err)
		return apiResponse{httpStatus: http.StatusInternalServerError, body: s.responseBody(errorIDServiceError, nil, clientData)}
	}
	status := http.StatusOK
	if res.errorID != errorIDOK {
		status = http.StatusBadRequest // [V S4]: 400 for 400 and 1055x/1056x; Inferred: also for 205xx
	}
	return apiResponse{httpStatus: status, body: s.responseBody(res.errorID, res.fields, clientData), signed: true}
}

// responseBody builds the responseBody object every answer carries [V: PingID API docs, overview: response].
func (s *Server) responseBody(errorID int, fields map[string]any, clientData json.RawMessage) map[string]any {
	out := make(map[string]any, len(fields)+4)
	for k, v := range fields {
		out[k] = v
	}
	out["errorId"] = errorID
	out["errorMsg"] = errorMessage(errorID)
	out["uniqueMsgId"] = newUniqueMsgID()
	if clientData == nil {
		out["clientData"] = nil
	} else {
		out["clientData"] = clientData
	}
	return out
}

func (s *Server) invalidInput() map[string]any {
	return s.responseBody(errorIDInvalidInput, nil, nil)
}

// newUniqueMsgID returns "webs_" + 43 base64url characters, the shape of every sample.
func newUniqueMsgID() string {
	b := make([]byte, uniqueMsgIDRandomBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error on supported platforms
	return "webs_" + base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) writeRaw(w http.ResponseWriter, status int, body map[string]any) {
	data, err := json.Marshal(map[string]any{"responseBody": body})
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", responseContentType)
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// writeSigned answers with a compact JWS, header {"alg":"HS256","org_alias":…,"token":…}
// (go-jose sorts header keys, which gives exactly the order of the S3 sample).
func (s *Server) writeSigned(w http.ResponseWriter, status int, body map[string]any, key []byte) {
	token, err := s.sign(map[string]any{"responseBody": body}, key)
	if err != nil {
		s.logf("pingid emulator: sign response: %v", err)
		http.Error(w, "sign response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", responseContentType)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, token)
}

func (s *Server) sign(payload any, key []byte) (string, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("encode payload: %w", err)
	}
	opts := (&jose.SignerOptions{}).
		WithHeader("org_alias", s.orgAlias).
		WithHeader("token", s.token)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("new signer: %w", err)
	}
	jws, err := signer.Sign(data)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}

// requestEnvelope is the JWS payload of every request [V: PingID API docs, overview: request signing].
type requestEnvelope struct {
	ReqHeader *struct {
		Locale    string          `json:"locale"`
		OrgAlias  string          `json:"orgAlias"`
		SecretKey string          `json:"secretKey"`
		Timestamp string          `json:"timestamp"`
		Version   json.RawMessage `json:"version"`
	} `json:"reqHeader"`
	ReqBody json.RawMessage `json:"reqBody"`
}

var errUnauthenticated = errors.New("request envelope rejected")

// authenticate verifies the request the way the service does and returns its reqBody. Errors
// carry no detail on purpose: the answer is the same "Invalid input." whatever failed.
func (s *Server) authenticate(raw []byte) (requestBody, error) {
	compact := string(bytes.TrimSpace(raw))
	// Only HS256: alg "none" and every other algorithm fail to parse.
	jws, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errUnauthenticated
	}
	payload, err := jws.Verify(s.key)
	if err != nil {
		return nil, errUnauthenticated
	}
	header := jws.Signatures[0].Protected.ExtraHeaders
	// The docs send org_alias; Ping's own samples send orgAlias and work [V S5-S8]. Every
	// spelling present must match, and at least one must be.
	sawAlias := false
	for _, name := range []jose.HeaderKey{"org_alias", "orgAlias"} {
		v, present := header[name]
		if !present {
			continue
		}
		alias, isString := v.(string)
		if !isString || alias != s.orgAlias {
			return nil, errUnauthenticated
		}
		sawAlias = true
	}
	headerToken, _ := header["token"].(string)
	if !sawAlias || !secretEqual(headerToken, s.token) {
		return nil, errUnauthenticated
	}

	var env requestEnvelope
	if err := json.Unmarshal(payload, &env); err != nil || env.ReqHeader == nil {
		return nil, errUnauthenticated
	}
	h := env.ReqHeader
	// secretKey carries the token value, not the key [V S1].
	if !secretEqual(h.SecretKey, s.token) || h.OrgAlias != s.orgAlias {
		return nil, errUnauthenticated
	}
	if _, ok := parseRequestTimestamp(h.Timestamp); !ok || !validVersion(h.Version) {
		return nil, errUnauthenticated
	}
	body, err := parseRequestBody(env.ReqBody)
	if err != nil {
		return nil, errUnauthenticated
	}
	return body, nil
}

func secretEqual(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// parseRequestTimestamp accepts the documented "yyyy-MM-dd HH:mm:ss.SSS" (UTC) and the forms
// Ping's samples send and the service evidently accepts: ISO-8601 from JSON.stringify(new Date())
// and PowerShell's "yyyy-MM-dd HH:mm:ssZ" [V: the official samples].
// Inferred: there is no freshness window; skewed (even local-time) timestamps are accepted, as the
// Java sample sends America/Denver time and still works.
func parseRequestTimestamp(ts string) (time.Time, bool) {
	for _, layout := range []string{
		"2006-01-02 15:04:05", // Go also accepts a fractional second after the seconds when parsing
		"2006-01-02 15:04:05Z07:00",
		time.RFC3339Nano,
		"2006-01-02T15:04:05", // ISO-8601 without a zone
	} {
		if t, err := time.Parse(layout, ts); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// validVersion accepts the API version as a string ("4.9", "4.9.17") or a JSON number (4.9, C4).
func validVersion(raw json.RawMessage) bool {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return false
	}
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v) != ""
	case float64:
		return v > 0
	}
	return false
}

// requestBody is reqBody with lower-cased member names.
// Inferred: the service binds members case-insensitively; documented aliases are username /
// userName, fname / fName, lname / lName (the docs and the official samples disagree). Folding all names covers them all.
type requestBody map[string]json.RawMessage

func parseRequestBody(raw json.RawMessage) (requestBody, error) {
	out := requestBody{}
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, fmt.Errorf("reqBody: %w", err)
	}
	for name, value := range members {
		folded := strings.ToLower(name)
		// Two spellings of one member (username and userName) must agree.
		if prev, dup := out[folded]; dup && !bytes.Equal(prev, value) {
			return nil, fmt.Errorf("reqBody: conflicting %q", name)
		}
		out[folded] = value
	}
	return out, nil
}

var errBadField = errors.New("bad field")

// str returns an optional string member; absent and null read as "".
func (b requestBody) str(name string) (string, error) {
	raw, ok := b[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("%w: %s", errBadField, name)
	}
	return v, nil
}

// boolean returns an optional boolean member; absent and null read as false.
func (b requestBody) boolean(name string) (bool, error) {
	raw, ok := b[name]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	var v bool
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, fmt.Errorf("%w: %s", errBadField, name)
	}
	return v, nil
}

// clientData is echoed verbatim. Inferred: any JSON value is echoed, not only strings.
func (b requestBody) clientData() json.RawMessage {
	raw, ok := b["clientdata"]
	if !ok || string(raw) == "null" {
		return nil
	}
	return raw
}

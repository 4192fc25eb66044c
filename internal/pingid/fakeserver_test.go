package pingid

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Test credentials. The key is the one of the signed example in the PingID API docs; the token is
// long and distinctive so that leak checks cannot match by accident.
const (
	testOrgAlias  = "aaaaaaaa-a1b2-123a-b456-1234abcd5678"
	testToken     = "61fda4f3121abc98SECRETTOKENc9fd9930"
	testBase64Key = "JWC41crr322aUfdckVfJKHvGKNIPyAPGL7rMsTbzHlA="
	// otherBase64Key is a valid 32-byte key that is not ours (a forger's).
	otherBase64Key = "c29tZWJvZHkgZWxzZSdzIGtleSwgMzIgYnl0ZXMgISE="
)

func mustDecodeKey(t testing.TB, b64 string) []byte {
	t.Helper()
	key, err := DecodeKey(b64)
	if err != nil {
		t.Fatalf("DecodeKey: %v", err)
	}
	return key
}

// fakeUser is the fake service's record of one user.
type fakeUser struct {
	FName, LName, Email *string
	Role, Status        string
	Devices             int
}

// hangLimit bounds a hang fault.
const hangLimit = 5 * time.Second

// fault changes how the fake answers one request of an operation.
type fault struct {
	status      int           // answer with this HTTP status (and body) instead of processing
	retryAfter  string        // Retry-After header for status faults
	body        string        // raw body for status faults; empty means a signed error body
	errorID     int           // errorId of the signed error body of a status fault
	dropBefore  bool          // hijack and close the connection without processing
	dropAfter   bool          // process the request, then hijack and close (response lost)
	statusAfter int           // process the request, then answer with this status (e.g. 503)
	hang        bool          // block until the client gives up on the request
	after       func()        // runs after the request was processed, before answering
	delay       time.Duration // hold the request this long before processing
}

type recordedRequest struct {
	Header  map[string]any
	Payload map[string]any
	Body    map[string]any // reqBody
}

// fakePingID is an httptest PingID API: it verifies every request JWS like the service
// would, keeps users in memory and answers signed, responseBody-wrapped JWS.
type fakePingID struct {
	t      testing.TB
	srv    *httptest.Server
	key    []byte
	signer jose.Signer

	mu       sync.Mutex
	users    map[string]*fakeUser
	faults   map[string][]fault
	requests map[string][]recordedRequest
	flat     bool // answer with the flat (unwrapped) payload form
	inFlight int
	maxIn    int
}

func newFakePingID(t testing.TB) *fakePingID {
	t.Helper()
	f := &fakePingID{
		t:        t,
		key:      mustDecodeKey(t, testBase64Key),
		users:    map[string]*fakeUser{},
		faults:   map[string][]fault{},
		requests: map[string][]recordedRequest{},
	}
	signer, err := newTestSigner(f.key)
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	f.signer = signer
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveHTTP))
	t.Cleanup(f.srv.Close)
	return f
}

func newTestSigner(key []byte) (jose.Signer, error) {
	return jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key},
		(&jose.SignerOptions{}).WithHeader("org_alias", testOrgAlias).WithHeader("token", testToken))
}

func (f *fakePingID) credentials() Credentials {
	return Credentials{OrgAlias: testOrgAlias, Token: testToken, Base64Key: testBase64Key, IDPURL: f.srv.URL + "/pingid"}
}

// client returns a client for this fake with tiny backoffs; adjust modifies the config.
func (f *fakePingID) client(adjust ...func(*Config)) *Client {
	f.t.Helper()
	cfg := Config{
		Credentials: f.credentials(),
		MinBackoff:  time.Millisecond,
		MaxBackoff:  5 * time.Millisecond,
	}
	for _, a := range adjust {
		a(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		f.t.Fatalf("NewClient: %v", err)
	}
	return c
}

func (f *fakePingID) addFaults(op string, faults ...fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[op] = append(f.faults[op], faults...)
}

func (f *fakePingID) seed(username string, u fakeUser) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[username] = &u
}

func (f *fakePingID) user(username string) (fakeUser, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[username]
	if !ok {
		return fakeUser{}, false
	}
	return *u, true
}

func (f *fakePingID) userCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.users)
}

func (f *fakePingID) recorded(op string) []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recordedRequest(nil), f.requests[op]...)
}

func (f *fakePingID) maxInFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxIn
}

func strPtr(s string) *string { return &s }

func (f *fakePingID) serveHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.inFlight++
	f.maxIn = max(f.maxIn, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()

	op, ok := strings.CutPrefix(r.URL.Path, "/pingid/rest/4/")
	op, ok2 := strings.CutSuffix(op, "/do")
	if !ok || !ok2 || r.Method != http.MethodPost {
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("%s: Content-Type %q, want application/json", op, ct)
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	rec, err := f.verifyRequest(string(raw))
	if err != nil {
		f.t.Errorf("%s: request rejected: %v", op, err)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"responseBody":{"errorId":400,"errorMsg":"Invalid input.","uniqueMsgId":"webs_x","clientData":null}}`)
		return
	}

	f.mu.Lock()
	f.requests[op] = append(f.requests[op], rec)
	var flt fault
	if q := f.faults[op]; len(q) > 0 {
		flt = q[0]
		f.faults[op] = q[1:]
	}
	f.mu.Unlock()

	if flt.delay > 0 {
		select {
		case <-time.After(flt.delay):
		case <-r.Context().Done():
			return
		}
	}
	if flt.hang {
		// Bounded, so a client that never gives up fails its test instead of hanging it:
		// it then gets an ordinary answer on its first attempt.
		select {
		case <-r.Context().Done():
			return
		case <-time.After(hangLimit):
		}
	}
	switch {
	case flt.dropBefore:
		hijackAndClose(f.t, w)
		return
	case flt.status != 0:
		if flt.retryAfter != "" {
			w.Header().Set("Retry-After", flt.retryAfter)
		}
		body := flt.body
		if body == "" {
			body = f.sign(map[string]any{"errorId": flt.errorID, "errorMsg": "fault", "uniqueMsgId": "webs_fault", "clientData": nil})
		}
		w.WriteHeader(flt.status)
		fmt.Fprint(w, body)
		return
	}

	status, resp := f.process(op, rec.Body)
	if flt.after != nil {
		flt.after()
	}
	switch {
	case flt.dropAfter:
		hijackAndClose(f.t, w)
		return
	case flt.statusAfter != 0:
		w.WriteHeader(flt.statusAfter)
		fmt.Fprint(w, "upstream timed out")
		return
	}
	resp["uniqueMsgId"] = "webs_OzGTeWzlFxCrz5aetn9IgRQHXlW-Yjhh1qOAxkKvbdI"
	resp["clientData"] = nil
	w.WriteHeader(status)
	fmt.Fprint(w, f.sign(resp))
}

func hijackAndClose(t testing.TB, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	conn.Close()
}

// sign answers like the service: a compact HS256 JWS, payload wrapped in responseBody.
func (f *fakePingID) sign(body map[string]any) string {
	var payload any = map[string]any{"responseBody": body}
	f.mu.Lock()
	if f.flat {
		payload = body
	}
	f.mu.Unlock()
	b, err := json.Marshal(payload)
	if err != nil {
		f.t.Errorf("marshal: %v", err)
		return ""
	}
	return signTestPayload(f.t, f.signer, b)
}

func signTestPayload(t testing.TB, signer jose.Signer, payload []byte) string {
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Errorf("sign: %v", err)
		return ""
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Errorf("serialize: %v", err)
	}
	return s
}

// verifyRequest checks the request JWS the way the service does (signature, org alias, token,
// timestamp).
func (f *fakePingID) verifyRequest(body string) (recordedRequest, error) {
	var rec recordedRequest
	jws, err := jose.ParseSignedCompact(body, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		return rec, fmt.Errorf("parse: %w", err)
	}
	payload, err := jws.Verify(f.key)
	if err != nil {
		return rec, fmt.Errorf("verify: %w", err)
	}
	protected := strings.SplitN(body, ".", 2)[0]
	hdrJSON, err := base64.RawURLEncoding.DecodeString(protected)
	if err != nil {
		return rec, fmt.Errorf("header: %w", err)
	}
	if err := json.Unmarshal(hdrJSON, &rec.Header); err != nil {
		return rec, fmt.Errorf("header json: %w", err)
	}
	if rec.Header["alg"] != "HS256" || rec.Header["org_alias"] != testOrgAlias || rec.Header["token"] != testToken || len(rec.Header) != 3 {
		return rec, fmt.Errorf("unexpected protected header %v", rec.Header)
	}
	if err := json.Unmarshal(payload, &rec.Payload); err != nil {
		return rec, fmt.Errorf("payload json: %w", err)
	}
	rh, _ := rec.Payload["reqHeader"].(map[string]any)
	if rh["locale"] != "en" || rh["orgAlias"] != testOrgAlias || rh["secretKey"] != testToken || rh["version"] != "4.9" {
		return rec, fmt.Errorf("unexpected reqHeader %v", rh)
	}
	ts, _ := rh["timestamp"].(string)
	if _, err := time.Parse("2006-01-02 15:04:05.000", ts); err != nil {
		return rec, fmt.Errorf("timestamp %q: %w", ts, err)
	}
	rec.Body, _ = rec.Payload["reqBody"].(map[string]any)
	if rec.Body == nil {
		return rec, fmt.Errorf("no reqBody")
	}
	return rec, nil
}

func (u *fakeUser) details(username string) map[string]any {
	ptr := func(s *string) any {
		if s == nil {
			return nil
		}
		return *s
	}
	devices := []any{}
	var deviceDetails any
	for i := 0; i < u.Devices; i++ {
		d := map[string]any{"deviceId": 187835 + i, "nickname": "iPhone", "type": "iPhone", "deviceRole": "SECONDARY"}
		if i == 0 {
			d["deviceRole"] = "PRIMARY"
			deviceDetails = d
		}
		devices = append(devices, d)
	}
	return map[string]any{
		"userName": username, "fname": ptr(u.FName), "lname": ptr(u.LName), "email": ptr(u.Email),
		"role": u.Role, "status": u.Status, "userEnabled": u.Status == StatusActive,
		"userId": 17457, "picURL": "B2UMOUIFEL3CQHVV4KO3Z5R2O2FTJYAVT33NUH6MMI4B5GOSPIZARNA=",
		"spList": []any{}, "lastLogin": nil, "deviceDetails": deviceDetails, "devicesDetails": devices,
	}
}

func errorBody(id int, msg string) map[string]any {
	return map[string]any{"errorId": id, "errorMsg": msg}
}

// process applies one operation to the in-memory users (the documented user state machine).
func (f *fakePingID) process(op string, body map[string]any) (int, map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, _ := body["userName"].(string)
	optString := func(k string) *string {
		if s, ok := body[k].(string); ok {
			return &s
		}
		return nil
	}
	u, exists := f.users[name]
	if op != OpAddUser && !exists {
		return http.StatusBadRequest, errorBody(ErrorIDUserNotFound, "User does not exist.")
	}
	switch op {
	case OpAddUser:
		if exists {
			return http.StatusBadRequest, errorBody(ErrorIDUserExists, "User already exists. Username should be unique within the organization.")
		}
		role, _ := body["role"].(string)
		nu := &fakeUser{FName: optString("fname"), LName: optString("lname"), Email: optString("email"), Role: role, Status: StatusNotActive}
		resp := map[string]any{"errorId": 200, "errorMsg": ""}
		if body["activateUser"] == true {
			nu.Status = StatusPendingActivation
			resp["activationCode"] = "292070522701"
		}
		f.users[name] = nu
		resp["userDetails"] = nu.details(name)
		return http.StatusOK, resp
	case OpGetUserDetails:
		return http.StatusOK, map[string]any{"errorId": 200, "errorMsg": "ok", "userDetails": u.details(name), "sameDeviceUsersDetails": []any{}}
	case OpEditUser:
		// Full replace: omitted fields become null.
		u.FName, u.LName, u.Email = optString("fname"), optString("lname"), optString("email")
		u.Role, _ = body["role"].(string)
		return http.StatusOK, map[string]any{"errorId": 200, "errorMsg": "ok", "userDetails": u.details(name)}
	case OpDeleteUser:
		delete(f.users, name)
		return http.StatusOK, map[string]any{"errorId": 200, "errorMsg": "ok"}
	case OpSuspendUser:
		if u.Status != StatusActive {
			return http.StatusBadRequest, errorBody(ErrorIDNotActive, "User suspension failed. The user is not active and cannot be suspended.")
		}
		u.Status = StatusSuspended
		return http.StatusOK, map[string]any{"errorId": 200, "errorMsg": "ok"}
	case OpActivateUser:
		switch u.Status {
		case StatusActive:
			return http.StatusBadRequest, errorBody(ErrorIDAlreadyActive, "Activation failed. Active user can not be activated again.")
		case StatusSuspended:
			u.Status = StatusPendingActivation
			if u.Devices > 0 {
				u.Status = StatusActive
			}
			return http.StatusOK, map[string]any{"errorId": 200, "errorMsg": "ok"}
		default:
			u.Status = StatusPendingActivation
			// Documented as a Long: answer with a number to exercise that form.
			return http.StatusOK, map[string]any{"errorId": 200, "errorMsg": "ok", "activationCode": 436348609435}
		}
	}
	return http.StatusBadRequest, errorBody(ErrorIDInvalidInput, "Invalid input.")
}

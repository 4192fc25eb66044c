package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// tenant is an emulator behind a loopback httptest server plus the credentials a client has.
type tenant struct {
	srv  *emulator.Server
	http *httptest.Server
	opts emulator.Options
	key  []byte
}

func newTenant(t testing.TB) *tenant {
	t.Helper()
	opts, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	return newTenantWith(t, opts)
}

func newTenantWith(t testing.TB, opts emulator.Options) *tenant {
	t.Helper()
	srv, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	eff := srv.Options()
	key, err := base64.StdEncoding.DecodeString(eff.Base64Key)
	if err != nil {
		t.Fatal(err)
	}
	return &tenant{srv: srv, http: ts, opts: eff, key: key}
}

// request is a PingID API request before signing; tests mutate its parts to build bad ones.
type request struct {
	key       []byte
	alg       jose.SignatureAlgorithm
	header    map[string]any // JWS protected header members besides alg
	reqHeader map[string]any
	reqBody   map[string]any
}

// documentedRequest is shaped like the API documentation (S1): header org_alias, timestamp
// "yyyy-MM-dd HH:mm:ss.SSS", version "4.9".
func (tn *tenant) documentedRequest(body map[string]any) *request {
	return &request{
		key:    tn.key,
		alg:    jose.HS256,
		header: map[string]any{"org_alias": tn.opts.OrgAlias, "token": tn.opts.Token},
		reqHeader: map[string]any{
			"locale":    "en",
			"orgAlias":  tn.opts.OrgAlias,
			"secretKey": tn.opts.Token,
			"timestamp": "2015-09-03 11:57:25.229",
			"version":   "4.9",
		},
		reqBody: maps.Clone(body),
	}
}

// sampleRequest is shaped like Ping's official Java/Node samples: header orgAlias, an ISO
// timestamp from JSON.stringify(new Date()), and version as the JSON number 4.9 (C4).
func (tn *tenant) sampleRequest(body map[string]any) *request {
	r := tn.documentedRequest(body)
	r.header = map[string]any{"orgAlias": tn.opts.OrgAlias, "token": tn.opts.Token}
	r.reqHeader["timestamp"] = "2021-07-25T10:00:00.000Z"
	r.reqHeader["version"] = 4.9
	return r
}

func (r *request) payload(t testing.TB) []byte {
	t.Helper()
	data, err := json.Marshal(map[string]any{"reqHeader": r.reqHeader, "reqBody": r.reqBody})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// compact signs the request with go-jose, as the samples do with their JOSE libraries.
func (r *request) compact(t testing.TB) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	for k, v := range r.header {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: r.alg, Key: r.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(r.payload(t))
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// response is a parsed API answer.
type response struct {
	status int
	header http.Header
	raw    string
	signed bool           // body was a JWS that verified with the tenant key
	jwsHdr string         // decoded protected header (signed responses)
	body   map[string]any // responseBody
}

func (r response) errorID() int {
	id, _ := r.body["errorId"].(json.Number)
	n, _ := id.Int64()
	return int(n)
}

func (r response) userDetails(t testing.TB) map[string]any {
	t.Helper()
	d, ok := r.body["userDetails"].(map[string]any)
	if !ok {
		t.Fatalf("response has no userDetails: %s", r.raw)
	}
	return d
}

// answer is an HTTP response whose body post has read (and closed).
type answer struct {
	StatusCode int
	Header     http.Header
}

// post sends a raw body to an operation.
func (tn *tenant) post(t testing.TB, op, body string) (*answer, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, tn.http.URL+"/pingid/rest/4/"+op+"/do", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "*/*")
	resp, err := tn.http.Client().Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return &answer{StatusCode: resp.StatusCode, Header: resp.Header}, string(raw), err
}

// send posts a raw body and parses the answer, verifying a JWS answer with the tenant key.
func (tn *tenant) send(t testing.TB, op, body string) response {
	t.Helper()
	resp, raw, err := tn.post(t, op, body)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	var payload []byte
	if strings.HasPrefix(strings.TrimSpace(raw), "{") {
		payload = []byte(raw)
	} else {
		jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.HS256})
		if err != nil {
			t.Fatalf("%s: response is neither JSON nor JWS: %v: %q", op, err, raw)
		}
		if payload, err = jws.Verify(tn.key); err != nil {
			t.Fatalf("%s: response signature does not verify: %v", op, err)
		}
		hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
		if err != nil {
			t.Fatal(err)
		}
		out.signed, out.jwsHdr = true, string(hdr)
	}
	var env struct {
		ResponseBody map[string]any `json:"responseBody"`
	}
	// Numbers stay json.Number: device ids are beyond float64 precision.
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil || env.ResponseBody == nil {
		t.Fatalf("%s: payload is not {\"responseBody\":…}: %v: %s", op, err, payload)
	}
	out.body = env.ResponseBody
	return out
}

// call signs a documented-shape request and sends it.
func (tn *tenant) call(t testing.TB, op string, body map[string]any) response {
	t.Helper()
	return tn.send(t, op, tn.documentedRequest(body).compact(t))
}

func (tn *tenant) mustUser(t testing.TB, name string) emulator.User {
	t.Helper()
	u, ok := tn.srv.User(name)
	if !ok {
		t.Fatalf("user %q does not exist", name)
	}
	return u
}

func expectError(t testing.TB, r response, errorID int) {
	t.Helper()
	if r.errorID() != errorID {
		t.Fatalf("errorId = %d, want %d (HTTP %d): %v", r.errorID(), errorID, r.status, r.body)
	}
	wantHTTP := http.StatusBadRequest
	if errorID == 200 {
		wantHTTP = http.StatusOK
	}
	if r.status != wantHTTP {
		t.Fatalf("HTTP %d, want %d for errorId %d", r.status, wantHTTP, errorID)
	}
	if !r.signed {
		t.Fatalf("errorId %d answered unsigned: %s", errorID, r.raw)
	}
}

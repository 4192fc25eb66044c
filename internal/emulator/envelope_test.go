package emulator_test

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

func TestOfficialSampleShapeIsAccepted(t *testing.T) {
	tn := newTenant(t)
	// Java/Node samples: header orgAlias, username (lower n), fName/lName, ISO timestamp, number 4.9.
	req := tn.sampleRequest(map[string]any{
		"username": "jdoe", "fName": "John", "lName": "Doe", "email": "jdoe@example.com",
		"role": "REGULAR", "activateUser": false, "clientData": "session-1",
	})
	r := tn.send(t, "adduser", req.compact(t))
	expectError(t, r, 200)
	u := tn.mustUser(t, "jdoe")
	if u.FirstName != "John" || u.LastName != "Doe" || u.Email != "jdoe@example.com" {
		t.Fatalf("stored user = %+v", u)
	}
	if r.body["clientData"] != "session-1" {
		t.Fatalf("clientData = %v, want the echo", r.body["clientData"])
	}
}

func TestDocumentedShapeIsAccepted(t *testing.T) {
	tn := newTenant(t)
	r := tn.call(t, "adduser", map[string]any{
		"userName": "mmeredith", "fname": "Meredith", "lname": "Archer", "role": "REGULAR", "activateUser": false,
	})
	expectError(t, r, 200)
	d := r.userDetails(t)
	if d["userName"] != "mmeredith" || d["fname"] != "Meredith" || d["lname"] != "Archer" {
		t.Fatalf("userDetails = %v", d)
	}
}

// A request vector signed independently of this repository (with Python) using the documented
// signing scheme.
func TestResearchRequestVectorVerifies(t *testing.T) {
	tn := newTenantWith(t, emulator.Options{
		OrgAlias:  "aaaaaaaa-a1b2-123a-b456-1234abcd5678",
		Token:     "1a2b3c4d5e6f",
		Base64Key: "JWC41crr322aUfdckVfJKHvGKNIPyAPGL7rMsTbzHlA=",
	})
	if err := tn.srv.SeedUser(emulator.User{UserName: "jdoe"}); err != nil {
		t.Fatal(err)
	}
	const vector = "eyJhbGciOiJIUzI1NiIsIm9yZ19hbGlhcyI6ImFhYWFhYWFhLWExYjItMTIzYS1iNDU2LTEyMzRhYmNkNTY3OCIsInRva2VuIjoiMWEyYjNjNGQ1ZTZmIn0.eyJyZXFIZWFkZXIiOnsibG9jYWxlIjoiZW4iLCJvcmdBbGlhcyI6ImFhYWFhYWFhLWExYjItMTIzYS1iNDU2LTEyMzRhYmNkNTY3OCIsInNlY3JldEtleSI6IjFhMmIzYzRkNWU2ZiIsInRpbWVzdGFtcCI6IjIwMTUtMDktMDMgMTE6NTc6MjUuMjI5IiwidmVyc2lvbiI6IjQuOSJ9LCJyZXFCb2R5Ijp7InVzZXJOYW1lIjoiamRvZSIsImdldFNhbWVEZXZpY2VVc2VycyI6ZmFsc2UsImNsaWVudERhdGEiOm51bGx9fQ.c9q7KA5KQa5W6Nep4ktui3eJzR6vapPPRHRqBs9_Piw"
	r := tn.send(t, "getuserdetails", vector)
	expectError(t, r, 200)
	if r.userDetails(t)["userName"] != "jdoe" {
		t.Fatalf("userDetails = %v", r.body)
	}
}

func TestTimestampFormats(t *testing.T) {
	tn := newTenant(t)
	for i, tc := range []struct {
		timestamp any
		accepted  bool
	}{
		{"2015-09-03 11:57:25.229", true},   // documented
		{"2021-07-25T10:00:00.000Z", true},  // JSON.stringify(new Date())
		{"2021-07-25T10:00:00+02:00", true}, // ISO-8601 with offset
		{"2021-07-25 10:00:00Z", true},      // PowerShell Get-Date -Format u
		{"1999-01-01 00:00:00.000", true},   // no freshness window
		{"25/07/2021 10:00", false},
		{"", false},
		{1627207200000, false},
		{nil, false},
	} {
		req := tn.documentedRequest(map[string]any{"userName": "u" + string(rune('a'+i))})
		req.reqHeader["timestamp"] = tc.timestamp
		r := tn.send(t, "adduser", req.compact(t))
		if got := r.errorID() == 200; got != tc.accepted {
			t.Errorf("timestamp %v: accepted = %v, want %v (%v)", tc.timestamp, got, tc.accepted, r.body)
		}
	}
}

func TestVersionForms(t *testing.T) {
	tn := newTenant(t)
	for i, tc := range []struct {
		version  any
		accepted bool
	}{
		{"4.9", true}, {"4.9.17", true}, {4.9, true}, {"", false}, {nil, false}, {true, false},
	} {
		req := tn.documentedRequest(map[string]any{"userName": "v" + string(rune('a'+i))})
		req.reqHeader["version"] = tc.version
		if tc.version == nil {
			delete(req.reqHeader, "version")
		}
		r := tn.send(t, "adduser", req.compact(t))
		if got := r.errorID() == 200; got != tc.accepted {
			t.Errorf("version %v: accepted = %v, want %v", tc.version, got, tc.accepted)
		}
	}
}

// hmacSHA512Token hand-signs a JWS with HS512 (go-jose refuses a 32-byte HS512 key), to show the
// emulator rejects a correctly keyed signature with the wrong algorithm.
func hmacSHA512Token(header, payload string, key []byte) string {
	input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	mac := hmac.New(sha512.New, key)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func TestRejectedEnvelopes(t *testing.T) {
	tn := newTenant(t)
	otherKey := make([]byte, 32)
	copy(otherKey, "a different 32 byte signing key!")
	body := map[string]any{"userName": "mallory", "role": "REGULAR"}

	tests := []struct {
		name string
		body func() string
	}{
		{"signed with another key", func() string {
			r := tn.documentedRequest(body)
			r.key = otherKey
			return r.compact(t)
		}},
		{"wrong token in header", func() string {
			r := tn.documentedRequest(body)
			r.header["token"] = "00000000000000000000000000000000"
			return r.compact(t)
		}},
		{"no token in header", func() string {
			r := tn.documentedRequest(body)
			delete(r.header, "token")
			return r.compact(t)
		}},
		{"wrong org_alias in header", func() string {
			r := tn.documentedRequest(body)
			r.header["org_alias"] = "11111111-2222-3333-4444-555555555555"
			return r.compact(t)
		}},
		{"orgAlias and org_alias disagree", func() string {
			r := tn.documentedRequest(body)
			r.header["orgAlias"] = "11111111-2222-3333-4444-555555555555"
			return r.compact(t)
		}},
		{"no org alias in header", func() string {
			r := tn.documentedRequest(body)
			delete(r.header, "org_alias")
			return r.compact(t)
		}},
		{"wrong secretKey", func() string {
			r := tn.documentedRequest(body)
			r.reqHeader["secretKey"] = "not-the-token"
			return r.compact(t)
		}},
		{"secretKey holds the signing key", func() string {
			r := tn.documentedRequest(body)
			r.reqHeader["secretKey"] = tn.opts.Base64Key
			return r.compact(t)
		}},
		{"wrong reqHeader.orgAlias", func() string {
			r := tn.documentedRequest(body)
			r.reqHeader["orgAlias"] = "11111111-2222-3333-4444-555555555555"
			return r.compact(t)
		}},
		{"no reqHeader", func() string {
			r := tn.documentedRequest(body)
			r.reqHeader = nil
			return r.compact(t)
		}},
		{"alg none", func() string {
			r := tn.documentedRequest(body)
			hdr, _ := json.Marshal(map[string]any{"alg": "none", "org_alias": tn.opts.OrgAlias, "token": tn.opts.Token})
			return base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(r.payload(t)) + "."
		}},
		{"alg HS512", func() string {
			r := tn.documentedRequest(body)
			hdr, _ := json.Marshal(map[string]any{"alg": "HS512", "org_alias": tn.opts.OrgAlias, "token": tn.opts.Token})
			return hmacSHA512Token(string(hdr), string(r.payload(t)), tn.key)
		}},
		{"tampered payload", func() string {
			signed := tn.documentedRequest(body).compact(t)
			parts := strings.Split(signed, ".")
			other := tn.documentedRequest(map[string]any{"userName": "eve", "role": "ADMIN"})
			parts[1] = base64.RawURLEncoding.EncodeToString(other.payload(t))
			return strings.Join(parts, ".")
		}},
		{"unsigned JSON body", func() string {
			return string(tn.documentedRequest(body).payload(t))
		}},
		{"garbage", func() string { return "this is not a JWS" }},
		{"empty body", func() string { return "" }},
		{"reqBody is not an object", func() string {
			r := tn.documentedRequest(nil)
			data, _ := json.Marshal(map[string]any{"reqHeader": r.reqHeader, "reqBody": []string{"mallory"}})
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: tn.key},
				(&jose.SignerOptions{}).WithHeader("org_alias", tn.opts.OrgAlias).WithHeader("token", tn.opts.Token))
			if err != nil {
				t.Fatal(err)
			}
			jws, err := signer.Sign(data)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := jws.CompactSerialize()
			return s
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tn.send(t, "adduser", tc.body())
			if r.status != http.StatusBadRequest || r.errorID() != 400 || r.body["errorMsg"] != "Invalid input." {
				t.Fatalf("HTTP %d %v, want 400 Invalid input.", r.status, r.body)
			}
			if r.signed {
				t.Fatal("an envelope failure must be answered with raw JSON, not a signed JWS")
			}
			if len(tn.srv.Users()) != 0 {
				t.Fatalf("a rejected request changed state: %v", tn.srv.Users())
			}
		})
	}
}

func TestMethodAndRouting(t *testing.T) {
	tn := newTenant(t)
	signed := tn.documentedRequest(map[string]any{"userName": "jdoe"}).compact(t)

	get, err := http.NewRequestWithContext(t.Context(), http.MethodGet, tn.http.URL+"/pingid/rest/4/getuserdetails/do", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tn.http.Client().Do(get)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Fatalf("GET: HTTP %d Allow=%q, want 405 Allow=POST", resp.StatusCode, resp.Header.Get("Allow"))
	}

	for _, op := range []string{"nosuchop", "adduser/extra"} {
		resp, _, err := tn.post(t, op, signed)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("op %q: HTTP %d, want 404", op, resp.StatusCode)
		}
	}

	// Operations are matched case-insensitively.
	expectError(t, tn.send(t, "AddUser", signed), 200)
	expectError(t, tn.send(t, "GETUSERDETAILS", signed), 200)
	if calls := tn.srv.Calls(); calls["adduser"] != 1 || calls["getuserdetails"] != 2 {
		t.Fatalf("calls = %v, want adduser 1, getuserdetails 2 (GET included)", calls)
	}
}

var uniqueMsgIDPattern = regexp.MustCompile(`^webs_[A-Za-z0-9_-]{43}$`)

func TestResponseFraming(t *testing.T) {
	tn := newTenant(t)
	ok := tn.call(t, "adduser", map[string]any{"userName": "jdoe", "role": "REGULAR", "clientData": "echo me"})
	missing := tn.call(t, "getuserdetails", map[string]any{"userName": "nobody"})

	for name, r := range map[string]response{"success": ok, "error": missing} {
		if !r.signed {
			t.Fatalf("%s: not a signed JWS: %s", name, r.raw)
		}
		wantHdr := `{"alg":"HS256","org_alias":"` + tn.opts.OrgAlias + `","token":"` + tn.opts.Token + `"}`
		if r.jwsHdr != wantHdr {
			t.Errorf("%s: JWS header %s, want %s", name, r.jwsHdr, wantHdr)
		}
		id, _ := r.body["uniqueMsgId"].(string)
		if !uniqueMsgIDPattern.MatchString(id) {
			t.Errorf("%s: uniqueMsgId %q does not look like webs_+43 base64url", name, id)
		}
		if _, present := r.body["clientData"]; !present {
			t.Errorf("%s: clientData member missing", name)
		}
	}
	if ok.body["clientData"] != "echo me" || ok.body["errorMsg"] != "ok" {
		t.Errorf("success body = %v", ok.body)
	}
	if missing.body["clientData"] != nil {
		t.Errorf("clientData = %v, want null when the request had none", missing.body["clientData"])
	}
	if ok.body["uniqueMsgId"] == missing.body["uniqueMsgId"] {
		t.Error("uniqueMsgId repeated across responses")
	}
}

func TestConflictingAliasesAreRejected(t *testing.T) {
	tn := newTenant(t)
	r := tn.call(t, "adduser", map[string]any{"userName": "a", "username": "b"})
	if r.errorID() != 400 || len(tn.srv.Users()) != 0 {
		t.Fatalf("conflicting username/userName: %v, users %v", r.body, tn.srv.Users())
	}
	expectError(t, tn.call(t, "adduser", map[string]any{"userName": "same", "username": "same"}), 200)
}

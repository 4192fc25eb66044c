package pingid

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// The response token of the worked AddUser example in the PingID API docs, which verifies with
// testBase64Key.
const goldenResponse = "eyJhbGciOiJIUzI1NiIsIm9yZ19hbGlhcyI6ImFhYWFhYWFhLWExYjItMTIzYS1iNDU2LTEyMzRhYmNkNTY3OCIsInRva2VuIjoiMWEyYjNjNGQ1ZTZmIn0.eyAgImFjdGl2YXRpb25Db2RlIjogIjI5MjA3MDUyMjcwMSIsICAgICJ1c2VyRGV0YWlscyI6IHsgICAgICAiZW1haWwiOiAibWVyZWRpdGhAcGluZ2RldmVsb3BlcnMuY29tIiwgICAgICAidXNlcklkIjogMTc0NTcsICAgICAgImxuYW1lIjogIkFyY2hlciIsICAgICAgInVzZXJFbmFibGVkIjogZmFsc2UsICAgICAgImZuYW1lIjogIk1lcmVkaXRoIiwgICAgICAicGljVVJMIjogIkIyVU1PVUlGRUwzQ1FIVlY0S08zWjVSMk8yRlRKWUFWVDMzTlVINk1NSTRCNUdPU1BJWkFSTkE9IiwgICAgICAic3BMaXN0IjogW10sICAgICAgImxhc3RMb2dpbiI6IG51bGwsICAgICAgImJ5cGFzc0V4cGlyYXRpb24iOiBudWxsLCAgICAgICJkZXZpY2VEZXRhaWxzIjogbnVsbCwgICAgICAibGFzdFRyYW5zYWN0aW9ucyI6IFtdLCAgICAgICJ1c2VySW5CeXBhc3MiOiBmYWxzZSwgICAgICAidXNlck5hbWUiOiAibWVyZWRpdGgiLCAgICAgICJzdGF0dXMiOiAiUEVORElOR19BQ1RJVkFUSU9OIiwgICAgICAicm9sZSI6ICJSRUdVTEFSIiAgICB9LCAgICAiZXJyb3JJZCI6IDIwMCwgICAgInVuaXF1ZU1zZ0lkIjogIndlYnNfT3pHVGVXemxGeENyejVhZXRuOUlnUlFIWGxXLVlqaGgxcU9BeGtLdmJkSSIsICAgICJlcnJvck1zZyI6ICJvayIsICAgICJjbGllbnREYXRhIjogbnVsbCAgfQ.6XMoyLUdrw7Y124-X4gNnIpj-s1qMNx-5TMXCvog5eg"

// A request vector made with the same key (getuserdetails for jdoe).
const referenceRequest = "eyJhbGciOiJIUzI1NiIsIm9yZ19hbGlhcyI6ImFhYWFhYWFhLWExYjItMTIzYS1iNDU2LTEyMzRhYmNkNTY3OCIsInRva2VuIjoiMWEyYjNjNGQ1ZTZmIn0.eyJyZXFIZWFkZXIiOnsibG9jYWxlIjoiZW4iLCJvcmdBbGlhcyI6ImFhYWFhYWFhLWExYjItMTIzYS1iNDU2LTEyMzRhYmNkNTY3OCIsInNlY3JldEtleSI6IjFhMmIzYzRkNWU2ZiIsInRpbWVzdGFtcCI6IjIwMTUtMDktMDMgMTE6NTc6MjUuMjI5IiwidmVyc2lvbiI6IjQuOSJ9LCJyZXFCb2R5Ijp7InVzZXJOYW1lIjoiamRvZSIsImdldFNhbWVEZXZpY2VVc2VycyI6ZmFsc2UsImNsaWVudERhdGEiOm51bGx9fQ.c9q7KA5KQa5W6Nep4ktui3eJzR6vapPPRHRqBs9_Piw"

func TestGoldenResponseVectorVerifiesAndDecodes(t *testing.T) {
	key := mustDecodeKey(t, testBase64Key)
	resp, err := decodeResponse(OpAddUser, "meredith", http.StatusOK, []byte(goldenResponse), key)
	if err != nil {
		t.Fatalf("decodeResponse: %v", err)
	}
	if resp.ErrorID != 200 || resp.ErrorMsg != "ok" || resp.ActivationCode != "292070522701" ||
		resp.UniqueMsgID != "webs_OzGTeWzlFxCrz5aetn9IgRQHXlW-Yjhh1qOAxkKvbdI" {
		t.Errorf("decoded envelope = %+v", resp)
	}
	u, err := parseUser(resp.UserDetails, "meredith")
	if err != nil {
		t.Fatalf("parseUser: %v", err)
	}
	want := User{UserName: "meredith", FirstName: "Meredith", LastName: "Archer", Email: "meredith@pingdevelopers.com",
		Role: RoleRegular, Status: StatusPendingActivation, UserEnabled: false, DeviceCount: 0}
	if !strings.Contains(string(u.Raw), `"userId": 17457`) {
		t.Errorf("Raw does not hold the userDetails object as received: %s", u.Raw)
	}
	u.Raw = nil
	if !reflect.DeepEqual(*u, want) {
		t.Errorf("user = %+v, want %+v", *u, want)
	}
}

func TestGoldenResponseVectorTamperedIsRefused(t *testing.T) {
	key := mustDecodeKey(t, testBase64Key)
	parts := strings.Split(goldenResponse, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forgedPayload := strings.Replace(string(payload), "PENDING_ACTIVATION", "ACTIVE", 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forgedPayload)) + "." + parts[2]

	for name, tc := range map[string]struct {
		body string
		key  []byte
	}{
		"payload changed": {tampered, key},
		"other key":       {goldenResponse, mustDecodeKey(t, otherBase64Key)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeResponse(OpGetUserDetails, "meredith", http.StatusOK, []byte(tc.body), tc.key)
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("err = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestRequestSigningReproducesReferenceVector(t *testing.T) {
	parts := strings.Split(referenceRequest, ".")
	wantPayload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	creds := Credentials{OrgAlias: testOrgAlias, Token: "1a2b3c4d5e6f"}
	ts := time.Date(2015, 9, 3, 11, 57, 25, 229_000_000, time.UTC)
	payload, err := buildRequestPayload(creds, ts, json.RawMessage(`{"userName":"jdoe","getSameDeviceUsers":false,"clientData":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(payload) != string(wantPayload) {
		t.Errorf("payload\n got %s\nwant %s", payload, wantPayload)
	}
	signer, err := newRequestSigner(mustDecodeKey(t, testBase64Key), creds.OrgAlias, creds.Token)
	if err != nil {
		t.Fatal(err)
	}
	got, err := signCompact(signer, payload)
	if err != nil {
		t.Fatal(err)
	}
	if got != referenceRequest {
		t.Errorf("compact JWS\n got %s\nwant %s", got, referenceRequest)
	}
}

func TestTimestampIsUTCInDocumentedFormat(t *testing.T) {
	local := time.Date(2024, 2, 29, 23, 59, 58, 7_000_000, time.FixedZone("MST", -7*3600))
	payload, err := buildRequestPayload(Credentials{OrgAlias: "o", Token: "t"}, local, json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		ReqHeader map[string]string `json:"reqHeader"`
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		t.Fatal(err)
	}
	if got := env.ReqHeader["timestamp"]; got != "2024-03-01 06:59:58.007" {
		t.Errorf("timestamp = %q", got)
	}
}

// testJWS signs payload with key (HS256 or another algorithm) and our header.
func testJWS(t testing.TB, alg jose.SignatureAlgorithm, key []byte, payload string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key},
		(&jose.SignerOptions{}).WithHeader("org_alias", testOrgAlias).WithHeader("token", testToken))
	if err != nil {
		t.Fatal(err)
	}
	return signTestPayload(t, signer, []byte(payload))
}

func algNoneJWS(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","org_alias":"`+testOrgAlias+`","token":"`+testToken+`"}`)) + "." + enc([]byte(payload)) + "."
}

func TestDecodeResponse(t *testing.T) {
	key := mustDecodeKey(t, testBase64Key)
	otherKey := mustDecodeKey(t, otherBase64Key)
	longKey := append(append([]byte{}, key...), key...) // 64 bytes, enough for HS512
	okWrapped := `{"responseBody":{"errorId":200,"errorMsg":"ok","uniqueMsgId":"webs_a","clientData":null,"userDetails":{"userName":"jdoe","status":"ACTIVE"}}}`
	okFlat := `{"errorId":200,"errorMsg":"","uniqueMsgId":"webs_b","userDetails":{"userName":"jdoe","status":"ACTIVE"}}`

	type want struct {
		ok          bool
		badSig      bool
		errorID     int
		httpStatus  int
		activation  string
		hasUserInfo bool
	}
	tests := []struct {
		name   string
		status int
		body   string
		want   want
	}{
		{"wrapped success", 200, testJWS(t, jose.HS256, key, okWrapped), want{ok: true, hasUserInfo: true}},
		{"flat success", 200, testJWS(t, jose.HS256, key, okFlat), want{ok: true, hasUserInfo: true}},
		{"activation code as number", 200, testJWS(t, jose.HS256, key, `{"responseBody":{"errorId":200,"activationCode":436348609435}}`), want{ok: true, activation: "436348609435"}},
		{"activation code as string", 200, testJWS(t, jose.HS256, key, `{"errorId":200,"activationCode":"292070522701"}`), want{ok: true, activation: "292070522701"}},
		{"errorId as string", 200, testJWS(t, jose.HS256, key, `{"responseBody":{"errorId":"200","errorMsg":null}}`), want{ok: true}},
		{"surrounding whitespace", 200, "\n " + testJWS(t, jose.HS256, key, okWrapped) + "\r\n", want{ok: true, hasUserInfo: true}},
		{"signed 10564 on 400", 400, testJWS(t, jose.HS256, key, `{"responseBody":{"errorId":10564,"errorMsg":"User does not exist.","uniqueMsgId":"webs_c"}}`), want{errorID: 10564, httpStatus: 400}},
		{"signed errorId string on 400", 400, testJWS(t, jose.HS256, key, `{"responseBody":{"errorId":"10556"}}`), want{errorID: 10556, httpStatus: 400}},
		{"raw JSON error on 400", 400, `{"responseBody":{"errorId":10564,"errorMsg":"User does not exist."}}`, want{errorID: 10564, httpStatus: 400}},
		{"raw flat JSON error on 400", 400, `{"errorId":400,"errorMsg":"Invalid input."}`, want{errorID: 400, httpStatus: 400}},
		{"signed 200 id on HTTP 400 is not success", 400, testJWS(t, jose.HS256, key, okWrapped), want{errorID: 200, httpStatus: 400}},
		{"signed error id on HTTP 200 is not success", 200, testJWS(t, jose.HS256, key, `{"errorId":10558,"errorMsg":"Cannot update user."}`), want{errorID: 10558, httpStatus: 200}},
		{"html error page", 502, "<html>bad gateway</html>", want{httpStatus: 502}},
		{"empty error body", 500, "", want{httpStatus: 500}},
		{"wrong key", 200, testJWS(t, jose.HS256, otherKey, okWrapped), want{badSig: true}},
		{"wrong key on an error status", 400, testJWS(t, jose.HS256, otherKey, `{"errorId":10564}`), want{badSig: true}},
		{"alg none", 200, algNoneJWS(okWrapped), want{badSig: true}},
		{"alg none on an error status", 400, algNoneJWS(okWrapped), want{badSig: true}},
		{"HS512 is not accepted", 200, testJWS(t, jose.HS512, longKey, okWrapped), want{badSig: true}},
		{"unsigned JSON on 200", 200, okWrapped, want{badSig: true}},
		{"unsigned JSON claiming 200 on 400", 400, okWrapped, want{badSig: true}},
		{"plain text on 200", 200, "ok", want{badSig: true}},
		{"empty body on 200", 200, "", want{badSig: true}},
		{"signature stripped", 200, strings.Join(strings.Split(testJWS(t, jose.HS256, key, okWrapped), ".")[:2], ".") + ".", want{badSig: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := decodeResponse(OpGetUserDetails, "jdoe", tc.status, []byte(tc.body), key)
			switch {
			case tc.want.ok:
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				if resp.ErrorID != 200 || resp.ActivationCode != tc.want.activation || (resp.UserDetails != nil) != tc.want.hasUserInfo {
					t.Errorf("resp = %+v", resp)
				}
			case tc.want.badSig:
				if !errors.Is(err, ErrBadSignature) {
					t.Fatalf("err = %v, want ErrBadSignature", err)
				}
				if resp != nil {
					t.Errorf("resp = %+v, want nil", resp)
				}
			default:
				var apiErr *APIError
				if !errors.As(err, &apiErr) {
					t.Fatalf("err = %v (%T), want *APIError", err, err)
				}
				if apiErr.ErrorID != tc.want.errorID || apiErr.HTTPStatus != tc.want.httpStatus || apiErr.Operation != OpGetUserDetails || apiErr.Username != "jdoe" {
					t.Errorf("APIError = %+v", apiErr)
				}
				if errors.Is(err, ErrBadSignature) {
					t.Errorf("an authenticated or unsigned error must not be ErrBadSignature")
				}
			}
		})
	}
}

func TestFlexIntRejectsNonNumbers(t *testing.T) {
	for _, in := range []string{`"abc"`, `true`, `{}`, `12.5`, `"12x"`} {
		var f flexInt
		if err := json.Unmarshal([]byte(in), &f); err == nil {
			t.Errorf("flexInt accepted %s as %d", in, f.Value)
		}
	}
}

// FuzzDecodeResponse: the response parser never panics and never reports success for
// anything that is not a 2xx, HS256-signed-with-our-key response with errorId 200.
func FuzzDecodeResponse(f *testing.F) {
	key := mustDecodeKey(f, testBase64Key)
	f.Add(200, goldenResponse)
	f.Add(400, goldenResponse)
	f.Add(200, testJWS(f, jose.HS256, key, `{"responseBody":{"errorId":"200","activationCode":1}}`))
	f.Add(400, testJWS(f, jose.HS256, key, `{"responseBody":{"errorId":10564}}`))
	f.Add(200, testJWS(f, jose.HS256, key, `{"responseBody":null,"errorId":200}`))
	f.Add(200, testJWS(f, jose.HS256, key, `[]`))
	f.Add(400, `{"responseBody":{"errorId":10556,"errorMsg":"User already exists."}}`)
	f.Add(400, `{"errorId":200}`)
	f.Add(200, `{"errorId":200}`)
	f.Add(200, algNoneJWS(`{"errorId":200}`))
	f.Add(503, "<html></html>")
	f.Add(200, "a.b.c")
	f.Add(200, "..")
	f.Fuzz(func(t *testing.T, status int, body string) {
		resp, err := decodeResponse(OpGetUserDetails, "fuzz", status, []byte(body), key)
		if err != nil {
			if resp != nil {
				t.Fatalf("error with a response: %v", err)
			}
			return
		}
		if !isSuccessStatus(status) || resp == nil || resp.ErrorID != 200 {
			t.Fatalf("success for status %d resp %+v", status, resp)
		}
		jws, perr := jose.ParseSignedCompact(strings.TrimSpace(body), []jose.SignatureAlgorithm{jose.HS256})
		if perr != nil {
			t.Fatalf("success for a body that is not a compact HS256 JWS: %v", perr)
		}
		if _, verr := jws.Verify(key); verr != nil {
			t.Fatalf("success for a body that does not verify: %v", verr)
		}
	})
}

package pingid

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Wire constants of PingID API 4.9 (PingID API docs, overview: request signing).
const (
	apiVersion      = "4.9"
	apiLocale       = "en"
	timestampLayout = "2006-01-02 15:04:05.000" // documented as UTC
	headerOrgAlias  = "org_alias"               // the documented spelling; samples also use orgAlias
	headerToken     = "token"
)

type requestHeader struct {
	Locale    string `json:"locale"`
	OrgAlias  string `json:"orgAlias"`
	SecretKey string `json:"secretKey"` // the properties "token", not the signing key
	Timestamp string `json:"timestamp"`
	Version   string `json:"version"`
}

type requestEnvelope struct {
	ReqHeader requestHeader   `json:"reqHeader"`
	ReqBody   json.RawMessage `json:"reqBody"`
}

// newRequestSigner returns an HS256 signer whose protected header is
// {"alg":"HS256","org_alias":…,"token":…}. A jose.Signer only reads its own state, so one
// signer is shared by concurrent calls.
func newRequestSigner(key []byte, orgAlias, token string) (jose.Signer, error) {
	opts := (&jose.SignerOptions{}).
		WithHeader(headerOrgAlias, orgAlias).
		WithHeader(headerToken, token)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key}, opts)
	if err != nil {
		return nil, fmt.Errorf("creating HS256 signer: %w", err)
	}
	return signer, nil
}

// signCompact signs payload and returns the compact serialization sent as the request body.
func signCompact(signer jose.Signer, payload []byte) (string, error) {
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("signing request: %w", err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("serializing request JWS: %w", err)
	}
	return compact, nil
}

// buildRequestPayload wraps an operation body in the reqHeader envelope.
func buildRequestPayload(creds Credentials, now time.Time, body json.RawMessage) ([]byte, error) {
	payload, err := json.Marshal(requestEnvelope{
		ReqHeader: requestHeader{
			Locale:    apiLocale,
			OrgAlias:  creds.OrgAlias,
			SecretKey: creds.Token,
			Timestamp: now.UTC().Format(timestampLayout),
			Version:   apiVersion,
		},
		ReqBody: body,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding request envelope: %w", err)
	}
	return payload, nil
}

// apiResponse is a decoded response body (wrapped or flat).
type apiResponse struct {
	ErrorID        int
	HasErrorID     bool
	ErrorMsg       string
	UniqueMsgID    string
	UserDetails    json.RawMessage // nil when absent or null
	ActivationCode string          // never logged; callers discard it
	DeviceID       DeviceID        // offlinepairing; zero when absent or not an exact integer
}

// flexInt accepts a JSON number or a numeric string (some PingID clients saw both).
type flexInt struct {
	Value int
	Set   bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		*f = flexInt{}
		return nil
	}
	if unquoted, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(unquoted)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		// An integral float such as 200.0 is still an id.
		fl, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || fl != float64(int(fl)) {
			return errors.New("errorId is neither an integer nor a numeric string")
		}
		n = int(fl)
	}
	*f = flexInt{Value: n, Set: true}
	return nil
}

// flexString accepts a JSON string, number or boolean (activationCode is documented as a
// Long but every example shows a string); null is "".
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flexString(n.String())
	case bytes.Equal(b, []byte("true")), bytes.Equal(b, []byte("false")):
		*f = flexString(b)
	default:
		return errors.New("expected a string or a number")
	}
	return nil
}

type wireResponseBody struct {
	ErrorID        flexInt         `json:"errorId"`
	ErrorMsg       flexString      `json:"errorMsg"`
	UniqueMsgID    flexString      `json:"uniqueMsgId"`
	UserDetails    json.RawMessage `json:"userDetails"`
	ActivationCode flexString      `json:"activationCode"`
	DeviceID       json.RawMessage `json:"deviceId"`
}

// parseResponsePayload reads a response payload, unwrapping responseBody when present
// (the real service wraps; most documentation examples are flat).
func parseResponsePayload(payload []byte) (*apiResponse, error) {
	var wrapper struct {
		ResponseBody json.RawMessage `json:"responseBody"`
	}
	if err := json.Unmarshal(payload, &wrapper); err != nil {
		return nil, fmt.Errorf("response payload is not a JSON object: %w", err)
	}
	inner := payload
	if rb := bytes.TrimSpace(wrapper.ResponseBody); len(rb) > 0 && !bytes.Equal(rb, []byte("null")) {
		inner = rb
	}
	var body wireResponseBody
	if err := json.Unmarshal(inner, &body); err != nil {
		return nil, fmt.Errorf("decoding response body: %w", err)
	}
	resp := &apiResponse{
		ErrorID:        body.ErrorID.Value,
		HasErrorID:     body.ErrorID.Set,
		ErrorMsg:       string(body.ErrorMsg),
		UniqueMsgID:    string(body.UniqueMsgID),
		ActivationCode: string(body.ActivationCode),
	}
	if len(body.DeviceID) > 0 {
		// A deviceId that is not an exact integer stays zero; the caller reports it.
		_ = resp.DeviceID.UnmarshalJSON(body.DeviceID)
	}
	if ud := bytes.TrimSpace(body.UserDetails); len(ud) > 0 && !bytes.Equal(ud, []byte("null")) {
		resp.UserDetails = append(json.RawMessage(nil), ud...)
	}
	return resp, nil
}

func isSuccessStatus(status int) bool { return status >= 200 && status < 300 }

// decodeResponse authenticates and decodes one HTTP response.
//
//   - A JWS body must verify as HS256 with key, whatever the status; otherwise ErrBadSignature.
//   - Success requires a 2xx status, a verified signature and errorId 200.
//   - An unsigned JSON body is accepted only as the error of a non-2xx response (some
//     gateways answer that way); if it claims errorId 200 it is refused.
//   - Anything else on a non-2xx status is an *APIError without an id.
func decodeResponse(op, username string, status int, body, key []byte) (*apiResponse, error) {
	sigErr := func(reason string) error {
		return &signatureError{Operation: op, Username: username, HTTPStatus: status, Reason: reason}
	}
	trimmed := bytes.TrimSpace(body)

	if len(trimmed) > 0 && trimmed[0] == '{' {
		if isSuccessStatus(status) {
			return nil, sigErr("unsigned JSON body on a success status")
		}
		resp, err := parseResponsePayload(trimmed)
		if err != nil {
			return nil, &APIError{Operation: op, Username: username, HTTPStatus: status, Message: "unparseable error body"}
		}
		if resp.HasErrorID && resp.ErrorID == ErrorIDOK {
			return nil, sigErr("unsigned body claims success")
		}
		apiErr := apiErrorFrom(op, username, status, resp)
		apiErr.Unsigned = true
		return nil, apiErr
	}

	if bytes.Count(trimmed, []byte(".")) == 2 {
		jws, err := jose.ParseSignedCompact(string(trimmed), []jose.SignatureAlgorithm{jose.HS256})
		if err != nil {
			return nil, sigErr("not an HS256 compact JWS")
		}
		payload, err := jws.Verify(key)
		if err != nil {
			return nil, sigErr("signature does not verify with use_base64_key")
		}
		resp, err := parseResponsePayload(payload)
		if err != nil {
			return nil, fmt.Errorf("pingid %s %q: malformed signed response (HTTP %d): %w", op, username, status, err)
		}
		if !resp.HasErrorID {
			return nil, fmt.Errorf("pingid %s %q: signed response without errorId (HTTP %d)", op, username, status)
		}
		if isSuccessStatus(status) && resp.ErrorID == ErrorIDOK {
			return resp, nil
		}
		return nil, apiErrorFrom(op, username, status, resp)
	}

	if isSuccessStatus(status) {
		return nil, sigErr("body is not a signed JWS")
	}
	return nil, &APIError{Operation: op, Username: username, HTTPStatus: status, Message: http.StatusText(status)}
}

func apiErrorFrom(op, username string, status int, resp *apiResponse) *APIError {
	msg := resp.ErrorMsg
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &APIError{
		Operation:   op,
		Username:    username,
		HTTPStatus:  status,
		ErrorID:     resp.ErrorID,
		Message:     msg,
		UniqueMsgID: resp.UniqueMsgID,
	}
}

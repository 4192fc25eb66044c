package pingid

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"unicode"

	"github.com/magiconair/properties"
)

// Keys of pingid.properties that the API client needs. Other keys PingOne exports
// (use_signature, admin_url, authenticator_url) are ignored.
const (
	PropertyOrgAlias  = "org_alias"
	PropertyToken     = "token"
	PropertyBase64Key = "use_base64_key"
	PropertyIDPURL    = "idp_url"
)

// MinKeyBytes is the smallest decoded signing key accepted: HS256 needs a 256-bit key.
const MinKeyBytes = 32

// Credentials are the four values of a pingid.properties file the client needs.
// Token and Base64Key are secrets: never print them.
type Credentials struct {
	OrgAlias  string
	Token     string
	Base64Key string
	IDPURL    string
}

// String keeps secrets out of accidental %v / %+v formatting.
func (c Credentials) String() string {
	return fmt.Sprintf("pingid.Credentials{OrgAlias:%q, IDPURL:%q, Token:<redacted>, Base64Key:<redacted>}", c.OrgAlias, c.IDPURL)
}

// GoString keeps secrets out of %#v formatting.
func (c Credentials) GoString() string { return c.String() }

// MissingPropertiesError lists the required keys that are absent or empty.
type MissingPropertiesError struct {
	Keys []string
}

func (e *MissingPropertiesError) Error() string {
	return fmt.Sprintf("pingid.properties: missing or empty required keys: %s", strings.Join(e.Keys, ", "))
}

// ValidationError says which credential is unusable and why. Reason never contains the value.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid PingID credential %s: %s", e.Field, e.Reason)
}

// The properties library reports "properties: Line N: <token>", where <token> may quote the
// start of a value (a secret). Only the line number is kept.
var propertiesLineRE = regexp.MustCompile(`Line (\d+)`)

// ParseProperties reads a pingid.properties file as PingOne exports it (Java properties
// syntax: comments, `\=` escapes, `key: value`, continuation lines, CRLF). It checks only
// that the four required keys are present and non-empty; call Validate to check the values.
func ParseProperties(content string) (Credentials, error) {
	// Java treats CRLF as one line terminator; the library would otherwise end a
	// continuation line at the CR and read the LF as an empty line.
	normalized := strings.ReplaceAll(content, "\r\n", "\n")
	loader := properties.Loader{Encoding: properties.UTF8, DisableExpansion: true}
	props, err := loader.LoadBytes([]byte(normalized))
	if err != nil {
		if m := propertiesLineRE.FindStringSubmatch(err.Error()); m != nil {
			return Credentials{}, fmt.Errorf("pingid.properties: syntax error on line %s", m[1])
		}
		return Credentials{}, fmt.Errorf("pingid.properties: syntax error")
	}
	get := func(key string) string {
		v, _ := props.Get(key)
		// Java keeps trailing blanks; a pasted token or key never has them, so trim.
		return strings.TrimSpace(v)
	}
	creds := Credentials{
		OrgAlias:  get(PropertyOrgAlias),
		Token:     get(PropertyToken),
		Base64Key: get(PropertyBase64Key),
		IDPURL:    get(PropertyIDPURL),
	}
	var missing []string
	for _, kv := range []struct{ key, value string }{
		{PropertyOrgAlias, creds.OrgAlias},
		{PropertyToken, creds.Token},
		{PropertyBase64Key, creds.Base64Key},
		{PropertyIDPURL, creds.IDPURL},
	} {
		if kv.value == "" {
			missing = append(missing, kv.key)
		}
	}
	if len(missing) > 0 {
		return Credentials{}, &MissingPropertiesError{Keys: missing}
	}
	return creds, nil
}

// Validate checks every credential and returns a *ValidationError for the first bad one,
// in the order org_alias, token, use_base64_key, idp_url.
func (c Credentials) Validate() error {
	if err := validateIdentifier(PropertyOrgAlias, c.OrgAlias); err != nil {
		return err
	}
	if err := validateIdentifier(PropertyToken, c.Token); err != nil {
		return err
	}
	if _, err := DecodeKey(c.Base64Key); err != nil {
		return &ValidationError{Field: PropertyBase64Key, Reason: reasonOf(err)}
	}
	if err := ValidateIDPURL(c.IDPURL); err != nil {
		return &ValidationError{Field: PropertyIDPURL, Reason: reasonOf(err)}
	}
	return nil
}

func reasonOf(err error) string {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return err.Error()
}

// validateIdentifier rejects values that cannot be a token or org alias: they travel in a
// JWS header, so blanks or control characters mean a copy/paste accident.
func validateIdentifier(field, value string) error {
	if value == "" {
		return &ValidationError{Field: field, Reason: "is empty"}
	}
	for _, r := range value {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return &ValidationError{Field: field, Reason: "contains whitespace or control characters"}
		}
	}
	return nil
}

// DecodeKey decodes use_base64_key: standard or URL-safe alphabet, padded or not (the
// official samples differ). The result must be at least MinKeyBytes long. Errors never
// contain the key.
func DecodeKey(b64 string) ([]byte, error) {
	s := strings.TrimSpace(b64)
	if s == "" {
		return nil, &ValidationError{Field: PropertyBase64Key, Reason: "is empty"}
	}
	unpadded := strings.TrimRight(s, "=")
	if padding := len(s) - len(unpadded); padding > 2 || (padding > 0 && len(s)%4 != 0) {
		return nil, &ValidationError{Field: PropertyBase64Key, Reason: "is not valid base64 (bad padding)"}
	}
	key, err := base64.RawStdEncoding.DecodeString(unpadded)
	if err != nil {
		key, err = base64.RawURLEncoding.DecodeString(unpadded)
	}
	if err != nil {
		return nil, &ValidationError{Field: PropertyBase64Key, Reason: "is not valid base64 (standard or URL-safe alphabet)"}
	}
	if len(key) < MinKeyBytes {
		return nil, &ValidationError{
			Field:  PropertyBase64Key,
			Reason: fmt.Sprintf("decodes to %d bytes; HS256 needs a key of at least %d bytes (256 bits)", len(key), MinKeyBytes),
		}
	}
	return key, nil
}

// ValidateIDPURL accepts an absolute http(s) URL with a host. Plain http is allowed only for
// loopback hosts (a local emulator); anything else would send the token in clear text.
// Errors do not echo the URL, which could carry userinfo.
func ValidateIDPURL(raw string) error {
	fail := func(reason string) error { return &ValidationError{Field: PropertyIDPURL, Reason: reason} }
	if strings.TrimSpace(raw) == "" {
		return fail("is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fail("is not a valid URL")
	}
	if !u.IsAbs() || u.Host == "" {
		return fail("must be an absolute URL with a host, like https://idpxnyl3m.pingidentity.com/pingid")
	}
	if u.User != nil {
		return fail("must not contain user information")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fail("must not contain a query or fragment")
	}
	host := u.Hostname()
	if host == "" {
		return fail("must have a host")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopbackHost(host) {
			return nil
		}
		return fail("must use https (http is allowed only for loopback hosts such as 127.0.0.1)")
	default:
		return fail("must use the https scheme")
	}
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

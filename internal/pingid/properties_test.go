package pingid

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// An export shaped like the documented pingid.properties, plus the Java-properties features PingOne files or
// hand edits use: `key: value`, a continuation line, an escaped `=` inside a key, CRLF.
const exportedProperties = "#Auto-Generated from PingOne, downloaded by id=[12345] email=[joe@pingdevelopers.com]\r\n" +
	"use_base64_key=JWC41crr322aUfdckVfJKHvGKNIPyAPGL7rMsTbzHlA\\=\r\n" +
	"use_signature=true\r\n" +
	"! a second comment style\r\n" +
	"token: 61fda4f3121abc98SECRET\\\r\n" +
	"      TOKENc9fd9930\r\n" +
	"idp_url=https\\://idpxnyl3m.pingidentity.com/pingid\r\n" +
	"org_alias   =   aaaaaaaa-a1b2-123a-b456-1234abcd5678\r\n" +
	"weird\\=key=has an escaped equals sign in its name\r\n" +
	"admin_url=https://bodxr5jgf.pingidentity.com/ConsoleAdmin\r\n" +
	"authenticator_url=https://authenticator.pingone.com/pingid/ppm\r\n"

func TestParsePropertiesExportedFile(t *testing.T) {
	for name, content := range map[string]string{
		"CRLF": exportedProperties,
		"LF":   strings.ReplaceAll(exportedProperties, "\r\n", "\n"),
	} {
		t.Run(name, func(t *testing.T) {
			creds, err := ParseProperties(content)
			if err != nil {
				t.Fatalf("ParseProperties: %v", err)
			}
			want := Credentials{
				OrgAlias:  testOrgAlias,
				Token:     testToken,
				Base64Key: testBase64Key,
				IDPURL:    "https://idpxnyl3m.pingidentity.com/pingid",
			}
			if !reflect.DeepEqual(creds, want) {
				t.Errorf("creds = %#v\nwant %#v", creds.secretsForTest(), want.secretsForTest())
			}
			if err := creds.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// secretsForTest shows every field, for failure messages about test credentials only.
func (c Credentials) secretsForTest() [4]string {
	return [4]string{c.OrgAlias, c.Token, c.Base64Key, c.IDPURL}
}

func TestParsePropertiesNamesEveryMissingKey(t *testing.T) {
	tests := []struct {
		name    string
		content string
		missing []string
	}{
		{"empty file", "", []string{"org_alias", "token", "use_base64_key", "idp_url"}},
		{"only comments", "# org_alias=x\n! token=y\n", []string{"org_alias", "token", "use_base64_key", "idp_url"}},
		{"empty values", "org_alias=\ntoken=   \nuse_base64_key=" + testBase64Key + "\nidp_url=https://x.test/pingid\n", []string{"org_alias", "token"}},
		{"no key", "org_alias=o\ntoken=" + testToken + "\nidp_url=https://x.test/pingid\n", []string{"use_base64_key"}},
		{"no url", "org_alias=o\ntoken=" + testToken + "\nuse_base64_key=" + testBase64Key + "\n", []string{"idp_url"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProperties(tc.content)
			var missing *MissingPropertiesError
			if !errors.As(err, &missing) {
				t.Fatalf("err = %v, want *MissingPropertiesError", err)
			}
			if !reflect.DeepEqual(missing.Keys, tc.missing) {
				t.Errorf("missing = %v, want %v", missing.Keys, tc.missing)
			}
			for _, k := range tc.missing {
				if !strings.Contains(err.Error(), k) {
					t.Errorf("error %q does not name %s", err, k)
				}
			}
			assertNoSecrets(t, err.Error(), testToken, testBase64Key)
		})
	}
}

func TestParsePropertiesSyntaxErrorHidesContent(t *testing.T) {
	// An invalid \u escape is a syntax error; the library would quote the value.
	content := "token=" + testToken + "\\uZZZZ\norg_alias=o\n"
	_, err := ParseProperties(content)
	if err == nil {
		t.Fatal("want a syntax error")
	}
	if !strings.Contains(err.Error(), "line") {
		t.Errorf("error %q does not give the line", err)
	}
	assertNoSecrets(t, err.Error(), testToken, testToken[:10])
}

func TestDecodeKey(t *testing.T) {
	raw := mustDecodeKey(t, testBase64Key)
	if len(raw) != 32 {
		t.Fatalf("golden key decodes to %d bytes", len(raw))
	}
	// A key whose encodings differ between the two alphabets.
	alphabetKey := make([]byte, 33)
	for i := range alphabetKey {
		alphabetKey[i] = byte(0xfb + i%5)
	}
	std := base64.StdEncoding.EncodeToString(alphabetKey)
	url := base64.RawURLEncoding.EncodeToString(alphabetKey)
	if !strings.ContainsAny(std, "+/") || !strings.ContainsAny(url, "-_") {
		t.Fatalf("test key does not exercise both alphabets: %s %s", std, url)
	}
	tests := []struct {
		name string
		in   string
		want []byte
	}{
		{"standard padded", testBase64Key, raw},
		{"standard unpadded", strings.TrimRight(testBase64Key, "="), raw},
		{"surrounding blanks", "  " + testBase64Key + "\n", raw},
		{"standard alphabet", std, alphabetKey},
		{"url-safe alphabet", url, alphabetKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeKey(tc.in)
			if err != nil {
				t.Fatalf("DecodeKey: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %x, want %x", got, tc.want)
			}
		})
	}
}

func TestDecodeKeyRejects(t *testing.T) {
	tests := []struct {
		name, in, reason string
	}{
		{"empty", "", "empty"},
		{"not base64", "this is not base64 at all!!!!!!!!!!!!!!!!!!!!!!", "not valid base64"},
		{"mixed alphabets", "+_v8/f77/Pv8/f77/Pv8/f77/Pv8/f77/Pv8", "not valid base64"},
		{"too much padding", strings.TrimRight(testBase64Key, "=") + "===", "padding"},
		{"16-byte key", "MDEyMzQ1Njc4OWFiY2RlZg==", "16 bytes"},
		{"31-byte key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZQ==", "31 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeKey(tc.in)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "use_base64_key" {
				t.Fatalf("err = %v, want a use_base64_key ValidationError", err)
			}
			if !strings.Contains(ve.Reason, tc.reason) {
				t.Errorf("reason %q does not mention %q", ve.Reason, tc.reason)
			}
			if tc.in != "" {
				assertNoSecrets(t, err.Error(), tc.in)
			}
		})
	}
}

func TestValidateIDPURL(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"https://idpxnyl3m.pingidentity.com/pingid", true},
		{"https://idpxnyl3m.pingidentity.eu/pingid/", true},
		{"HTTPS://idpxnyl3m.pingidentity.com.au/pingid", true},
		{"http://127.0.0.1:8080", true},
		{"http://127.0.0.1:8080/pingid", true},
		{"http://127.10.0.3/pingid", true},
		{"http://[::1]:9000/pingid", true},
		{"http://localhost:9000/pingid", true},
		{"http://LOCALHOST/pingid", true},
		{"http://example.com/pingid", false},
		{"http://10.0.0.1/pingid", false},
		{"http://localhost.example.com/pingid", false},
		{"ftp://idpxnyl3m.pingidentity.com/pingid", false},
		{"/pingid/rest", false},
		{"idpxnyl3m.pingidentity.com/pingid", false},
		{"https://", false},
		{"https:///pingid", false},
		{"https://user:pass@idpxnyl3m.pingidentity.com/pingid", false},
		{"https://idpxnyl3m.pingidentity.com/pingid?x=1", false},
		{"", false},
		{"https://exa mple.com", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			err := ValidateIDPURL(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateIDPURL(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) || ve.Field != "idp_url" {
					t.Errorf("err = %v, want an idp_url ValidationError", err)
				}
				assertNoSecrets(t, err.Error(), "user:pass")
			}
		})
	}
}

func TestCredentialsValidate(t *testing.T) {
	good := Credentials{OrgAlias: testOrgAlias, Token: testToken, Base64Key: testBase64Key, IDPURL: "http://127.0.0.1:8080"}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Credentials)
		field  string
	}{
		{"empty org", func(c *Credentials) { c.OrgAlias = "" }, "org_alias"},
		{"blank in org", func(c *Credentials) { c.OrgAlias = "a b" }, "org_alias"},
		{"empty token", func(c *Credentials) { c.Token = "" }, "token"},
		{"token with newline", func(c *Credentials) { c.Token = testToken + "\nx" }, "token"},
		{"short key", func(c *Credentials) { c.Base64Key = "c2hvcnQ=" }, "use_base64_key"},
		{"bad base64", func(c *Credentials) { c.Base64Key = testToken + "!!" }, "use_base64_key"},
		{"plain http remote", func(c *Credentials) { c.IDPURL = "http://example.com" }, "idp_url"},
		{"relative url", func(c *Credentials) { c.IDPURL = "pingid" }, "idp_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mutate(&c)
			err := c.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			if ve.Field != tc.field {
				t.Errorf("Field = %q, want %q", ve.Field, tc.field)
			}
			assertNoSecrets(t, err.Error(), testToken, testBase64Key, c.Base64Key)
			if _, err := NewClient(Config{Credentials: c}); !errors.As(err, &ve) {
				t.Errorf("NewClient accepted invalid credentials: %v", err)
			}
		})
	}
}

func TestCredentialsFormattingHidesSecrets(t *testing.T) {
	c := Credentials{OrgAlias: testOrgAlias, Token: testToken, Base64Key: testBase64Key, IDPURL: "https://x.test/pingid"}
	for _, s := range []string{
		fmt.Sprint(c), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c),
		fmt.Sprintf("%v", Config{Credentials: c}), fmt.Sprintf("%+v", &Config{Credentials: c}),
	} {
		assertNoSecrets(t, s, testToken, testBase64Key)
		if !strings.Contains(s, testOrgAlias) {
			t.Errorf("formatted credentials %q lost the org alias", s)
		}
	}
}

// assertNoSecrets fails when text contains any of the secrets.
func assertNoSecrets(t testing.TB, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("text leaks a secret: %q", text)
		}
	}
}

// FuzzParseProperties: parsing arbitrary content never panics, success always yields four
// non-empty values, and Validate never panics on what was parsed.
func FuzzParseProperties(f *testing.F) {
	f.Add(exportedProperties)
	f.Add(strings.ReplaceAll(exportedProperties, "\r\n", "\n"))
	f.Add("")
	f.Add("org_alias=o\ntoken=t\nuse_base64_key=k\nidp_url=u")
	f.Add("token=\\uZZZZ")
	f.Add("a=${b}\nb=${a}\norg_alias=${token}\ntoken=x\nuse_base64_key=y\nidp_url=z")
	f.Add("key\\\n")
	f.Add("\\")
	f.Add("\xef\xbb\xbforg_alias:o\r\ntoken t\ruse_base64_key\t=k\fidp_url=http://[::1]/")
	f.Fuzz(func(t *testing.T, content string) {
		creds, err := ParseProperties(content)
		if err != nil {
			if creds != (Credentials{}) {
				t.Fatalf("error %v with non-empty credentials", err)
			}
			return
		}
		if creds.OrgAlias == "" || creds.Token == "" || creds.Base64Key == "" || creds.IDPURL == "" {
			t.Fatalf("success with an empty value: %v", creds)
		}
		if err := creds.Validate(); err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate returned %T, want *ValidationError", err)
			}
		}
	})
}

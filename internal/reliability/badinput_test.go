package reliability

import (
	"encoding/base64"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// Credentials that look real but belong to no tenant; the validate and configure stages never
// call PingID, so nothing is contacted.
var (
	fakeOrgAlias = "3f1c2b6e-8d7a-4c1b-9e2f-5a6b7c8d9e0f"
	fakeToken    = "5f0c3a1e9b7d4c2a8e6f1b3d5c7a9e0f"
	fakeKey      = base64.StdEncoding.EncodeToString([]byte("reliability-suite-hs256-key-32bytes!"))
	fakeIDPURL   = "https://idp.example.com/pingid"
	fakePassword = "Bind-Password-Never-Shown-1"
)

// badInputSecrets are every secret-looking value the cases use; no diagnostic may contain one.
var badInputSecrets = []string{fakeToken, fakeKey, strings.TrimRight(fakeKey, "="), fakePassword,
	"S3cretInUserinfo", "tok en-with-blank", "tok\ten-with-tab", "%%%not-base64-at-all%%%", "c2hvcnQta2V5LTE2Ynl0ZQ=="}

// props renders a pingid.properties file as PingOne exports it; set replaces or (with "")
// removes keys.
func props(set map[string]string) string {
	values := map[string]string{
		"use_base64_key": strings.ReplaceAll(fakeKey, "=", `\=`),
		"use_signature":  "true",
		"token":          fakeToken,
		"idp_url":        fakeIDPURL,
		"org_alias":      fakeOrgAlias,
	}
	maps.Copy(values, set)
	var b strings.Builder
	b.WriteString("#Auto-Generated from PingOne\n")
	for _, k := range keys(values) {
		if values[k] != "" {
			b.WriteString(k + "=" + values[k] + "\n")
		}
	}
	return b.String()
}

// discrete returns provider settings with the four discrete credentials plus overrides.
func discrete(overrides map[string]any) map[string]any {
	cfg := map[string]any{"org_alias": fakeOrgAlias, "token": fakeToken, "use_base64_key": fakeKey, "idp_url": fakeIDPURL}
	for k, v := range overrides {
		cfg[k] = v
	}
	return cfg
}

// withDatastore returns valid credentials and a datastore block built from a valid one.
func withDatastore(overrides map[string]any) map[string]any {
	ds := map[string]any{
		"url": "ldaps://ldap.example.com:636", "bind_dn": "cn=reader,dc=example,dc=com", "bind_password": fakePassword,
	}
	for k, v := range overrides {
		if v == nil {
			delete(ds, k)
			continue
		}
		ds[k] = v
	}
	return discrete(map[string]any{"datastore": ds})
}

// conn returns a valid connection configuration with overrides (nested maps merge one level).
func conn(overrides map[string]any) map[string]any {
	base := map[string]any{
		"name":              "corp",
		"source_location":   map[string]any{"base_dn": peopleDN, "group_dn": groupDN},
		"attribute_mapping": map[string]any{"username": "uid", "email": "mail"},
	}
	for k, v := range overrides {
		nested, isMap := v.(map[string]any)
		current, hasMap := base[k].(map[string]any)
		if isMap && hasMap {
			merged := maps.Clone(current)
			for nk, nv := range nested {
				if nv == nil {
					delete(merged, nk)
				} else {
					merged[nk] = nv
				}
			}
			base[k] = merged
			continue
		}
		base[k] = v
	}
	return base
}

type badInput struct {
	name string
	// target: "provider" (validate, then configure), or a resource / data source type name.
	target string
	cfg    map[string]any
	env    map[string]string
	// file, when set, is written to a temporary pingid.properties whose path replaces
	// "PROPERTIES_FILE" in cfg["properties_file"].
	file string
	// path is the attribute the error must point at; "" for an error about no attribute.
	path string
	// says is what the message must say (a regexp over summary and detail).
	says string
}

// TestBadInput runs every bad input through the fastest stage that catches it (validation,
// else provider configuration), without Terraform: each must be an error pointing at the
// attribute at fault and saying what is wrong, and none may echo a secret.
func TestBadInput(t *testing.T) {
	long251 := strings.Repeat("a", 251)
	shortKey := base64.StdEncoding.EncodeToString([]byte("short-key-16byte"))
	cases := []badInput{
		// pingid.properties, as a file.
		{name: "properties file missing token", target: "provider", cfg: map[string]any{"properties_file": "PROPERTIES_FILE"},
			file: props(map[string]string{"token": ""}), path: "properties_file", says: `missing or empty required keys: token`},
		{name: "properties file missing three keys", target: "provider", cfg: map[string]any{"properties_file": "PROPERTIES_FILE"},
			file: props(map[string]string{"token": "", "org_alias": "", "idp_url": ""}), path: "properties_file", says: `org_alias, token, idp_url`},
		{name: "properties file empty", target: "provider", cfg: map[string]any{"properties_file": "PROPERTIES_FILE"},
			file: "", path: "properties_file", says: `missing or empty required keys: org_alias, token, use_base64_key, idp_url`},
		{name: "properties file only comments", target: "provider", cfg: map[string]any{"properties_file": "PROPERTIES_FILE"},
			file: "# exported\n! nothing else\n", path: "properties_file", says: `missing or empty required keys`},
		{name: "properties file bad unicode escape", target: "provider", cfg: map[string]any{"properties_file": "PROPERTIES_FILE"},
			file: props(map[string]string{"token": `5f0c\u12G4`}), path: "properties_file", says: `syntax error on line \d+`},
		{name: "properties file truncated escape", target: "provider", cfg: map[string]any{"properties_file": "PROPERTIES_FILE"},
			file: props(map[string]string{"use_base64_key": `abc\u12`}), path: "properties_file", says: `syntax error on line \d+`},
		{name: "properties file key not base64", target: "provider", cfg: map[string]any{"properties_file": "PROPERTIES_FILE"},
			file: props(map[string]string{"use_base64_key": "%%%not-base64-at-all%%%"}), path: "properties_file", says: `use_base64_key.*not valid base64`},
		{name: "properties file key too short", target: "provider", cfg: map[string]any{"properties_file": "PROPERTIES_FILE"},
			file: props(map[string]string{"use_base64_key": shortKey}), path: "properties_file", says: `decodes to 16 bytes.*at least 32`},
		{name: "properties file idp_url plain http", target: "provider", cfg: map[string]any{"properties_file": "PROPERTIES_FILE"},
			file: props(map[string]string{"idp_url": `http\://idp.example.com/pingid`}), path: "properties_file", says: `idp_url.*https`},
		{name: "properties file token with a blank", target: "provider", cfg: map[string]any{"properties_file": "PROPERTIES_FILE"},
			file: props(map[string]string{"token": `tok\ en-with-blank`}), path: "properties_file", says: `token.*whitespace`},
		{name: "properties file does not exist", target: "provider", cfg: map[string]any{"properties_file": "/nonexistent/pingid.properties"},
			path: "properties_file", says: `Reading "/nonexistent/pingid.properties".*no such file`},
		// pingid.properties, as content.
		{name: "properties content missing idp_url", target: "provider", cfg: map[string]any{"properties": props(map[string]string{"idp_url": ""})},
			path: "properties", says: `missing or empty required keys: idp_url`},
		{name: "properties content bad escape", target: "provider", cfg: map[string]any{"properties": props(map[string]string{"token": `\uZZZZ`})},
			path: "properties", says: `syntax error on line \d+`},
		{name: "properties content key not base64", target: "provider", cfg: map[string]any{"properties": props(map[string]string{"use_base64_key": "%%%not-base64-at-all%%%"})},
			path: "properties", says: `use_base64_key.*base64`},
		{name: "properties content relative idp_url", target: "provider", cfg: map[string]any{"properties": props(map[string]string{"idp_url": "/pingid"})},
			path: "properties", says: `idp_url.*absolute URL`},
		// Discrete credentials.
		{name: "idp_url relative", target: "provider", cfg: discrete(map[string]any{"idp_url": "/pingid"}), path: "idp_url", says: `absolute URL with a host`},
		{name: "idp_url ftp", target: "provider", cfg: discrete(map[string]any{"idp_url": "ftp://idp.example.com/pingid"}), path: "idp_url", says: `must use the https scheme`},
		{name: "idp_url http not loopback", target: "provider", cfg: discrete(map[string]any{"idp_url": "http://idp.example.com/pingid"}), path: "idp_url", says: `https.*loopback`},
		{name: "idp_url with userinfo", target: "provider", cfg: discrete(map[string]any{"idp_url": "https://svc:S3cretInUserinfo@idp.example.com/pingid"}), path: "idp_url", says: `user information`},
		{name: "idp_url with a query", target: "provider", cfg: discrete(map[string]any{"idp_url": "https://idp.example.com/pingid?debug=1"}), path: "idp_url", says: `query`},
		{name: "use_base64_key not base64", target: "provider", cfg: discrete(map[string]any{"use_base64_key": "%%%not-base64-at-all%%%"}), path: "use_base64_key", says: `not valid base64`},
		{name: "use_base64_key too short", target: "provider", cfg: discrete(map[string]any{"use_base64_key": shortKey}), path: "use_base64_key", says: `16 bytes.*at least 32`},
		{name: "use_base64_key bad padding", target: "provider", cfg: discrete(map[string]any{"use_base64_key": "QUJDRA====="}), path: "use_base64_key", says: `padding`},
		{name: "org_alias with a blank", target: "provider", cfg: discrete(map[string]any{"org_alias": "my org"}), path: "org_alias", says: `org_alias.*whitespace`},
		{name: "token with a tab", target: "provider", cfg: discrete(map[string]any{"token": "tok\ten-with-tab"}), path: "token", says: `token.*whitespace or control`},
		{name: "discrete credentials incomplete", target: "provider", cfg: map[string]any{"org_alias": fakeOrgAlias, "token": fakeToken},
			path: "use_base64_key", says: `all four together.*Missing: use_base64_key`},
		{name: "no credentials anywhere", target: "provider", cfg: map[string]any{}, path: "", says: `No PingID credentials were found.*properties_file`},
		{name: "max_concurrency 0", target: "provider", cfg: discrete(map[string]any{"max_concurrency": 0}), path: "max_concurrency", says: `between 1 and 256`},
		{name: "max_concurrency negative", target: "provider", cfg: discrete(map[string]any{"max_concurrency": -4}), path: "max_concurrency", says: `between 1 and 256`},
		{name: "max_concurrency huge", target: "provider", cfg: discrete(map[string]any{"max_concurrency": 100000}), path: "max_concurrency", says: `between 1 and 256`},
		{name: "max_retries negative", target: "provider", cfg: discrete(map[string]any{"max_retries": -1}), path: "max_retries", says: `between 0 and 20`},
		{name: "max_retries too many", target: "provider", cfg: discrete(map[string]any{"max_retries": 21}), path: "max_retries", says: `between 0 and 20`},
		{name: "request_timeout not a duration", target: "provider", cfg: discrete(map[string]any{"request_timeout": "fast"}), path: "request_timeout", says: `"fast" is not a positive Go duration`},
		{name: "request_timeout negative", target: "provider", cfg: discrete(map[string]any{"request_timeout": "-5s"}), path: "request_timeout", says: `not a positive Go duration`},
		{name: "request_timeout zero", target: "provider", cfg: discrete(map[string]any{"request_timeout": "0s"}), path: "request_timeout", says: `not a positive Go duration`},
		{name: "PINGID_MAX_CONCURRENCY not a number", target: "provider", cfg: discrete(nil), env: map[string]string{"PINGID_MAX_CONCURRENCY": "lots"},
			path: "max_concurrency", says: `PINGID_MAX_CONCURRENCY must be an integer .*1.*256.*got "lots"`},
		{name: "PINGID_REQUEST_TIMEOUT not a duration", target: "provider", cfg: discrete(nil), env: map[string]string{"PINGID_REQUEST_TIMEOUT": "forever"},
			path: "request_timeout", says: `PINGID_REQUEST_TIMEOUT.*"forever"`},
		// Datastore.
		{name: "ldap url with http scheme", target: "provider", cfg: withDatastore(map[string]any{"url": "http://ldap.example.com"}), path: "datastore.url", says: `ldap:// or ldaps://`},
		{name: "ldap url without host", target: "provider", cfg: withDatastore(map[string]any{"url": "ldap://"}), path: "datastore.url", says: `with a host`},
		{name: "ldap url without scheme", target: "provider", cfg: withDatastore(map[string]any{"url": "dc1.corp.example.com"}), path: "datastore.url", says: `ldap:// or ldaps://`},
		{name: "ldap url with a path", target: "provider", cfg: withDatastore(map[string]any{"url": "ldaps://ldap.example.com/dc=example,dc=com"}), path: "datastore.url", says: `scheme://host\[:port\] only`},
		{name: "ldap url with a bad port", target: "provider", cfg: withDatastore(map[string]any{"url": "ldaps://ldap.example.com:99999"}), path: "datastore.url", says: `invalid port`},
		{name: "datastore without url", target: "provider", cfg: withDatastore(map[string]any{"url": nil}), path: "datastore.url", says: `needs url`},
		{name: "start_tls with ldaps", target: "provider", cfg: withDatastore(map[string]any{"start_tls": true}), path: "datastore.start_tls", says: `cannot be combined with an ldaps:// url`},
		{name: "directory_type unknown", target: "provider", cfg: withDatastore(map[string]any{"directory_type": "novell"}), path: "datastore.directory_type", says: `one of.*"active_directory".*"openldap".*"generic".*got: "novell"`},
		{name: "page_size 0", target: "provider", cfg: withDatastore(map[string]any{"page_size": 0}), path: "datastore.page_size", says: `between 1 and 100000`},
		{name: "page_size negative", target: "provider", cfg: withDatastore(map[string]any{"page_size": -100}), path: "datastore.page_size", says: `between 1 and 100000`},
		{name: "ldap timeout not a duration", target: "provider", cfg: withDatastore(map[string]any{"timeout": "soon"}), path: "datastore.timeout", says: `"soon" is not a positive Go duration`},
		{name: "ldap timeout zero", target: "provider", cfg: withDatastore(map[string]any{"timeout": "0"}), path: "datastore.timeout", says: `not a positive Go duration`},
		{name: "bind_password without bind_dn", target: "provider", cfg: withDatastore(map[string]any{"bind_dn": nil}), path: "datastore.bind_dn", says: `bind_password is set but bind_dn is empty`},
		{name: "bind_dn without bind_password", target: "provider", cfg: withDatastore(map[string]any{"bind_password": nil}), path: "datastore.bind_password", says: `bind_dn is set but bind_password is empty`},
		{name: "password over plain ldap", target: "provider", cfg: withDatastore(map[string]any{"url": "ldap://ldap.example.com"}), path: "datastore.allow_insecure_bind", says: `refusing to send the bind password unencrypted`},
		{name: "ca_certificate not PEM", target: "provider", cfg: withDatastore(map[string]any{"ca_certificate": "MIIB-not-a-certificate"}), path: "datastore.ca_certificate", says: `no PEM CERTIFICATE block`},
		{name: "PINGID_LDAP_START_TLS not a bool", target: "provider", cfg: withDatastore(map[string]any{"url": "ldap://ldap.example.com"}), env: map[string]string{"PINGID_LDAP_START_TLS": "maybe"},
			path: "datastore.start_tls", says: `PINGID_LDAP_START_TLS must be true or false, got "maybe"`},
		{name: "PINGID_LDAP_PAGE_SIZE zero", target: "provider", cfg: withDatastore(nil), env: map[string]string{"PINGID_LDAP_PAGE_SIZE": "0"},
			path: "datastore.page_size", says: `PINGID_LDAP_PAGE_SIZE must be an integer .*1.*got "0"`},

		// pingid_provisioning_connection.
		{name: "base_dn garbage", target: connectionType, cfg: conn(map[string]any{"source_location": map[string]any{"base_dn": "not a dn"}}), path: "source_location.base_dn", says: `not a valid LDAP DN`},
		{name: "base_dn empty", target: connectionType, cfg: conn(map[string]any{"source_location": map[string]any{"base_dn": ""}}), path: "source_location.base_dn", says: `it is empty`},
		{name: "group_dn garbage", target: connectionType, cfg: conn(map[string]any{"source_location": map[string]any{"group_dn": "PingID Users"}}), path: "source_location.group_dn", says: `"PingID Users" is not a valid LDAP DN`},
		{name: "filter unbalanced open", target: connectionType, cfg: conn(map[string]any{"source_location": map[string]any{"filter": "(uid=*"}}), path: "source_location.filter", says: `"\(uid=\*" is not a valid LDAP filter`},
		{name: "filter unbalanced close", target: connectionType, cfg: conn(map[string]any{"source_location": map[string]any{"filter": "(&(uid=a)(cn=b)"}}), path: "source_location.filter", says: `not a valid LDAP filter`},
		{name: "filter without parentheses", target: connectionType, cfg: conn(map[string]any{"source_location": map[string]any{"filter": "uid=*)(objectClass=*"}}), path: "source_location.filter", says: `not a valid LDAP filter`},
		{name: "disabled_filter garbage", target: connectionType, cfg: conn(map[string]any{"source_location": map[string]any{"disabled_filter": "(("}}), path: "source_location.disabled_filter", says: `not a valid LDAP filter`},
		{name: "neither group nor filter", target: connectionType, cfg: conn(map[string]any{"source_location": map[string]any{"group_dn": nil}}), path: "source_location.group_dn", says: `Set group_dn, filter, or both`},
		{name: "username attribute with a blank", target: connectionType, cfg: conn(map[string]any{"attribute_mapping": map[string]any{"username": "user name"}}), path: "attribute_mapping.username", says: `LDAP attribute name`},
		{name: "username attribute injecting a filter", target: connectionType, cfg: conn(map[string]any{"attribute_mapping": map[string]any{"username": "uid)(cn=*"}}), path: "attribute_mapping.username", says: `LDAP attribute name`},
		{name: "email attribute injecting a filter", target: connectionType, cfg: conn(map[string]any{"attribute_mapping": map[string]any{"email": "mail)(objectClass=*"}}), path: "attribute_mapping.email", says: `LDAP attribute name`},
		{name: "first_name attribute starting with a digit", target: connectionType, cfg: conn(map[string]any{"attribute_mapping": map[string]any{"first_name": "1givenName"}}), path: "attribute_mapping.first_name", says: `LDAP attribute name`},
		{name: "last_name attribute empty", target: connectionType, cfg: conn(map[string]any{"attribute_mapping": map[string]any{"last_name": ""}}), path: "attribute_mapping.last_name", says: `LDAP attribute name`},
		{name: "remove_user_action unknown", target: connectionType, cfg: conn(map[string]any{"remove_user_action": "purge"}), path: "remove_user_action", says: `\["disable" "delete"\]`},
		{name: "on_destroy unknown", target: connectionType, cfg: conn(map[string]any{"on_destroy": "delete"}), path: "on_destroy", says: `\["retain" "deprovision"\]`},
		{name: "max_deprovisions below -1", target: connectionType, cfg: conn(map[string]any{"max_deprovisions": -2}), path: "max_deprovisions", says: `at least -1`},
		{name: "connection name empty", target: connectionType, cfg: conn(map[string]any{"name": ""}), path: "name", says: `length must be between 1 and 128`},
		{name: "connection name too long", target: connectionType, cfg: conn(map[string]any{"name": strings.Repeat("c", 129)}), path: "name", says: `length must be between 1 and 128`},

		// pingid_mapped_user usernames.
		{name: "username empty", target: mappedUserType, cfg: map[string]any{"username": ""}, path: "username", says: `the username is empty`},
		{name: "username over 250 characters", target: mappedUserType, cfg: map[string]any{"username": long251}, path: "username", says: `251 characters long; PingID allows at most 250`},
		{name: "username leading whitespace", target: mappedUserType, cfg: map[string]any{"username": " jsmith"}, path: "username", says: `leading or trailing whitespace`},
		{name: "username trailing newline", target: mappedUserType, cfg: map[string]any{"username": "jsmith\n"}, path: "username", says: `leading or trailing whitespace`},
		{name: "username control character", target: mappedUserType, cfg: map[string]any{"username": "js\u0007mith"}, path: "username", says: `control character`},
		{name: "mapped user remove_user_action unknown", target: mappedUserType, cfg: map[string]any{"username": "jsmith", "remove_user_action": "archive"}, path: "remove_user_action", says: `\["disable" "delete"\]`},

		// pingid_datastore_group.
		{name: "data base_dn garbage", target: groupDataType, cfg: map[string]any{"base_dn": "people", "filter": "(uid=*)"}, path: "base_dn", says: `not a valid LDAP DN`},
		{name: "data group_dn garbage", target: groupDataType, cfg: map[string]any{"base_dn": peopleDN, "group_dn": "=x"}, path: "group_dn", says: `not a valid LDAP DN`},
		{name: "data filter unbalanced", target: groupDataType, cfg: map[string]any{"base_dn": peopleDN, "filter": "(|(uid=a)(uid=b)"}, path: "filter", says: `not a valid LDAP filter`},
		{name: "data username_attribute injecting", target: groupDataType, cfg: map[string]any{"base_dn": peopleDN, "filter": "(uid=*)", "username_attribute": "uid=*)(cn"}, path: "username_attribute", says: `LDAP attribute name`},
		{name: "data disabled_filter garbage", target: groupDataType, cfg: map[string]any{"base_dn": peopleDN, "filter": "(uid=*)", "disabled_filter": "((("}, path: "disabled_filter", says: `not a valid LDAP filter`},
	}

	clearProviderEnv(t)
	scanner := newSecretScanner(t, badInputSecrets...)
	stages := map[string]int{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			s := newSession(t, scanner)
			var diags []*tfprotov6.Diagnostic
			switch tc.target {
			case "provider":
				cfg := maps.Clone(tc.cfg)
				if cfg["properties_file"] == "PROPERTIES_FILE" {
					path := filepath.Join(t.TempDir(), "pingid.properties")
					if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
						t.Fatal(err)
					}
					cfg["properties_file"] = path
				}
				diags = s.validateProvider(cfg)
				stage := "validate"
				if len(errorDiags(diags)) == 0 {
					diags = s.configure(cfg)
					stage = "configure"
				}
				stages[stage]++
			case groupDataType:
				diags = s.validateData(tc.target, tc.cfg)
				stages["validate"]++
			default:
				diags = s.validateResource(tc.target, tc.cfg)
				stages["validate"]++
			}
			expectError(t, diags, tc.path, tc.says)
		})
	}
	t.Logf("%d bad inputs: %d caught by validation, %d by provider configuration; %d diagnostics scanned for secrets",
		len(cases), stages["validate"], stages["configure"], scanner.scannedDiagnostics())
}

// TestValidInputAccepted: the validators must not reject what PingID and LDAP allow
// (unicode, blanks inside, LDAP metacharacters in PingID usernames, 250 characters, loopback
// http, escaped keys, OIDs as attribute names).
func TestValidInputAccepted(t *testing.T) {
	clearProviderEnv(t)
	cases := []struct {
		name   string
		target string
		cfg    map[string]any
	}{
		{"unicode username", mappedUserType, map[string]any{"username": "jürgen.müller"}},
		{"CJK username", mappedUserType, map[string]any{"username": "李雷"}},
		{"username with an inner blank", mappedUserType, map[string]any{"username": "ann marie"}},
		{"username with LDAP metacharacters", mappedUserType, map[string]any{"username": "*)(uid=*"}},
		{"username of 250 characters", mappedUserType, map[string]any{"username": strings.Repeat("ü", 250)}},
		{"http idp_url on 127.0.0.1", "provider", discrete(map[string]any{"idp_url": "http://127.0.0.1:8080/pingid"})},
		{"http idp_url on localhost", "provider", discrete(map[string]any{"idp_url": "http://localhost:8080/pingid"})},
		{"http idp_url on ::1", "provider", discrete(map[string]any{"idp_url": "http://[::1]:8080/pingid"})},
		{"properties with escaped key", "provider", map[string]any{"properties": props(nil)}},
		{"properties with CRLF and key: value", "provider", map[string]any{"properties": strings.ReplaceAll(strings.ReplaceAll(props(nil), "=", ": "), "\n", "\r\n")}},
		{"plain ldap with opt-in", "provider", withDatastore(map[string]any{"url": "ldap://ldap.example.com", "allow_insecure_bind": true})},
		{"plain ldap with StartTLS", "provider", withDatastore(map[string]any{"url": "ldap://ldap.example.com", "start_tls": true})},
		{"anonymous plain ldap", "provider", withDatastore(map[string]any{"url": "ldap://ldap.example.com", "bind_dn": nil, "bind_password": nil})},
		{"OID as attribute name", connectionType, conn(map[string]any{"attribute_mapping": map[string]any{"email": "0.9.2342.19200300.100.1.3"}})},
		{"filter only", connectionType, conn(map[string]any{"source_location": map[string]any{"group_dn": nil, "filter": "(&(objectClass=inetOrgPerson)(departmentNumber=42))"}})},
		{"max_deprovisions unlimited", connectionType, conn(map[string]any{"max_deprovisions": -1})},
	}
	scanner := newSecretScanner(t, badInputSecrets...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, scanner)
			var diags []*tfprotov6.Diagnostic
			switch tc.target {
			case "provider":
				diags = append(s.validateProvider(tc.cfg), s.configure(tc.cfg)...)
			default:
				diags = s.validateResource(tc.target, tc.cfg)
			}
			if errs := errorDiags(diags); len(errs) > 0 {
				t.Errorf("valid input rejected: %s", describe(errs))
			}
		})
	}
}

// expectError requires an error diagnostic at path whose summary or detail matches says.
func expectError(t *testing.T, diags []*tfprotov6.Diagnostic, path, says string) {
	t.Helper()
	re := regexp.MustCompile(says)
	for _, d := range errorDiags(diags) {
		if attrPath(d.Attribute) == path && re.MatchString(d.Summary+": "+d.Detail) {
			return
		}
	}
	t.Errorf("want an error at %q saying %q; got:\n%s", path, says, describe(diags))
}

// TestLDAPURLUserinfoIsNotEchoed: a password pasted into the datastore URL must be refused
// without being repeated in the error (idp_url errors never echo the URL for this reason).
func TestLDAPURLUserinfoIsNotEchoed(t *testing.T) {
	clearProviderEnv(t)
	const password = "S3cretInUserinfo"
	scanner := newSecretScanner(t, password)
	for _, url := range []string{"ldaps://svc:" + password + "@ldap.example.com", "http://svc:" + password + "@ldap.example.com"} {
		s := newSession(t, scanner)
		cfg := withDatastore(map[string]any{"url": url})
		diags := s.validateProvider(cfg)
		if len(errorDiags(diags)) == 0 {
			diags = s.configure(cfg)
		}
		expectError(t, diags, "datastore.url", `.`)
	}
}

package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
)

// Test credentials: the key is the one of the signed example in the PingID API documentation (32
// bytes decoded), the same as internal/pingid's tests use.
const (
	testOrgAlias = "aaaaaaaa-a1b2-123a-b456-1234abcd5678"
	testToken    = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d"
	testKey      = "JWC41crr322aUfdckVfJKHvGKNIPyAPGL7rMsTbzHlA="
	testIDPURL   = "https://idpxnyl3m.pingidentity.com/pingid"
)

// exportedProperties is shaped exactly like a file downloaded from the PingOne admin portal.
const exportedProperties = `#Auto-Generated from PingOne, downloaded by id=[12345] email=[joe@pingdevelopers.com]
#Wed Nov 25 10:00:00 UTC 2026
use_base64_key=JWC41crr322aUfdckVfJKHvGKNIPyAPGL7rMsTbzHlA\=
use_signature=true
token=1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d
idp_url=https\://idpxnyl3m.pingidentity.com/pingid
org_alias=aaaaaaaa-a1b2-123a-b456-1234abcd5678
admin_url=https\://idpxnyl3m.pingidentity.com/pingid
authenticator_url=https\://authenticator.pingone.com/pingid/ppm
`

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func files(content map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		c, ok := content[name]
		if !ok {
			return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
		}
		return []byte(c), nil
	}
}

func nullModel() providerModel {
	return providerModel{
		PropertiesFile: types.StringNull(), Properties: types.StringNull(), OrgAlias: types.StringNull(),
		Token: types.StringNull(), UseBase64Key: types.StringNull(), IDPURL: types.StringNull(),
		MaxConcurrency: types.Int64Null(), MaxRetries: types.Int64Null(), RequestTimeout: types.StringNull(),
	}
}

func nullDatastore() *datastoreModel {
	return &datastoreModel{
		URL: types.StringNull(), BindDN: types.StringNull(), BindPassword: types.StringNull(), DirectoryType: types.StringNull(),
		StartTLS: types.BoolNull(), CACertificate: types.StringNull(), InsecureSkipVerify: types.BoolNull(),
		AllowInsecureBind: types.BoolNull(), PageSize: types.Int64Null(), Timeout: types.StringNull(),
	}
}

func TestResolveConfigCredentialSources(t *testing.T) {
	propertiesFile := func() providerModel {
		m := nullModel()
		m.PropertiesFile = types.StringValue("/etc/pingid.properties")
		return m
	}
	discrete := func(m providerModel) providerModel {
		m.OrgAlias, m.Token = types.StringValue(testOrgAlias), types.StringValue(testToken)
		m.UseBase64Key, m.IDPURL = types.StringValue(testKey), types.StringValue(testIDPURL)
		return m
	}
	tests := []struct {
		name       string
		model      providerModel
		env        map[string]string
		files      map[string]string
		wantSource string
	}{
		{name: "properties file attribute", model: func() providerModel {
			m := nullModel()
			m.PropertiesFile = types.StringValue("/etc/pingid.properties")
			return m
		}(), files: map[string]string{"/etc/pingid.properties": exportedProperties}, wantSource: "properties_file /etc/pingid.properties"},
		{name: "properties file from environment", model: nullModel(), env: map[string]string{envPropertiesFile: "p.properties"},
			files: map[string]string{"p.properties": exportedProperties}, wantSource: "properties_file p.properties"},
		{name: "inline properties", model: func() providerModel {
			m := nullModel()
			m.Properties = types.StringValue(exportedProperties)
			return m
		}(), wantSource: "properties (attribute)"},
		{name: "inline properties from environment", model: nullModel(), env: map[string]string{envProperties: exportedProperties},
			wantSource: "properties (environment)"},
		{name: "discrete attributes", model: discrete(nullModel()), wantSource: "attributes"},
		{name: "discrete from environment", model: nullModel(), env: map[string]string{
			envOrgAlias: testOrgAlias, envToken: testToken, envUseBase64Key: testKey, envIDPURL: testIDPURL,
		}, wantSource: "attributes"},
		{name: "discrete mixed attribute and environment", model: func() providerModel {
			m := nullModel()
			m.OrgAlias = types.StringValue(testOrgAlias)
			return m
		}(), env: map[string]string{envToken: testToken, envUseBase64Key: testKey, envIDPURL: testIDPURL}, wantSource: "attributes"},
		{name: "discrete wins over properties", model: func() providerModel {
			m := discrete(nullModel())
			m.Properties = types.StringValue("garbage that is never parsed")
			return m
		}(), wantSource: "attributes"},
		{name: "properties win over file", model: func() providerModel {
			m := nullModel()
			m.Properties = types.StringValue(exportedProperties)
			m.PropertiesFile = types.StringValue("/missing")
			return m
		}(), wantSource: "properties (attribute)"},
		// The configuration wins over the environment: a credential source set in HCL is used
		// whatever PINGID_* variables the shell has (issue 16).
		{name: "properties_file attribute beats a stray PINGID_TOKEN", model: propertiesFile(), env: map[string]string{envToken: "stray-token"},
			files: map[string]string{"/etc/pingid.properties": exportedProperties}, wantSource: "properties_file /etc/pingid.properties"},
		{name: "properties_file attribute beats all four discrete variables", model: propertiesFile(), env: map[string]string{
			envOrgAlias: "other-org", envToken: "stray-token", envUseBase64Key: "c3RyYXk=", envIDPURL: "https://other.example/pingid",
		}, files: map[string]string{"/etc/pingid.properties": exportedProperties}, wantSource: "properties_file /etc/pingid.properties"},
		{name: "properties_file attribute beats PINGID_PROPERTIES", model: propertiesFile(), env: map[string]string{envProperties: "garbage that is never parsed"},
			files: map[string]string{"/etc/pingid.properties": exportedProperties}, wantSource: "properties_file /etc/pingid.properties"},
		{name: "properties attribute beats discrete variables", model: func() providerModel {
			m := nullModel()
			m.Properties = types.StringValue(exportedProperties)
			return m
		}(), env: map[string]string{envToken: "stray-token", envPropertiesFile: "/missing"}, wantSource: "properties (attribute)"},
		{name: "environment: discrete beat PINGID_PROPERTIES_FILE", model: nullModel(), env: map[string]string{
			envOrgAlias: testOrgAlias, envToken: testToken, envUseBase64Key: testKey, envIDPURL: testIDPURL, envPropertiesFile: "/missing",
		}, wantSource: "attributes"},
		{name: "environment: PINGID_PROPERTIES beats PINGID_PROPERTIES_FILE", model: nullModel(), env: map[string]string{
			envProperties: exportedProperties, envPropertiesFile: "/missing",
		}, wantSource: "properties (environment)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, diags := resolveConfig(tc.model, env(tc.env), files(tc.files))
			if diags.HasError() {
				t.Fatalf("unexpected errors: %v", diags)
			}
			if got.credentialSource != tc.wantSource {
				t.Errorf("source = %q, want %q", got.credentialSource, tc.wantSource)
			}
			c := got.pingid.Credentials
			if c.OrgAlias != testOrgAlias || c.Token != testToken || c.Base64Key != testKey || c.IDPURL != testIDPURL {
				t.Errorf("credentials = %+v", c)
			}
			if got.pingid.MaxConcurrency != pingid.DefaultMaxConcurrency || got.pingid.MaxRetries != pingid.DefaultMaxRetries ||
				got.pingid.RequestTimeout != pingid.DefaultRequestTimeout {
				t.Errorf("defaults not applied: %+v", got.pingid)
			}
			if got.datastore != nil {
				t.Errorf("datastore configured without settings: %+v", got.datastore)
			}
		})
	}
}

// errorAt returns the first error diagnostic and its attribute path.
func errorAt(t *testing.T, diags diag.Diagnostics) (diag.Diagnostic, path.Path) {
	t.Helper()
	for _, d := range diags {
		if d.Severity() != diag.SeverityError {
			continue
		}
		p := path.Empty()
		if wp, ok := d.(diag.DiagnosticWithPath); ok {
			p = wp.Path()
		}
		return d, p
	}
	t.Fatalf("expected an error, got %v", diags)
	return nil, path.Empty()
}

func TestResolveConfigErrors(t *testing.T) {
	with := func(f func(*providerModel)) providerModel {
		m := nullModel()
		f(&m)
		return m
	}
	tests := []struct {
		name     string
		model    providerModel
		env      map[string]string
		files    map[string]string
		wantPath path.Path
		wantText []string
	}{
		{name: "no credentials at all", model: nullModel(), wantPath: path.Empty(),
			wantText: []string{"No PingID credentials", envPropertiesFile, envProperties, envUseBase64Key}},
		{name: "partial discrete", model: with(func(m *providerModel) {
			m.OrgAlias, m.Token = types.StringValue(testOrgAlias), types.StringValue(testToken)
		}), wantPath: path.Root("use_base64_key"), wantText: []string{"Missing", "use_base64_key", "idp_url", envIDPURL, "org_alias (from attribute)"}},
		{name: "environment alone: a stray PINGID_TOKEN beside PINGID_PROPERTIES_FILE", model: nullModel(),
			env:      map[string]string{envToken: "stray-token", envPropertiesFile: "p.properties"},
			files:    map[string]string{"p.properties": exportedProperties},
			wantPath: path.Root("org_alias"), wantText: []string{"Incomplete PingID credentials", "token (from environment)", envOrgAlias}},
		{name: "key not base64", model: with(func(m *providerModel) {
			m.OrgAlias, m.Token, m.IDPURL = types.StringValue(testOrgAlias), types.StringValue(testToken), types.StringValue(testIDPURL)
			m.UseBase64Key = types.StringValue("not base64 !!")
		}), wantPath: path.Root("use_base64_key")},
		{name: "key too short for HS256", model: with(func(m *providerModel) {
			m.OrgAlias, m.Token, m.IDPURL = types.StringValue(testOrgAlias), types.StringValue(testToken), types.StringValue(testIDPURL)
			m.UseBase64Key = types.StringValue("c2hvcnQ=")
		}), wantPath: path.Root("use_base64_key")},
		{name: "relative idp_url", model: with(func(m *providerModel) {
			m.OrgAlias, m.Token, m.UseBase64Key = types.StringValue(testOrgAlias), types.StringValue(testToken), types.StringValue(testKey)
			m.IDPURL = types.StringValue("/pingid")
		}), wantPath: path.Root("idp_url")},
		{name: "plain http to a remote host", model: with(func(m *providerModel) {
			m.OrgAlias, m.Token, m.UseBase64Key = types.StringValue(testOrgAlias), types.StringValue(testToken), types.StringValue(testKey)
			m.IDPURL = types.StringValue("http://idpxnyl3m.pingidentity.com/pingid")
		}), wantPath: path.Root("idp_url")},
		{name: "properties file missing", model: with(func(m *providerModel) {
			m.PropertiesFile = types.StringValue("/nope/pingid.properties")
		}), wantPath: path.Root("properties_file"), wantText: []string{"/nope/pingid.properties"}},
		{name: "properties file empty", model: with(func(m *providerModel) {
			m.PropertiesFile = types.StringValue("empty.properties")
		}), files: map[string]string{"empty.properties": ""}, wantPath: path.Root("properties_file")},
		{name: "properties lack the key", model: with(func(m *providerModel) {
			m.Properties = types.StringValue(strings.Replace(exportedProperties, "use_base64_key", "#use_base64_key", 1))
		}), wantPath: path.Root("properties"), wantText: []string{"use_base64_key"}},
		{name: "bad concurrency from environment", model: with(func(m *providerModel) {
			m.Properties = types.StringValue(exportedProperties)
		}), env: map[string]string{envMaxConcurrency: "zero"}, wantPath: path.Root("max_concurrency"), wantText: []string{envMaxConcurrency}},
		{name: "bad request timeout", model: with(func(m *providerModel) {
			m.Properties = types.StringValue(exportedProperties)
			m.RequestTimeout = types.StringValue("soon")
		}), wantPath: path.Root("request_timeout")},
		{name: "unknown credential", model: with(func(m *providerModel) {
			m.Properties = types.StringUnknown()
		}), wantPath: path.Root("properties")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := resolveConfig(tc.model, env(tc.env), files(tc.files))
			d, p := errorAt(t, diags)
			if !p.Equal(tc.wantPath) {
				t.Errorf("error path = %q, want %q (%s: %s)", p, tc.wantPath, d.Summary(), d.Detail())
			}
			for _, s := range tc.wantText {
				if !strings.Contains(d.Summary()+" "+d.Detail(), s) {
					t.Errorf("error %q / %q does not mention %q", d.Summary(), d.Detail(), s)
				}
			}
			for _, secret := range []string{testToken, testKey, strings.TrimSuffix(testKey, "=")} {
				if strings.Contains(d.Detail(), secret) {
					t.Errorf("error leaks a secret: %s", d.Detail())
				}
			}
		})
	}
}

func TestResolveConfigMaxRetriesZeroDisablesRetries(t *testing.T) {
	m := nullModel()
	m.Properties = types.StringValue(exportedProperties)
	m.MaxRetries = types.Int64Value(0)
	got, diags := resolveConfig(m, env(nil), files(nil))
	if diags.HasError() {
		t.Fatal(diags)
	}
	if got.pingid.MaxRetries != pingid.NoRetries {
		t.Errorf("max_retries = 0 resolved to %d, want pingid.NoRetries", got.pingid.MaxRetries)
	}
}

func TestResolveConfigDatastore(t *testing.T) {
	m := nullModel()
	m.Properties = types.StringValue(exportedProperties)

	t.Run("from environment alone", func(t *testing.T) {
		got, diags := resolveConfig(m, env(map[string]string{
			envLDAPURL: "ldaps://dc1.corp.example.com:636", envLDAPBindDN: "CN=svc,DC=corp", envLDAPBindPassword: "pw",
			envLDAPDirectoryType: "active_directory", envLDAPCACertificate: testCAPEM(t),
			envLDAPInsecureSkipVerify: "false", envLDAPAllowInsecureBind: "true", envLDAPPageSize: "500", envLDAPTimeout: "5s",
		}), files(nil))
		if diags.HasError() {
			t.Fatalf("unexpected errors: %v", diags)
		}
		ds := got.datastore
		if ds == nil || ds.URL != "ldaps://dc1.corp.example.com:636" || ds.BindDN != "CN=svc,DC=corp" || ds.BindPassword != "pw" ||
			ds.DirectoryType != "active_directory" || !ds.AllowInsecureBind || ds.PageSize != 500 || ds.Timeout != 5*time.Second ||
			!strings.HasPrefix(ds.CACertificate, "-----BEGIN CERTIFICATE-----") {
			t.Errorf("datastore = %+v", ds)
		}
	})
	t.Run("attributes win over environment, defaults fill the rest", func(t *testing.T) {
		mm := m
		mm.Datastore = nullDatastore()
		mm.Datastore.URL = types.StringValue("ldap://127.0.0.1:3389")
		got, diags := resolveConfig(mm, env(map[string]string{envLDAPURL: "ldap://other:389"}), files(nil))
		if diags.HasError() {
			t.Fatalf("unexpected errors: %v", diags)
		}
		ds := got.datastore
		if ds.URL != "ldap://127.0.0.1:3389" || ds.DirectoryType != "generic" || ds.PageSize != datastore.DefaultPageSize || ds.Timeout != datastore.DefaultTimeout {
			t.Errorf("datastore = %+v", ds)
		}
	})
	t.Run("unset bind_password names its environment variable", func(t *testing.T) {
		mm := m
		mm.Datastore = nullDatastore()
		mm.Datastore.URL = types.StringValue("ldaps://dc1.corp.example.com:636")
		mm.Datastore.BindDN = types.StringValue("CN=svc,DC=corp")
		_, diags := resolveConfig(mm, env(nil), files(nil))
		d, p := errorAt(t, diags)
		if !p.Equal(path.Root("datastore").AtName("bind_password")) {
			t.Errorf("error path = %q, want datastore.bind_password", p)
		}
		for _, want := range []string{"bind_password is empty", envLDAPBindPassword, "remove bind_dn"} {
			if !strings.Contains(d.Detail(), want) {
				t.Errorf("error %q does not mention %q", d.Detail(), want)
			}
		}
	})
	bad := []struct {
		name     string
		set      func(*datastoreModel)
		env      map[string]string
		wantPath path.Path
	}{
		{"block without url", func(*datastoreModel) {}, nil, path.Root("datastore").AtName("url")},
		{"url scheme", func(d *datastoreModel) { d.URL = types.StringValue("http://dc1:389") }, nil, path.Root("datastore").AtName("url")},
		{"start_tls with ldaps", func(d *datastoreModel) {
			d.URL, d.StartTLS = types.StringValue("ldaps://dc1:636"), types.BoolValue(true)
		}, nil, path.Root("datastore").AtName("start_tls")},
		{"unknown directory type from env", func(d *datastoreModel) { d.URL = types.StringValue("ldap://dc1:389") },
			map[string]string{envLDAPDirectoryType: "novell"}, path.Root("datastore").AtName("directory_type")},
		{"page size from env", func(d *datastoreModel) { d.URL = types.StringValue("ldap://dc1:389") },
			map[string]string{envLDAPPageSize: "-5"}, path.Root("datastore").AtName("page_size")},
		{"timeout", func(d *datastoreModel) {
			d.URL, d.Timeout = types.StringValue("ldap://dc1:389"), types.StringValue("-1s")
		}, nil, path.Root("datastore").AtName("timeout")},
		{"bool from env", func(d *datastoreModel) { d.URL = types.StringValue("ldap://dc1:389") },
			map[string]string{envLDAPStartTLS: "maybe"}, path.Root("datastore").AtName("start_tls")},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			mm := m
			mm.Datastore = nullDatastore()
			tc.set(mm.Datastore)
			_, diags := resolveConfig(mm, env(tc.env), files(nil))
			d, p := errorAt(t, diags)
			if !p.Equal(tc.wantPath) {
				t.Errorf("error path = %q, want %q (%s: %s)", p, tc.wantPath, d.Summary(), d.Detail())
			}
		})
	}
}

func TestCheckUsername(t *testing.T) {
	ok := []string{"jsmith", "J.Smith@corp.example.com", "zoë", strings.Repeat("a", 250), "o'brien", "a*b"}
	for _, u := range ok {
		if err := pingid.CheckUsername(u); err != nil {
			t.Errorf("pingid.CheckUsername(%q) = %v, want nil", u, err)
		}
	}
	bad := []string{"", " jsmith", "jsmith ", strings.Repeat("a", 251), "tab\there", "nul\x00"}
	for _, u := range bad {
		if err := pingid.CheckUsername(u); err == nil {
			t.Errorf("pingid.CheckUsername(%q) = nil, want an error", u)
		}
	}
	if err := pingid.CheckUsername(strings.Repeat("é", 250)); err != nil {
		t.Errorf("250 non-ASCII characters should be allowed: %v", err)
	}
}

// testCAPEM returns a freshly generated self-signed CA certificate in PEM form.
func testCAPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

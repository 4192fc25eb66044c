package datastore

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	const caPEM = `-----BEGIN CERTIFICATE-----
MIIBejCCASGgAwIBAgIUHaBym1iwsSdnousJYOZRIONzg7MwCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHdGVzdCBDQTAgFw0yNjExMjYwMDIzMTNaGA8yMTI2MTEwMjAw
MjMxM1owEjEQMA4GA1UEAwwHdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABLeFk6wxvpeG+xCbaBeogJ+O7yqsuueEdyYAn+bFPoRuHNo0G4heG7MuJMCM
hJ8+B1DnVcsDCpvosSHRWxJja3KjUzBRMB0GA1UdDgQWBBTK0H1bofhtDmUfEXXu
97eKExblAjAfBgNVHSMEGDAWgBTK0H1bofhtDmUfEXXu97eKExblAjAPBgNVHRMB
Af8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIC0Vharil21IXiDGoj3XQtIoQaFB
BzsESa18GA9HxJRgAiBRJz3EiUHzgXMGiqNe7wQWonH4KMAEXL0TcoKus5N2fw==
-----END CERTIFICATE-----
`
	const password = "s3cr3t-Pa55"
	ok := Config{URL: "ldaps://dc1.example.com:636", BindDN: "cn=svc", BindPassword: password}
	tests := []struct {
		name      string
		mutate    func(*Config)
		wantField string // "" = valid
	}{
		{"ldaps with bind", func(*Config) {}, ""},
		{"ldap anonymous", func(c *Config) { c.URL, c.BindDN, c.BindPassword = "ldap://h", "", "" }, ""},
		{"ldap start_tls with password", func(c *Config) { c.URL, c.StartTLS = "ldap://h:389", true }, ""},
		{"ldap password with allow_insecure_bind", func(c *Config) { c.URL, c.AllowInsecureBind = "ldap://h", true }, ""},
		{"upper-case scheme", func(c *Config) { c.URL = "LDAPS://h" }, ""},
		{"trailing slash", func(c *Config) { c.URL = "ldaps://h:636/" }, ""},
		{"all directory types", func(c *Config) { c.DirectoryType = DirectoryActiveDirectory }, ""},
		{"openldap", func(c *Config) { c.DirectoryType = DirectoryOpenLDAP }, ""},
		{"generic", func(c *Config) { c.DirectoryType = DirectoryGeneric }, ""},
		{"ca certificate", func(c *Config) { c.CACertificate = caPEM }, ""},
		{"page size and timeout", func(c *Config) { c.PageSize, c.Timeout = 500, time.Second }, ""},

		{"empty url", func(c *Config) { c.URL = "" }, "url"},
		{"http url", func(c *Config) { c.URL = "http://h" }, "url"},
		{"no host", func(c *Config) { c.URL = "ldap:///dc=x" }, "url"},
		{"bad port", func(c *Config) { c.URL = "ldaps://h:99999" }, "url"},
		{"url with base dn", func(c *Config) { c.URL = "ldaps://h/dc=example,dc=com" }, "url"},
		{"url with query", func(c *Config) { c.URL = "ldaps://h/??sub" }, "url"},
		{"url with credentials", func(c *Config) { c.URL = "ldaps://user:pw@h" }, "url"},
		{"start_tls on ldaps", func(c *Config) { c.StartTLS = true }, "start_tls"},
		{"unknown directory type", func(c *Config) { c.DirectoryType = "389ds" }, "directory_type"},
		{"negative page size", func(c *Config) { c.PageSize = -1 }, "page_size"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout"},
		{"garbage ca", func(c *Config) { c.CACertificate = "not a pem" }, "ca_certificate"},
		{"corrupt ca", func(c *Config) {
			c.CACertificate = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		}, "ca_certificate"},
		{"password without dn", func(c *Config) { c.BindDN = "" }, "bind_dn"},
		{"dn without password", func(c *Config) { c.BindPassword = "" }, "bind_password"},
		{"password over plain ldap", func(c *Config) { c.URL = "ldap://h" }, "allow_insecure_bind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate() = %v, want *ConfigError for %s", err, tt.wantField)
			}
			if ce.Field != tt.wantField {
				t.Fatalf("Field = %q (%v), want %q", ce.Field, err, tt.wantField)
			}
			if strings.Contains(err.Error(), password) {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

func TestDefaultUsernameAttribute(t *testing.T) {
	for typ, want := range map[string]string{
		DirectoryActiveDirectory: "sAMAccountName",
		DirectoryOpenLDAP:        "uid",
		DirectoryGeneric:         "uid",
		"":                       "uid",
	} {
		if got := DefaultUsernameAttribute(typ); got != want {
			t.Errorf("DefaultUsernameAttribute(%q) = %q, want %q", typ, got, want)
		}
	}
}

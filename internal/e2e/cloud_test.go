package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigurationFromEnvironmentOnly is the Terraform Cloud setup: no files next to the
// configuration and an empty provider block; every credential and datastore setting is a
// workspace environment variable.
func TestConfigurationFromEnvironmentOnly(t *testing.T) {
	requireTerraform(t)
	variants := []struct {
		name string
		tls  bool
		env  func(w *world) []string
	}{
		{
			name: "PINGID_PROPERTIES content, plain ldap",
			env: func(w *world) []string {
				return []string{
					"PINGID_PROPERTIES=" + w.properties,
					"PINGID_LDAP_URL=" + w.ldap.URL,
					"PINGID_LDAP_ALLOW_INSECURE_BIND=true",
				}
			},
		},
		{
			name: "discrete PINGID_ORG_ALIAS/TOKEN/USE_BASE64_KEY/IDP_URL, StartTLS",
			tls:  true,
			env: func(w *world) []string {
				return []string{
					"PINGID_ORG_ALIAS=" + w.creds.OrgAlias,
					"PINGID_TOKEN=" + w.creds.Token,
					"PINGID_USE_BASE64_KEY=" + w.creds.Base64Key,
					"PINGID_IDP_URL=" + w.idpURL,
					"PINGID_LDAP_URL=" + w.ldap.URL,
					"PINGID_LDAP_START_TLS=true",
					"PINGID_LDAP_CA_CERTIFICATE=" + string(w.ldap.CACertPEM),
					"PINGID_LDAP_INSECURE_SKIP_VERIFY=false",
				}
			},
		},
		{
			name: "PINGID_PROPERTIES_FILE, ldaps",
			tls:  true,
			env: func(w *world) []string {
				// Outside the working directory: a file the agent provides, not the configuration.
				path := filepath.Join(t.TempDir(), "pingid.properties")
				w.writeFile(t, path, w.properties)
				return []string{
					"PINGID_PROPERTIES_FILE=" + path,
					"PINGID_LDAP_URL=" + w.ldap.LDAPSURL,
					"PINGID_LDAP_CA_CERTIFICATE=" + string(w.ldap.CACertPEM),
				}
			},
		},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{tls: v.tls})
			config := `provider "pingid" {}` + "\n" + connectionHCL + contractorsHCL
			w.writeConfig(t, config)
			env := append(v.env(w),
				"PINGID_LDAP_BIND_DN="+w.ldap.ReaderDN,
				"PINGID_LDAP_BIND_PASSWORD="+w.ldap.ReaderPassword,
				"PINGID_LDAP_DIRECTORY_TYPE=openldap",
				"PINGID_LDAP_PAGE_SIZE=2", // smaller than the group: the search must page
				"PINGID_LDAP_TIMEOUT=20s",
				"PINGID_MAX_CONCURRENCY=2",
				"PINGID_MAX_RETRIES=2",
				"PINGID_REQUEST_TIMEOUT=20s",
			)

			plan := w.mustTerraform(t, env, "plan", "-no-color", "-out=tfplan")
			for _, want := range []string{`"alice" = jsonencode(`, `"carol" = jsonencode(`, `pingid_mapped_user.contractor["frank"] will be created`} {
				if !strings.Contains(plan.stdout, want) {
					t.Fatalf("plan does not show %s:\n%s", want, plan)
				}
			}
			w.mustTerraform(t, env, "apply", "-no-color", "tfplan")
			for name, email := range map[string]string{
				"alice": "alice@example.com", "bob": "bob@example.com", "carol": "carol@example.com", "frank": "frank@partners.example.net",
			} {
				if u := w.user(t, name); u.Email != email || u.Status != "NOT_ACTIVE" {
					t.Errorf("%s after apply: %+v, want email %s and status NOT_ACTIVE", name, u, email)
				}
			}
			if n := len(w.pingID.Users()); n != 4 {
				t.Errorf("want exactly 4 PingID users, got %s", w.usernames())
			}
			// The same environment configures a later run: nothing left to do.
			if res := w.terraform(t, env, "plan", "-no-color", "-detailed-exitcode"); res.exitCode != 0 {
				t.Errorf("second plan is not empty:\n%s", res)
			}
		})
	}
}

// TestConfigurationFromEnvironmentOnly_missing shows that the environment is really what
// configures the provider: the same configuration without the variables fails with the
// sources it tried.
func TestConfigurationFromEnvironmentOnly_missing(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.writeConfig(t, `provider "pingid" {}`+"\n"+connectionHCL)
	res := w.terraform(t, []string{"PINGID_LDAP_URL=" + w.ldap.URL}, "plan", "-no-color")
	if res.exitCode == 0 {
		t.Fatalf("plan without credentials succeeded:\n%s", res)
	}
	for _, want := range []string{"Missing PingID credentials", "PINGID_PROPERTIES", "PINGID_PROPERTIES_FILE", "PINGID_TOKEN"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("error does not mention %s:\n%s", want, res)
		}
	}
}

package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// givenSecrets are the secret values a configuration hands the provider.
type givenSecrets struct {
	token, base64Key, bindPassword string
}

// searchable returns the strings that must never be written anywhere: the token, the signing
// key as written in pingid.properties (with `\=`), as base64 with and without its padding, and
// the directory bind password.
func (g givenSecrets) searchable() map[string]string {
	return map[string]string{
		"token":                      g.token,
		"use_base64_key":             g.base64Key,
		"use_base64_key unpadded":    strings.TrimRight(g.base64Key, "="),
		"use_base64_key escaped \\=": strings.ReplaceAll(g.base64Key, "=", `\=`),
		"bind_password":              g.bindPassword,
	}
}

// TestSecretsNeverLogged runs plan and apply with TF_LOG=TRACE, which also captures the
// provider's own logs, with the PingID credentials given each way the provider block accepts
// and the bind password in the datastore block. No secret may appear in the TRACE logs, on
// stdout or stderr, or in the state file.
func TestSecretsNeverLogged(t *testing.T) {
	requireTerraform(t)
	modes := []struct {
		name        string
		credentials func(t *testing.T, w *world) string // the provider block's credential lines
	}{
		{"properties_file", func(t *testing.T, w *world) string {
			path := filepath.Join(w.dir, "pingid.properties")
			w.writeFile(t, path, w.properties)
			return fmt.Sprintf("  properties_file = %q\n", path)
		}},
		{"inline properties", func(_ *testing.T, w *world) string {
			// A heredoc keeps the file's `\=` escapes as they are.
			return "  properties = <<-EOT\n" + w.properties + "  EOT\n"
		}},
		{"discrete attributes", func(_ *testing.T, w *world) string {
			return discreteHCL(w.creds.OrgAlias, w.creds.Token, w.creds.Base64Key, w.idpURL)
		}},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{})
			w.writeConfig(t, "provider \"pingid\" {\n"+mode.credentials(t, w)+w.datastoreHCL(w.ldap.ReaderPassword)+"}\n"+connectionHCL+contractorsHCL)
			secrets := givenSecrets{token: w.creds.Token, base64Key: w.creds.Base64Key, bindPassword: w.ldap.ReaderPassword}.searchable()

			for _, step := range []struct {
				name   string
				args   []string
				marker string // a provider log line only this step writes
			}{
				{"plan", []string{"plan", "-no-color"}, "planned user action"},
				{"apply", []string{"apply", "-no-color", "-auto-approve"}, "operation=adduser"},
			} {
				logPath := filepath.Join(t.TempDir(), "trace.log")
				res := w.mustTerraform(t, []string{"TF_LOG=TRACE", "TF_LOG_PATH=" + logPath}, step.args...)
				traceLog := readTraceLog(t, logPath)
				w.requireMeaningfulLog(t, step.name, traceLog, "PingID API call", "read datastore group", step.marker)
				assertNoSecret(t, step.name+" TRACE log", traceLog, secrets)
				assertNoSecret(t, step.name+" stdout", res.stdout, secrets)
				assertNoSecret(t, step.name+" stderr", res.stderr, secrets)
			}

			if u := w.user(t, "alice"); u.Email != "alice@example.com" {
				t.Errorf("apply did not provision alice as configured: %+v", u)
			}
			state, err := os.ReadFile(filepath.Join(w.dir, "terraform.tfstate"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(state), `\"email\":\"alice@example.com\"`) {
				t.Fatalf("the state does not record the provisioned users, so it proves nothing:\n%s", state)
			}
			assertNoSecret(t, "terraform.tfstate", string(state), secrets)
		})
	}
}

// TestSecretsNeverLogged_rejected covers the error paths: credentials that the PingID API or
// the directory rejects must not appear in the error shown to the user or in the TRACE log.
func TestSecretsNeverLogged_rejected(t *testing.T) {
	requireTerraform(t)
	cases := []struct {
		name      string
		wrongKey  bool // PingID token and key the tenant does not know
		wrongBind bool // a bind password the directory rejects
		wantError string
	}{
		{name: "PingID rejects the token and key", wrongKey: true, wantError: "Unable to read users from PingID"},
		{name: "directory rejects the bind password", wrongBind: true, wantError: "Unable to read the datastore"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{})
			given := givenSecrets{token: w.creds.Token, base64Key: w.creds.Base64Key, bindPassword: w.ldap.ReaderPassword}
			if c.wrongKey {
				key := make([]byte, 32)
				if _, err := rand.Read(key); err != nil {
					t.Fatal(err)
				}
				given.token, given.base64Key = randomHex(t, 16), base64.StdEncoding.EncodeToString(key)
			}
			if c.wrongBind {
				given.bindPassword = "wrong-" + randomHex(t, 12)
			}
			w.writeConfig(t, "provider \"pingid\" {\n"+discreteHCL(w.creds.OrgAlias, given.token, given.base64Key, w.idpURL)+
				w.datastoreHCL(given.bindPassword)+"}\n"+connectionHCL+contractorsHCL)

			logPath := filepath.Join(t.TempDir(), "trace.log")
			res := w.terraform(t, []string{"TF_LOG=TRACE", "TF_LOG_PATH=" + logPath}, "plan", "-no-color")
			if res.exitCode == 0 {
				t.Fatalf("plan with rejected credentials succeeded:\n%s", res)
			}
			if !strings.Contains(res.stderr, c.wantError) {
				t.Fatalf("plan failed, but not with %q:\n%s", c.wantError, res)
			}
			traceLog := readTraceLog(t, logPath)
			w.requireMeaningfulLog(t, "plan", traceLog)
			secrets := given.searchable()
			assertNoSecret(t, "TRACE log", traceLog, secrets)
			assertNoSecret(t, "stdout", res.stdout, secrets)
			assertNoSecret(t, "stderr", res.stderr, secrets)
			if n := len(w.pingID.Users()); n != 0 {
				t.Errorf("nothing should be provisioned, PingID has %s", w.usernames())
			}
		})
	}
}

func discreteHCL(orgAlias, token, key, idpURL string) string {
	return fmt.Sprintf("  org_alias      = %q\n  token          = %q\n  use_base64_key = %q\n  idp_url        = %q\n",
		orgAlias, token, key, idpURL)
}

func readTraceLog(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the TRACE log: %v", err)
	}
	return string(data)
}

// requireMeaningfulLog guards against a test that passes because nothing was logged: the log
// must be a real TRACE log that includes the provider's own lines from the moments the secrets
// were in use (configuring, and whatever markers the caller names).
func (w *world) requireMeaningfulLog(t *testing.T, step, log string, markers ...string) {
	t.Helper()
	for _, want := range append([]string{
		"[TRACE]",                    // Terraform core at TRACE
		"configured PingID provider", // the provider's Configure debug line...
		w.idpURL,                     // ...with the non-secret idp_url
	}, markers...) {
		if !strings.Contains(log, want) {
			t.Fatalf("%s: the TRACE log (%d bytes) lacks %q, so it cannot show that secrets stay out of logs", step, len(log), want)
		}
	}
}

func assertNoSecret(t *testing.T, what, text string, secrets map[string]string) {
	t.Helper()
	for name, secret := range secrets {
		if len(secret) < 8 {
			t.Fatalf("secret %s is too short to search for meaningfully", name)
		}
		if i := strings.Index(text, secret); i >= 0 {
			t.Errorf("%s contains the %s at byte %d: …%s…", what, name, i, redactedContext(text, i, len(secret)))
		}
	}
}

// redactedContext shows where a secret leaked without printing the secret itself.
func redactedContext(text string, at, n int) string {
	start, end := max(0, at-80), min(len(text), at+n+80)
	return strings.ReplaceAll(text[start:at]+"<SECRET>"+text[at+n:end], "\n", "⏎")
}

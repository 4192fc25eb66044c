package reliability

import (
	"context"
	"regexp"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

// TestPingIDTLSVerifiedByDefault: an https idp_url whose certificate no trusted CA signed
// (httptest's self-signed one) fails the plan before any request reaches PingID.
func TestPingIDTLSVerifiedByDefault(t *testing.T) {
	w := newWorld(t, worldOptions{dir: directory{users: 5, members: 5}, tlsPingID: true})
	s := newSession(t, newSecretScanner(t, w.secrets...))
	cfg := w.providerConfig()
	cfg["max_retries"] = 0 // the client retries transport errors, certificate errors included
	s.mustConfigure(cfg)
	p := s.planCreate(context.Background(), connection(nil))
	errs := errorDiags(p.diags)
	if len(errs) == 0 || !regexp.MustCompile(`(?s)pingid getuserdetails.*x509: certificate signed by unknown authority`).MatchString(describe(errs)) {
		t.Fatalf("plan against an untrusted https idp_url: want a certificate error, got:\n%s", describe(p.diags))
	}
	if calls := w.emu.Calls(); len(calls) != 0 {
		t.Errorf("requests reached PingID over an unverified connection: %v", calls)
	}
}

// TestPlaintextBindNeverSent: with a password and plain ldap://, the provider refuses to
// configure unless allow_insecure_bind is set, and never even connects to the directory;
// an anonymous plain connection, or the opt-in, works.
func TestPlaintextBindNeverSent(t *testing.T) {
	w := newWorld(t, worldOptions{slapd: slapd.Options{AnonymousRead: true}, dir: directory{users: 5, members: 5}})
	proxy := startProxy(t, w.ldap.URL[len("ldap://"):])
	scanner := newSecretScanner(t, w.secrets...)
	ds := map[string]any{"url": proxy.url(), "bind_dn": w.ldap.ReaderDN, "bind_password": w.ldap.ReaderPassword, "directory_type": "openldap"}
	cfg := map[string]any{"properties_file": w.propertiesFile, "datastore": ds}

	s := newSession(t, scanner)
	expectError(t, s.configure(cfg), "datastore.allow_insecure_bind", `refusing to send the bind password unencrypted over ldap://`)
	if n := proxy.connections(); n != 0 {
		t.Fatalf("the provider opened %d plain connections to the directory with a password configured", n)
	}

	for name, tweak := range map[string]func(map[string]any){
		"opt-in":    func(ds map[string]any) { ds["allow_insecure_bind"] = true },
		"anonymous": func(ds map[string]any) { delete(ds, "bind_dn"); delete(ds, "bind_password") },
	} {
		ds := map[string]any{"url": proxy.url(), "bind_dn": w.ldap.ReaderDN, "bind_password": w.ldap.ReaderPassword, "directory_type": "openldap"}
		tweak(ds)
		s := newSession(t, scanner)
		s.mustConfigure(map[string]any{"properties_file": w.propertiesFile, "datastore": ds})
		if p := s.planCreate(context.Background(), connection(nil)); len(errorDiags(p.diags)) > 0 {
			t.Errorf("%s: %s", name, describe(p.diags))
		}
	}
	if proxy.connections() == 0 {
		t.Error("the allowed configurations never reached the directory")
	}
}

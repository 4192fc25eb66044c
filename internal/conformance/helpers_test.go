package conformance

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
)

// tenant is an emulator served on loopback plus the credentials its properties file would hold.
type tenant struct {
	emu   *emulator.Server
	http  *httptest.Server
	creds pingid.Credentials
}

// newTenant starts an emulator with a fresh random tenant. wrap, when not nil, sits between the
// client and the emulator (a tampering proxy).
func newTenant(t *testing.T, wrap func(http.Handler) http.Handler) *tenant {
	t.Helper()
	opts, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = emu
	if wrap != nil {
		h = wrap(emu)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	eff := emu.Options()
	return &tenant{
		emu:  emu,
		http: srv,
		creds: pingid.Credentials{
			OrgAlias: eff.OrgAlias, Token: eff.Token, Base64Key: eff.Base64Key, IDPURL: srv.URL + "/pingid",
		},
	}
}

// client builds a client with tiny backoffs (tests count attempts, they never measure time);
// tweak adjusts the configuration.
func (tn *tenant) client(t *testing.T, tweak func(*pingid.Config)) *pingid.Client {
	t.Helper()
	cfg := pingid.Config{
		Credentials:    tn.creds,
		MaxConcurrency: 8,
		RequestTimeout: 10 * time.Second,
		MinBackoff:     time.Millisecond,
		MaxBackoff:     5 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := pingid.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seed adds users out of band.
func (tn *tenant) seed(t *testing.T, users ...emulator.User) {
	t.Helper()
	for _, u := range users {
		if err := tn.emu.SeedUser(u); err != nil {
			t.Fatalf("seed %s: %v", u.UserName, err)
		}
	}
}

// user returns the emulator's copy of a user, failing when it is absent.
func (tn *tenant) user(t *testing.T, name string) emulator.User {
	t.Helper()
	u, ok := tn.emu.User(name)
	if !ok {
		t.Fatalf("emulator has no user %q", name)
	}
	return u
}

// secrets are the values that must never appear in an error message.
func (tn *tenant) secrets() []string {
	return []string{tn.creds.Token, tn.creds.Base64Key, strings.TrimRight(tn.creds.Base64Key, "=")}
}

// assertNoSecrets fails when err's text contains a credential secret.
func assertNoSecrets(t *testing.T, err error, secrets []string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error message contains a secret: %v", err)
		}
	}
}

// assertAttempts checks that the client and the emulator both counted want attempts of op.
func assertAttempts(t *testing.T, tn *tenant, c *pingid.Client, op string, want int64) {
	t.Helper()
	if got := tn.emu.Calls()[op]; got != want {
		t.Errorf("emulator saw %d %s requests, want %d", got, op, want)
	}
	if got := c.Calls()[op]; got != want {
		t.Errorf("client sent %d %s attempts, want %d", got, op, want)
	}
}

// apiError returns the *pingid.APIError in err's chain, failing when there is none.
func apiError(t *testing.T, err error) *pingid.APIError {
	t.Helper()
	var ae *pingid.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v (%T), want a *pingid.APIError", err, err)
	}
	return ae
}

// seedID seeds a user out of band and returns the id the emulator gave it. The emulator numbers
// users sequentially (adduser and seeding alike), so the difference between two such ids tells
// how many users adduser created in between: a duplicate creation cannot hide.
func (tn *tenant) seedID(t *testing.T, name string) int64 {
	t.Helper()
	tn.seed(t, emulator.User{UserName: name})
	return tn.user(t, name).ID
}

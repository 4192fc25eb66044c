package pingid

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// An untrusted server certificate fails at once: retrying cannot fix it.
func TestUntrustedCertificateIsNotRetried(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c, err := NewClient(Config{
		Credentials: Credentials{OrgAlias: "org", Token: "tok", Base64Key: "JWC41crr322aUfdckVfJKHvGKNIPyAPGL7rMsTbzHlA=", IDPURL: srv.URL + "/pingid"},
		MaxRetries:  5, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(context.Background(), "alice")
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	if n := c.Calls()["getuserdetails"]; n != 1 {
		t.Errorf("%d attempts, want 1 (no retry of a certificate failure)", n)
	}
	if hits.Load() != 0 {
		t.Errorf("the server handled %d requests; the handshake should have failed", hits.Load())
	}
}

package conformance

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
)

// forgedSuccess is what an attacker would like the client to believe: the user exists, is
// active and is an administrator.
const forgedSuccess = `{"responseBody":{"errorId":200,"errorMsg":"ok","uniqueMsgId":"webs_forged",` +
	`"userDetails":{"userName":"ghost","status":"ACTIVE","role":"ADMIN","userEnabled":true}}}`

// tamper rewrites the emulator's real answer (status, body) into what reaches the client.
type tamper func(t *testing.T, status int, body []byte) (int, []byte)

// tamperingProxy runs the emulator and lets tamper rewrite every API answer.
func tamperingProxy(t *testing.T, rewrite tamper) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			status, body := rewrite(t, rec.Code, rec.Body.Bytes())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(body)
		})
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// signWith signs payload as an HS256 compact JWS with key.
func signWith(t *testing.T, key []byte, payload string) []byte {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return []byte(out)
}

// TestForgedResponsesAreErrorsNeverSuccesses: whatever sits between the client and PingID,
// an answer that is not signed with the tenant's key is an error, even one that claims
// success, and even when the real answer was an error.
func TestForgedResponsesAreErrorsNeverSuccesses(t *testing.T) {
	otherKey := make([]byte, 32)
	if _, err := rand.Read(otherKey); err != nil {
		t.Fatal(err)
	}
	tests := map[string]tamper{
		"payload altered, signature kept": func(t *testing.T, status int, body []byte) (int, []byte) {
			parts := strings.Split(string(body), ".")
			if len(parts) != 3 {
				t.Fatalf("emulator answer is not a compact JWS: %s", body)
			}
			return http.StatusOK, []byte(parts[0] + "." + b64(forgedSuccess) + "." + parts[2])
		},
		"signed with another key": func(t *testing.T, _ int, _ []byte) (int, []byte) {
			return http.StatusOK, signWith(t, otherKey, forgedSuccess)
		},
		"alg none": func(t *testing.T, _ int, _ []byte) (int, []byte) {
			return http.StatusOK, []byte(b64(`{"alg":"none"}`) + "." + b64(forgedSuccess) + ".")
		},
		"signature stripped": func(t *testing.T, _ int, body []byte) (int, []byte) {
			parts := strings.Split(string(body), ".")
			return http.StatusOK, []byte(parts[0] + "." + b64(forgedSuccess) + ".")
		},
		"unsigned JSON claiming success": func(t *testing.T, _ int, _ []byte) (int, []byte) {
			return http.StatusOK, []byte(forgedSuccess)
		},
		"unsigned JSON claiming success on HTTP 400": func(t *testing.T, _ int, _ []byte) (int, []byte) {
			return http.StatusBadRequest, []byte(forgedSuccess)
		},
		"plain text OK": func(t *testing.T, _ int, _ []byte) (int, []byte) {
			return http.StatusOK, []byte("OK")
		},
		"captive portal HTML": func(t *testing.T, _ int, _ []byte) (int, []byte) {
			return http.StatusOK, []byte("<html><body>Please log in</body></html>")
		},
		"truncated JWS": func(t *testing.T, _ int, body []byte) (int, []byte) {
			return http.StatusOK, body[:len(body)/2]
		},
	}
	for name, rewrite := range tests {
		t.Run(name, func(t *testing.T) {
			tn := newTenant(t, tamperingProxy(t, rewrite))
			tn.seed(t, emulator.User{UserName: "jsmith"}) // NOT_ACTIVE: suspenduser really fails
			c := tn.client(t, nil)
			ctx := t.Context()

			u, err := c.GetUser(ctx, "ghost")
			if err == nil || u != nil {
				t.Fatalf("GetUser of a missing user behind a forger = %+v, %v; want an error", u, err)
			}
			if !errors.Is(err, pingid.ErrBadSignature) {
				t.Errorf("err = %v, want ErrBadSignature", err)
			}
			if errors.Is(err, pingid.ErrUserNotFound) {
				t.Errorf("err = %v: a forged answer must not be read as the real one", err)
			}
			if err := c.SuspendUser(ctx, "jsmith"); !errors.Is(err, pingid.ErrBadSignature) {
				t.Errorf("SuspendUser behind a forger = %v, want ErrBadSignature", err)
			}
			if added, err := c.AddUser(ctx, pingid.NewUser{UserName: "newbie"}); err == nil || added != nil {
				t.Errorf("AddUser behind a forger = %+v, %v; want an error", added, err)
			}
			assertNoSecrets(t, err, tn.secrets())
			// A forged answer is not a transient failure: never retried.
			assertAttempts(t, tn, c, pingid.OpGetUserDetails, 1)
			assertAttempts(t, tn, c, pingid.OpSuspendUser, 1)
		})
	}
}

// TestBadSignatureFaultOnEveryOperation uses the emulator's own fault: the correct answer,
// signed with the wrong key. The emulator did the work, the client must still refuse to
// believe it, and a later honest call sees the true state.
func TestBadSignatureFaultOnEveryOperation(t *testing.T) {
	tn := newTenant(t, nil)
	tn.seed(t,
		emulator.User{UserName: "get"},
		emulator.User{UserName: "edit", Role: emulator.RoleAdmin},
		emulator.User{UserName: "del"},
		emulator.User{UserName: "sus", Status: emulator.StatusActive, Devices: []emulator.Device{{Type: "SMS"}}},
		emulator.User{UserName: "act"},
	)
	first := tn.seedID(t, "probe-before")
	c := tn.client(t, nil)
	ctx := t.Context()
	calls := []struct {
		op   string
		call func() error
	}{
		{pingid.OpGetUserDetails, func() error { _, err := c.GetUser(ctx, "get"); return err }},
		{pingid.OpAddUser, func() error { _, err := c.AddUser(ctx, pingid.NewUser{UserName: "add"}); return err }},
		{pingid.OpEditUser, func() error {
			_, err := c.EditUser(ctx, pingid.User{UserName: "edit", FirstName: "E", Role: pingid.RoleAdmin}, false)
			return err
		}},
		{pingid.OpDeleteUser, func() error { return c.DeleteUser(ctx, "del") }},
		{pingid.OpSuspendUser, func() error { return c.SuspendUser(ctx, "sus") }},
		{pingid.OpActivateUser, func() error { return c.ActivateUser(ctx, "act") }},
	}
	for _, cl := range calls {
		tn.emu.SetFault(cl.op, emulator.Fault{BadSignatureRate: 1, Count: 1})
		err := cl.call()
		if !errors.Is(err, pingid.ErrBadSignature) {
			t.Errorf("%s with a badly signed answer: err = %v, want ErrBadSignature", cl.op, err)
		}
		if err != nil && !strings.Contains(err.Error(), cl.op) {
			t.Errorf("%s: error %q does not name the operation", cl.op, err)
		}
		assertNoSecrets(t, err, tn.secrets())
		assertAttempts(t, tn, c, cl.op, 1)
	}
	// The emulator carried the calls out; honest answers now show it, and a retried adduser
	// reports the existing user instead of creating a second one.
	if _, err := c.AddUser(ctx, pingid.NewUser{UserName: "add"}); !errors.Is(err, pingid.ErrUserExists) {
		t.Errorf("adduser after a forged-looking success: %v, want ErrUserExists", err)
	}
	if u, err := c.GetUser(ctx, "sus"); err != nil || u.Status != pingid.StatusSuspended {
		t.Errorf("sus = %+v, %v", u, err)
	}
	if _, err := c.GetUser(ctx, "del"); !errors.Is(err, pingid.ErrUserNotFound) {
		t.Errorf("del: %v, want not found", err)
	}
	if last := tn.seedID(t, "probe-after"); last-first-1 != 1 {
		t.Errorf("emulator created %d users through adduser, want 1", last-first-1)
	}
}

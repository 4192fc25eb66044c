package conformance

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
)

// TestRetriesUnderInjectedFaults counts attempts on both sides of the wire: each transient
// fault costs exactly one more attempt, retries stop at max_retries, and answers that are not
// transient (a bad signature) are never retried.
func TestRetriesUnderInjectedFaults(t *testing.T) {
	tests := []struct {
		name        string
		fault       emulator.Fault
		maxRetries  int // 0 = client default (5)
		timeout     time.Duration
		wantCalls   int64
		wantErr     func(error) bool
		wantStatus  int // HTTP status of the final error
		leftInBurst int
	}{
		{name: "429 burst with Retry-After (capped by MaxBackoff)", fault: emulator.Fault{Rate429: 1, RetryAfter: 30 * time.Second, Count: 3}, wantCalls: 4},
		{name: "500 burst", fault: emulator.Fault{Rate500: 1, Count: 3}, wantCalls: 4},
		{name: "503 burst with Retry-After", fault: emulator.Fault{Rate503: 1, RetryAfter: time.Second, Count: 2}, wantCalls: 3},
		{name: "dropped connections", fault: emulator.Fault{DropRate: 1, Count: 2}, wantCalls: 3},
		{name: "slow responses past the request timeout", fault: emulator.Fault{Latency: 500 * time.Millisecond, Count: 2}, timeout: 50 * time.Millisecond, wantCalls: 3},
		{name: "burst longer than the retries", fault: emulator.Fault{Rate500: 1, Count: 10}, maxRetries: 3, wantCalls: 4,
			wantErr: func(err error) bool { return err != nil }, wantStatus: http.StatusInternalServerError, leftInBurst: 6},
		{name: "default retries are 5", fault: emulator.Fault{Rate503: 1, Count: 10}, wantCalls: 6,
			wantErr: func(err error) bool { return err != nil }, wantStatus: http.StatusServiceUnavailable, leftInBurst: 4},
		{name: "NoRetries", fault: emulator.Fault{Rate429: 1, Count: 5}, maxRetries: pingid.NoRetries, wantCalls: 1,
			wantErr: func(err error) bool { return err != nil }, wantStatus: http.StatusTooManyRequests, leftInBurst: 4},
		{name: "bad signature is not retried", fault: emulator.Fault{BadSignatureRate: 1, Count: 5}, wantCalls: 1,
			wantErr: func(err error) bool { return errors.Is(err, pingid.ErrBadSignature) }, leftInBurst: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTenant(t, nil)
			tn.seed(t, emulator.User{UserName: "jsmith", FirstName: "John"})
			c := tn.client(t, func(cfg *pingid.Config) {
				cfg.MaxRetries = tt.maxRetries
				if tt.timeout > 0 {
					cfg.RequestTimeout = tt.timeout
				}
			})
			tn.emu.SetFault(pingid.OpGetUserDetails, tt.fault)
			u, err := c.GetUser(t.Context(), "jsmith")
			assertAttempts(t, tn, c, pingid.OpGetUserDetails, tt.wantCalls)
			assertNoSecrets(t, err, tn.secrets())
			if tt.wantErr == nil {
				if err != nil || u.FirstName != "John" {
					t.Fatalf("GetUser = %+v, %v; want success after the fault", u, err)
				}
				return
			}
			if !tt.wantErr(err) || u != nil {
				t.Fatalf("GetUser = %+v, %v; want an error", u, err)
			}
			if tt.wantStatus != 0 {
				if ae := apiError(t, err); ae.HTTPStatus != tt.wantStatus || ae.Operation != pingid.OpGetUserDetails || ae.Username != "jsmith" {
					t.Errorf("APIError = %+v, want HTTP %d for getuserdetails jsmith", ae, tt.wantStatus)
				}
			}
			if left := tn.emu.Faults()[pingid.OpGetUserDetails].Count; left != tt.leftInBurst {
				t.Errorf("fault has %d calls left, want %d (attempts consumed it exactly)", left, tt.leftInBurst)
			}
		})
	}
}

// TestRetryAfterIsHonoured: with Retry-After longer than the caller's deadline, the client
// waits rather than retrying early, so the deadline ends the call after exactly one attempt.
// Without the header the same call succeeds on its second attempt within the same deadline.
func TestRetryAfterIsHonoured(t *testing.T) {
	for _, tt := range []struct {
		name       string
		fault      emulator.Fault
		wantCalls  int64
		wantExpire bool
	}{
		{"429 Retry-After 30s", emulator.Fault{Rate429: 1, RetryAfter: 30 * time.Second, Count: 1}, 1, true},
		{"503 Retry-After 30s", emulator.Fault{Rate503: 1, RetryAfter: 30 * time.Second, Count: 1}, 1, true},
		{"429 Retry-After 0", emulator.Fault{Rate429: 1, Count: 1}, 2, false},
		{"503 without Retry-After", emulator.Fault{Rate503: 1, Count: 1}, 2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTenant(t, nil)
			tn.seed(t, emulator.User{UserName: "jsmith"})
			c := tn.client(t, func(cfg *pingid.Config) { cfg.MaxBackoff = time.Hour })
			tn.emu.SetFault(pingid.OpGetUserDetails, tt.fault)
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			_, err := c.GetUser(ctx, "jsmith")
			if tt.wantExpire {
				if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting to retry") {
					t.Errorf("err = %v, want the deadline to expire while waiting out Retry-After", err)
				}
			} else if err != nil {
				t.Errorf("err = %v, want success on the retry", err)
			}
			assertAttempts(t, tn, c, pingid.OpGetUserDetails, tt.wantCalls)
		})
	}
}

// TestLostResponsesNeverDuplicateOrFail: a response lost after the emulator processed the
// request (or a timeout, a drop or a 5xx whose outcome is unknown) must not turn into a
// duplicate user or a spurious error on the retry.
func TestLostResponsesNeverDuplicateOrFail(t *testing.T) {
	t.Run("adduser", func(t *testing.T) {
		for _, tt := range []struct {
			name        string
			fault       emulator.Fault
			timeout     time.Duration
			wantAdds    int64 // adduser requests sent
			wantLookups int64 // getuserdetails before resending
		}{
			{"response lost after processing", emulator.Fault{DropAfterProcessRate: 1, Count: 1}, 0, 1, 1},
			{"connection dropped before processing", emulator.Fault{DropRate: 1, Count: 2}, 0, 3, 2},
			{"500 burst", emulator.Fault{Rate500: 1, Count: 2}, 0, 3, 2},
			{"503 burst", emulator.Fault{Rate503: 1, Count: 2}, 0, 3, 2},
			{"429 burst (known not processed: no lookup)", emulator.Fault{Rate429: 1, Count: 2}, 0, 3, 0},
			{"slow past the timeout", emulator.Fault{Latency: time.Second, Count: 2}, 50 * time.Millisecond, 3, 2},
		} {
			t.Run(tt.name, func(t *testing.T) {
				tn := newTenant(t, nil)
				first := tn.seedID(t, "probe-before")
				c := tn.client(t, func(cfg *pingid.Config) {
					if tt.timeout > 0 {
						cfg.RequestTimeout = tt.timeout
					}
				})
				tn.emu.SetFault(pingid.OpAddUser, tt.fault)
				u, err := c.AddUser(t.Context(), pingid.NewUser{UserName: "newbie", Email: "n@example.com"})
				if err != nil || u == nil || u.UserName != "newbie" || u.Email != "n@example.com" {
					t.Fatalf("AddUser = %+v, %v; want the created user", u, err)
				}
				assertAttempts(t, tn, c, pingid.OpAddUser, tt.wantAdds)
				assertAttempts(t, tn, c, pingid.OpGetUserDetails, tt.wantLookups)
				// Closing the server waits for every request still inside the emulator (a slow
				// attempt the client gave up on is processed late), so nothing can land after this.
				tn.http.Close()
				last := tn.seedID(t, "probe-after")
				if processed := last - first - 1; processed != 1 {
					t.Errorf("emulator processed %d adduser requests for one user, want 1", processed)
				}
				if n := len(tn.emu.Users()); n != 3 {
					t.Errorf("emulator holds %d users, want newbie and two probes", n)
				}
			})
		}
	})

	// Idempotent operations: the retry of a processed-but-lost request gets an answer that
	// only looks like an error (10564 after delete, 10562 after activate); the client knows.
	t.Run("idempotent operations", func(t *testing.T) {
		tn := newTenant(t, nil)
		tn.seed(t,
			emulator.User{UserName: "del"},
			emulator.User{UserName: "sus", Status: emulator.StatusActive, Devices: []emulator.Device{{Type: "iPhone"}}},
			emulator.User{UserName: "act", Status: emulator.StatusActive, Devices: []emulator.Device{{Type: "iPhone"}}},
			emulator.User{UserName: "edit", FirstName: "Old", Role: emulator.RoleAdmin},
		)
		if err := tn.emu.SetUserStatus("act", emulator.StatusSuspended); err != nil {
			t.Fatal(err)
		}
		c := tn.client(t, nil)
		ctx := t.Context()
		lost := emulator.Fault{DropAfterProcessRate: 1, Count: 1}
		steps := []struct {
			op   string
			call func() error
			ok   func() bool
		}{
			{pingid.OpDeleteUser, func() error { return c.DeleteUser(ctx, "del") },
				func() bool { _, ok := tn.emu.User("del"); return !ok }},
			{pingid.OpSuspendUser, func() error { return c.SuspendUser(ctx, "sus") },
				func() bool { return tn.user(t, "sus").Status == emulator.StatusSuspended }},
			{pingid.OpActivateUser, func() error { return c.ActivateUser(ctx, "act") },
				func() bool { return tn.user(t, "act").Status == emulator.StatusActive }},
			{pingid.OpEditUser, func() error {
				_, _, err := c.UpdateUser(ctx, "edit", pingid.UserFields{FirstName: strPtr("New")})
				return err
			}, func() bool { u := tn.user(t, "edit"); return u.FirstName == "New" && u.Role == emulator.RoleAdmin }},
		}
		for _, s := range steps {
			tn.emu.SetFault(s.op, lost)
			if err := s.call(); err != nil {
				t.Errorf("%s after a lost response: %v", s.op, err)
			}
			if !s.ok() {
				t.Errorf("%s: emulator state wrong after a lost response", s.op)
			}
			assertAttempts(t, tn, c, s.op, 2)
		}
	})
}

// TestSkewedClientClocks: the request timestamp follows the client's clock; a clock years off
// still works (the service has no freshness window) and retries still honour the server.
func TestSkewedClientClocks(t *testing.T) {
	for name, skew := range map[string]func() time.Time{
		"ten years behind": func() time.Time { return time.Now().AddDate(-10, 0, 0) },
		"ten years ahead":  func() time.Time { return time.Now().AddDate(10, 0, 0) },
		"the epoch":        func() time.Time { return time.Unix(0, 0) },
		"local zone":       func() time.Time { return time.Now().In(time.FixedZone("MST", -7*3600)) },
	} {
		t.Run(name, func(t *testing.T) {
			tn := newTenant(t, nil)
			c := tn.client(t, func(cfg *pingid.Config) { cfg.Now = skew })
			ctx := t.Context()
			if _, err := c.AddUser(ctx, pingid.NewUser{UserName: "skewed", FirstName: "S"}); err != nil {
				t.Fatal(err)
			}
			tn.emu.SetFault(pingid.OpGetUserDetails, emulator.Fault{Rate429: 1, RetryAfter: time.Second, Count: 1})
			if u, err := c.GetUser(ctx, "skewed"); err != nil || u.FirstName != "S" {
				t.Fatalf("GetUser = %+v, %v", u, err)
			}
			if _, _, err := c.UpdateUser(ctx, "skewed", pingid.UserFields{Email: strPtr("s@example.com")}); err != nil {
				t.Fatal(err)
			}
			if err := c.ActivateUser(ctx, "skewed"); err != nil {
				t.Fatal(err)
			}
			if err := c.SuspendUser(ctx, "skewed"); err != nil {
				t.Fatal(err)
			}
			if u := tn.user(t, "skewed"); u.Status != emulator.StatusSuspended || u.Email != "s@example.com" {
				t.Errorf("emulator: %+v", u)
			}
			if err := c.DeleteUser(ctx, "skewed"); err != nil {
				t.Fatal(err)
			}
			assertAttempts(t, tn, c, pingid.OpGetUserDetails, 3) // one 429, its retry, UpdateUser's read
		})
	}
}

package pingid

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"
)

// recordSleeps replaces the client's backoff wait with one that records the delay and
// returns at once, so tests can check the chosen delays without waiting for them.
func recordSleeps(c *Client) func() []time.Duration {
	var mu sync.Mutex
	var waits []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	return func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Duration(nil), waits...)
	}
}

func TestRetriesOnThrottlingAndServerErrors(t *testing.T) {
	tests := []struct {
		name   string
		faults []fault
	}{
		{"429 burst", []fault{{status: 429}, {status: 429}, {status: 429}}},
		{"500 and 503 burst", []fault{{status: 500}, {status: 503}, {status: 502}, {status: 504}}},
		{"dropped connections", []fault{{dropBefore: true}, {dropBefore: true}}},
		{"mixed", []fault{{status: 429, retryAfter: "0"}, {dropBefore: true}, {status: 503, body: "<html>maintenance</html>"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePingID(t)
			f.seed("jdoe", fakeUser{Role: RoleRegular, Status: StatusActive})
			f.addFaults(OpGetUserDetails, tc.faults...)
			c := f.client()
			u, err := c.GetUser(context.Background(), "jdoe")
			if err != nil || u.UserName != "jdoe" {
				t.Fatalf("GetUser = %+v, %v", u, err)
			}
			if got, want := c.Calls()[OpGetUserDetails], int64(len(tc.faults)+1); got != want {
				t.Errorf("attempts = %d, want %d", got, want)
			}
		})
	}
}

func TestRetriesAreBounded(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxRetries int
		attempts   int64
	}{
		{"default five", 0, 6},
		{"two", 2, 3},
		{"none", NoRetries, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePingID(t)
			f.seed("jdoe", fakeUser{Role: RoleRegular, Status: StatusActive})
			for i := 0; i < 10; i++ {
				f.addFaults(OpGetUserDetails, fault{status: 503, retryAfter: "1"})
			}
			c := f.client(func(cfg *Config) { cfg.MaxRetries = tc.maxRetries })
			recordSleeps(c)
			_, err := c.GetUser(context.Background(), "jdoe")
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.HTTPStatus != 503 {
				t.Fatalf("err = %v, want the last 503 as *APIError", err)
			}
			if got := c.Calls()[OpGetUserDetails]; got != tc.attempts {
				t.Errorf("attempts = %d, want %d", got, tc.attempts)
			}
		})
	}
}

func TestRetryAfterIsHonouredAndCapped(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name       string
		retryAfter string
		lo, hi     time.Duration // accepted range of the wait (jitter is at most MinBackoff)
	}{
		{"seconds", "2", 2 * time.Second, 2*time.Second + time.Millisecond},
		{"http date", now.Add(3 * time.Second).Format(http.TimeFormat), 3 * time.Second, 3*time.Second + time.Millisecond},
		{"date in the past", now.Add(-time.Hour).Format(http.TimeFormat), 0, time.Millisecond},
		{"capped by MaxBackoff", "3600", 10 * time.Second, 10 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePingID(t)
			f.seed("jdoe", fakeUser{Role: RoleRegular, Status: StatusActive})
			f.addFaults(OpGetUserDetails, fault{status: 429, retryAfter: tc.retryAfter}, fault{status: 429, retryAfter: tc.retryAfter})
			c := f.client(func(cfg *Config) {
				cfg.MinBackoff = time.Millisecond
				cfg.MaxBackoff = 10 * time.Second
				cfg.Now = func() time.Time { return now }
			})
			waits := recordSleeps(c)
			if _, err := c.GetUser(context.Background(), "jdoe"); err != nil {
				t.Fatalf("GetUser: %v", err)
			}
			got := waits()
			if len(got) != 2 {
				t.Fatalf("waits = %v, want 2", got)
			}
			for _, w := range got {
				if w < tc.lo || w > tc.hi {
					t.Errorf("wait %v outside [%v, %v]", w, tc.lo, tc.hi)
				}
			}
		})
	}
}

func TestBackoffIsExponentialWithFullJitter(t *testing.T) {
	c := &Client{minBackoff: 100 * time.Millisecond, maxBackoff: 2 * time.Second}
	for attempt, ceiling := range map[int]time.Duration{
		1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond,
		5: 1600 * time.Millisecond, 6: 2 * time.Second, 40: 2 * time.Second, 100: 2 * time.Second,
	} {
		var maxSeen time.Duration
		for i := 0; i < 500; i++ {
			w := c.backoff(attempt, 0, false)
			if w < 0 || w > ceiling {
				t.Fatalf("attempt %d: wait %v outside [0, %v]", attempt, w, ceiling)
			}
			maxSeen = max(maxSeen, w)
		}
		// Full jitter spreads over the whole range; 500 draws all below half is ~2^-500.
		if maxSeen < ceiling/2 {
			t.Errorf("attempt %d: waits never exceeded %v of ceiling %v", attempt, maxSeen, ceiling)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]struct {
		d  time.Duration
		ok bool
	}{
		"":                     {0, false},
		"5":                    {5 * time.Second, true},
		" 7 ":                  {7 * time.Second, true},
		"-1":                   {0, false},
		"soon":                 {0, false},
		"99999999999999999999": {0, false},
		"9999999999":           {86400 * time.Second, true},
		now.Add(90 * time.Second).Format(http.TimeFormat): {90 * time.Second, true},
	} {
		d, ok := parseRetryAfter(in, now)
		if d != want.d || ok != want.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", in, d, ok, want.d, want.ok)
		}
	}
}

func TestPerAttemptTimeout(t *testing.T) {
	f := newFakePingID(t)
	f.seed("jdoe", fakeUser{Role: RoleRegular, Status: StatusActive})
	f.addFaults(OpGetUserDetails, fault{hang: true})
	c := f.client(func(cfg *Config) { cfg.RequestTimeout = 200 * time.Millisecond })
	u, err := c.GetUser(context.Background(), "jdoe")
	if err != nil || u.UserName != "jdoe" {
		t.Fatalf("GetUser = %+v, %v; want success on the second attempt", u, err)
	}
	if n := c.Calls()[OpGetUserDetails]; n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
}

func TestAddUserWithLostResponseCreatesNoDuplicate(t *testing.T) {
	tests := []struct {
		name    string
		fault   func(t *testing.T) fault
		timeout time.Duration
	}{
		{"connection dropped after processing", func(*testing.T) fault { return fault{dropAfter: true} }, 0},
		{"gateway error after processing", func(*testing.T) fault { return fault{statusAfter: 504} }, 0},
		{"attempt timed out after processing", func(t *testing.T) fault {
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			return fault{after: func() { <-release }}
		}, 200 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePingID(t)
			f.addFaults(OpAddUser, tc.fault(t))
			c := f.client(func(cfg *Config) { cfg.RequestTimeout = tc.timeout })
			u, err := c.AddUser(context.Background(), NewUser{UserName: "jdoe", FirstName: "John", Email: "j@x.test"})
			if err != nil {
				t.Fatalf("AddUser: %v", err)
			}
			if u.UserName != "jdoe" || u.FirstName != "John" || u.Status != StatusNotActive {
				t.Errorf("user = %+v", u)
			}
			calls := c.Calls()
			if calls[OpAddUser] != 1 || calls[OpGetUserDetails] != 1 {
				t.Errorf("calls = %v, want one adduser then one lookup", calls)
			}
			if n := f.userCount(); n != 1 {
				t.Errorf("users = %d, want 1", n)
			}
		})
	}
}

func TestAddUserRetriesWhenLostAttemptDidNotCreate(t *testing.T) {
	f := newFakePingID(t)
	f.addFaults(OpAddUser, fault{dropBefore: true})
	c := f.client()
	u, err := c.AddUser(context.Background(), NewUser{UserName: "jdoe"})
	if err != nil || u.UserName != "jdoe" {
		t.Fatalf("AddUser = %+v, %v", u, err)
	}
	calls := c.Calls()
	if calls[OpAddUser] != 2 || calls[OpGetUserDetails] != 1 {
		t.Errorf("calls = %v, want adduser, lookup (not found), adduser", calls)
	}
	if n := f.userCount(); n != 1 {
		t.Errorf("users = %d, want 1", n)
	}
}

func TestAddUserExistsAfterLostAttemptIsOurs(t *testing.T) {
	// The first attempt is lost; the lookup finds nothing; the delayed first attempt then
	// lands, so the resend gets 10556. That user is the one we created.
	f := newFakePingID(t)
	f.addFaults(OpAddUser, fault{dropBefore: true})
	f.addFaults(OpGetUserDetails, fault{after: func() { f.seed("jdoe", fakeUser{FName: strPtr("John"), Role: RoleRegular, Status: StatusNotActive}) }})
	c := f.client()
	u, err := c.AddUser(context.Background(), NewUser{UserName: "jdoe", FirstName: "John"})
	if err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	if u.UserName != "jdoe" || u.FirstName != "John" {
		t.Errorf("user = %+v", u)
	}
	calls := c.Calls()
	if calls[OpAddUser] != 2 || calls[OpGetUserDetails] != 2 {
		t.Errorf("calls = %v, want 2 adduser and 2 getuserdetails", calls)
	}
	if n := f.userCount(); n != 1 {
		t.Errorf("users = %d, want 1", n)
	}
}

func TestAddUserOfExistingUserIsErrUserExists(t *testing.T) {
	f := newFakePingID(t)
	f.seed("jdoe", fakeUser{Role: RoleAdmin, Status: StatusActive})
	f.addFaults(OpAddUser, fault{status: 429})
	c := f.client()
	_, err := c.AddUser(context.Background(), NewUser{UserName: "jdoe"})
	if !errors.Is(err, ErrUserExists) {
		t.Fatalf("err = %v, want ErrUserExists (a throttled attempt was not processed)", err)
	}
	if n := c.Calls()[OpGetUserDetails]; n != 0 {
		t.Errorf("a throttled (unprocessed) attempt triggered %d lookups", n)
	}
}

func TestAddUserDoesNotResendWhenLookupFails(t *testing.T) {
	f := newFakePingID(t)
	f.addFaults(OpAddUser, fault{dropAfter: true})
	f.addFaults(OpGetUserDetails, fault{status: 200, body: `{"errorId":200}`}) // forged
	c := f.client()
	_, err := c.AddUser(context.Background(), NewUser{UserName: "jdoe"})
	if !errors.Is(err, ErrBadSignature) {
		t.Fatalf("err = %v, want the lookup's ErrBadSignature", err)
	}
	if n := c.Calls()[OpAddUser]; n != 1 {
		t.Errorf("adduser attempts = %d, want 1 (no blind resend)", n)
	}
}

func TestIdempotentRetriesAfterLostResponses(t *testing.T) {
	t.Run("delete: not found on retry means deleted", func(t *testing.T) {
		f := newFakePingID(t)
		f.seed("jdoe", fakeUser{Role: RoleRegular, Status: StatusActive})
		f.addFaults(OpDeleteUser, fault{dropAfter: true})
		c := f.client()
		if err := c.DeleteUser(context.Background(), "jdoe"); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		if n := c.Calls()[OpDeleteUser]; n != 2 {
			t.Errorf("deleteuser attempts = %d, want 2", n)
		}
	})
	t.Run("activate: already active on retry means activated", func(t *testing.T) {
		f := newFakePingID(t)
		f.seed("jdoe", fakeUser{Role: RoleRegular, Status: StatusSuspended, Devices: 1})
		f.addFaults(OpActivateUser, fault{statusAfter: 502})
		c := f.client()
		if err := c.ActivateUser(context.Background(), "jdoe"); err != nil {
			t.Fatalf("ActivateUser: %v", err)
		}
		if u, _ := f.user("jdoe"); u.Status != StatusActive {
			t.Errorf("status = %s", u.Status)
		}
	})
	t.Run("suspend: not active on retry of a suspended user means suspended", func(t *testing.T) {
		f := newFakePingID(t)
		f.seed("jdoe", fakeUser{Role: RoleRegular, Status: StatusActive, Devices: 1})
		f.addFaults(OpSuspendUser, fault{dropAfter: true})
		c := f.client()
		if err := c.SuspendUser(context.Background(), "jdoe"); err != nil {
			t.Fatalf("SuspendUser: %v", err)
		}
		if n := c.Calls()[OpSuspendUser]; n != 2 {
			t.Errorf("suspenduser attempts = %d, want 2", n)
		}
	})
	t.Run("suspend: not active without a lost attempt is returned", func(t *testing.T) {
		f := newFakePingID(t)
		f.seed("jdoe", fakeUser{Role: RoleRegular, Status: StatusSuspended})
		c := f.client()
		if err := c.SuspendUser(context.Background(), "jdoe"); !errors.Is(err, ErrNotActive) {
			t.Fatalf("err = %v, want ErrNotActive", err)
		}
	})
	t.Run("edit: retried after a lost response", func(t *testing.T) {
		f := newFakePingID(t)
		f.seed("jdoe", fakeUser{Role: RoleRegular, Status: StatusActive})
		f.addFaults(OpEditUser, fault{dropAfter: true})
		c := f.client()
		u, err := c.EditUser(context.Background(), User{UserName: "jdoe", Email: "new@x.test", Role: RoleRegular}, false)
		if err != nil || u.Email != "new@x.test" {
			t.Fatalf("EditUser = %+v, %v", u, err)
		}
	})
}

// waitReturn fails the test when call does not return soon; a liveness guard, not a timing
// assertion (the bound is far above any legitimate duration).
func waitReturn(t *testing.T, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("call did not return after its context was cancelled")
		return nil
	}
}

// cancelWhen cancels once cond holds (polling), or gives up when ctx ends.
func cancelWhen(ctx context.Context, cancel context.CancelFunc, cond func() bool) {
	for !cond() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
}

func TestContextCancellationStopsPromptly(t *testing.T) {
	t.Run("while in flight", func(t *testing.T) {
		f := newFakePingID(t)
		f.seed("jdoe", fakeUser{Role: RoleRegular, Status: StatusActive})
		f.addFaults(OpGetUserDetails, fault{hang: true})
		c := f.client(func(cfg *Config) { cfg.RequestTimeout = time.Hour })
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go cancelWhen(ctx, cancel, func() bool { return len(f.recorded(OpGetUserDetails)) > 0 })
		err := waitReturn(t, func() error { _, err := c.GetUser(ctx, "jdoe"); return err })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if n := c.Calls()[OpGetUserDetails]; n != 1 {
			t.Errorf("attempts = %d, want 1", n)
		}
	})
	t.Run("while waiting in backoff", func(t *testing.T) {
		f := newFakePingID(t)
		f.addFaults(OpDeleteUser, fault{status: 503}, fault{status: 503})
		c := f.client(func(cfg *Config) { cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour })
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go cancelWhen(ctx, cancel, func() bool { return c.Calls()[OpDeleteUser] > 0 })
		err := waitReturn(t, func() error { return c.DeleteUser(ctx, "jdoe") })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("while waiting for a concurrency slot", func(t *testing.T) {
		f := newFakePingID(t)
		f.seed("jdoe", fakeUser{Role: RoleRegular, Status: StatusActive})
		f.addFaults(OpGetUserDetails, fault{hang: true})
		c := f.client(func(cfg *Config) { cfg.MaxConcurrency = 1; cfg.RequestTimeout = time.Hour })
		holderCtx, stopHolder := context.WithCancel(context.Background())
		holderDone := make(chan struct{})
		go func() {
			defer close(holderDone)
			_, _ = c.GetUser(holderCtx, "jdoe")
		}()
		for len(f.recorded(OpGetUserDetails)) == 0 {
			time.Sleep(time.Millisecond)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(20 * time.Millisecond); cancel() }()
		err := waitReturn(t, func() error { return c.SuspendUser(ctx, "jdoe") })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if n := c.Calls()[OpSuspendUser]; n != 0 {
			t.Errorf("suspenduser was sent %d times without a slot", n)
		}
		stopHolder()
		<-holderDone
	})
	t.Run("already cancelled", func(t *testing.T) {
		f := newFakePingID(t)
		c := f.client()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.AddUser(ctx, NewUser{UserName: "jdoe"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if n := f.userCount(); n != 0 {
			t.Errorf("users = %d after a cancelled AddUser", n)
		}
	})
}

func TestConcurrencyIsBounded(t *testing.T) {
	f := newFakePingID(t)
	const users = 12
	for i := 0; i < users; i++ {
		f.seed("u"+string(rune('a'+i)), fakeUser{Role: RoleRegular, Status: StatusActive})
		f.addFaults(OpGetUserDetails, fault{delay: 20 * time.Millisecond})
	}
	c := f.client(func(cfg *Config) { cfg.MaxConcurrency = 3 })
	var wg sync.WaitGroup
	errs := make(chan error, users)
	for i := 0; i < users; i++ {
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			if _, err := c.GetUser(context.Background(), name); err != nil {
				errs <- err
			}
		}("u" + string(rune('a'+i)))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := f.maxInFlight(); got > 3 {
		t.Errorf("max requests in flight = %d, want <= 3", got)
	}
}

func TestAttemptsAreLoggedWithoutSecrets(t *testing.T) {
	f := newFakePingID(t)
	f.addFaults(OpAddUser, fault{status: 429, retryAfter: "0"})
	f.addFaults(OpGetUserDetails, fault{status: 400, body: `{"errorId":10564,"errorMsg":"no ` + testToken + `"}`})
	c := f.client()
	var out bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &out)
	if _, err := c.AddUser(ctx, NewUser{UserName: "jdoe", ActivateUser: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.ActivateUser(ctx, "jdoe"); err != nil {
		t.Fatal(err)
	}
	_, _ = c.GetUser(ctx, "jdoe")
	raw := out.String()
	assertNoSecrets(t, raw, testToken, testBase64Key, "292070522701", "436348609435", "eyJhbGciOiJIUzI1NiIs")

	entries, err := tflogtest.MultilineJSONDecode(&out)
	if err != nil {
		t.Fatal(err)
	}
	var attempts []map[string]any
	for _, e := range entries {
		if e["@message"] == "PingID API call" {
			attempts = append(attempts, e)
		}
	}
	if len(attempts) != 4 {
		t.Fatalf("logged %d attempts, want 4: %s", len(attempts), raw)
	}
	want := []struct {
		op              string
		status, errorID float64
		attempt         float64
	}{
		{OpAddUser, 429, 0, 1}, {OpAddUser, 200, 200, 2}, {OpActivateUser, 200, 200, 1}, {OpGetUserDetails, 400, 10564, 1},
	}
	for i, w := range want {
		e := attempts[i]
		if e["@level"] != "debug" || e["operation"] != w.op || e["username"] != "jdoe" || e["http_status"] != w.status ||
			e["error_id"] != w.errorID || e["attempt"] != w.attempt {
			t.Errorf("log entry %d = %v, want %+v", i, e, w)
		}
		if _, ok := e["latency_ms"].(float64); !ok {
			t.Errorf("log entry %d has no latency_ms: %v", i, e)
		}
	}
	if !strings.Contains(raw, "will be retried") {
		t.Errorf("the retry was not logged: %s", raw)
	}
}

func TestThrottlingCutsTheSharedLimitAndIsCounted(t *testing.T) {
	f := newFakePingID(t)
	f.seed("jdoe", fakeUser{Role: RoleRegular, Status: StatusActive})
	f.addFaults(OpGetUserDetails, fault{status: http.StatusTooManyRequests, retryAfter: "1"}, fault{status: http.StatusServiceUnavailable})
	c := f.client(func(cfg *Config) { cfg.MaxConcurrency = 16 })
	if got := c.Concurrency(); got != 8 {
		t.Fatalf("starting concurrency = %d, want 8 (the safe start below the cap of 16)", got)
	}
	if _, err := c.GetUser(context.Background(), "jdoe"); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.Attempts != 3 || st.Retries != 2 || st.Throttled != 1 || st.Unavailable != 1 || st.MaxConcurrency != 16 {
		t.Errorf("stats = %+v, want 3 attempts, 2 retries, one 429, one 503, cap 16", st)
	}
	// The 503 came from the retry, sent after the 429 had cut the limit: both count.
	if st.Concurrency != 6 {
		t.Errorf("concurrency after a 429 and a 503 = %d, want 6 (8 cut twice by a tenth)", st.Concurrency)
	}
}

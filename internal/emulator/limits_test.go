package emulator_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// manualClock is the emulator's clock in these tests: time moves only when told.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRateLimitAnswers429WithRetryAfterBeyondTheBucket(t *testing.T) {
	clock := &manualClock{now: time.Now()}
	opts, err := emulator.GenerateOptions()
	if err != nil {
		t.Fatal(err)
	}
	opts.Now = clock.Now
	tn := newTenantWith(t, opts)
	if err := tn.srv.SetLimits(emulator.Limits{RatePerSecond: 10, Burst: 3}); err != nil {
		t.Fatal(err)
	}
	body := func(name string) string {
		return tn.documentedRequest(map[string]any{"userName": name}).compact(t)
	}
	status := func(name string) (int, string) {
		t.Helper()
		resp, _, err := tn.post(t, "adduser", body(name))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	for i, name := range []string{"a", "b", "c"} {
		if code, _ := status(name); code != http.StatusOK {
			t.Fatalf("call %d within the burst: HTTP %d", i, code)
		}
	}
	code, retryAfter := status("d")
	if code != http.StatusTooManyRequests || retryAfter != "1" {
		t.Fatalf("call beyond the burst: HTTP %d Retry-After %q, want 429 and 1 (0.1 s rounded up to whole seconds)", code, retryAfter)
	}
	if _, ok := tn.srv.User("d"); ok {
		t.Fatal("a rate-limited call was processed")
	}
	clock.Advance(100 * time.Millisecond) // one token at 10/s
	if code, _ := status("d"); code != http.StatusOK {
		t.Fatalf("call after a token refilled: HTTP %d", code)
	}
	if code, _ := status("e"); code != http.StatusTooManyRequests {
		t.Fatalf("second call after one token refilled: HTTP %d, want 429", code)
	}
	if st := tn.srv.LimitStats(); st.Throttled != 2 || st.Admitted != 4 || st.InFlight != 0 {
		t.Errorf("stats = %+v, want 2 throttled, 4 admitted", st)
	}
	if got := tn.srv.Calls()["adduser"]; got != 6 {
		t.Errorf("calls = %d, want 6 (throttled calls count)", got)
	}
	tn.srv.Reset()
	if l := tn.srv.Limits(); l.RatePerSecond != 10 || l.Burst != 3 {
		t.Errorf("limits after Reset = %+v, want them kept", l)
	}
}

func TestLimitsHook(t *testing.T) {
	tn := newTenant(t)
	if status, _ := tn.hook(t, "POST", "/_emulator/limits",
		`{"latency_ms":2.5,"rate_per_second":500,"burst":50,"queue_after":16}`); status != http.StatusNoContent {
		t.Fatalf("POST limits: HTTP %d", status)
	}
	want := emulator.Limits{Latency: 2500 * time.Microsecond, RatePerSecond: 500, Burst: 50, QueueAfter: 16}
	if got := tn.srv.Limits(); got != want {
		t.Fatalf("limits = %+v, want %+v", got, want)
	}
	if status, _ := tn.hook(t, "POST", "/_emulator/limits", `{"rate_per_second":-1}`); status != http.StatusBadRequest || tn.srv.Limits() != want {
		t.Fatalf("negative rate: HTTP %d, limits %+v; want 400 and the old limits", status, tn.srv.Limits())
	}
}

package conformance

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
)

// rateLimitRun reads users through one client from many workers against an emulator whose
// gateway allows rate calls per second, and returns the client's and the emulator's counts.
func rateLimitRun(t *testing.T, users, workers, maxConcurrency int, limits emulator.Limits) (pingid.Stats, emulator.LimitStats) {
	t.Helper()
	tn := newTenant(t, nil)
	for i := range users {
		tn.seed(t, emulator.User{UserName: fmt.Sprintf("user%04d", i), Email: fmt.Sprintf("user%04d@example.test", i)})
	}
	if err := tn.emu.SetLimits(limits); err != nil {
		t.Fatal(err)
	}
	tn.emu.ResetCalls()
	c := tn.client(t, func(cfg *pingid.Config) {
		cfg.MaxConcurrency = maxConcurrency
		// Real backoffs: Retry-After must be waited for, not capped away.
		cfg.MinBackoff, cfg.MaxBackoff = 50*time.Millisecond, 5*time.Second
		cfg.MaxRetries = 10
	})
	work := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				name := fmt.Sprintf("user%04d", i)
				u, err := c.GetUser(t.Context(), name)
				if err != nil {
					t.Errorf("GetUser(%s): %v", name, err)
					continue
				}
				if u.Email != name+"@example.test" {
					t.Errorf("GetUser(%s) email = %q", name, u.Email)
				}
			}
		}()
	}
	for i := range users {
		work <- i
	}
	close(work)
	wg.Wait()
	return c.Stats(), tn.emu.LimitStats()
}

// TestAdaptiveConcurrencyUnderTheRateLimit runs the client against the emulator's token
// bucket with more workers than the gateway allows. The rate is far below what any machine
// does (the client's first 8 calls in flight already exceed the bucket), so throttling does not
// depend on machine speed; what is asserted is behaviour, not throughput: every read
// succeeds, client and emulator agree on the 429s, the calls in flight never pass
// max_concurrency, the controller backs off below where it started, and 429s stay a small
// share of the calls.
func TestAdaptiveConcurrencyUnderTheRateLimit(t *testing.T) {
	const (
		users          = 240
		maxConcurrency = 16
	)
	// 60 calls/s at 50 ms is 3 calls in flight; the client starts with 8 (160 calls/s), above
	// the bucket of 6 at once.
	limits := emulator.Limits{Latency: 50 * time.Millisecond, RatePerSecond: 60, Burst: 6}
	cs, es := rateLimitRun(t, users, 2*maxConcurrency, maxConcurrency, limits)
	t.Logf("client %+v; emulator %+v", cs, es)

	if es.Throttled == 0 {
		t.Fatal("the emulator never throttled: the test did not exercise the rate limit")
	}
	if cs.Throttled != es.Throttled || cs.Attempts != es.Admitted+es.Throttled {
		t.Errorf("client saw %d 429s in %d attempts; emulator sent %d 429s and admitted %d", cs.Throttled, cs.Attempts, es.Throttled, es.Admitted)
	}
	if es.Admitted != users {
		t.Errorf("emulator admitted %d calls, want one per user (%d)", es.Admitted, users)
	}
	if es.PeakInFlight > maxConcurrency {
		t.Errorf("peak calls in flight = %d, above max_concurrency %d", es.PeakInFlight, maxConcurrency)
	}
	if cs.Concurrency >= pingid.InitialConcurrency {
		t.Errorf("concurrency after the run = %d, want it cut below the %d it starts at", cs.Concurrency, pingid.InitialConcurrency)
	}
	// Every 429 cuts the limit and holds growth for Retry-After (1 s here), so refusals stay a
	// small share; a client that kept 16 calls in flight would have most refused.
	if share := float64(cs.Throttled) / float64(cs.Attempts); share > 0.20 {
		t.Errorf("429s are %.1f %% of %d attempts, want at most 20 %%", 100*share, cs.Attempts)
	}
}

package concurrency

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a manual clock: time moves only in Advance, which fires due After channels.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan time.Time, 1)
	f.timers = append(f.timers, fakeTimer{at: f.now.Add(d), ch: ch})
	return ch
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	kept := f.timers[:0]
	for _, t := range f.timers {
		if t.at.After(f.now) {
			kept = append(kept, t)
			continue
		}
		t.ch <- f.now
	}
	f.timers = kept
}

func newTestController(clock *fakeClock, maxLimit, initial int) *Controller {
	return New(Options{Max: maxLimit, Initial: initial, Now: clock.Now, After: clock.After})
}

// fill takes every slot the controller grants now.
func fill(t *testing.T, c *Controller) []Slot {
	t.Helper()
	var slots []Slot
	for {
		s, ok, _, _ := c.tryAcquire()
		if !ok {
			return slots
		}
		slots = append(slots, s)
		if len(slots) > c.Max() {
			t.Fatalf("granted %d slots, more than the cap %d", len(slots), c.Max())
		}
	}
}

// round runs one window of calls at the given latency: every free slot is taken, time
// passes, and all of them succeed. It returns how many calls were in flight together.
func round(t *testing.T, clock *fakeClock, c *Controller, latency time.Duration) int {
	t.Helper()
	slots := fill(t, c)
	clock.Advance(latency)
	for _, s := range slots {
		s.Release(Succeeded, 0)
	}
	return len(slots)
}

func TestGrowsWhileLatencyIsSteadyAndNeverPassesTheCap(t *testing.T) {
	clock := newFakeClock()
	c := newTestController(clock, 50, 0)
	if got := c.Limit(); got != DefaultInitial {
		t.Fatalf("initial limit = %d, want %d", got, DefaultInitial)
	}
	var inFlight []int
	for range 8 {
		inFlight = append(inFlight, round(t, clock, c, 100*time.Millisecond))
	}
	want := []int{8, 16, 32, 50, 50, 50, 50, 50} // doubling per window, then held at the cap
	for i := range want {
		if inFlight[i] != want[i] {
			t.Fatalf("calls in flight per window = %v, want %v", inFlight, want)
		}
	}
	if st := c.Stats(); st.Limit != 50 || st.Peak != 50 || st.InFlight != 0 || st.Cuts != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestInitialIsCappedAndDoesNotGrowWhenIdle(t *testing.T) {
	clock := newFakeClock()
	if got := newTestController(clock, 3, 0).Limit(); got != 3 {
		t.Errorf("limit with Max 3 = %d, want 3", got)
	}
	c := newTestController(clock, 64, 8)
	for range 10 {
		// Only two calls at a time, far below the limit: nothing proves more would work.
		var slots []Slot
		for range 2 {
			s, ok, _, _ := c.tryAcquire()
			if !ok {
				t.Fatal("no slot")
			}
			slots = append(slots, s)
		}
		clock.Advance(50 * time.Millisecond)
		for _, s := range slots {
			s.Release(Succeeded, 0)
		}
	}
	if got := c.Limit(); got != 8 {
		t.Errorf("limit after idle windows = %d, want 8", got)
	}
}

func TestOverloadCutsOncePerWindowAndHoldsUntilRetryAfter(t *testing.T) {
	clock := newFakeClock()
	c := newTestController(clock, 32, 32)
	slots := fill(t, c)
	clock.Advance(100 * time.Millisecond)
	// A burst of 429s from calls that were all sent at the old limit is one signal, not ten.
	for i, s := range slots {
		if i < 10 {
			s.Release(Overloaded, 2*time.Second)
		} else {
			s.Release(Succeeded, 0)
		}
	}
	if got := c.Limit(); got != 28 {
		t.Fatalf("limit after a 429 burst at 32 = %d, want 28 (one cut by %.2f)", got, overloadBackoff)
	}
	// Successes keep coming, but the server asked for 2 s: no growth before then.
	for clock.Now().Before(slotsTime(slots).Add(2 * time.Second)) {
		if n := round(t, clock, c, 100*time.Millisecond); n != 28 {
			t.Fatalf("%d calls in flight during the Retry-After hold, want 28", n)
		}
	}
	// Then additive growth: one slot per window, no more doubling.
	var got []int
	for range 3 {
		round(t, clock, c, 100*time.Millisecond)
		got = append(got, c.Limit())
	}
	if got[0] != 29 || got[1] != 30 || got[2] != 31 {
		t.Errorf("limits after the hold = %v, want [29 30 31]", got)
	}
	// A 429 from a call sent after the cut means the cut was not enough: cut again.
	s := fill(t, c)
	clock.Advance(10 * time.Millisecond)
	s[0].Release(Overloaded, 0)
	for _, x := range s[1:] {
		x.Release(Succeeded, 0)
	}
	if got := c.Limit(); got != 28 {
		t.Errorf("limit after a second 429 at 31.8 = %d, want 28", got)
	}
	if st := c.Stats(); st.Cuts != 2 {
		t.Errorf("cuts = %d, want 2", st.Cuts)
	}
}

func slotsTime(slots []Slot) time.Time { return slots[0].started }

func TestCutsWhenLatencyClimbs(t *testing.T) {
	clock := newFakeClock()
	c := newTestController(clock, 20, 20)
	for range 5 {
		round(t, clock, c, 100*time.Millisecond)
	}
	if got := c.Limit(); got != 20 {
		t.Fatalf("steady limit = %d, want 20", got)
	}
	// The server starts queueing: twice the latency, no errors.
	round(t, clock, c, 200*time.Millisecond)
	if got := c.Limit(); got != 18 {
		t.Fatalf("limit after a slow window = %d, want 18", got)
	}
	round(t, clock, c, 200*time.Millisecond)
	if got := c.Limit(); got != 16 {
		t.Fatalf("limit after a second slow window = %d, want 16", got)
	}
	// Latency back to normal: the limit grows back, one slot per window.
	round(t, clock, c, 100*time.Millisecond)
	round(t, clock, c, 100*time.Millisecond)
	if got := c.Limit(); got != 18 {
		t.Errorf("limit after two normal windows = %d, want 18", got)
	}
	// Small jitter below the tolerance is not a signal.
	for range 4 {
		round(t, clock, c, 130*time.Millisecond)
	}
	if got := c.Limit(); got != 20 {
		t.Errorf("limit after windows at 1.3x latency = %d, want 20 (grown to the cap)", got)
	}
}

func TestPausesNewCallsAtTheFloorUntilRetryAfter(t *testing.T) {
	clock := newFakeClock()
	c := newTestController(clock, 1, 1)
	s, ok, _, _ := c.tryAcquire()
	if !ok {
		t.Fatal("no slot")
	}
	s.Release(Overloaded, 3*time.Second)
	if _, ok, pause, _ := c.tryAcquire(); ok || pause == nil {
		t.Fatalf("a call started right after a 429 at limit 1 (ok=%v, pause=%v)", ok, pause != nil)
	}

	got := make(chan error, 1)
	go func() {
		s, err := c.Acquire(context.Background())
		if err == nil {
			s.Release(Succeeded, 0)
		}
		got <- err
	}()
	clock.Advance(2900 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("Acquire returned %v before Retry-After passed", err)
	case <-time.After(50 * time.Millisecond):
	}
	clock.Advance(200 * time.Millisecond)
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Acquire still waiting after Retry-After passed")
	}
}

func TestAcquireWaitsForAFreeSlotAndHonoursTheContext(t *testing.T) {
	clock := newFakeClock()
	c := newTestController(clock, 2, 2)
	held := fill(t, c)
	if len(held) != 2 {
		t.Fatalf("granted %d slots, want 2", len(held))
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		_, err := c.Acquire(ctx)
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("Acquire returned %v with every slot taken", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire = %v, want context.Canceled", err)
	}

	go func() {
		s, err := c.Acquire(context.Background())
		if err == nil {
			s.Release(Failed, 0)
		}
		got <- err
	}()
	held[0].Release(Failed, 0)
	if err := <-got; err != nil {
		t.Fatalf("Acquire after a release = %v", err)
	}
	if st := c.Stats(); st.InFlight != 1 || st.Limit != 2 {
		t.Errorf("stats = %+v, want 1 in flight at limit 2 (Failed neither cuts nor grows)", st)
	}
}

// TestNeverPassesTheCapUnderLoad drives the controller from many goroutines with random
// outcomes and latencies on the real clock.
func TestNeverPassesTheCapUnderLoad(t *testing.T) {
	const maxLimit = 6
	c := New(Options{Max: maxLimit, Initial: 2})
	var inFlight, peak atomic.Int64
	var wg sync.WaitGroup
	for g := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 200 {
				s, err := c.Acquire(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				n := inFlight.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				if lim := c.Limit(); n > int64(maxLimit) {
					t.Errorf("%d calls in flight, cap %d (limit %d)", n, maxLimit, lim)
				}
				time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
				inFlight.Add(-1)
				switch r := rng.IntN(100); {
				case r < 3:
					s.Release(Overloaded, time.Millisecond) // at the floor this pauses everyone for 1 ms
				case r < 5:
					s.Release(Failed, 0)
				default:
					s.Release(Succeeded, 0)
				}
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > maxLimit || p < 2 {
		t.Errorf("peak in flight = %d, want 2..%d", p, maxLimit)
	}
	if st := c.Stats(); st.InFlight != 0 || st.Limit < 1 || st.Limit > maxLimit || st.Peak > maxLimit {
		t.Errorf("stats after the load = %+v", st)
	}
}

// Package concurrency is the adaptive concurrency limit the PingID client puts in front of
// every API call: how many calls may be in flight at once.
//
// PingID publishes no rate limit, so no fixed number is right for every tenant and network.
// The controller starts at a safe level and then follows the server: it grows while calls
// succeed at a steady latency (doubling per window until the first sign of trouble, then one
// more slot per window), and cuts back when the server answers 429/503 or when latency climbs
// well above the best seen (an overloaded server slows down before it refuses). It never
// exceeds the configured maximum. This is additive-increase/multiplicative-decrease with a
// latency gradient, the core of Netflix's concurrency-limits (AIMD and Gradient2), kept small
// because no maintained Go port of that library is available to this project.
//
// Retry-After is honoured in two ways: the limit does not grow again before the server's
// Retry-After has passed, and once the limit is down to one call, no new call starts before
// it (the caller's own retry waits for it too, see internal/pingid).
package concurrency

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Tuning. The numbers follow the usual TCP/AIMD choices; they are not user settings.
const (
	// DefaultInitial is the limit a controller starts at (the fixed default before issue 15).
	DefaultInitial = 8
	// overloadBackoff is the factor applied to the limit on 429/503 or a timed-out call
	// (Netflix's AIMD default). Cutting deeper wastes more of a rate limit: against a token
	// bucket of 500 calls/s at 100 ms, 0.9 read 10 000 users in 1.09-1.11 x N/R, 0.75 in 1.15.
	overloadBackoff = 0.9
	// latencyBackoff is the gentler factor applied when latency climbs.
	latencyBackoff = 0.9
	// latencyTolerance: a window whose mean latency exceeds this multiple of the baseline
	// (the best window mean seen recently) means the server is queueing.
	latencyTolerance = 1.5
	// baselineDrift lets the baseline follow a lasting change of the network's latency
	// (1/64 of the difference per window), so a slower route does not pin the limit at 1.
	baselineDrift = 64
	// minWindowSamples keeps tiny limits from judging latency on one or two calls.
	minWindowSamples = 4
	// holdWithoutRetryAfter is how long growth stops after an overload answer that carried
	// no Retry-After.
	holdWithoutRetryAfter = time.Second
)

// Options configures a Controller.
type Options struct {
	Max     int // the cap; at least 1
	Initial int // starting limit; 0 = min(DefaultInitial, Max)

	// Now and After are the clock; time.Now and time.After when nil (tests use a fake clock).
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// Outcome is what became of a call that held a slot.
type Outcome int

const (
	// Succeeded: the server answered (any answer that is not overload); its latency counts.
	Succeeded Outcome = iota
	// Overloaded: 429, 503 or a call that timed out; the limit is cut.
	Overloaded
	// Failed: no usable answer (connection error, cancelled): no latency sample, no cut.
	Failed
)

// Stats is a snapshot for progress reporting.
type Stats struct {
	Limit    int // calls allowed in flight now
	Max      int
	InFlight int
	Peak     int // highest limit reached
	Cuts     int // times the limit was cut
}

// Controller limits calls in flight. It is safe for concurrent use.
type Controller struct {
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
	max   float64

	mu        sync.Mutex
	limit     float64
	inFlight  int
	slowStart bool
	peak      int
	cuts      int
	changed   chan struct{} // closed and replaced whenever a waiter may proceed

	baseline time.Duration // best window mean latency seen (drifting); 0 = none yet
	lastCut  time.Time     // calls started before it were sent at the old limit
	growFrom time.Time     // no growth before (Retry-After)
	pauseTil time.Time     // no new calls before (Retry-After at the floor)

	// The current window: roughly one round trip's worth of calls.
	winSamples int
	winLatency time.Duration
	winMaxUsed int
	winStarted time.Time
}

// New builds a controller. Max below 1 is treated as 1.
func New(o Options) *Controller {
	maxLimit := max(o.Max, 1)
	initial := o.Initial
	if initial <= 0 {
		initial = DefaultInitial
	}
	initial = min(initial, maxLimit)
	c := &Controller{
		now: o.Now, after: o.After, max: float64(maxLimit),
		limit: float64(initial), slowStart: true, peak: initial,
		changed: make(chan struct{}),
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.after == nil {
		c.after = time.After
	}
	c.winStarted = c.now()
	return c
}

// Slot is one call's permission to be in flight. Release it exactly once.
type Slot struct {
	c       *Controller
	started time.Time
}

// Acquire waits until a call may start: fewer calls in flight than the limit and no
// Retry-After pause in force.
func (c *Controller) Acquire(ctx context.Context) (Slot, error) {
	for {
		if err := ctx.Err(); err != nil {
			return Slot{}, fmt.Errorf("waiting for a concurrency slot: %w", err)
		}
		slot, ok, pause, changed := c.tryAcquire()
		if ok {
			return slot, nil
		}
		select {
		case <-ctx.Done():
			return Slot{}, fmt.Errorf("waiting for a concurrency slot: %w", ctx.Err())
		case <-changed:
		case <-pause:
		}
	}
}

// tryAcquire takes a slot if one is free; otherwise it returns what to wait for: the end of
// a Retry-After pause (nil when none) or a change of the controller's state.
func (c *Controller) tryAcquire() (slot Slot, ok bool, pause <-chan time.Time, changed <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if now.Before(c.pauseTil) {
		return Slot{}, false, c.after(c.pauseTil.Sub(now)), c.changed
	}
	if c.inFlight >= int(c.limit) {
		return Slot{}, false, nil, c.changed
	}
	c.inFlight++
	c.winMaxUsed = max(c.winMaxUsed, c.inFlight)
	return Slot{c: c, started: now}, true, nil, nil
}

// Release returns the slot and feeds the outcome to the controller. retryAfter is the
// server's Retry-After for an Overloaded outcome (0 when it sent none), already capped by
// whatever the caller is willing to wait.
func (s Slot) Release(outcome Outcome, retryAfter time.Duration) {
	c := s.c
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight--
	now := c.now()
	switch outcome {
	case Overloaded:
		c.overloaded(s.started, now, retryAfter)
	case Succeeded:
		c.succeeded(now.Sub(s.started), now)
	case Failed:
		// No usable answer: neither a latency sample nor a sign of overload.
	}
	c.peak = max(c.peak, int(c.limit))
	c.broadcast()
}

func (c *Controller) broadcast() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Controller) overloaded(started, now time.Time, retryAfter time.Duration) {
	c.slowStart = false
	hold := retryAfter
	if hold <= 0 {
		hold = holdWithoutRetryAfter
	}
	if until := now.Add(hold); until.After(c.growFrom) {
		c.growFrom = until
	}
	if started.Before(c.lastCut) {
		return // sent at the old limit: the cut already answered it
	}
	if int(c.limit) <= 1 {
		// Nothing left to cut: stop sending until the server said to come back. Without a
		// Retry-After, the caller's own backoff spaces the calls.
		if until := now.Add(retryAfter); retryAfter > 0 && until.After(c.pauseTil) {
			c.pauseTil = until
		}
		return
	}
	c.cut(overloadBackoff, now)
}

func (c *Controller) cut(factor float64, now time.Time) {
	c.limit = max(1, c.limit*factor)
	c.lastCut = now
	c.cuts++
	c.resetWindow(now)
}

func (c *Controller) resetWindow(now time.Time) {
	c.winSamples, c.winLatency, c.winMaxUsed, c.winStarted = 0, 0, c.inFlight, now
}

func (c *Controller) succeeded(latency time.Duration, now time.Time) {
	c.winSamples++
	c.winLatency += latency
	if c.winSamples < max(int(c.limit), minWindowSamples) {
		return
	}
	mean := c.winLatency / time.Duration(c.winSamples)
	used := c.winMaxUsed >= int(c.limit)
	windowStart := c.winStarted
	c.resetWindow(now)

	switch {
	case c.baseline == 0 || mean < c.baseline:
		c.baseline = mean
	default:
		c.baseline += (mean - c.baseline) / baselineDrift
	}
	if float64(mean) > latencyTolerance*float64(c.baseline) && !windowStart.Before(c.lastCut) {
		c.slowStart = false
		c.cut(latencyBackoff, now)
		return
	}
	if !used || now.Before(c.growFrom) {
		return // idle slots prove nothing; after Retry-After the server decides when
	}
	if c.slowStart {
		c.limit = min(c.max, c.limit*2)
	} else {
		c.limit = min(c.max, c.limit+1)
	}
}

// Limit is the number of calls allowed in flight now.
func (c *Controller) Limit() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int(c.limit)
}

// Max is the cap.
func (c *Controller) Max() int { return int(c.max) }

// Stats returns a snapshot.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Limit: int(c.limit), Max: int(c.max), InFlight: c.inFlight, Peak: c.peak, Cuts: c.cuts}
}

package emulator

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits models the capacity of the service, for benchmarks and for clients that must adapt
// to it. They are not faults: they hold for every call until changed, and Reset keeps them
// (like the command line they usually come from).
//
// Inferred: PingID publishes no rate limit or capacity (research §2.9); these are the usual
// shapes of an API gateway (a token bucket answering 429 with Retry-After) in front of a
// service that queues once it has more calls in flight than it has workers.
type Limits struct {
	// Latency is added to every admitted API call (the network and service time of a call).
	Latency time.Duration
	// RatePerSecond is the token bucket's refill rate: beyond it, calls are answered 429 with
	// a Retry-After (whole seconds, at least 1) at once, before any processing. 0 = no limit.
	RatePerSecond float64
	// Burst is the bucket's size; 0 = a tenth of a second's worth of RatePerSecond (at least 1).
	Burst int
	// QueueAfter is how many calls the service works on at once: with more in flight, each
	// call's latency grows in proportion (Latency × in flight / QueueAfter), so throughput
	// stops growing and latency climbs, as with an overloaded server. 0 = no queueing.
	QueueAfter int
}

// Validate rejects negative or non-finite settings.
func (l Limits) Validate() error {
	switch {
	case l.Latency < 0:
		return errors.New("latency must not be negative")
	case l.RatePerSecond < 0 || math.IsNaN(l.RatePerSecond) || math.IsInf(l.RatePerSecond, 0):
		return errors.New("rate must be a finite number ≥ 0")
	case l.Burst < 0:
		return errors.New("burst must not be negative")
	case l.QueueAfter < 0:
		return errors.New("queue threshold must not be negative")
	}
	return nil
}

// LimitStats is what the limits did since the counters were last reset (ResetCalls).
type LimitStats struct {
	InFlight     int   // admitted calls being processed now
	PeakInFlight int   // the most admitted calls in flight at once
	Throttled    int64 // calls answered 429 by the rate limit
	Admitted     int64 // calls that passed the rate limit
}

// limiter applies Limits. Its methods are safe for concurrent use.
type limiter struct {
	mu       sync.Mutex
	limits   Limits
	bucket   *rate.Limiter // nil without a rate limit
	inFlight int
	stats    LimitStats
}

// SetLimits installs l, replacing earlier limits (a fresh, full token bucket).
func (s *Server) SetLimits(l Limits) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("emulator limits: %w", err)
	}
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	s.limits.limits = l
	s.limits.bucket = nil
	if l.RatePerSecond > 0 {
		burst := l.Burst
		if burst == 0 {
			burst = max(1, int(math.Ceil(l.RatePerSecond/10)))
		}
		s.limits.bucket = rate.NewLimiter(rate.Limit(l.RatePerSecond), burst) // starts full
	}
	return nil
}

// Limits returns the limits in force.
func (s *Server) Limits() Limits {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	return s.limits.limits
}

// LimitStats returns what the limits did since the last ResetCalls.
func (s *Server) LimitStats() LimitStats {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	st := s.limits.stats
	st.InFlight = s.limits.inFlight
	return st
}

func (s *Server) resetLimitStats() {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	s.limits.stats = LimitStats{PeakInFlight: s.limits.inFlight}
}

// admit applies the rate limit to one call. Admitted calls count as in flight until done is
// called, and get the latency to wait before processing; refused ones get the Retry-After.
func (s *Server) admit() (latency time.Duration, done func(), retryAfter time.Duration, ok bool) {
	l := &s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bucket != nil {
		now := s.now()
		if !l.bucket.AllowN(now, 1) {
			l.stats.Throttled++
			missing := 1 - l.bucket.TokensAt(now)
			wait := time.Duration(missing / l.limits.RatePerSecond * float64(time.Second))
			return 0, nil, max(wait, time.Second), false
		}
	}
	l.stats.Admitted++
	l.inFlight++
	l.stats.PeakInFlight = max(l.stats.PeakInFlight, l.inFlight)
	latency = l.limits.Latency
	if q := l.limits.QueueAfter; q > 0 && l.inFlight > q {
		latency = time.Duration(float64(latency) * float64(l.inFlight) / float64(q))
	}
	return latency, func() {
		l.mu.Lock()
		l.inFlight--
		l.mu.Unlock()
	}, 0, true
}

package emulator

import (
	"maps"
	"math/rand/v2"
	"strings"
	"time"
)

// Fault describes injected misbehaviour for one operation (or all). None of it is part of the
// real API; it exists to exercise a client's timeouts and retries.
//
// Each call draws one random number, so at most one of the rate-based faults fires per call, in
// this order: Drop, 429, 500, 503, DropAfterProcess, BadSignature. Latency is added to every call.
type Fault struct {
	Latency time.Duration // added to every call of the op (ends early if the client goes away)

	Rate429    float64       // fraction of calls answered 429 Too Many Requests
	RetryAfter time.Duration // sent as Retry-After (whole seconds, rounded up) on 429 and 503

	Rate500 float64
	Rate503 float64

	DropRate float64 // close the connection without a response, before processing

	// DropAfterProcessRate processes the call (state changes!) and then closes the connection
	// without a response: the "lost adduser response" case.
	DropAfterProcessRate float64

	// BadSignatureRate signs the (otherwise correct) response with a different key.
	BadSignatureRate float64

	// Count > 0 limits the fault to the next Count calls it applies to (for "*": calls of any op
	// without a fault of its own); then it clears itself.
	Count int
}

type faultAction int

const (
	faultNone faultAction = iota
	faultDrop
	fault429
	fault500
	fault503
	faultDropAfterProcess
	faultBadSignature
)

// pick draws which rate-based fault fires for one call.
func (f Fault) pick() faultAction {
	draw := rand.Float64()
	edge := 0.0
	for _, c := range []struct {
		rate   float64
		action faultAction
	}{
		{f.DropRate, faultDrop},
		{f.Rate429, fault429},
		{f.Rate500, fault500},
		{f.Rate503, fault503},
		{f.DropAfterProcessRate, faultDropAfterProcess},
		{f.BadSignatureRate, faultBadSignature},
	} {
		if c.rate <= 0 {
			continue
		}
		edge += c.rate
		if draw < edge {
			return c.action
		}
	}
	return faultNone
}

func normalizeFaultOp(op string) string {
	op = strings.ToLower(strings.TrimSpace(op))
	if op == "" {
		return "*"
	}
	return op
}

// SetFault installs f for op ("" or "*" = every operation), replacing any earlier fault for op.
// A fault for a specific op takes precedence over the "*" fault.
func (s *Server) SetFault(op string, f Fault) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.faults[normalizeFaultOp(op)] = &f
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.faults = map[string]*Fault{}
}

// Faults returns the active faults by op ("*" = all), with their remaining Count.
func (s *Server) Faults() map[string]Fault {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	out := make(map[string]Fault, len(s.faults))
	for op, f := range s.faults {
		out[op] = *f
	}
	return out
}

// takeFault returns the fault that applies to this call of op and consumes one of its Count.
func (s *Server) takeFault(op string) (Fault, bool) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	key := op
	f, ok := s.faults[key]
	if !ok {
		key = "*"
		if f, ok = s.faults[key]; !ok {
			return Fault{}, false
		}
	}
	if f.Count > 0 {
		f.Count--
		if f.Count == 0 {
			delete(s.faults, key)
		}
	}
	return *f, true
}

func (s *Server) countCall(op string) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.calls[op]++
}

// Calls returns the number of API requests per operation (successful, failed and faulted).
func (s *Server) Calls() map[string]int64 {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return maps.Clone(s.calls)
}

// ResetCalls zeroes the call counters, the limits' counters included.
func (s *Server) ResetCalls() {
	s.faultMu.Lock()
	s.calls = map[string]int64{}
	s.faultMu.Unlock()
	s.resetLimitStats()
}

package emulator

import (
	"testing"
	"time"
)

// TestQueueingLatencyGrowsPastTheThreshold checks the latency model directly: up to
// QueueAfter calls in flight each get the base latency, beyond it latency grows in proportion.
func TestQueueingLatencyGrowsPastTheThreshold(t *testing.T) {
	srv, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetLimits(Limits{Latency: 100 * time.Millisecond, QueueAfter: 2}); err != nil {
		t.Fatal(err)
	}
	var dones []func()
	var got []time.Duration
	for range 4 {
		latency, done, _, ok := srv.admit()
		if !ok {
			t.Fatal("refused without a rate limit")
		}
		got = append(got, latency)
		dones = append(dones, done)
	}
	want := []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 200 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("latencies with 1..4 in flight = %v, want %v", got, want)
		}
	}
	if st := srv.LimitStats(); st.InFlight != 4 || st.PeakInFlight != 4 || st.Admitted != 4 {
		t.Errorf("stats = %+v", st)
	}
	for _, done := range dones {
		done()
	}
	if latency, done, _, _ := srv.admit(); latency != 100*time.Millisecond {
		t.Errorf("latency after the queue drained = %v, want 100ms", latency)
	} else {
		done()
	}
	srv.ResetCalls()
	if st := srv.LimitStats(); st.InFlight != 0 || st.PeakInFlight != 0 || st.Admitted != 0 {
		t.Errorf("stats after ResetCalls = %+v", st)
	}
}

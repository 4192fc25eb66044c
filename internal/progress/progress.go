// Package progress reports long PingID work (a refresh of every managed user, the plan's
// look-ups, an apply) through tflog: an INFO line at most every 10 seconds while the work
// runs, with done/total, calls per second, the client's current concurrency, retries and
// 429s so far and an ETA, and one summary line at the end. TF_LOG_PROVIDER=INFO shows a
// 50 000-user refresh moving instead of a silent wait.
package progress

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
)

// DefaultInterval is the least time between two progress lines.
const DefaultInterval = 10 * time.Second

// StatsSource is the PingID client (or a fake in tests).
type StatsSource interface {
	Stats() pingid.Stats
}

// Options configures a Tracker; zero values select the defaults.
type Options struct {
	Interval time.Duration // DefaultInterval when 0
	// Now and After are the clock; time.Now and time.After when nil.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// Tracker follows one piece of work. Done is safe for concurrent use.
type Tracker struct {
	ctx      context.Context
	what     string
	total    int
	client   StatsSource
	interval time.Duration
	now      func() time.Time
	after    func(time.Duration) <-chan time.Time

	done    atomic.Int64
	started time.Time
	base    pingid.Stats // client counters when the work started
	stop    chan struct{}
	stopped sync.WaitGroup

	mu       sync.Mutex
	last     time.Time    // time of the last progress line (or the start)
	lastDone int64        // done at that time
	lastSeen pingid.Stats // client counters at that time
	peak     int          // highest concurrency seen in a report
}

// Reporter starts trackers for one object's work. The zero Reporter reports nothing.
type Reporter struct {
	Client  StatsSource // the PingID client whose calls the work makes
	Label   string      // the object, e.g. `pingid_provisioning_connection "corp"`
	Options Options
}

// Start begins tracking work of total users, e.g. r.Start(ctx, "refresh", 50000). It returns
// nil (whose methods do nothing) for the zero Reporter or when there is nothing to do.
func (r Reporter) Start(ctx context.Context, work string, total int) *Tracker {
	if r.Client == nil || total <= 0 {
		return nil
	}
	what := work
	if r.Label != "" {
		what = r.Label + " " + work
	}
	return Start(ctx, what, total, r.Client, r.Options)
}

// Start begins tracking work of total items, described by what (e.g.
// `pingid_provisioning_connection "corp" refresh`). Call Finish when the work ends.
func Start(ctx context.Context, what string, total int, client StatsSource, opts Options) *Tracker {
	t := &Tracker{
		ctx: ctx, what: what, total: total, client: client,
		interval: opts.Interval, now: opts.Now, after: opts.After,
		stop: make(chan struct{}),
	}
	if t.interval <= 0 {
		t.interval = DefaultInterval
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.after == nil {
		t.after = time.After
	}
	t.started = t.now()
	t.base = client.Stats()
	t.last, t.lastSeen, t.peak = t.started, t.base, t.base.Concurrency
	t.stopped.Add(1)
	go t.loop()
	return t
}

// Done records n more items finished (successfully or not).
func (t *Tracker) Done(n int) {
	if t != nil {
		t.done.Add(int64(n))
	}
}

func (t *Tracker) loop() {
	defer t.stopped.Done()
	for {
		select {
		case <-t.stop:
			return
		case <-t.after(t.interval):
			t.report()
		}
	}
}

// report writes one progress line.
func (t *Tracker) report() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	st := t.client.Stats()
	done := t.done.Load()
	interval := now.Sub(t.last).Seconds()
	callsPerSecond := 0.0
	if interval > 0 {
		callsPerSecond = float64(st.Attempts-t.lastSeen.Attempts) / interval
	}
	t.peak = max(t.peak, st.Concurrency)
	fields := map[string]any{
		"work": t.what, "done": done, "total": t.total,
		"calls_per_second": round1(callsPerSecond), "concurrency": st.Concurrency, "max_concurrency": st.MaxConcurrency,
		"retries": st.Retries - t.base.Retries, "http_429": st.Throttled - t.base.Throttled, "http_503": st.Unavailable - t.base.Unavailable,
	}
	eta := "unknown"
	if recent := done - t.lastDone; recent > 0 && interval > 0 && int64(t.total) >= done {
		secs := float64(int64(t.total)-done) / (float64(recent) / interval)
		fields["eta_seconds"] = int64(secs + 0.5)
		eta = (time.Duration(secs) * time.Second).Round(time.Second).String()
	}
	tflog.Info(t.ctx, fmt.Sprintf("PingID progress: %s: %d/%d users (%d%%), %.0f calls/s, concurrency %d/%d, %d retries, %d 429s so far, ETA %s",
		t.what, done, t.total, percent(done, t.total), callsPerSecond, st.Concurrency, st.MaxConcurrency,
		st.Retries-t.base.Retries, st.Throttled-t.base.Throttled, eta), fields)
	t.last, t.lastDone, t.lastSeen = now, done, st
}

// Finish stops the progress lines and writes the summary line; err is the work's outcome.
func (t *Tracker) Finish(err error) {
	if t == nil {
		return
	}
	close(t.stop)
	t.stopped.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	elapsed := t.now().Sub(t.started)
	st := t.client.Stats()
	calls := st.Attempts - t.base.Attempts
	callsPerSecond := 0.0
	if elapsed > 0 {
		callsPerSecond = float64(calls) / elapsed.Seconds()
	}
	t.peak = max(t.peak, st.Concurrency)
	outcome := "finished"
	if err != nil {
		outcome = "stopped"
	}
	done := t.done.Load()
	fields := map[string]any{
		"work": t.what, "done": done, "total": t.total, "elapsed_seconds": round1(elapsed.Seconds()),
		"calls": calls, "calls_per_second": round1(callsPerSecond),
		"concurrency": st.Concurrency, "peak_concurrency": t.peak, "max_concurrency": st.MaxConcurrency,
		"retries": st.Retries - t.base.Retries, "http_429": st.Throttled - t.base.Throttled, "http_503": st.Unavailable - t.base.Unavailable,
	}
	if err != nil {
		fields["error"] = err.Error()
	}
	tflog.Info(t.ctx, fmt.Sprintf("PingID %s %s: %d/%d users in %s, %d calls (%.0f/s), concurrency %d (peak %d, max %d), %d retries, %d 429s",
		t.what, outcome, done, t.total, elapsed.Round(100*time.Millisecond), calls, callsPerSecond,
		st.Concurrency, t.peak, st.MaxConcurrency, st.Retries-t.base.Retries, st.Throttled-t.base.Throttled), fields)
}

func percent(done int64, total int) int64 {
	if total <= 0 {
		return 100
	}
	return done * 100 / int64(total)
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

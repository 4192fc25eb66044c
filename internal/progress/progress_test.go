package progress

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
)

type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

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

func (f *fakeClock) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
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

type fakeClient struct {
	mu sync.Mutex
	st pingid.Stats
}

func (f *fakeClient) Stats() pingid.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fakeClient) set(fn func(*pingid.Stats)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.st)
}

// syncBuffer collects log output written from the tracker's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	entries, err := tflogtest.MultilineJSONDecode(bytes.NewReader(s.b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// waitLines waits until the tracker's goroutine has written n lines (it runs on its own).
func (s *syncBuffer) waitLines(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines := s.lines(t)
		if len(lines) >= n || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(time.Millisecond)
	}
}

// waitArmed waits until the tracker's loop waits on the clock again.
func waitArmed(t *testing.T, clock *fakeClock) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for clock.pending() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("tracker never waited on the clock")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestProgressLinesAtMostEveryIntervalAndASummary(t *testing.T) {
	var out syncBuffer
	ctx := tflogtest.RootLogger(context.Background(), &out)
	clock := &fakeClock{now: time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)}
	client := &fakeClient{st: pingid.Stats{Attempts: 100, Retries: 1, Throttled: 1, Concurrency: 8, MaxConcurrency: 64}}
	tr := Start(ctx, "refresh of pingid_provisioning_connection.corp", 10000, client, Options{Now: clock.Now, After: clock.After})

	// Nine seconds of work: no line yet.
	for range 9 {
		waitArmed(t, clock)
		tr.Done(100)
		clock.Advance(time.Second)
	}
	if lines := out.lines(t); len(lines) != 0 {
		t.Fatalf("%d lines before the interval passed: %v", len(lines), lines)
	}
	client.set(func(s *pingid.Stats) { s.Attempts += 2000; s.Retries += 3; s.Throttled += 2; s.Concurrency = 32 })
	tr.Done(1100) // 2 000 done after 10 s
	clock.Advance(time.Second)
	lines := out.waitLines(t, 1)
	if len(lines) != 1 {
		t.Fatalf("lines after 10 s = %d, want 1", len(lines))
	}
	first := lines[0]
	want := map[string]any{
		"@level": "info", "done": 2000.0, "total": 10000.0, "calls_per_second": 200.0, "concurrency": 32.0,
		"max_concurrency": 64.0, "retries": 3.0, "http_429": 2.0, "eta_seconds": 40.0,
	}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("first progress line %s = %v, want %v (line %v)", k, first[k], v, first)
		}
	}
	msg, _ := first["@message"].(string)
	if !strings.Contains(msg, "2000/10000 users (20%)") || !strings.Contains(msg, "concurrency 32/64") || !strings.Contains(msg, "ETA 40s") {
		t.Errorf("message = %q", msg)
	}

	// Another 25 s: two more lines, never more than one per 10 s.
	for range 25 {
		waitArmed(t, clock)
		tr.Done(100)
		clock.Advance(time.Second)
	}
	if lines := out.waitLines(t, 3); len(lines) != 3 {
		t.Fatalf("lines after 35 s = %d, want 3", len(lines))
	}

	client.set(func(s *pingid.Stats) { s.Attempts = 100 + 10050; s.Concurrency = 40 })
	tr.Done(10000 - 4500)
	tr.Finish(nil)
	lines = out.lines(t)
	if len(lines) != 4 {
		t.Fatalf("lines after Finish = %d, want 4", len(lines))
	}
	summary := lines[3]
	for k, v := range map[string]any{"done": 10000.0, "calls": 10050.0, "elapsed_seconds": 35.0, "peak_concurrency": 40.0, "retries": 3.0, "http_429": 2.0} {
		if summary[k] != v {
			t.Errorf("summary %s = %v, want %v (line %v)", k, summary[k], v, summary)
		}
	}
	if msg, _ := summary["@message"].(string); !strings.Contains(msg, "finished: 10000/10000 users in 35s") {
		t.Errorf("summary message = %q", msg)
	}
	// Nothing after Finish.
	clock.Advance(time.Minute)
	time.Sleep(20 * time.Millisecond)
	if n := len(out.lines(t)); n != 4 {
		t.Errorf("%d lines after Finish, want 4", n)
	}
}

func TestSummaryOfFailedWork(t *testing.T) {
	var out syncBuffer
	ctx := tflogtest.RootLogger(context.Background(), &out)
	clock := &fakeClock{now: time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)}
	tr := Start(ctx, "apply", 3, &fakeClient{}, Options{Now: clock.Now, After: clock.After})
	tr.Done(1)
	tr.Finish(errors.New("directory unreachable"))
	lines := out.lines(t)
	if msg, _ := lines[0]["@message"].(string); len(lines) != 1 || lines[0]["error"] != "directory unreachable" || !strings.Contains(msg, "apply stopped: 1/3 users") {
		t.Errorf("lines = %v", lines)
	}
}

func TestReporter(t *testing.T) {
	var out syncBuffer
	ctx := tflogtest.RootLogger(context.Background(), &out)
	var none Reporter
	tr := none.Start(ctx, "refresh", 10)
	tr.Done(10) // a nil tracker does nothing
	tr.Finish(nil)
	if tr := (Reporter{Client: &fakeClient{}}).Start(ctx, "refresh", 0); tr != nil {
		t.Error("a tracker for no work")
	}
	clock := &fakeClock{now: time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)}
	r := Reporter{Client: &fakeClient{}, Label: `pingid_provisioning_connection "corp"`, Options: Options{Now: clock.Now, After: clock.After}}
	tr = r.Start(ctx, "apply", 2)
	tr.Done(2)
	tr.Finish(nil)
	lines := out.lines(t)
	if len(lines) != 1 || lines[0]["work"] != `pingid_provisioning_connection "corp" apply` {
		t.Errorf("lines = %v", lines)
	}
}

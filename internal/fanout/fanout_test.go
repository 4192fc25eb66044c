package fanout

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestEachRunsEveryItemWithinTheLimit(t *testing.T) {
	const n, limit = 200, 4
	var inFlight, peak atomic.Int32
	seen := make([]bool, n)
	var mu sync.Mutex
	err := Each(context.Background(), n, limit, func(_ context.Context, i int) error {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		mu.Lock()
		seen[i] = true
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("Each = %v", err)
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("item %d never ran", i)
		}
	}
	if p := peak.Load(); p > limit || p < 1 {
		t.Fatalf("peak concurrency %d, want 1..%d", p, limit)
	}
}

func TestEachZeroLimitRunsOneAtATime(t *testing.T) {
	var inFlight, peak atomic.Int32
	err := Each(context.Background(), 20, 0, func(context.Context, int) error {
		if c := inFlight.Add(1); c > peak.Load() {
			peak.Store(c)
		}
		inFlight.Add(-1)
		return nil
	})
	if err != nil || peak.Load() != 1 {
		t.Fatalf("Each = %v, peak %d; want nil, 1", err, peak.Load())
	}
}

func TestEachFirstErrorCancelsTheRest(t *testing.T) {
	boom := errors.New("boom")
	var started atomic.Int32
	err := Each(context.Background(), 1000, 2, func(ctx context.Context, i int) error {
		started.Add(1)
		if i == 0 {
			return boom
		}
		<-ctx.Done() // every other call waits until the failure cancels it
		return ctx.Err()
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Each = %v, want %v", err, boom)
	}
	if s := started.Load(); s >= 1000 {
		t.Fatalf("%d calls started; the failure should stop new ones", s)
	}
}

func TestEachCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var started atomic.Int32
	err := Each(ctx, 10, 2, func(context.Context, int) error { started.Add(1); return nil })
	if !errors.Is(err, context.Canceled) || started.Load() != 0 {
		t.Fatalf("Each = %v with %d calls; want context.Canceled and none", err, started.Load())
	}
}

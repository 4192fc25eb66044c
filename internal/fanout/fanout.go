// Package fanout runs per-user PingID work with bounded concurrency. Both steps of the pipeline
// that call PingID once per user (the gather step's look-ups in internal/source and the
// executor's actions in internal/executor) go through Each, so the concurrency policy lives in
// one place.
package fanout

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// Each calls fn(ctx, i) for every i in [0, n), with at most limit calls in flight (at least
// one). The first error fn returns cancels the context the other calls get, no call starts after
// it, and Each returns it. When ctx is cancelled no further call starts and Each returns
// ctx.Err(); calls already running get the cancelled context. A caller that needs an outcome
// per item records it itself and returns nil from fn.
func Each(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(limit, 1))
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(gctx, i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// Issue 15's cases, run on the state the main phases leave behind (PingID already holds the N
// users): a no-change plan with full drift detection against a rate-limited PingID, and a plan
// with rolling drift detection after 1 % of the users changed.

// Targets from issue 15.
const (
	targetLimitedFactor  = 1.25 // no-change plan ≤ 1.25 × N/R
	targetThrottledShare = 0.02 // 429s ≤ 2 % of calls
	targetFull20msLargeN = 45 * time.Second
	targetRollingPlan    = 20 * time.Second
	targetFirstApply10k  = 30 * time.Second
	inFlightSampleEvery  = 250 * time.Millisecond
)

// limitedResult is the no-change plan under a rate limit.
type limitedResult struct {
	Latency   time.Duration
	Rate      float64
	Plan      phase
	Throttled int64 // 429s the emulator answered
	Admitted  int64
	InFlight  []inFlightBucketStat
	// The provider's own progress lines and refresh summary (TF_LOG_PROVIDER=INFO).
	Progress []progressLine
	Refresh  *progressSummary
}

// inFlightBucketStat is the calls in flight at the emulator over one stretch of the phase:
// while the client is saturated, that is the controller's limit.
type inFlightBucketStat struct {
	From      time.Duration
	Mean      float64
	Max       int
	Throttled int64 // 429s answered in the stretch
}

// rollingResult is the plan after 1 % changed, with drift_detection = "rolling".
type rollingResult struct {
	Latency time.Duration
	Setup   phase // the apply that switches the connection to rolling (reads everyone once)
	Warm    phase // a no-change apply that saves the bookkeeping of the first rolling read
	Changed int
	Plan    phase
	Refresh *progressSummary // the provider's summary line of the plan's PingID reads
}

// IdealLimited is N/R: the time the rate limit alone needs for one call per user.
func (l *limitedResult) IdealLimited(n int) time.Duration {
	return time.Duration(float64(n) / l.Rate * float64(time.Second))
}

// ThrottledShare is 429s over all calls of the phase.
func (l *limitedResult) ThrottledShare() float64 {
	return ratio(float64(l.Throttled), float64(l.Throttled+l.Admitted))
}

// inFlightSample is one look at the emulator during a phase.
type inFlightSample struct {
	At        time.Duration
	InFlight  int
	Throttled int64 // 429s so far in the phase
}

// sampleInFlight polls the emulator until stop is closed.
func sampleInFlight(api *pingidAPI, stop <-chan struct{}) []inFlightSample {
	start := time.Now()
	base := api.srv.LimitStats().Throttled
	var out []inFlightSample
	ticker := time.NewTicker(inFlightSampleEvery)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return out
		case <-ticker.C:
			st := api.srv.LimitStats()
			out = append(out, inFlightSample{At: time.Since(start), InFlight: st.InFlight, Throttled: st.Throttled - base})
		}
	}
}

// sampled runs one phase while sampling the calls in flight at the emulator.
func sampled(api *pingidAPI, fn func() (phase, error)) (phase, []inFlightSample, error) {
	stop := make(chan struct{})
	var samples []inFlightSample
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); samples = sampleInFlight(api, stop) }()
	p, err := fn()
	close(stop)
	wg.Wait()
	return p, samples, err
}

// busyInFlight summarises the stretches in which PingID was being called.
func busyInFlight(buckets []inFlightBucketStat) (mean float64, peak int) {
	var sum float64
	n := 0
	for _, b := range buckets {
		if b.Max == 0 {
			continue
		}
		sum += b.Mean
		n++
		peak = max(peak, b.Max)
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), peak
}

// bucketInFlight groups samples into about 25 stretches of whole seconds.
func bucketInFlight(samples []inFlightSample) []inFlightBucketStat {
	if len(samples) == 0 {
		return nil
	}
	width := max(time.Second, (samples[len(samples)-1].At / 25).Round(time.Second))
	var out []inFlightBucketStat
	var sum, count int
	var lastThrottled int64
	for i, s := range samples {
		from := s.At.Truncate(width)
		if count == 0 {
			out = append(out, inFlightBucketStat{From: from})
		}
		cur := &out[len(out)-1]
		sum += s.InFlight
		count++
		cur.Max = max(cur.Max, s.InFlight)
		if i == len(samples)-1 || samples[i+1].At.Truncate(width) != from {
			cur.Mean = float64(sum) / float64(count)
			cur.Throttled = s.Throttled - lastThrottled
			lastThrottled = s.Throttled
			sum, count = 0, 0
		}
	}
	return out
}

// runThroughput runs issue 15's cases on the connection of the main phases.
func (b *bench) runThroughput(ctx context.Context, run, runLogged runFunc, api *pingidAPI,
	ldapDir *directory, tfDir string, res *sizeResult,
) error {
	n := res.N
	if b.cfg.cases["ratelimited"] {
		l := &limitedResult{Latency: b.cfg.limitedLatency, Rate: b.cfg.limitedRate}
		if err := api.setLimits(emulator.Limits{Latency: l.Latency, RatePerSecond: l.Rate, Burst: b.cfg.limitedBurst}); err != nil {
			return err
		}
		p, samples, err := sampled(api, func() (phase, error) {
			return runLogged(tfDir, "ratelimited-nochange-plan", []int{0, 2}, planArgs("")...)
		})
		st := api.srv.LimitStats()
		l.Plan, l.Throttled, l.Admitted, l.InFlight = p, st.Throttled, st.Admitted, bucketInFlight(samples)
		res.Limited = l
		if err != nil {
			return err
		}
		lines, summaries, err := readProgress(p)
		if err != nil {
			return err
		}
		l.Progress = lines
		if sum, ok := refresh(summaries); ok {
			l.Refresh = &sum
		} else {
			res.Problems = append(res.Problems, noRefreshSummary("rate-limited no-change plan"))
		}
		if p.PlanHasChange {
			res.Problems = append(res.Problems, "the rate-limited no-change plan proposed changes")
		}
		logf("N=%d: rate-limited no-change plan: %s (N/R %s), %d 429s of %d calls", n, secs(p.Wall), secs(l.IdealLimited(n)), st.Throttled, st.Throttled+st.Admitted)
	}
	if b.cfg.cases["rolling"] {
		r := &rollingResult{Latency: b.cfg.limitedLatency}
		if err := api.setLimits(api.limits); err != nil {
			return err
		}
		// The connection as the earlier phases left it (devices included), now rolling.
		if err := appendToLastBlock(filepath.Join(tfDir, "main.tf"), rollingSettings); err != nil {
			return err
		}
		var err error
		if r.Setup, err = run(tfDir, "rolling-setup-apply", []int{0}, directApplyArgs()...); err != nil {
			return err
		}
		if r.Warm, err = run(tfDir, "rolling-warm-apply", []int{0}, directApplyArgs()...); err != nil {
			return err
		}
		if err := api.setLimits(emulator.Limits{Latency: r.Latency}); err != nil {
			return err
		}
		if r.Changed, err = ldapDir.changeMail(ctx, n, 2); err != nil {
			return err
		}
		if r.Plan, err = runLogged(tfDir, "rolling-change-plan", []int{2}, planArgs("")...); err != nil {
			return err
		}
		_, summaries, err := readProgress(r.Plan)
		if err != nil {
			return err
		}
		if sum, ok := refresh(summaries); ok {
			r.Refresh = &sum
		}
		res.Rolling = r
		logf("N=%d: rolling plan after %d changed: %s, %d API calls", n, r.Changed, secs(r.Plan.Wall), r.Plan.CallTotal())
		if err := api.setLimits(api.limits); err != nil {
			return err
		}
	}
	return nil
}

const rollingSettings = `  drift_detection        = "rolling"
  drift_detection_window = "24h"
`

func directApplyArgs() []string {
	return []string{"apply", "-input=false", "-no-color", "-auto-approve"}
}

// appendToLastBlock adds settings inside the file's last block (the connection resource).
func appendToLastBlock(path, extra string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	text := string(data)
	i := strings.LastIndex(text, "}")
	if i < 0 {
		return fmt.Errorf("%s has no block", path)
	}
	if err := os.WriteFile(path, []byte(text[:i]+extra+text[i:]), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func (r *report) writeThroughput(b *strings.Builder) {
	var ran bool
	for _, s := range r.Sizes {
		ran = ran || s.Limited != nil || s.Rolling != nil
	}
	if !ran {
		return
	}
	b.WriteString("## Throughput at PingID's limits (issue 15)\n\n")
	b.WriteString("Run on the connection the phases above leave behind (PingID holds the N users). " +
		"Rate-limited: the emulator adds the latency to every call and answers 429 with `Retry-After` beyond R calls/s (token bucket); " +
		"the no-change plan refreshes every user (`drift_detection = \"full\"`). " +
		"Rolling: the connection is switched to `drift_detection = \"rolling\"` (one apply that reads everyone, one no-change apply that saves the bookkeeping), " +
		"1 % of the users change their mail, and the plan is timed.\n\n")
	b.WriteString("| users | case | wall | reference | API calls | 429s | provider peak RSS |\n|---:|---|---:|---|---|---:|---:|\n")
	for _, s := range r.Sizes {
		if l := s.Limited; l != nil {
			fmt.Fprintf(b, "| %d | full, no-change plan, %s per call, R = %g calls/s | %s | N/R = %s (×%.2f) | %s | %d (%.2f %%) | %s |\n",
				s.N, l.Latency, l.Rate, secs(l.Plan.Wall), secs(l.IdealLimited(s.N)), ratio(l.Plan.Wall.Seconds(), l.IdealLimited(s.N).Seconds()),
				formatCalls(l.Plan.Calls), l.Throttled, 100*l.ThrottledShare(), mb(l.Plan.ProviderKiB))
		}
		if ro := s.Rolling; ro != nil {
			fmt.Fprintf(b, "| %d | rolling, plan after %d changed, %s per call | %s | full no-change plan at 20 ms: %s | %s | – | %s |\n",
				s.N, ro.Changed, ro.Latency, secs(ro.Plan.Wall), secs(s.NoChangePlan.Wall), formatCalls(ro.Plan.Calls), mb(ro.Plan.ProviderKiB))
		}
	}
	b.WriteString("\n")
	for _, s := range r.Sizes {
		if mean, peak := busyInFlight(s.NoChangeInFlight); peak > 0 {
			fmt.Fprintf(b, "- %d users, (b) no-change plan at %s without a rate limit: %.1f calls in flight on average while PingID was read (peak %d, cap %d); "+
				"fewer than the cap means the client's limit held back (latency climbed) or the machine's CPUs were the bound.\n",
				s.N, r.Latency, mean, peak, r.Concurrency)
		}
	}
	b.WriteString("\n")
	for _, s := range r.Sizes {
		l := s.Limited
		if l == nil || len(l.InFlight) == 0 {
			continue
		}
		fmt.Fprintf(b, "Calls in flight at the emulator during the rate-limited no-change plan of %d users "+
			"(sampled every %s; while the provider is saturated this is its adaptive concurrency limit; "+
			"the first seconds are Terraform and the directory read, before the refresh starts):\n\n", s.N, inFlightSampleEvery)
		b.WriteString("| from | mean | max | 429s | |\n|---:|---:|---:|---:|---|\n")
		for _, bk := range l.InFlight {
			bar := strings.Repeat("#", int(bk.Mean/2+0.5))
			fmt.Fprintf(b, "| %ds | %.1f | %d | %d | `%s` |\n", int(bk.From.Seconds()), bk.Mean, bk.Max, bk.Throttled, bar)
		}
		b.WriteString("\n(one `#` = 2 calls in flight)\n\n")
		writeProgressLines(b, s.N, l)
	}
	r.writeBreakdown(b)
}

// writeProgressLines is the controller's own view of the rate-limited refresh.
func writeProgressLines(b *strings.Builder, n int, l *limitedResult) {
	if len(l.Progress) == 0 && l.Refresh == nil {
		return
	}
	fmt.Fprintf(b, "The provider's own progress lines during that plan (`TF_LOG_PROVIDER=INFO`, at most one per 10 s; "+
		"concurrency is the adaptive limit when the line was written, of `max_concurrency`):\n\n")
	b.WriteString("| at | users done | calls/s | concurrency | retries so far | 429s so far |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range l.Progress {
		fmt.Fprintf(b, "| %.0fs | %d/%d | %.0f | %d/%d | %d | %d |\n", p.At.Seconds(), p.Done, p.Total, p.CallsPerSecond, p.Concurrency, p.Max, p.Retries, p.Throttled)
	}
	if f := l.Refresh; f != nil {
		fmt.Fprintf(b, "| %.0fs | %d/%d (end) | %.0f | %d/%d (peak %d) | %d | %d |\n", f.At.Seconds(), f.Done, f.Total, f.CallsPerSecond, f.Concurrency, f.Max, f.Peak, f.Retries, f.Throttled)
		fmt.Fprintf(b, "\nThe refresh of %d users took %s: %d calls at %.0f calls/s = %.0f %% of R = %g (N/R = %s; refresh ÷ N/R = ×%.2f). "+
			"Calls in flight that R allows at %s per call: R × latency = %.0f.\n\n",
			n, secs(f.Elapsed), f.Calls, f.CallsPerSecond, 100*ratio(f.CallsPerSecond, l.Rate), l.Rate, secs(l.IdealLimited(n)),
			ratio(f.Elapsed.Seconds(), l.IdealLimited(n).Seconds()), l.Latency, l.Rate*l.Latency.Seconds())
	} else {
		b.WriteString("\n")
	}
}

// writeBreakdown splits the long plans into the PingID reads (the provider's summary line)
// and everything else, with the CPU each side used: what bounds the plan.
func (r *report) writeBreakdown(b *strings.Builder) {
	type row struct {
		n       int
		name    string
		p       phase
		refresh *progressSummary
	}
	var rows []row
	for _, s := range r.Sizes {
		rows = append(rows, row{s.N, fmt.Sprintf("(b) full no-change plan, %s per call", r.Latency), s.NoChangePlan, s.NoChangeRefresh})
		if l := s.Limited; l != nil {
			rows = append(rows, row{s.N, fmt.Sprintf("full no-change plan, %s per call, R = %g", l.Latency, l.Rate), l.Plan, l.Refresh})
		}
		if ro := s.Rolling; ro != nil {
			rows = append(rows, row{s.N, fmt.Sprintf("rolling plan after 1 %% changed, %s per call", ro.Latency), ro.Plan, ro.Refresh})
		}
	}
	logged := false
	for _, rw := range rows {
		logged = logged || rw.refresh != nil
	}
	if !logged {
		return
	}
	b.WriteString("## Where the time of a plan goes\n\n")
	b.WriteString("PingID reads: the provider's summary line of the refresh (`TF_LOG_PROVIDER=INFO`). The rest is Terraform (starting, reading and writing " +
		"the state, diffing), the provider's directory read and its planning. CPU: terraform with its provider processes (rusage), and this process " +
		"(the in-process PingID emulator: signature checks, JSON); busy = their sum ÷ wall, out of the machine's CPUs.\n\n")
	fmt.Fprintf(b, "| users | plan | wall | PingID reads | calls/s | peak concurrency | rest | CPU terraform + provider | CPU emulator | CPUs busy (of %d) | load |\n", r.Machine.NProc)
	b.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, rw := range rows {
		reads, cps, peak, rest := "–", "–", "–", "–"
		if f := rw.refresh; f != nil {
			reads, cps, peak = fmt.Sprintf("%s (%d calls)", secs(f.Elapsed), f.Calls), fmt.Sprintf("%.0f", f.CallsPerSecond), fmt.Sprintf("%d/%d", f.Peak, f.Max)
			rest = secs(max(0, rw.p.Wall-f.Elapsed))
		}
		fmt.Fprintf(b, "| %d | %s | %s | %s | %s | %s | %s | %.1fs | %.1fs | %.2f | %.1f |\n", rw.n, rw.name, secs(rw.p.Wall), reads, cps, peak, rest,
			rw.p.TotalCPU, rw.p.BenchCPU, ratio(rw.p.TotalCPU+rw.p.BenchCPU, rw.p.Wall.Seconds()), rw.p.Load)
	}
	b.WriteString("\n")
}

// throughputTargets are issue 15's targets.
func (r *report) throughputTargets() []targetResult {
	var out []targetResult
	notMeasured := func(name, why string) {
		out = append(out, targetResult{Name: name, Measured: why, Status: "not measured"})
	}
	largest := func(pick func(*sizeResult) bool) *sizeResult {
		var found *sizeResult
		for _, s := range r.Sizes {
			if pick(s) {
				found = s
			}
		}
		return found
	}

	name := fmt.Sprintf("full, %d users, rate-limited: no-change plan ≤ %.2f × N/R, 429s ≤ %.0f %% of calls", targetLargeN, targetLimitedFactor, 100*targetThrottledShare)
	if s := largest(func(s *sizeResult) bool { return s.Limited != nil }); s != nil {
		l := s.Limited
		q := ratio(l.Plan.Wall.Seconds(), l.IdealLimited(s.N).Seconds())
		measured := fmt.Sprintf("%s vs N/R %s (×%.2f, %s per call, R = %g); 429s %.2f %% (%d of %d calls)", secs(l.Plan.Wall), secs(l.IdealLimited(s.N)), q,
			l.Latency, l.Rate, 100*l.ThrottledShare(), l.Throttled, l.Throttled+l.Admitted)
		if f := l.Refresh; f != nil {
			measured += fmt.Sprintf("; the refresh alone %s (×%.2f, peak concurrency %d)", secs(f.Elapsed), ratio(f.Elapsed.Seconds(), l.IdealLimited(s.N).Seconds()), f.Peak)
		}
		status := passMiss(q <= targetLimitedFactor && l.ThrottledShare() <= targetThrottledShare)
		if s.N != targetLargeN {
			measured = fmt.Sprintf("at %d users (%d not measured): %s", s.N, targetLargeN, measured)
			status = "not measured"
		}
		limit := time.Duration(targetLimitedFactor * float64(l.IdealLimited(s.N)))
		mean, _ := busyInFlight(l.InFlight)
		why := r.bound(l.Plan, l.Refresh) + fmt.Sprintf("; calls in flight at the emulator while PingID was read: %.1f on average, R × latency = %.0f",
			mean, l.Rate*l.Latency.Seconds())
		out = append(out, targetResult{Name: name, Measured: measured, Limit: fmt.Sprintf("×%.2f = %s; %.0f %%", targetLimitedFactor, secs(limit), 100*targetThrottledShare),
			Status: status, Why: why})
	} else {
		notMeasured(name, "the ratelimited case was not run")
	}

	name = fmt.Sprintf("full, %d users, %s, no rate limit: no-change plan ≤ %s", targetLargeN, r.Latency, secs(targetFull20msLargeN))
	if s := r.size(targetLargeN); s != nil {
		out = append(out, targetResult{Name: name, Measured: secs(s.NoChangePlan.Wall), Limit: secs(targetFull20msLargeN),
			Status: passMiss(s.NoChangePlan.Wall <= targetFull20msLargeN), Why: r.bound(s.NoChangePlan, s.NoChangeRefresh)})
	} else if s := largest(func(*sizeResult) bool { return true }); s != nil {
		notMeasured(name, fmt.Sprintf("N=%d not in -sizes (at %d users: %s)", targetLargeN, s.N, secs(s.NoChangePlan.Wall)))
	}

	name = fmt.Sprintf("rolling, %d users, 1 %% changed: plan ≤ %s, API calls reported", targetLargeN, secs(targetRollingPlan))
	if s := largest(func(s *sizeResult) bool { return s.Rolling != nil }); s != nil {
		ro := s.Rolling
		measured := fmt.Sprintf("%s, %d API calls (%s) for %d changed users (%.2f per user of %d)", secs(ro.Plan.Wall), ro.Plan.CallTotal(), formatCalls(ro.Plan.Calls), ro.Changed,
			ratio(float64(ro.Plan.CallTotal()), float64(s.N)), s.N)
		status := passMiss(ro.Plan.Wall <= targetRollingPlan)
		if s.N != targetLargeN {
			measured = fmt.Sprintf("at %d users (%d not measured): %s", s.N, targetLargeN, measured)
			status = "not measured"
		}
		out = append(out, targetResult{Name: name, Measured: measured, Limit: secs(targetRollingPlan), Status: status, Why: r.bound(ro.Plan, ro.Refresh)})
	} else {
		notMeasured(name, "the rolling case was not run")
	}

	name = fmt.Sprintf("first plan + apply of %d creates (%s, no rate limit) ≤ %s together", targetN, r.Latency, secs(targetFirstApply10k))
	if s := r.size(targetN); s != nil {
		total := s.CreatePlan.Wall + s.CreateApply.Wall
		out = append(out, targetResult{Name: name, Measured: fmt.Sprintf("%s (%s + %s)", secs(total), secs(s.CreatePlan.Wall), secs(s.CreateApply.Wall)),
			Limit: secs(targetFirstApply10k), Status: passMiss(total <= targetFirstApply10k),
			Why: r.bound(s.CreatePlan, nil) + "; " + r.bound(s.CreateApply, nil)})
	} else {
		notMeasured(name, fmt.Sprintf("N=%d not in -sizes", targetN))
	}
	return append(out, r.scaleTargets()...)
}

// setLimits changes the emulator's limits without forgetting its users.
func (p *pingidAPI) setLimits(l emulator.Limits) error { return p.srv.SetLimits(l) }

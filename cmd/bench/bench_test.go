package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseVmHWM(t *testing.T) {
	tests := []struct {
		name   string
		status string
		want   int64
		ok     bool
	}{
		{"running process", "Name:\tterraform\nVmPeak:\t  900 kB\nVmHWM:\t   123456 kB\nVmRSS:\t 1000 kB\n", 123456, true},
		{"zombie has no memory lines", "Name:\tx\nState:\tZ (zombie)\n", 0, false},
		{"garbled value", "VmHWM:\t abc kB\n", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseVmHWM([]byte(tt.status))
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseVmHWM = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseCPUTicks(t *testing.T) {
	// utime=250 and stime=50 are fields 14 and 15; the command name holds spaces and ')'.
	stat := "4242 (weird) name) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 9 0 100 1000 200\n"
	got, ok := parseCPUTicks([]byte(stat))
	if !ok || got != 300 {
		t.Errorf("parseCPUTicks = %d, %v; want 300, true", got, ok)
	}
	if _, ok := parseCPUTicks([]byte("4242 (x) S 1 2")); ok {
		t.Error("a truncated stat line parsed")
	}
}

func TestReadProcStatsOfSelf(t *testing.T) {
	s, ok := readProcStats(os.Getpid(), 100)
	if !ok {
		t.Skip("no /proc on this system")
	}
	if s.HWMKiB <= 0 {
		t.Errorf("own VmHWM = %d KiB, want > 0", s.HWMKiB)
	}
}

func TestMonitorSeesAnnouncedProcesses(t *testing.T) {
	if _, ok := readProcStats(os.Getpid(), 100); !ok {
		t.Skip("no /proc on this system")
	}
	pidFile := filepath.Join(t.TempDir(), "pids")
	// Our own pid stands in for both terraform and a provider; a dead pid is counted without numbers.
	if err := os.WriteFile(pidFile, []byte("999999999\n"+strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := newMonitor(pidFile, time.Millisecond)
	m.start(os.Getpid())
	time.Sleep(5 * time.Millisecond)
	tf, provHWM, _, n := m.finish()
	if tf.HWMKiB <= 0 || provHWM <= 0 {
		t.Errorf("terraform HWM %d, provider HWM %d; want both > 0", tf.HWMKiB, provHWM)
	}
	if n != 2 {
		t.Errorf("provider processes = %d, want 2", n)
	}
}

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("10000, 1_000,1000,50000")
	if err != nil || !slices.Equal(got, []int{1000, 10000, 50000}) {
		t.Errorf("parseSizes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "-5", "abc", "100000"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q) accepted", bad)
		}
	}
}

func TestParseFlags(t *testing.T) {
	quick, err := parseFlags([]string{"-quick"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(quick.sizes, []int{1000}) || quick.out != "" || quick.compareZero {
		t.Errorf("quick: sizes %v out %q compareZero %v; want [1000], no report file, no zero-latency comparison", quick.sizes, quick.out, quick.compareZero)
	}
	full, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(full.sizes, []int{1000, 10000, 50000}) || full.out != "BENCHMARKS.md" || full.latency != 20*time.Millisecond || full.concurrency != 0 || full.maxConcurrency() != 64 || !full.cases["ratelimited"] || !full.cases["rolling"] {
		t.Errorf("defaults: %+v", full)
	}
	if _, err := parseFlags([]string{"-compare-sizes", "1000,3000"}); err == nil {
		t.Error("a for_each comparison above 2000 was accepted")
	}
	none, err := parseFlags([]string{"-compare-sizes", "none"})
	if err != nil || len(none.compareSizes) != 0 {
		t.Errorf("-compare-sizes none: %v, %v", none.compareSizes, err)
	}
}

func TestCompareHost(t *testing.T) {
	tests := []struct {
		sizes, compare []int
		host           int
		fit            []int
	}{
		{[]int{1000, 10000, 50000}, []int{1000, 2000}, 10000, []int{1000, 2000}},
		{[]int{1000}, []int{200}, 1000, []int{200}},
		{[]int{1000}, []int{1000, 2000}, 1000, []int{1000}},
		{[]int{1000}, nil, 0, nil},
	}
	for _, tt := range tests {
		host, fit := compareHost(tt.sizes, tt.compare)
		if host != tt.host || !slices.Equal(fit, tt.fit) {
			t.Errorf("compareHost(%v, %v) = %d, %v; want %d, %v", tt.sizes, tt.compare, host, fit, tt.host, tt.fit)
		}
	}
}

func TestChildEnvDropsSettingsThatChangeTheMeasurement(t *testing.T) {
	env := childEnv([]string{"PATH=/bin", "TF_LOG=trace", "PINGID_TOKEN=x", "HOME=/h", "TF_CLI_CONFIG_FILE=/old"},
		map[string]string{"TF_CLI_CONFIG_FILE": "/new", "TF_IN_AUTOMATION": "1"})
	slices.Sort(env)
	want := []string{"HOME=/h", "PATH=/bin", "TF_CLI_CONFIG_FILE=/new", "TF_IN_AUTOMATION=1"}
	if !slices.Equal(env, want) {
		t.Errorf("childEnv = %v, want %v", env, want)
	}
}

func TestCountDNLines(t *testing.T) {
	n, err := countDNLines(strings.NewReader("dn: uid=a,ou=people\nuid: a\n\ndn: uid=b,ou=people\nmail: dn: not a dn line\n\n# pagedresults: cookie=\n"))
	if err != nil || n != 2 {
		t.Errorf("countDNLines = %d, %v; want 2", n, err)
	}
}

func TestRepeatTimingRejectsAShortRead(t *testing.T) {
	calls := 0
	_, err := repeatTiming(3, 10, func() (time.Duration, int, error) {
		calls++
		return time.Millisecond, 9, nil
	})
	if err == nil {
		t.Fatal("a read of 9 entries out of 10 was accepted")
	}
	got, err := repeatTiming(3, 10, func() (time.Duration, int, error) {
		calls++
		return time.Duration(calls) * time.Millisecond, 10, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// One warm-up call, then three timed ones: the median of the timed ones is the middle one.
	if got.Runs != 3 || got.Min >= got.Median {
		t.Errorf("repeatTiming = %+v", got)
	}
}

// fakeReport builds a report with the given no-change plan time at 10k and 50k and for_each timing.
func fakeReport(noChange10k, noChange50k time.Duration, rss50kKiB int64, applyCalls10k int64, dsRead, ldapsearch time.Duration, forEachPlan time.Duration) *report {
	mk := func(n int, noChange time.Duration, rss int64) *sizeResult {
		s := &sizeResult{N: n, Bound: time.Duration(n) * 20 * time.Millisecond / 8}
		for _, p := range []*phase{&s.CreatePlan, &s.CreateApply, &s.NoChangePlan, &s.ChangePlan, &s.ChangeApply} {
			p.Wall = noChange
			p.ProviderKiB = rss
		}
		s.CreateApply.Calls = map[string]int64{"adduser": int64(n), "getuserdetails": applyCalls10k - int64(n)}
		s.DatastoreRead = timed{Median: dsRead, Runs: 3}
		s.LDAPSearch = timed{Median: ldapsearch, Runs: 3}
		return s
	}
	s10 := mk(10000, noChange10k, 100<<10)
	s10.Comparisons = []comparison{{
		Size: 2000, Latency: 20 * time.Millisecond,
		Connection: variantResult{NoChangePlan: phase{measurement: measurement{Wall: 6 * time.Second}}},
		ForEach:    variantResult{NoChangePlan: phase{measurement: measurement{Wall: forEachPlan}}},
	}}
	return &report{Latency: 20 * time.Millisecond, Concurrency: 8, Sizes: []*sizeResult{s10, mk(50000, noChange50k, rss50kKiB)}}
}

func statuses(r *report) []string {
	var out []string
	for _, t := range append(r.targets(), r.scaleTargets()...) {
		out = append(out, t.Status)
	}
	return out
}

func TestTargets(t *testing.T) {
	// 10k bound = 25 s: limit 35 s.
	good := fakeReport(30*time.Second, 150*time.Second, 200<<10, 20000, 150*time.Millisecond, 120*time.Millisecond, 70*time.Second)
	good.size(50000).PlanReport = &planReportResult{Markdown: reportRun{Wall: time.Second, MaxRSSKiB: 100 << 10}, HTML: reportRun{Wall: 4 * time.Second, MaxRSSKiB: 400 << 10}}
	if got := statuses(good); !slices.Equal(got, []string{"PASS", "PASS", "PASS", "PASS", "PASS", "PASS", "PASS"}) {
		t.Errorf("good run: %v", got)
	}
	bad := fakeReport(36*time.Second, 250*time.Second, 400<<10, 30000, 200*time.Millisecond, 120*time.Millisecond, 50*time.Second)
	bad.size(50000).PlanReport = &planReportResult{Markdown: reportRun{Wall: time.Second, MaxRSSKiB: 100 << 10}, HTML: reportRun{Wall: 2 * time.Second, MaxRSSKiB: 500 << 10}}
	if got := statuses(bad); !slices.Equal(got, []string{"MISS", "MISS", "MISS", "MISS", "MISS", "MISS", "MISS"}) {
		t.Errorf("bad run: %v", got)
	}
	quick := &report{Latency: 20 * time.Millisecond, Concurrency: 8, Sizes: []*sizeResult{{N: 1000}}}
	for _, s := range statuses(quick) {
		if s != "not measured" {
			t.Errorf("quick run: %v, want every target not measured", statuses(quick))
			break
		}
	}
}

func TestReportNamesEveryPhaseAndTarget(t *testing.T) {
	var b strings.Builder
	if err := fakeReport(30*time.Second, 150*time.Second, 200<<10, 20000, time.Second, time.Second, 70*time.Second).write(&b); err != nil {
		t.Fatal(err)
	}
	r := fakeReport(30*time.Second, 150*time.Second, 200<<10, 20000, time.Second, time.Second, 70*time.Second)
	r.size(50000).PlanReport = &planReportResult{JSONBytes: 40e6, Markdown: reportRun{Wall: time.Second}, HTML: reportRun{Wall: 2 * time.Second, OutBytes: 20e6}}
	b.Reset()
	if err := r.write(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Targets", "## N = 10000 users", "## N = 50000 users", "(b) no-change plan", "## Growth", "for_each ÷ connection", "## Method",
		"## pingid-plan-report on the saved first plan", "| 50000 | 40.0 MB |", "pingid-plan-report of the saved first plan of 50000 users"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestReportShowsTheGoLDAPFloor(t *testing.T) {
	r := fakeReport(30*time.Second, 150*time.Second, 200<<10, 20000, 300*time.Millisecond, 60*time.Millisecond, 70*time.Second)
	r.size(10000).GoLDAPFloor = timed{Median: 180 * time.Millisecond, Min: 170 * time.Millisecond, Runs: 3, Entries: 10000}
	var b strings.Builder
	if err := r.write(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"go-ldap's bare paged search of the same query 0.18s (×3.00)", // in the target's row
		"go-ldap floor / ldapsearch = **3.00**; datastore read / go-ldap floor = **1.67**",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestWrapperRecordsTheProviderPIDAndExportsItsEnvironment(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "seen")
	fakeProvider := filepath.Join(dir, "fake-provider")
	// The fake provider reports its own pid and environment, as the real one would run.
	script := "#!/bin/sh\necho \"$$ $GOMEMLIMIT $1\" >" + shellQuote(out) + "\n"
	if err := os.WriteFile(fakeProvider, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env, err := newTFEnv(filepath.Join(dir, "env"), "/unused/terraform", fakeProvider, []string{"GOMEMLIMIT=250MiB"})
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.CommandContext(t.Context(), filepath.Join(dir, "env", "plugins", providerBinary), "arg with space").Run(); err != nil {
		t.Fatal(err)
	}
	seen, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.SplitN(strings.TrimSpace(string(seen)), " ", 3)
	pids := readPIDs(env.pidFile)
	if len(fields) != 3 || len(pids) != 1 || strconv.Itoa(pids[0]) != fields[0] {
		t.Fatalf("provider saw %q, wrapper recorded pids %v: want the same pid", seen, pids)
	}
	if fields[1] != "250MiB" || fields[2] != "arg with space" {
		t.Errorf("provider saw env %q and argument %q", fields[1], fields[2])
	}
	cli, err := os.ReadFile(env.cliConfig)
	if err != nil || !strings.Contains(string(cli), providerAddress) || !strings.Contains(string(cli), "dev_overrides") {
		t.Errorf("CLI config lacks the dev override: %s %v", cli, err)
	}
	if _, err := newTFEnv(filepath.Join(dir, "bad"), "/unused", fakeProvider, []string{"NOEQUALS"}); err == nil {
		t.Error("a provider setting without = was accepted")
	}
}

func TestBucketInFlight(t *testing.T) {
	var samples []inFlightSample
	for i := range 12 { // 3 s at 250 ms
		samples = append(samples, inFlightSample{At: time.Duration(i+1) * 250 * time.Millisecond, InFlight: i, Throttled: int64(i / 4)})
	}
	got := bucketInFlight(samples)
	if len(got) != 4 || got[0].From != 0 || got[0].Max != 2 || got[1].From != time.Second || got[3].Max != 11 {
		t.Fatalf("buckets = %+v", got)
	}
	var throttled int64
	for _, b := range got {
		throttled += b.Throttled
	}
	if throttled != 2 {
		t.Errorf("429s over the buckets = %d, want the 2 the samples saw", throttled)
	}
}

func TestPeakRSSCountsEveryPhaseAtTheLargeSize(t *testing.T) {
	r := fakeReport(30*time.Second, 150*time.Second, 200<<10, 20000, 150*time.Millisecond, 120*time.Millisecond, 70*time.Second)
	s := r.size(50000)
	// (a)-(c) stay at 200 MiB; the rate-limited plan of issue 15 needs more than 300 MB.
	s.Limited = &limitedResult{Rate: 500, Plan: phase{Name: "ratelimited-nochange-plan", measurement: measurement{ProviderKiB: 320 << 10}}}
	got := r.scaleTargets()[0]
	if got.Status != "MISS" || !strings.Contains(got.Measured, "ratelimited-nochange-plan") || !strings.Contains(got.Measured, "(a)-(c) alone: 210 MB") {
		t.Errorf("peak RSS target = %+v, want a MISS naming the rate-limited plan", got)
	}
}

func TestThroughputTargets(t *testing.T) {
	r := fakeReport(30*time.Second, 40*time.Second, 200<<10, 20000, 150*time.Millisecond, 120*time.Millisecond, 70*time.Second)
	s10, s50 := r.size(10000), r.size(50000)
	s10.CreatePlan.Wall, s10.CreateApply.Wall = 10*time.Second, 15*time.Second
	limited := func(wall time.Duration, throttled int64) *limitedResult {
		return &limitedResult{Latency: 100 * time.Millisecond, Rate: 500, Plan: phase{measurement: measurement{Wall: wall}}, Throttled: throttled, Admitted: 50000}
	}
	s50.Limited = limited(120*time.Second, 500) // ×1.20 of N/R = 100 s, 1 % 429s
	s50.Rolling = &rollingResult{Changed: 500, Plan: phase{measurement: measurement{Wall: 12 * time.Second, Calls: map[string]int64{"getuserdetails": 515}}}}
	var got []string
	for _, tr := range r.throughputTargets() {
		got = append(got, tr.Status)
	}
	if want := []string{"PASS", "PASS", "PASS", "PASS", "PASS", "PASS"}; !slices.Equal(got, want) {
		t.Errorf("good run: %v, want %v", got, want)
	}

	s50.Limited = limited(130*time.Second, 500) // ×1.30
	s50.NoChangePlan.Wall = 50 * time.Second
	s50.Rolling.Plan.Wall = 25 * time.Second
	s10.CreateApply.Wall = 25 * time.Second
	got = got[:0]
	for _, tr := range r.throughputTargets()[:4] {
		got = append(got, tr.Status)
	}
	if want := []string{"MISS", "MISS", "MISS", "MISS"}; !slices.Equal(got, want) {
		t.Errorf("slow run: %v, want %v", got, want)
	}
	s50.Limited = limited(110*time.Second, 1500) // fast enough, but 429s 2.9 %
	if tr := r.throughputTargets()[0]; tr.Status != "MISS" {
		t.Errorf("too many 429s: %+v", tr)
	}

	// Measured only at 10 000 users: not a result for the 50 000-user targets.
	s10.Limited, s10.Rolling, s50.Limited, s50.Rolling = s50.Limited, s50.Rolling, nil, nil
	r.Sizes = r.Sizes[:1]
	for _, tr := range r.throughputTargets() {
		if tr.Status != "not measured" && !strings.Contains(tr.Name, "10000 creates") {
			t.Errorf("at 10 000 users only: %+v", tr)
		}
	}
}

func TestParseProgressLog(t *testing.T) {
	started := time.Date(2026, 12, 2, 6, 57, 30, 0, time.UTC)
	// Lines as Terraform 1.5.7 writes the provider's log (TF_LOG_PROVIDER=INFO), fields cut.
	log := `Refreshing state...
2026-12-02T06:57:40.000Z [INFO]  provider.terraform-provider-pingid: PingID progress: pingid_provisioning_connection "bench" refresh: 4500/50000 users (9%), 488 calls/s, concurrency 49/64, 12 retries, 12 429s so far, ETA 1m33s: @caller=/x/progress.go:147 @module=pingid calls_per_second=488.1 concurrency=49
2026-12-02T06:59:15.500Z [INFO]  provider.terraform-provider-pingid: PingID pingid_provisioning_connection "bench" refresh finished: 50000/50000 users in 1m43.2s, 50201 calls (486/s), concurrency 50 (peak 64, max 64), 201 retries, 201 429s: @module=pingid concurrency=50 work="pingid_provisioning_connection "bench" refresh"
2026-12-02T06:59:16.000Z [INFO]  provider.terraform-provider-pingid: planned user action: @module=pingid
No changes.
`
	lines, summaries := parseProgressLog([]byte(log), started)
	want := progressLine{At: 10 * time.Second, Work: `pingid_provisioning_connection "bench" refresh`, Done: 4500, Total: 50000,
		CallsPerSecond: 488, Concurrency: 49, Max: 64, Retries: 12, Throttled: 12}
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("progress lines = %+v, want [%+v]", lines, want)
	}
	if len(summaries) != 1 {
		t.Fatalf("summaries = %+v, want one", summaries)
	}
	sum, ok := refresh(summaries)
	if !ok || sum.Elapsed != 103200*time.Millisecond || sum.Calls != 50201 || sum.Peak != 64 || sum.Throttled != 201 || sum.At != 105500*time.Millisecond {
		t.Errorf("refresh summary = %+v", sum)
	}
	if _, ok := refresh(nil); ok {
		t.Error("a log without summary lines has a refresh")
	}
}

func TestReportShowsTheControllerAndWhereThePlanTimeGoes(t *testing.T) {
	r := fakeReport(30*time.Second, 40*time.Second, 200<<10, 20000, 150*time.Millisecond, 120*time.Millisecond, 70*time.Second)
	r.Machine.NProc = 2
	s := r.size(50000)
	s.NoChangePlan.TotalCPU, s.NoChangePlan.BenchCPU = 30, 10 // 40 CPU seconds in a 40 s plan
	s.NoChangeRefresh = &progressSummary{Elapsed: 25 * time.Second, Calls: 50000, CallsPerSecond: 2000, Peak: 64, Max: 64}
	s.Limited = &limitedResult{
		Latency: 100 * time.Millisecond, Rate: 500, Plan: phase{measurement: measurement{Wall: 115 * time.Second}}, Admitted: 50000,
		InFlight: []inFlightBucketStat{{From: 0, Mean: 49, Max: 55}},
		Progress: []progressLine{{At: 12 * time.Second, Done: 5000, Total: 50000, CallsPerSecond: 490, Concurrency: 49, Max: 64}},
		Refresh:  &progressSummary{At: 105 * time.Second, Done: 50000, Total: 50000, Elapsed: 103 * time.Second, Calls: 50200, CallsPerSecond: 487, Concurrency: 50, Peak: 64, Max: 64},
	}
	var b strings.Builder
	if err := r.write(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| 12s | 5000/50000 | 490 | 49/64 | 0 | 0 |",
		"The refresh of 50000 users took 103.00s: 50200 calls at 487 calls/s = 97 % of R = 500 (N/R = 100.00s; refresh ÷ N/R = ×1.03)",
		"## Where the time of a plan goes",
		"| 50000 | (b) full no-change plan, 20ms per call | 40.00s | 25.00s (50000 calls) | 2000 | 64/64 | 15.00s | 30.0s | 10.0s | 1.00 |",
		"the refresh alone 103.00s (×1.03, peak concurrency 64)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestReportSaysWhatBoundsAMiss(t *testing.T) {
	r := fakeReport(30*time.Second, 60*time.Second, 200<<10, 20000, 150*time.Millisecond, 120*time.Millisecond, 70*time.Second)
	r.Machine.NProc = 2
	s := r.size(50000)
	s.NoChangePlan.Name, s.NoChangePlan.TotalCPU, s.NoChangePlan.BenchCPU = "nochange-plan", 40, 5 // 45 CPU s in 60 s: not the CPUs
	s.NoChangeRefresh = &progressSummary{Elapsed: 20 * time.Second, Calls: 50000, CallsPerSecond: 2500, Peak: 64, Max: 64}
	var b strings.Builder
	if err := r.write(&b); err != nil {
		t.Fatal(err)
	}
	want := "- **full, 50000 users, 20ms, no rate limit: no-change plan ≤ 45.00s**: nochange-plan took 60.00s: PingID reads 20.00s (50000 calls, 2500 calls/s, peak concurrency 64/64), " +
		"the rest (Terraform, the directory read, planning) 40.00s; CPU: terraform + provider 40.0s, emulator 5.0s, 0.75 of 2 CPUs busy on average (1-minute load 0.0 at the end): " +
		"Terraform and the provider's work outside the PingID reads are the bound."
	if !strings.Contains(b.String(), want) {
		t.Errorf("report lacks\n%s\nin\n%s", want, b.String())
	}
	s.NoChangePlan.TotalCPU = 110 // 115 CPU s in 60 s on 2 CPUs
	b.Reset()
	if err := r.write(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "1.92 of 2 CPUs busy on average (1-minute load 0.0 at the end): the machine's CPUs are the bound.") {
		t.Error("a plan that kept both CPUs busy is not said to be CPU-bound")
	}
	if strings.Contains(b.String(), "- **full, 50000 users, rate-limited") {
		t.Error("a target that was not measured is listed as missed")
	}
}

func TestGrowthMissSaysWhetherTheWorkOrTheMachineGrew(t *testing.T) {
	r := fakeReport(2*time.Second, 14*time.Second, 200<<10, 20000, 150*time.Millisecond, 120*time.Millisecond, 70*time.Second)
	for _, s := range r.Sizes {
		for _, p := range []*phase{&s.CreatePlan, &s.CreateApply, &s.NoChangePlan, &s.ChangePlan, &s.ChangeApply} {
			p.Name, p.TotalCPU, p.Load = "change-apply", float64(s.N)/5000, float64(s.N)/10000 // CPU ×5, load 1 and 5
		}
	}
	growth := r.scaleTargets()[1]
	if growth.Status != "MISS" || !strings.Contains(growth.Why, "The CPU time grew ×5.00, within ×6") || !strings.Contains(growth.Why, "load 5.0 at 50000 users against 1.0 at 10000") {
		t.Errorf("wall ×7 with CPU ×5: %+v", growth)
	}
	r.size(50000).ChangeApply.TotalCPU = 20 // ×10
	r.size(50000).CreatePlan.Wall = 13 * time.Second
	growth = r.scaleTargets()[1]
	if !strings.Contains(growth.Why, "grew ×10.00, beyond ×6") {
		t.Errorf("wall ×7 with CPU ×10: %+v", growth)
	}
	var b strings.Builder
	if err := r.write(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| change-apply | ×7.00 (×10.00) |") {
		t.Error("growth table lacks the CPU ratio")
	}
}

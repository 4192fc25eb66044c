// Command bench measures the provider at directory scale and writes BENCHMARKS.md.
//
//	go run ./cmd/bench                      # N = 1 000, 10 000, 50 000; writes BENCHMARKS.md
//	go run ./cmd/bench -quick               # N = 1 000 only (CI smoke run); prints the report
//	go run ./cmd/bench -sizes 10000 -compare-sizes none -cases ratelimited   # one issue-15 case
//	go run ./cmd/bench -sizes 10000 -latency 5ms -keep
//
// For every N it loads a throwaway slapd with N users in one group, serves the PingID
// emulator with a fixed latency per call, and times bin/terraform 1.5.7 plans and applies of
// a pingid_provisioning_connection, for_each over pingid_mapped_user for comparison, and the
// LDAP read against ldapsearch. See the Method section of BENCHMARKS.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

const expectedTerraform = "Terraform v1.5.7"

type config struct {
	sizes          []int
	compareSizes   []int
	latency        time.Duration
	rate           float64
	burst          int
	queueAfter     int
	concurrency    int
	cases          map[string]bool // issue 15's extra cases: "ratelimited", "rolling"
	limitedLatency time.Duration
	limitedRate    float64
	limitedBurst   int
	quick          bool
	out            string
	keep           bool
	workDir        string
	pprof          bool
	compareZero    bool
	ldapRuns       int
	providerEnv    []string
}

func main() {
	log.SetFlags(log.Ltime)
	log.SetPrefix("bench: ")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Printf("error: %v", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	sizes := fs.String("sizes", "1000,10000,50000", "comma-separated directory sizes N")
	compare := fs.String("compare-sizes", "1000,2000", "group sizes for the for_each comparison, or none (at most 2000: Terraform core is quadratic in for_each instances)")
	fs.DurationVar(&c.latency, "latency", 20*time.Millisecond, "latency the emulator adds to every PingID API call")
	fs.Float64Var(&c.rate, "rate", 0, "the emulator answers 429 with Retry-After beyond this many PingID API calls per second (0 = no limit)")
	fs.IntVar(&c.burst, "burst", 0, "token bucket size for -rate (0 = a tenth of a second's worth)")
	fs.IntVar(&c.queueAfter, "queue-after", 0, "the emulator's latency grows in proportion beyond this many calls in flight (0 = never)")
	fs.IntVar(&c.concurrency, "concurrency", 0, "provider max_concurrency, the cap of its adaptive limit (0 = unset: the provider's default, 64)")
	cases := fs.String("cases", "ratelimited,rolling", "issue 15's cases to run after the main phases at every N: ratelimited (full no-change plan under -limited-latency and -limited-rate), rolling (plan after 1 % changed with drift_detection = \"rolling\" at -limited-latency), or none")
	fs.DurationVar(&c.limitedLatency, "limited-latency", 100*time.Millisecond, "per-call latency of the ratelimited and rolling cases")
	fs.Float64Var(&c.limitedRate, "limited-rate", 500, "calls per second the emulator allows in the ratelimited case (429 with Retry-After beyond)")
	fs.IntVar(&c.limitedBurst, "limited-burst", 0, "token bucket size of the ratelimited case (0 = a tenth of a second's worth)")
	fs.BoolVar(&c.quick, "quick", false, "CI smoke run: N = 1000 only, for_each at 1000, report to stdout unless -out is given")
	fs.StringVar(&c.out, "out", "", "write the report to `FILE` (default BENCHMARKS.md in the repository; none with -quick)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory (Terraform dirs, logs, slapd data)")
	fs.StringVar(&c.workDir, "workdir", "", "work directory (default: a new temporary directory)")
	fs.BoolVar(&c.pprof, "pprof", false, "run a profiling build of the provider (cmd/bench/profiled-provider) that writes CPU and heap profiles per provider process into <workdir>/pprof")
	fs.BoolVar(&c.compareZero, "compare-zero-latency", false, "also compare for_each and the connection at the largest compare size without API latency (skipped with -quick)")
	fs.IntVar(&c.ldapRuns, "ldap-runs", 5, "timed runs of ldapsearch and of the datastore read (median reported)")
	providerEnv := fs.String("provider-env", "", "comma-separated NAME=value settings for the provider process only (experiments, e.g. GOMEMLIMIT=250MiB); recorded in the report")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *providerEnv != "" {
		c.providerEnv = strings.Split(*providerEnv, ",")
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	outSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "out" {
			outSet = true
		}
	})
	var err error
	if c.quick {
		// for_each costs Terraform core O(n²): 1 000 instances take minutes, 200 take seconds,
		// enough to keep that code path of the harness working in CI.
		*sizes, *compare = "1000", "200"
		c.compareZero = false
		c.ldapRuns = min(c.ldapRuns, 3)
	}
	if !c.quick && !outSet {
		c.out = "BENCHMARKS.md"
	}
	if c.sizes, err = parseSizes(*sizes); err != nil {
		return c, fmt.Errorf("-sizes: %w", err)
	}
	if *compare != "" && *compare != "none" {
		if c.compareSizes, err = parseSizes(*compare); err != nil {
			return c, fmt.Errorf("-compare-sizes: %w", err)
		}
	}
	if len(c.compareSizes) > 0 && c.compareSizes[len(c.compareSizes)-1] > 2000 {
		return c, errors.New("-compare-sizes: at most 2000 (Terraform core is quadratic in for_each instances)")
	}
	if c.latency < 0 || c.concurrency < 0 || c.ldapRuns < 1 || c.limitedLatency < 0 || c.limitedRate <= 0 || c.limitedBurst < 0 {
		return c, errors.New("-latency and -limited-latency must be ≥ 0, -concurrency ≥ 0, -ldap-runs ≥ 1, -limited-rate > 0, -limited-burst ≥ 0")
	}
	c.cases = map[string]bool{}
	for _, name := range strings.Split(*cases, ",") {
		switch name = strings.TrimSpace(name); name {
		case "", "none":
		case "ratelimited", "rolling":
			c.cases[name] = true
		default:
			return c, fmt.Errorf("-cases: unknown case %q (ratelimited, rolling, none)", name)
		}
	}
	if err := c.limits().Validate(); err != nil {
		return c, fmt.Errorf("-rate, -burst, -queue-after: %w", err)
	}
	return c, nil
}

// maxConcurrency is the provider's cap for the run (the bound of the latency target).
func (c config) maxConcurrency() int {
	if c.concurrency > 0 {
		return c.concurrency
	}
	return pingid.DefaultMaxConcurrency
}

// limits are the emulator's service limits for the run.
func (c config) limits() emulator.Limits {
	return emulator.Limits{Latency: c.latency, RatePerSecond: c.rate, Burst: c.burst, QueueAfter: c.queueAfter}
}

// parseSizes parses "1000,10000" into sorted, distinct positive sizes.
func parseSizes(s string) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(strings.ReplaceAll(f, "_", ""))
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 99999 {
			return nil, fmt.Errorf("%q is not a size between 1 and 99999", f) // user names have 5 digits
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no sizes")
	}
	sort.Ints(out)
	return out, nil
}

// compareHost is the run that hosts the for_each comparison: the smallest N that holds the
// largest compare size, else the largest N (compare sizes above it are dropped).
func compareHost(sizes, compare []int) (int, []int) {
	if len(compare) == 0 {
		return 0, nil
	}
	largest := compare[len(compare)-1]
	for _, n := range sizes {
		if n >= largest {
			return n, compare
		}
	}
	host := sizes[len(sizes)-1]
	var fit []int
	for _, s := range compare {
		if s <= host {
			fit = append(fit, s)
		}
	}
	return host, fit
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	started := time.Now()
	root, err := repoRoot(ctx)
	if err != nil {
		return err
	}
	tfPath := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tfPath == "" {
		tfPath = filepath.Join(root, "bin", "terraform")
	}
	tfVersion, err := terraformVersion(ctx, tfPath)
	if err != nil {
		return fmt.Errorf("%w (build it with `make check-terraform`)", err)
	}
	if tfVersion != expectedTerraform {
		return fmt.Errorf("%s reports %q, want %q", tfPath, tfVersion, expectedTerraform)
	}
	for _, tool := range []string{"ldapsearch"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: install ldap-utils", tool)
		}
	}

	work := cfg.workDir
	if work == "" {
		if work, err = os.MkdirTemp("", "pingid-bench-"); err != nil {
			return fmt.Errorf("work dir: %w", err)
		}
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	succeeded := false
	defer func() {
		if cfg.keep || !succeeded {
			log.Printf("work directory kept: %s", work)
			return
		}
		_ = os.RemoveAll(work)
	}()

	b := &bench{cfg: cfg, root: root, work: work, tfPath: tfPath}
	if b.provider, err = b.buildProvider(ctx); err != nil {
		return err
	}
	if b.planReport, err = b.buildPlanReport(ctx); err != nil {
		return err
	}
	rep := &report{
		Machine: describeMachine(ctx, root, tfVersion), Command: commandLine(args),
		Latency: cfg.latency, Concurrency: cfg.maxConcurrency(), Limits: cfg.limits(), ProviderEnv: cfg.providerEnv,
	}
	host, compare := compareHost(cfg.sizes, cfg.compareSizes)
	for _, n := range cfg.sizes {
		var cs []int
		if n == host {
			cs = compare
		}
		res, err := b.runSize(ctx, n, cs, cfg.compareZero && !cfg.quick)
		if res != nil {
			rep.Sizes = append(rep.Sizes, res)
		}
		if err != nil {
			return err
		}
	}
	rep.Total = time.Since(started)

	if err := rep.write(stdout); err != nil {
		return err
	}
	if cfg.out != "" {
		out := cfg.out
		if !filepath.IsAbs(out) {
			out = filepath.Join(root, out)
		}
		f, err := os.Create(out)
		if err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		if err := rep.write(f); err != nil {
			_ = f.Close()
			return fmt.Errorf("write report: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		log.Printf("report written to %s", out)
	}
	for _, s := range rep.Sizes {
		if len(s.Problems) > 0 {
			return fmt.Errorf("%d users: %s", s.N, strings.Join(s.Problems, "; "))
		}
	}
	succeeded = true
	return nil
}

func commandLine(args []string) string {
	if len(args) == 0 {
		return "go run ./cmd/bench"
	}
	return "go run ./cmd/bench " + strings.Join(args, " ")
}

func repoRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run cmd/bench inside the repository (no go.mod found)")
	}
	return filepath.Dir(mod), nil
}

// buildProvider builds the provider (or, with -pprof, the profiling build) into the work dir.
func (b *bench) buildProvider(ctx context.Context) (string, error) {
	out := filepath.Join(b.work, "provider", providerBinary)
	pkg := "."
	if b.cfg.pprof {
		pkg = "./cmd/bench/profiled-provider"
	}
	log.Printf("building the provider (%s)", pkg)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = b.root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	return out, nil
}

func describeMachine(ctx context.Context, root, tfVersion string) machine {
	m := machine{
		Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), GoVersion: runtime.Version(), Terraform: tfVersion,
		NProc: runtime.NumCPU(), CPU: "unknown CPU", MemTotal: "unknown",
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if kib, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64); err == nil {
					m.MemTotal = fmt.Sprintf("%.1f GiB", kib/(1<<20))
				}
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	m.Slapd = "slapd (version unknown)"
	if bin, err := slapd.Binary("slapd"); err == nil {
		// slapd -VV prints "@(#) $OpenLDAP: slapd 2.5.13+dfsg-5 (...)" on stderr and exits.
		out, _ := exec.CommandContext(ctx, bin, "-VV").CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			if i := strings.Index(line, "slapd "); i >= 0 && strings.Contains(line, "OpenLDAP") {
				fields := strings.Fields(line[i:])
				if len(fields) >= 2 {
					m.Slapd = "OpenLDAP slapd " + fields[1]
				}
				break
			}
		}
	}
	m.Commit = "unknown"
	if out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			m.Commit += " (with uncommitted changes)"
		}
	}
	return m
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Targets from issue 17: the review of a saved plan of 50 000 users.
const (
	targetReportWall  = 5 * time.Second
	targetReportBytes = 500e6
)

// reportRun is one timed run of pingid-plan-report.
type reportRun struct {
	Wall      time.Duration
	MaxRSSKiB int64 // wait4's peak RSS of the command
	OutBytes  int64
}

// planReportResult is the review of the first (all-creates) plan of N users: the plan's JSON,
// as a CI job produces it, then the Markdown and HTML reports of it.
type planReportResult struct {
	JSONBytes int64
	Show      reportRun // terraform show -json
	Markdown  reportRun
	HTML      reportRun
}

// buildPlanReport builds cmd/pingid-plan-report into the work dir.
func (b *bench) buildPlanReport(ctx context.Context) (string, error) {
	out := filepath.Join(b.work, "provider", "pingid-plan-report")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/pingid-plan-report")
	cmd.Dir = b.root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/pingid-plan-report: %w\n%s", err, msg)
	}
	return out, nil
}

// timedRun runs a command with stdout to outPath and returns its wall time and peak RSS.
func timedRun(ctx context.Context, env []string, outPath, name string, args ...string) (reportRun, error) {
	var r reportRun
	out, err := os.Create(outPath)
	if err != nil {
		return r, fmt.Errorf("create %s: %w", outPath, err)
	}
	defer out.Close()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, &stderr
	start := time.Now()
	err = cmd.Run()
	r.Wall = time.Since(start)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSSKiB = ru.Maxrss // KiB on Linux
	}
	if st, statErr := os.Stat(outPath); statErr == nil {
		r.OutBytes = st.Size()
	}
	if err != nil {
		return r, fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return r, nil
}

// measurePlanReport reviews the saved plan planFile (in tfDir) of n users.
func (b *bench) measurePlanReport(ctx context.Context, env *tfEnv, tfDir, planFile string, n int, res *sizeResult) (*planReportResult, error) {
	pr := &planReportResult{}
	jsonPath := filepath.Join(tfDir, "plan.json")
	var err error
	if pr.Show, err = timedRun(ctx, env.env, jsonPath, env.terraform, "-chdir="+tfDir, "show", "-json", planFile); err != nil {
		return nil, err
	}
	pr.JSONBytes = pr.Show.OutBytes
	if pr.Markdown, err = timedRun(ctx, os.Environ(), filepath.Join(tfDir, "review.md"), b.planReport, jsonPath); err != nil {
		return pr, err
	}
	if pr.HTML, err = timedRun(ctx, os.Environ(), filepath.Join(tfDir, "review.html"), b.planReport, "--format", "html", jsonPath); err != nil {
		return pr, err
	}
	// The report must have seen every create: the HTML lists every row.
	page, err := os.ReadFile(filepath.Join(tfDir, "review.html"))
	if err != nil {
		return pr, err
	}
	if rows := bytes.Count(page, []byte(`<tr class="row" data-action="create"`)); rows != n {
		res.Problems = append(res.Problems, fmt.Sprintf("the HTML review of the first plan lists %d creates, want %d", rows, n))
	}
	log.Printf("N=%d: plan report: show -json %s (%.1f MB), Markdown %s / %s, HTML %s / %s (%.1f MB)", n,
		secs(pr.Show.Wall), float64(pr.JSONBytes)/1e6, secs(pr.Markdown.Wall), mb(pr.Markdown.MaxRSSKiB),
		secs(pr.HTML.Wall), mb(pr.HTML.MaxRSSKiB), float64(pr.HTML.OutBytes)/1e6)
	return pr, nil
}

func (r *report) planReportTarget() targetResult {
	name := fmt.Sprintf("pingid-plan-report of the saved first plan of %d users < %s and < %.0f MB (Markdown and HTML)",
		targetLargeN, secs(targetReportWall), targetReportBytes/1e6)
	s := r.size(targetLargeN)
	if s == nil || s.PlanReport == nil {
		return targetResult{Name: name, Measured: fmt.Sprintf("N=%d not in -sizes", targetLargeN), Status: "not measured"}
	}
	p := s.PlanReport
	wall := max(p.Markdown.Wall, p.HTML.Wall)
	rss := max(p.Markdown.MaxRSSKiB, p.HTML.MaxRSSKiB)
	return targetResult{Name: name, Limit: fmt.Sprintf("%s, %.0f MB", secs(targetReportWall), targetReportBytes/1e6),
		Measured: fmt.Sprintf("Markdown %s / %s, HTML %s / %s (plan JSON %.1f MB)", secs(p.Markdown.Wall), mb(p.Markdown.MaxRSSKiB),
			secs(p.HTML.Wall), mb(p.HTML.MaxRSSKiB), float64(p.JSONBytes)/1e6),
		Status: passMiss(wall < targetReportWall && float64(rss)*1024 < targetReportBytes)}
}

func (r *report) writePlanReports(b *strings.Builder) {
	first := true
	for _, s := range r.Sizes {
		p := s.PlanReport
		if p == nil {
			continue
		}
		if first {
			b.WriteString("## pingid-plan-report on the saved first plan (all creates)\n\n")
			b.WriteString("`terraform show -json` of plan (a), then `pingid-plan-report` on that file (Markdown, default 60 000-character limit; " +
				"HTML, every row). Peak RSS from wait4.\n\n")
			b.WriteString("| users | plan JSON | show -json | Markdown | Markdown peak RSS | HTML | HTML peak RSS | HTML size |\n")
			b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
			first = false
		}
		fmt.Fprintf(b, "| %d | %.1f MB | %s | %s | %s | %s | %s | %.1f MB |\n", s.N, float64(p.JSONBytes)/1e6, secs(p.Show.Wall),
			secs(p.Markdown.Wall), mb(p.Markdown.MaxRSSKiB), secs(p.HTML.Wall), mb(p.HTML.MaxRSSKiB), float64(p.HTML.OutBytes)/1e6)
	}
	if !first {
		b.WriteString("\n")
	}
}

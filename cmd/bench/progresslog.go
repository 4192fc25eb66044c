package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The provider's own view of its PingID work: with TF_LOG_PROVIDER=INFO it logs a progress
// line at most every 10 s (internal/progress) and one summary line when the work ends. The
// bench turns them on for the phases whose concurrency and refresh time the report shows.

// providerInfoLog is the extra environment of those phases (Terraform writes the provider's
// log lines to stderr, which goes to the phase's log file).
var providerInfoLog = []string{"TF_LOG_PROVIDER=INFO"}

// progressLine is one "PingID progress" line.
type progressLine struct {
	At             time.Duration // since the Terraform command started
	Work           string        // e.g. `pingid_provisioning_connection "bench" refresh`
	Done, Total    int
	CallsPerSecond float64
	Concurrency    int // the adaptive limit when the line was written
	Max            int
	Retries        int64 // so far in this work
	Throttled      int64 // 429s so far in this work
}

// progressSummary is the line that ends one piece of work.
type progressSummary struct {
	At             time.Duration // since the Terraform command started
	Work           string
	Done, Total    int
	Elapsed        time.Duration
	Calls          int64
	CallsPerSecond float64
	Concurrency    int
	Peak, Max      int
	Retries        int64
	Throttled      int64
}

var (
	progressRE = regexp.MustCompile(`PingID progress: (.+?): (\d+)/(\d+) users \(\d+%\), (\d+) calls/s, concurrency (\d+)/(\d+), (\d+) retries, (\d+) 429s so far`)
	summaryRE  = regexp.MustCompile(`PingID (.+) (?:finished|stopped): (\d+)/(\d+) users in (\S+), (\d+) calls \((\d+)/s\), concurrency (\d+) \(peak (\d+), max (\d+)\), (\d+) retries, (\d+) 429s`)
)

// hclogTime is the timestamp Terraform puts first on every log line.
const hclogTime = "2006-01-02T15:04:05.000Z0700"

// parseProgressLog reads the progress and summary lines of a phase's log; started is when
// the Terraform command started (log timestamps are wall-clock times).
func parseProgressLog(data []byte, started time.Time) ([]progressLine, []progressSummary) {
	var lines []progressLine
	var summaries []progressSummary
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20) // plans print long lines
	for sc.Scan() {
		text := sc.Text()
		if !strings.Contains(text, "PingID ") {
			continue
		}
		var at time.Duration
		if stamp, _, ok := strings.Cut(text, " "); ok {
			if t, err := time.Parse(hclogTime, stamp); err == nil {
				at = t.Sub(started)
			}
		}
		if m := progressRE.FindStringSubmatch(text); m != nil {
			lines = append(lines, progressLine{
				At: at, Work: m[1], Done: atoi(m[2]), Total: atoi(m[3]), CallsPerSecond: float64(atoi(m[4])),
				Concurrency: atoi(m[5]), Max: atoi(m[6]), Retries: int64(atoi(m[7])), Throttled: int64(atoi(m[8])),
			})
			continue
		}
		if m := summaryRE.FindStringSubmatch(text); m != nil {
			elapsed, _ := time.ParseDuration(m[4])
			summaries = append(summaries, progressSummary{
				At: at, Work: m[1], Done: atoi(m[2]), Total: atoi(m[3]), Elapsed: elapsed, Calls: int64(atoi(m[5])),
				CallsPerSecond: float64(atoi(m[6])), Concurrency: atoi(m[7]), Peak: atoi(m[8]), Max: atoi(m[9]),
				Retries: int64(atoi(m[10])), Throttled: int64(atoi(m[11])),
			})
		}
	}
	return lines, summaries
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// readProgress parses the progress lines of a finished phase.
func readProgress(p phase) ([]progressLine, []progressSummary, error) {
	data, err := os.ReadFile(p.LogPath)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", p.LogPath, err)
	}
	lines, summaries := parseProgressLog(data, p.Started)
	return lines, summaries, nil
}

// noRefreshSummary is the problem of a plan that refreshed every user but logged no summary line
// that summaryRE matches: the provider's wording (internal/progress) and this parser disagree,
// and the report would silently lose the controller's view.
func noRefreshSummary(plan string) string {
	return fmt.Sprintf("the %s logged no PingID refresh summary with TF_LOG_PROVIDER=INFO (internal/progress and cmd/bench/progresslog.go disagree on its wording)", plan)
}

// refresh is the summary of the phase's refresh (the longest piece of work it logged).
func refresh(summaries []progressSummary) (progressSummary, bool) {
	var best progressSummary
	found := false
	for _, s := range summaries {
		if !found || s.Elapsed > best.Elapsed {
			best, found = s, true
		}
	}
	return best, found
}

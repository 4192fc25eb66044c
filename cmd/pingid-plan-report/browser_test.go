package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/planreport"
)

// The browser check: the HTML page opened in Debian's headless Chromium, filtered as a reviewer
// filters it. `make ensure-chromium` installs chromium (apt) and playwright-core (npm ci in
// browsertest/); where either cannot be installed the tests skip, saying what is missing.

// chromiumFlags work in containers without a GPU, a sandbox or a network.
func chromiumFlags(userDataDir string) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + userDataDir}
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("browser check skipped: Chromium not found at %s (install it with `make ensure-chromium`, i.e. apt-get install chromium, or set CHROMIUM)", path)
	}
	return path
}

// reviewPage writes the HTML report of the real change plan and returns its path and report.
func reviewPage(t *testing.T) (string, *planreport.Report) {
	t.Helper()
	plan, err := os.ReadFile(changesPlan)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := planreport.Build(plan)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "review.html")
	if code, _, stderr := runCmd(t, "", "--format", "html", "-o", path, changesPlan); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	return path, rep
}

type visibleRow struct{ Action, Connection, User string }

// wantRows are the report's rows that pass the filter, in page order.
func wantRows(rep *planreport.Report, keep func(planreport.Row) bool) []visibleRow {
	var out []visibleRow
	for _, row := range rep.Rows() {
		if keep(row) {
			out = append(out, visibleRow{string(row.Action), row.Resource, row.User})
		}
	}
	return out
}

// TestBrowserFilters drives the page with playwright-core: filter by action, then by connection
// and user, then open a filtered link; only the matching rows may be visible, and the page may
// load nothing but itself.
func TestBrowserFilters(t *testing.T) {
	chromium, node := playwright(t)
	page, rep := reviewPage(t)
	const action, connection, user = "enable", "pingid_provisioning_connection.corp", "A"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := runCheck(ctx, t, node, chromium, "filters", page, action, connection, user)
	var got struct {
		All, ByAction, ByConnectionAndUser, FromHash []visibleRow
		Hash, Shown                                  string
		VisibleSections, Requests, Errors            []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("check.mjs output: %v\n%s", err, out)
	}
	all := wantRows(rep, func(planreport.Row) bool { return true })
	if !slices.Equal(got.All, all) {
		t.Errorf("unfiltered page shows %v, want every row %v", got.All, all)
	}
	byAction := wantRows(rep, func(r planreport.Row) bool { return r.Action == action })
	if len(byAction) == 0 || !slices.Equal(got.ByAction, byAction) {
		t.Errorf("filtered to %s the page shows %v, want %v", action, got.ByAction, byAction)
	}
	if got.Hash != "#action="+action || got.Shown != fmt.Sprintf("%d of %d rows match", len(byAction), len(all)) || !slices.Equal(got.VisibleSections, []string{"section-widening"}) {
		t.Errorf("filtered state: hash %q, %q, sections %v", got.Hash, got.Shown, got.VisibleSections)
	}
	byBoth := wantRows(rep, func(r planreport.Row) bool {
		return r.Resource == connection && strings.Contains(strings.ToLower(r.User), strings.ToLower(user))
	})
	if len(byBoth) == 0 || !slices.Equal(got.ByConnectionAndUser, byBoth) {
		t.Errorf("connection %s and user %q: page shows %v, want %v", connection, user, got.ByConnectionAndUser, byBoth)
	}
	if !slices.Equal(got.FromHash, byAction) {
		t.Errorf("opened with #action=%s the page shows %v, want %v", action, got.FromHash, byAction)
	}
	for _, u := range got.Requests {
		if !strings.HasPrefix(u, "file://") {
			t.Errorf("the page requested %s: it must be self-contained", u)
		}
	}
	if len(got.Errors) > 0 {
		t.Errorf("page errors (a Content-Security-Policy violation shows here): %v", got.Errors)
	}
}

// playwright returns Chromium's and node's paths, or skips saying what is missing.
func playwright(t *testing.T) (chromium, node string) {
	t.Helper()
	chromium = chromiumPath(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("browser check skipped: node not found (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join("browsertest", "node_modules", "playwright-core")); err != nil {
		t.Skip("browser check skipped: playwright-core is not installed: run `make ensure-chromium` (npm ci in cmd/pingid-plan-report/browsertest)")
	}
	return chromium, node
}

// runCheck runs browsertest/check.mjs and returns its JSON output.
func runCheck(ctx context.Context, t *testing.T, node, chromium string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(ctx, node, append([]string{"check.mjs"}, args...)...)
	cmd.Dir = "browsertest"
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("node check.mjs: %v\n%s", err, stderr)
	}
	return out
}

// TestBrowserLongSection: a section longer than --html-page-rows shows its first rows and a
// "Show all" button; a search still finds rows past them; the button shows every row. On the
// real 400-user plan, with 100 rows per page.
func TestBrowserLongSection(t *testing.T) {
	chromium, node := playwright(t)
	page := filepath.Join(t.TempDir(), "large.html")
	plan := filepath.Join("..", "..", "internal", "planreport", "testdata", "plans", "terraform-1.5.7", "large-create.json")
	if code, _, stderr := runCmd(t, "", "--format", "html", "--html-page-rows", "100", "-o", page, plan); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var got struct {
		First, AfterShowAll int
		Button              string
		Searched            []visibleRow
		ButtonVisible       bool
		Requests, Errors    []string
	}
	if err := json.Unmarshal(runCheck(ctx, t, node, chromium, "paging", page, "user0039"), &got); err != nil {
		t.Fatal(err)
	}
	if got.First != 100 || got.Button != "Show all 400 rows (300 more)" {
		t.Errorf("first view: %d rows, button %q; want 100 and the button", got.First, got.Button)
	}
	var users []string
	for _, r := range got.Searched {
		users = append(users, r.User)
	}
	if len(users) != 10 || users[0] != "user00390" || users[9] != "user00399" {
		t.Errorf("searching user0039 shows %v, want user00390..user00399 (past the first 100)", users)
	}
	if got.AfterShowAll != 400 || got.ButtonVisible {
		t.Errorf("after Show all: %d rows, button visible %v", got.AfterShowAll, got.ButtonVisible)
	}
	if len(got.Errors) > 0 {
		t.Errorf("page errors: %v", got.Errors)
	}
}

var rowTag = regexp.MustCompile(`<tr class="row" data-action="([a-z_]+)"[^>]*?( hidden(="")?)?>`)

// TestBrowserDumpDOMWithHashFilter needs only Chromium: --dump-dom prints the page after its
// script ran, so a filter in the URL fragment must leave exactly the matching rows unhidden.
func TestBrowserDumpDOMWithHashFilter(t *testing.T) {
	chromium := chromiumPath(t)
	page, rep := reviewPage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const action = "disable"
	args := append(chromiumFlags(t.TempDir()), "--dump-dom", "file://"+page+"#action="+action)
	out, err := exec.CommandContext(ctx, chromium, args...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	var shown []string
	total := 0
	for _, m := range rowTag.FindAllStringSubmatch(string(out), -1) {
		total++
		if m[2] == "" {
			shown = append(shown, m[1])
		}
	}
	want := rep.Counts[planreport.ActionDisable]
	if total != rep.TotalRows() || len(shown) != want || slices.ContainsFunc(shown, func(a string) bool { return a != action }) {
		t.Errorf("#action=%s: %d of %d rows unhidden (%v), want the %d %s rows", action, len(shown), total, shown, want, action)
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
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
	chromium := chromiumPath(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("browser check skipped: node not found (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join("browsertest", "node_modules", "playwright-core")); err != nil {
		t.Skip("browser check skipped: playwright-core is not installed: run `make ensure-chromium` (npm ci in cmd/pingid-plan-report/browsertest)")
	}
	page, rep := reviewPage(t)
	const action, connection, user = "enable", "pingid_provisioning_connection.corp", "A"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "check.mjs", page, action, connection, user)
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
	var got struct {
		All, ByAction, ByConnectionAndUser, FromHash []visibleRow
		Hash, Shown                                  string
		VisibleSections, Requests, Errors            []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("check.mjs output: %v\n%s", err, out)
	}
	if all := wantRows(rep, func(planreport.Row) bool { return true }); !slices.Equal(got.All, all) {
		t.Errorf("unfiltered page shows %v, want every row %v", got.All, all)
	}
	byAction := wantRows(rep, func(r planreport.Row) bool { return r.Action == action })
	if len(byAction) == 0 || !slices.Equal(got.ByAction, byAction) {
		t.Errorf("filtered to %s the page shows %v, want %v", action, got.ByAction, byAction)
	}
	if got.Hash != "#action="+action || got.Shown != "2 of 12 rows shown" || !slices.Equal(got.VisibleSections, []string{"section-widening"}) {
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

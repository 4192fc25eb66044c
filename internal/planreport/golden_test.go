package planreport

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// update rewrites the golden reports: go test ./internal/planreport -update. The plans they are
// made from are real: internal/e2e TestPlanReportFixtures writes them (see testdata/README.md).
var update = flag.Bool("update", false, "rewrite testdata/golden from the plan fixtures")

// fixtures returns every committed plan fixture as cli/name -> path.
func fixtures(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "plans", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no plan fixtures under testdata/plans: run TestPlanReportFixtures in internal/e2e with -update")
	}
	out := map[string]string{}
	for _, p := range paths {
		cli := filepath.Base(filepath.Dir(p))
		out[cli+"/"+strings.TrimSuffix(filepath.Base(p), ".json")] = p
	}
	return out
}

func readFixture(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func build(t *testing.T, plan []byte) *Report {
	t.Helper()
	rep, err := Build(plan)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return rep
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/planreport -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (rerun with -update after reviewing):\n%s", path, firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first differing line with a little context.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return "(same lines, different bytes)"
}

// TestGoldenReports renders every real plan fixture as Markdown and HTML.
func TestGoldenReports(t *testing.T) {
	for name, path := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			rep := build(t, readFixture(t, path))
			var md, page bytes.Buffer
			if err := rep.WriteMarkdown(&md, MarkdownOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := rep.WriteHTML(&page, HTMLOptions{}); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", name)
			checkGolden(t, golden+".md", md.Bytes())
			checkGolden(t, golden+".html", page.Bytes())
		})
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var changesPlan = filepath.Join("..", "..", "internal", "planreport", "testdata", "plans", "terraform-1.5.7", "changes.json")

func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestMarkdownFromFileAndStdin(t *testing.T) {
	code, fromFile, stderr := runCmd(t, "", changesPlan)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(fromFile, "## PingID plan review") || !strings.Contains(fromFile, "### Access widening (2)") {
		t.Errorf("not the Markdown report:\n%s", fromFile)
	}
	plan, err := os.ReadFile(changesPlan)
	if err != nil {
		t.Fatal(err)
	}
	code, fromStdin, _ := runCmd(t, string(plan))
	if code != 0 || fromStdin != fromFile {
		t.Errorf("stdin: exit %d, same output %v", code, fromStdin == fromFile)
	}
	code, dash, _ := runCmd(t, string(plan), "-")
	if code != 0 || dash != fromFile {
		t.Errorf("'-': exit %d, same output %v", code, dash == fromFile)
	}
}

func TestHTMLToFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "review.html")
	code, stdout, stderr := runCmd(t, "", "--format", "html", "-o", out, changesPlan)
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) || !bytes.HasSuffix(page, []byte("</html>\n")) {
		t.Errorf("not a whole page: %.200s", page)
	}
	entries, err := os.ReadDir(filepath.Dir(out))
	if err != nil || len(entries) != 1 {
		t.Errorf("temporary files left next to the output: %v", entries)
	}
}

// TestBadInputWritesNothing: one line on stderr, exit 2, and -o leaves an existing file alone.
func TestBadInputWritesNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "review.md")
	if err := os.WriteFile(out, []byte("previous report\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notPlan := filepath.Join(dir, "state.json")
	if err := os.WriteFile(notPlan, []byte(`{"format_version":"1.0","values":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"not JSON on stdin", "Plan: 3 to add", []string{"-o", out}, "stdin: input is not JSON"},
		{"not a plan", "", []string{"-o", out, notPlan}, "state.json: input is JSON but not a plan"},
		{"missing file", "", []string{"-o", out, filepath.Join(dir, "nope.json")}, "no such file"},
		{"bad format", "", []string{"--format", "pdf", changesPlan}, `--format "pdf"`},
		{"bad gate", "", []string{"--fail-on", "enabled", changesPlan}, `unknown action "enabled"`},
		{"two plans", "", []string{changesPlan, changesPlan}, "one plan at a time"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, c.stdin, c.args...)
			if code != 2 || stdout != "" {
				t.Errorf("exit %d, stdout %q", code, stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) || !strings.HasPrefix(stderr, "pingid-plan-report: ") {
				t.Errorf("stderr %q: want one line with %q", stderr, c.want)
			}
			if got, _ := os.ReadFile(out); string(got) != "previous report\n" {
				t.Errorf("-o file changed: %q", got)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("files left behind: %v", entries)
	}
}

// TestFailOn: a failed gate exits 3, still writes the report, and lists the offending rows.
func TestFailOn(t *testing.T) {
	code, stdout, stderr := runCmd(t, "", "--fail-on", "enable", "--fail-on", "deprovision>10,link>5", changesPlan)
	if code != 3 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "## PingID plan review") {
		t.Errorf("the report must still be written")
	}
	// ivan, suspended in PingID outside Terraform, stays suspended (reactivate_suspended_users is
	// off in the fixture), so bob is the only enable.
	want := "pingid-plan-report: --fail-on enable: 1 row (more than 0)\n" +
		"  corp\tbob\tenable\tback in group/filter (out_of_scope → in_scope)\tenabled: \"false\" → \"true\"\n"
	if stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
	if code, _, stderr := runCmd(t, "", "--fail-on", "enable>2,deprovision>4", changesPlan); code != 0 || stderr != "" {
		t.Errorf("gates that hold: exit %d, stderr %q", code, stderr)
	}
}

func TestHelpAndVersion(t *testing.T) {
	if code, _, stderr := runCmd(t, "", "-h"); code != 0 || !strings.Contains(stderr, "--fail-on") && !strings.Contains(stderr, "-fail-on") {
		t.Errorf("-h: exit %d\n%s", code, stderr)
	}
	if code, stdout, _ := runCmd(t, "", "--version"); code != 0 || stdout != "pingid-plan-report dev\n" {
		t.Errorf("--version: exit %d, %q", code, stdout)
	}
}

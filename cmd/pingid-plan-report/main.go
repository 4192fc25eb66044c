// Command pingid-plan-report reviews the PingID user changes of a saved Terraform or OpenTofu
// plan: who gains access, who loses it, and why.
//
//	terraform plan -out=tfplan
//	terraform show -json tfplan | pingid-plan-report                  # Markdown on stdout
//	pingid-plan-report --format html -o review.html plan.json         # one self-contained page
//	pingid-plan-report --fail-on enable --fail-on 'deprovision>50' plan.json
//
// Exit status: 0 reviewed; 2 the input cannot be reviewed (one line on stderr, nothing written);
// 3 a --fail-on gate failed (the report is still written; the offending rows go to stderr);
// 1 any other error.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/planreport"
)

// version is set at build time (-X main.version=...).
var version = "dev"

const (
	exitError     = 1
	exitBadInput  = 2
	exitGateFails = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pingid-plan-report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "markdown", "output format: markdown (sized for a pull-request comment) or html (one self-contained page)")
	output := fs.String("o", "", "write the report to this file (atomically) instead of stdout")
	limit := fs.Int("markdown-limit", planreport.DefaultMarkdownLimit, "Markdown: leave rows out per section beyond this many characters (-1: no limit)")
	pageRows := fs.Int("html-page-rows", planreport.DefaultHTMLPageRows, "HTML: rows each section lays out before its \"Show all\" button (filters always search every row)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	var failOn multiFlag
	fs.Var(&failOn, "fail-on", "exit 3 when the plan has more than N rows of an action: NAME or NAME>N, repeatable or comma-separated;\nNAME is an action ("+
		strings.Join(planreport.GateNames(), ", ")+")")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: pingid-plan-report [flags] [PLAN.json | -]\n\n"+
			"Reviews the PingID changes in the JSON of a saved plan (`terraform show -json PLANFILE` or\n"+
			"`tofu show -json PLANFILE`), read from the file or stdin.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nExit status: 0 reviewed, 2 unreadable input, 3 a --fail-on gate failed, 1 other errors.\n")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitBadInput
	}
	if *showVersion {
		fmt.Fprintln(stdout, "pingid-plan-report", version)
		return 0
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "pingid-plan-report: "+format+"\n", a...)
		return code
	}
	if *format != "markdown" && *format != "html" {
		return fail(exitBadInput, "--format %q: want markdown or html", *format)
	}
	gates, err := planreport.ParseGates(failOn)
	if err != nil {
		return fail(exitBadInput, "%v", err)
	}
	if fs.NArg() > 1 {
		return fail(exitBadInput, "one plan at a time: got %d arguments", fs.NArg())
	}

	data, source, err := readInput(fs.Arg(0), stdin)
	if err != nil {
		return fail(exitBadInput, "%v", err)
	}
	rep, err := planreport.Build(data)
	if err != nil {
		var inErr *planreport.InputError
		if errors.As(err, &inErr) {
			return fail(exitBadInput, "%s: %v", source, err)
		}
		return fail(exitError, "%s: %v", source, err)
	}

	var buf bytes.Buffer
	if *format == "html" {
		err = rep.WriteHTML(&buf, planreport.HTMLOptions{PageRows: *pageRows})
	} else {
		err = rep.WriteMarkdown(&buf, planreport.MarkdownOptions{Limit: *limit})
	}
	if err != nil {
		return fail(exitError, "render the report: %v", err)
	}
	if *output != "" {
		err = writeFileAtomic(*output, buf.Bytes())
	} else {
		_, err = stdout.Write(buf.Bytes())
	}
	if err != nil {
		return fail(exitError, "write the report: %v", err)
	}

	failures := rep.Check(gates)
	if len(failures) == 0 {
		return 0
	}
	for _, f := range failures {
		fmt.Fprintf(stderr, "pingid-plan-report: %s\n", f)
		for _, row := range f.Rows {
			fmt.Fprintf(stderr, "  %s\n", planreport.PlainRow(row))
		}
	}
	return exitGateFails
}

// readInput reads the plan JSON from path, or from stdin when path is "" or "-".
func readInput(path string, stdin io.Reader) ([]byte, string, error) {
	if path == "" || path == "-" {
		if f, ok := stdin.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				return nil, "stdin", errors.New("stdin is a terminal: pass a plan JSON file, or pipe `terraform show -json PLANFILE` into this command (see -h)")
			}
		}
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, "stdin", fmt.Errorf("read stdin: %w", err)
		}
		return data, "stdin", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, path, fmt.Errorf("read the plan: %w", err)
	}
	return data, path, nil
}

// writeFileAtomic writes data to a temporary file next to path and renames it into place, so a
// reader never sees a half-written report and a failure leaves any previous file as it was.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	providerAddress = "registry.terraform.io/pingid-provisioner/pingid"
	providerBinary  = "terraform-provider-pingid"
	pollInterval    = 50 * time.Millisecond
)

// tfEnv is a Terraform working environment: a CLI configuration whose dev_overrides point at a
// wrapper script that records each provider pid before exec-ing the real provider.
type tfEnv struct {
	terraform string // bin/terraform 1.5.7
	cliConfig string
	pidFile   string
	env       []string
	// pprofRoot, when set, asks the profiling build for profiles under pprofRoot/<phase>.
	pprofRoot string
}

// newTFEnv writes the wrapper and the CLI configuration under dir. providerEnv (NAME=value)
// is exported by the wrapper to the provider only, e.g. GOMEMLIMIT for an experiment.
func newTFEnv(dir, terraform, providerPath string, providerEnv []string) (*tfEnv, error) {
	pluginDir := filepath.Join(dir, "plugins")
	mirror := filepath.Join(dir, "empty-mirror")
	for _, d := range []string{pluginDir, mirror} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	e := &tfEnv{terraform: terraform, cliConfig: filepath.Join(dir, "cli.tfrc"), pidFile: filepath.Join(dir, "provider.pids")}
	// exec keeps the pid, so the pid the shell records is the provider's.
	var exports strings.Builder
	for _, kv := range providerEnv {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || strings.ContainsAny(name, " '\"$=;") {
			return nil, fmt.Errorf("provider environment %q is not NAME=value", kv)
		}
		fmt.Fprintf(&exports, "export %s=%s\n", name, shellQuote(value))
	}
	wrapper := fmt.Sprintf("#!/bin/sh\n%secho $$ >>%s\nexec %s \"$@\"\n", exports.String(), shellQuote(e.pidFile), shellQuote(providerPath))
	if err := os.WriteFile(filepath.Join(pluginDir, providerBinary), []byte(wrapper), 0o755); err != nil {
		return nil, fmt.Errorf("write provider wrapper: %w", err)
	}
	// No network installation method: only the dev override and an empty mirror.
	cli := fmt.Sprintf("disable_checkpoint = true\nprovider_installation {\n  dev_overrides {\n    %q = %q\n  }\n  filesystem_mirror {\n    path = %q\n  }\n}\n",
		providerAddress, pluginDir, mirror)
	if err := os.WriteFile(e.cliConfig, []byte(cli), 0o644); err != nil {
		return nil, fmt.Errorf("write CLI config: %w", err)
	}
	e.env = childEnv(os.Environ(), map[string]string{
		"TF_CLI_CONFIG_FILE": e.cliConfig,
		"TF_IN_AUTOMATION":   "1",
		"CHECKPOINT_DISABLE": "1",
	})
	return e, nil
}

// childEnv drops settings that would change what is measured (logging, a caller's PingID or
// LDAP settings, plugin caches) and sets overrides.
func childEnv(base []string, overrides map[string]string) []string {
	var out []string
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := overrides[name]; ok || strings.HasPrefix(name, "TF_") || strings.HasPrefix(name, "PINGID_") {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range overrides {
		out = append(out, k+"="+v)
	}
	return out
}

// with returns a copy of the environment whose commands also get extra (NAME=value), e.g.
// TF_LOG_PROVIDER=INFO for a phase whose progress lines the report shows.
func (e *tfEnv) with(extra ...string) *tfEnv {
	c := *e
	c.env = append(append([]string(nil), e.env...), extra...)
	return &c
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// measurement is one timed command.
type measurement struct {
	Started       time.Time
	Wall          time.Duration
	TFHWMKiB      int64   // terraform's own peak RSS
	ProviderKiB   int64   // largest peak RSS of any provider process
	ProviderCPU   float64 // CPU seconds of the provider processes
	TotalCPU      float64 // terraform + reaped providers (rusage)
	BenchCPU      float64 // this process meanwhile: mostly the in-process PingID emulator
	Providers     int     // provider processes started
	Calls         map[string]int64
	ExitCode      int
	StateBytes    int64
	LogPath       string
	PlanHasChange bool    // -detailed-exitcode 2
	Load          float64 // 1-minute load average when the command ended (other work on the machine)
}

// CallTotal is the number of PingID API requests.
func (m measurement) CallTotal() int64 {
	var n int64
	for _, c := range m.Calls {
		n += c
	}
	return n
}

// run executes terraform in dir with args; stdout and stderr go to logName under dir.
// Exit codes in okCodes are not errors (2 for plan -detailed-exitcode).
func (e *tfEnv) run(ctx context.Context, dir, logName string, okCodes []int, args ...string) (measurement, error) {
	var m measurement
	if err := os.WriteFile(e.pidFile, nil, 0o644); err != nil {
		return m, fmt.Errorf("reset pid file: %w", err)
	}
	m.LogPath = filepath.Join(dir, logName)
	logFile, err := os.Create(m.LogPath)
	if err != nil {
		return m, fmt.Errorf("create log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, e.terraform, append([]string{"-chdir=" + dir}, args...)...)
	cmd.Env = e.env
	if e.pprofRoot != "" {
		cmd.Env = append(append([]string(nil), e.env...), "BENCH_PPROF_DIR="+filepath.Join(e.pprofRoot, strings.TrimSuffix(logName, ".log")))
	}
	// On Ctrl-C let terraform stop its provider and release the state lock instead of killing it.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	mon := newMonitor(e.pidFile, pollInterval)
	benchCPU := selfCPU()
	start := time.Now()
	m.Started = start
	if err := cmd.Start(); err != nil {
		return m, fmt.Errorf("start terraform: %w", err)
	}
	mon.start(cmd.Process.Pid)
	waitErr := cmd.Wait()
	m.Wall = time.Since(start)
	m.BenchCPU = selfCPU() - benchCPU
	tf, provHWM, provCPU, n := mon.finish()
	m.TFHWMKiB, m.ProviderKiB, m.ProviderCPU, m.Providers = tf.HWMKiB, provHWM, provCPU, n
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.TotalCPU = tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
	}
	m.ExitCode = cmd.ProcessState.ExitCode()
	m.Load = loadAverage()
	if st, err := os.Stat(filepath.Join(dir, "terraform.tfstate")); err == nil {
		m.StateBytes = st.Size()
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return m, fmt.Errorf("terraform %s: %w", strings.Join(args, " "), waitErr)
	}
	for _, c := range okCodes {
		if m.ExitCode == c {
			m.PlanHasChange = c == 2
			return m, nil
		}
	}
	return m, fmt.Errorf("terraform %s exited %d; last lines of %s:\n%s", strings.Join(args, " "), m.ExitCode, m.LogPath, tail(m.LogPath, 30))
}

// loadAverage is the 1-minute load average, or -1 when unknown.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// selfCPU is the CPU seconds this process has used so far (0 when unknown).
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
}

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// tail returns the last n lines of a file, each cut to 300 bytes (plans print huge maps).
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var b strings.Builder
	for _, l := range lines {
		if len(l) > 300 {
			l = append(l[:300:300], "…"...)
		}
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// terraformVersion returns the first line of `terraform version`.
func terraformVersion(ctx context.Context, path string) (string, error) {
	cmd := exec.CommandContext(ctx, path, "version")
	cmd.Env = childEnv(os.Environ(), map[string]string{"CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.DevNull})
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s version: %w", path, err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first), nil
}

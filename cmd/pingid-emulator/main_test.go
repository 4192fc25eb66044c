package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// syncBuffer is an io.Writer safe to read while run writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// started is a running emulator process-in-a-goroutine.
type started struct {
	cancel context.CancelFunc
	done   chan error
	out    *syncBuffer
	url    string
}

func start(t *testing.T, args ...string) *started {
	t.Helper()
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "url")
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{cancel: cancel, done: make(chan error, 1), out: &syncBuffer{}}
	go func() { s.done <- run(ctx, append(args, "-url-out", urlFile), s.out) }()
	t.Cleanup(func() { s.stop(t) })

	deadline := time.Now().Add(10 * time.Second)
	for {
		data, err := os.ReadFile(urlFile)
		if err == nil {
			s.url = strings.TrimSpace(string(data))
			return s
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("run exited before serving: %v\n%s", err, s.out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator did not write its URL\n%s", s.out.String())
		}
	}
}

func (s *started) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	if err := <-s.done; err != nil {
		t.Errorf("run returned %v\n%s", err, s.out.String())
	}
}

// readProperties parses the few Java-properties rules PingOne's export uses (`\=` escapes).
func readProperties(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	props := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("bad properties line %q", line)
		}
		props[k] = strings.NewReplacer(`\=`, `=`, `\\`, `\`).Replace(v)
	}
	return props
}

// callAPI signs a request from the properties like Ping's samples and returns the verified
// responseBody.
func callAPI(t *testing.T, props map[string]string, op string, reqBody map[string]any) map[string]any {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(props["use_base64_key"])
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{
		"reqHeader": map[string]any{
			"locale": "en", "orgAlias": props["org_alias"], "secretKey": props["token"],
			"timestamp": time.Now().UTC().Format("2006-01-02 15:04:05.000"), "version": "4.9",
		},
		"reqBody": reqBody,
	})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key},
		(&jose.SignerOptions{}).WithHeader("org_alias", props["org_alias"]).WithHeader("token", props["token"]))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	compact, _ := jws.CompactSerialize()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, props["idp_url"]+"/rest/4/"+op+"/do", strings.NewReader(compact))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	answer, err := jose.ParseSignedCompact(string(raw), []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		t.Fatalf("%s: HTTP %d, not a JWS: %s", op, resp.StatusCode, raw)
	}
	verified, err := answer.Verify(key)
	if err != nil {
		t.Fatalf("%s: response does not verify with the properties key: %v", op, err)
	}
	var env struct {
		ResponseBody map[string]any `json:"responseBody"`
	}
	if err := json.Unmarshal(verified, &env); err != nil {
		t.Fatal(err)
	}
	return env.ResponseBody
}

func TestRunServesAndKeepsItsTenantAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	propsPath := filepath.Join(dir, "pingid.properties")
	statePath := filepath.Join(dir, "tenant.json")
	seedPath := filepath.Join(dir, "seed.json")
	pidPath := filepath.Join(dir, "emulator.pid")
	seed := `[{"username":"admin","role":"ADMIN","status":"ACTIVE","devices":[{"type":"iPhone"}]}]`
	if err := os.WriteFile(seedPath, []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-listen", "127.0.0.1:0", "-properties-out", propsPath, "-state", statePath, "-seed", seedPath, "-pid-file", pidPath}

	first := start(t, args...)
	if !strings.Contains(first.out.String(), "PingID emulator listening on "+first.url) {
		t.Fatalf("banner missing:\n%s", first.out.String())
	}
	props := readProperties(t, propsPath)
	if props["idp_url"] != first.url+"/pingid" || props["use_signature"] != "true" {
		t.Fatalf("properties = %v, url %s", props, first.url)
	}
	if info, err := os.Stat(propsPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("properties file mode: %v %v", info, err)
	}
	if pid, err := os.ReadFile(pidPath); err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("pid file = %q, %v", pid, err)
	}

	details := callAPI(t, props, "getuserdetails", map[string]any{"userName": "admin"})
	if user, _ := details["userDetails"].(map[string]any); details["errorId"] != 200.0 || user["role"] != "ADMIN" || user["status"] != "ACTIVE" {
		t.Fatalf("seeded admin = %v", details)
	}
	if added := callAPI(t, props, "adduser", map[string]any{"userName": "via-api"}); added["errorId"] != 200.0 {
		t.Fatalf("adduser = %v", added)
	}
	first.stop(t)
	if _, err := os.Stat(pidPath); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("pid file left after shutdown: %v", err)
	}

	// Restart on the same state and seed: same credentials, users kept, seed not duplicated.
	second := start(t, args...)
	again := readProperties(t, propsPath)
	for _, k := range []string{"use_base64_key", "token", "org_alias"} {
		if again[k] != props[k] {
			t.Fatalf("%s changed across restart", k)
		}
	}
	if !strings.Contains(second.out.String(), "seeded 0 of 1 users") {
		t.Fatalf("restart re-seeded:\n%s", second.out.String())
	}
	if got := callAPI(t, again, "getuserdetails", map[string]any{"userName": "via-api"}); got["errorId"] != 200.0 {
		t.Fatalf("user added before the restart: %v", got)
	}
}

func TestLimitFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-latency", "100ms", "-rate", "500", "-burst", "25", "-queue-after", "64"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := emulator.Limits{Latency: 100 * time.Millisecond, RatePerSecond: 500, Burst: 25, QueueAfter: 64}
	if cfg.limits != want {
		t.Errorf("limits = %+v, want %+v", cfg.limits, want)
	}
	if cfg, err := parseFlags(nil, io.Discard); err != nil || cfg.limits != (emulator.Limits{}) {
		t.Errorf("default limits = %+v, %v; want none", cfg.limits, err)
	}
}

func TestRequireLoopback(t *testing.T) {
	for _, tc := range []struct {
		listen string
		ok     bool
	}{
		{"127.0.0.1:0", true},
		{"127.0.0.2:8080", true},
		{"localhost:0", true},
		{"[::1]:0", true},
		{":8080", false},
		{"0.0.0.0:0", false},
		{"192.0.2.1:0", false},
		{"no-port", false},
	} {
		if err := requireLoopback(tc.listen); (err == nil) != tc.ok {
			t.Errorf("requireLoopback(%q) = %v, want ok=%v", tc.listen, err, tc.ok)
		}
	}
}

func TestRunRejectsBadInvocations(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(seed, []byte(`[{"username":"x","status":"HAPPY"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"non-loopback listen": {"-listen", "0.0.0.0:0"},
		"unknown flag":        {"-frobnicate"},
		"stray argument":      {"extra"},
		"missing seed file":   {"-seed", filepath.Join(t.TempDir(), "none.json")},
		"invalid seed user":   {"-seed", seed},
		"negative latency":    {"-latency", "-1s"},
		"negative rate":       {"-rate", "-5"},
	} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("%s: run succeeded", name)
		}
	}
}

// TestMain lets a test run the real main() in a child process (the test binary re-executed with
// emulatorMainEnv set), so exit codes are checked as a shell sees them.
func TestMain(m *testing.M) {
	if os.Getenv(emulatorMainEnv) == "1" {
		os.Args = append([]string{"pingid-emulator"}, strings.Fields(os.Getenv(emulatorArgsEnv))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const (
	emulatorMainEnv = "PINGID_EMULATOR_TEST_RUN_MAIN"
	emulatorArgsEnv = "PINGID_EMULATOR_TEST_ARGS"
)

// runMain runs main() with args in a child process and returns its exit code and output.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), emulatorMainEnv+"=1", emulatorArgsEnv+"="+strings.Join(args, " "))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exitErr):
		return exitErr.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("run %v: %v", args, err)
	return 0, "", ""
}

func TestHelpExitsZeroWithUsage(t *testing.T) {
	for _, flagName := range []string{"-h", "-help", "--help"} {
		code, stdout, stderr := runMain(t, flagName)
		if code != 0 {
			t.Errorf("%s: exit code %d, want 0 (stderr %q)", flagName, code, stderr)
		}
		for _, want := range []string{"Usage: pingid-emulator", "-properties-out", "-state", "-listen"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: usage on stdout lacks %q:\n%s", flagName, want, stdout)
			}
		}
		if strings.Contains(stdout+stderr, "help requested") {
			t.Errorf("%s: reported as an error: %s%s", flagName, stdout, stderr)
		}
	}
	// A wrong flag is still an error, with the usage to put it right.
	code, stdout, stderr := runMain(t, "-frobnicate")
	if code != 1 || !strings.Contains(stderr, "frobnicate") || !strings.Contains(stdout, "Usage: pingid-emulator") {
		t.Errorf("-frobnicate: exit %d, stdout %q, stderr %q; want exit 1 naming the flag, with the usage", code, stdout, stderr)
	}
}

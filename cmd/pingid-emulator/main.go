// Command pingid-emulator serves the PingID API emulator (internal/emulator) on loopback, for the
// demo and for manual use. It writes a pingid.properties pointing at itself, so
// `provider "pingid" { properties_file = … }` works against it unchanged.
//
//	pingid-emulator -listen 127.0.0.1:0 -properties-out pingid.properties -state tenant.json
//	pingid-emulator -latency 100ms -rate 500 -queue-after 64   # model a real tenant's limits
//
// With -state, the tenant (credentials and users) survives restarts. -latency, -rate, -burst
// and -queue-after model the service's capacity (emulator.Limits); none is on by default.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

const shutdownTimeout = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pingid-emulator:", err)
		os.Exit(1)
	}
}

type config struct {
	listen        string
	propertiesOut string
	statePath     string
	seedPath      string
	urlOut        string
	pidFile       string
	allowRemote   bool
	maxDevices    int
	limits        emulator.Limits
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("pingid-emulator", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: pingid-emulator [flags]\n\n"+
			"Serves the PingID API emulator on loopback and writes a pingid.properties pointing at it.\n\nFlags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "address to listen on (port 0 = any free port)")
	fs.StringVar(&c.propertiesOut, "properties-out", "", "write a pingid.properties (idp_url = this emulator) to `FILE`")
	fs.StringVar(&c.statePath, "state", "", "persist the tenant (credentials and users) in JSON `FILE` and reuse it on restart")
	fs.StringVar(&c.seedPath, "seed", "", "seed users from a JSON array in `FILE` (users that already exist are kept)")
	fs.StringVar(&c.urlOut, "url-out", "", "write the base URL (http://host:port) to `FILE`")
	fs.StringVar(&c.pidFile, "pid-file", "", "write the process id to `FILE` (removed on exit)")
	fs.IntVar(&c.maxDevices, "max-allowed-devices", 0, "the organization's Maximum Allowed Devices, 1-20 (default: the value in -state, else PingID's 1)")
	fs.BoolVar(&c.allowRemote, "allow-remote", false, "allow a non-loopback -listen address (the test hooks are unauthenticated)")
	fs.DurationVar(&c.limits.Latency, "latency", 0, "add this latency to every API call")
	fs.Float64Var(&c.limits.RatePerSecond, "rate", 0, "answer 429 with Retry-After beyond this many API calls per second (token bucket; 0 = no limit)")
	fs.IntVar(&c.limits.Burst, "burst", 0, "token bucket size for -rate (0 = a tenth of a second's worth)")
	fs.IntVar(&c.limits.QueueAfter, "queue-after", 0, "with more API calls than this in flight, latency grows in proportion (0 = never)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if err := c.limits.Validate(); err != nil {
		return config{}, fmt.Errorf("limits: %w", err)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return c, nil
}

// run starts the emulator and serves until ctx is cancelled, then shuts down gracefully.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h asked for the usage, which parseFlags printed: exit 0 like any CLI
	}
	if err != nil {
		return err
	}
	if !cfg.allowRemote {
		if err := requireLoopback(cfg.listen); err != nil {
			return err
		}
	}

	srv, err := emulator.New(emulator.Options{
		StatePath:         cfg.statePath,
		MaxAllowedDevices: cfg.maxDevices,
		Logf:              func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) },
	})
	if err != nil {
		return fmt.Errorf("start emulator: %w", err)
	}
	if err := srv.SetLimits(cfg.limits); err != nil {
		return err
	}
	if cfg.seedPath != "" {
		if err := seedUsers(srv, cfg.seedPath, stdout); err != nil {
			return err
		}
	}

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	baseURL := "http://" + ln.Addr().String()
	httpServer := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}

	files := []struct {
		path string
		data string
	}{
		{cfg.propertiesOut, srv.PropertiesFile(baseURL + "/pingid")},
		{cfg.urlOut, baseURL + "\n"},
		{cfg.pidFile, strconv.Itoa(os.Getpid()) + "\n"},
	}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		if err := emulator.WriteFileAtomic(f.path, []byte(f.data)); err != nil {
			_ = ln.Close()
			return err
		}
	}
	if cfg.pidFile != "" {
		defer os.Remove(cfg.pidFile)
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()
	fmt.Fprintf(stdout, "PingID emulator listening on %s (idp_url %s/pingid)\n", baseURL, baseURL)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		_ = httpServer.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintln(stdout, "PingID emulator stopped")
	return nil
}

// requireLoopback refuses addresses reachable from other hosts, including "all interfaces".
func requireLoopback(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", listen, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-listen %q is not a loopback address (use -allow-remote to override)", listen)
}

// seedUsers loads a JSON array of users. Users that exist already (e.g. from -state) are kept
// as they are, so the same -seed can be passed on every restart.
func seedUsers(srv *emulator.Server, path string, stdout io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read seed file: %w", err)
	}
	var users []emulator.User
	if err := json.Unmarshal(data, &users); err != nil {
		return fmt.Errorf("parse seed file %s: %w", path, err)
	}
	seeded := 0
	for _, u := range users {
		err := srv.SeedUser(u)
		switch {
		case errors.Is(err, emulator.ErrUserExists):
			continue
		case err != nil:
			return fmt.Errorf("seed user %q: %w", u.UserName, err)
		}
		seeded++
	}
	fmt.Fprintf(stdout, "seeded %d of %d users from %s\n", seeded, len(users), path)
	return nil
}

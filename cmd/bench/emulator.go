package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// pingidAPI is the PingID emulator, served in process on loopback with the service limits of
// the run: a latency on every API call (the emulator sleeps before processing, so concurrent
// calls overlap the way they do against the real service) and optionally a rate limit and
// a queueing threshold (emulator.Limits).
type pingidAPI struct {
	srv        *emulator.Server
	httpServer *http.Server
	properties string // pingid.properties pointing at the emulator
	limits     emulator.Limits
}

func startPingIDAPI(dir string, limits emulator.Limits) (*pingidAPI, error) {
	srv, err := emulator.New(emulator.Options{})
	if err != nil {
		return nil, fmt.Errorf("create emulator: %w", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the emulator: %w", err)
	}
	api := &pingidAPI{
		srv:        srv,
		httpServer: &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second},
		properties: filepath.Join(dir, "pingid.properties"),
		limits:     limits,
	}
	base := "http://" + ln.Addr().String()
	if err := os.WriteFile(api.properties, []byte(srv.PropertiesFile(base+"/pingid")), 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("write pingid.properties: %w", err)
	}
	go func() {
		if err := api.httpServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "bench: emulator stopped:", err)
		}
	}()
	if err := api.reset(limits.Latency); err != nil {
		_ = api.httpServer.Close()
		return nil, err
	}
	return api, nil
}

// reset forgets every user and counter and installs the run's limits with this latency.
func (p *pingidAPI) reset(latency time.Duration) error {
	p.srv.Reset()
	l := p.limits
	l.Latency = latency
	return p.srv.SetLimits(l)
}

func (p *pingidAPI) users() int { return len(p.srv.Users()) }

func (p *pingidAPI) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.httpServer.Shutdown(ctx)
}

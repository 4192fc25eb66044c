// Command profiled-provider is the provider with CPU and heap profiling, for `cmd/bench -pprof`
// only; the shipped provider (main.go) has no profiling hooks. Each process writes
// cpu-<pid>.pprof and heap-<pid>.pprof into $BENCH_PPROF_DIR when the provider server stops
// (Terraform shuts plugins down gracefully at the end of every command).
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/provider"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/runtimeconfig"
)

func main() {
	// The shipped binary's process settings, so the profiles show what users run.
	runtimeconfig.SetMemoryLimit()
	runtimeconfig.SetFrameworkLogLevel()
	log.SetFlags(0)
	dir := os.Getenv("BENCH_PPROF_DIR")
	stop := func() {}
	if dir != "" {
		var err error
		if stop, err = startProfiles(dir); err != nil {
			log.Fatal(err.Error())
		}
	}
	err := providerserver.Serve(context.Background(), provider.New("bench-pprof"), providerserver.ServeOpts{
		Address: "registry.terraform.io/pingid-provisioner/pingid",
	})
	stop()
	if err != nil {
		log.Fatal(err.Error())
	}
}

func startProfiles(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pprof dir: %w", err)
	}
	pid := os.Getpid()
	cpu, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", pid)))
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = cpu.Close()
		heap, err := os.Create(filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", pid)))
		if err != nil {
			return
		}
		runtime.GC()
		_ = pprof.Lookup("allocs").WriteTo(heap, 0) // inuse and alloc samples
		_ = heap.Close()
	}, nil
}

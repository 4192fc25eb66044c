package main

import (
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/hashicorp/terraform-plugin-log/tfsdklog"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/provider"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/runtimeconfig"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

const connectionType = "pingid_provisioning_connection"

// BenchmarkConnectionProtocol drives pingid_provisioning_connection through the framework's
// tfprotov6 server in process, as Terraform would over gRPC, without Terraform or API latency:
// it isolates the provider's CPU per refresh (ReadResource: N getuserdetails + datastore read)
// and per no-change plan (PlanResourceChange from the refresh snapshot: no I/O), so a profile
// (-cpuprofile) shows what grows faster than N. Sizes: BENCH_PROTOCOL_SIZES (default 1000,10000).
//
//	go test ./cmd/bench -run '^$' -bench ConnectionProtocol -benchtime 3x -cpuprofile cpu.out
func BenchmarkConnectionProtocol(b *testing.B) {
	if _, err := slapd.Binary("slapd"); err != nil {
		b.Skip(err)
	}
	// The framework's log level as the provider binary picks it (off without TF_LOG);
	// TF_LOG_SDK_FRAMEWORK=trace profiles the framework's default.
	if level, ok := runtimeconfig.FrameworkLogLevel(os.Getenv); ok {
		b.Setenv(runtimeconfig.FrameworkLogEnv, level)
	}
	sizes := []int{1000, 10000}
	if env := os.Getenv("BENCH_PROTOCOL_SIZES"); env != "" {
		var err error
		if sizes, err = parseSizes(env); err != nil {
			b.Fatalf("BENCH_PROTOCOL_SIZES: %v", err)
		}
	}
	for _, n := range sizes {
		b.Run("users="+strconv.Itoa(n), func(b *testing.B) {
			h := newProtocolHarness(b, n)
			b.Run("read", func(b *testing.B) {
				peak := sampleHeap()
				for b.Loop() {
					h.read(b)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/user")
				peakHeap, live := peak()
				b.ReportMetric(float64(peakHeap)/1e6, "peak-heap-MB")
				b.ReportMetric(float64(live)/1e6, "peak-live-MB")
			})
			b.Run("plan", func(b *testing.B) {
				state, private := h.read(b)
				runtime.GC()
				b.ResetTimer()
				peak := sampleHeap()
				for b.Loop() {
					b.StopTimer()
					h.newRun(b)
					b.StartTimer()
					h.plan(b, state, private)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/user")
				peakHeap, live := peak()
				b.ReportMetric(float64(peakHeap)/1e6, "peak-heap-MB")
				b.ReportMetric(float64(live)/1e6, "peak-live-MB")
			})
		})
	}
}

type protocolHarness struct {
	ctx    context.Context
	server tfprotov6.ProviderServer
	// configure is the provider's configuration request. Terraform configures the provider at
	// the start of every run, and per-run provider data (the claim registry that finds two
	// resources managing one user) must start empty: each timed plan is a new run.
	configure *tfprotov6.ConfigureProviderRequest
	typ       tftypes.Object
	config    tftypes.Value
	state     *tfprotov6.DynamicValue
}

func newProtocolHarness(b *testing.B, n int) *protocolHarness {
	b.Helper()
	ctx := quietTraceLoggers(context.Background())
	dir := b.TempDir()
	ldapDir, err := startDirectory(ctx, dir, n)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ldapDir.srv.Stop() })
	groupDN, err := ldapDir.addGroup(ctx, mainGroupCN, n)
	if err != nil {
		b.Fatal(err)
	}
	api, err := startPingIDAPI(dir, emulator.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(api.close)

	server, err := providerserver.NewProtocol6WithError(provider.New("bench")())()
	if err != nil {
		b.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil || hasErrors(schemas.Diagnostics) {
		b.Fatalf("GetProviderSchema: %v %v", err, schemas.Diagnostics)
	}
	h := &protocolHarness{ctx: ctx, server: server}
	providerType := objectType(b, schemas.Provider.ValueType())
	ds := ldapDir.config()
	providerConfig := objectOf(providerType, map[string]tftypes.Value{
		"properties_file": tftypes.NewValue(tftypes.String, api.properties),
		"datastore": objectOf(objectType(b, providerType.AttributeTypes["datastore"]), map[string]tftypes.Value{
			"url":                 tftypes.NewValue(tftypes.String, ds.URL),
			"bind_dn":             tftypes.NewValue(tftypes.String, ds.BindDN),
			"bind_password":       tftypes.NewValue(tftypes.String, ds.BindPassword),
			"directory_type":      tftypes.NewValue(tftypes.String, ds.DirectoryType),
			"allow_insecure_bind": tftypes.NewValue(tftypes.Bool, true),
		}),
	})
	h.configure = &tfprotov6.ConfigureProviderRequest{Config: dynamic(b, providerType, providerConfig)}
	h.newRun(b)

	schema := schemas.ResourceSchemas[connectionType]
	h.typ = objectType(b, schema.ValueType())
	h.config = objectOf(h.typ, map[string]tftypes.Value{
		"name": tftypes.NewValue(tftypes.String, "bench"),
		"source_location": objectOf(objectType(b, h.typ.AttributeTypes["source_location"]), map[string]tftypes.Value{
			"base_dn":  tftypes.NewValue(tftypes.String, ldapDir.peopleDN),
			"group_dn": tftypes.NewValue(tftypes.String, groupDN),
		}),
		"attribute_mapping": objectOf(objectType(b, h.typ.AttributeTypes["attribute_mapping"]), map[string]tftypes.Value{
			"username":   tftypes.NewValue(tftypes.String, "uid"),
			"email":      tftypes.NewValue(tftypes.String, "mail"),
			"first_name": tftypes.NewValue(tftypes.String, "givenName"),
			"last_name":  tftypes.NewValue(tftypes.String, "sn"),
		}),
	})

	// Create the connection (N creates in the emulator) to get a state to refresh and plan from.
	null := tftypes.NewValue(h.typ, nil)
	proposed := h.config // Terraform's ProposedNew of a create: computed attributes stay null for the framework to fill
	planned, err := server.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
		TypeName: connectionType, PriorState: dynamic(b, h.typ, null), ProposedNewState: dynamic(b, h.typ, proposed),
		Config: dynamic(b, h.typ, h.config),
	})
	if err != nil || hasErrors(planned.Diagnostics) {
		b.Fatalf("PlanResourceChange (create): %v %v", err, diagText(planned.Diagnostics))
	}
	applied, err := server.ApplyResourceChange(ctx, &tfprotov6.ApplyResourceChangeRequest{
		TypeName: connectionType, PriorState: dynamic(b, h.typ, null), PlannedState: planned.PlannedState,
		Config: dynamic(b, h.typ, h.config), PlannedPrivate: planned.PlannedPrivate,
	})
	if err != nil || hasErrors(applied.Diagnostics) {
		b.Fatalf("ApplyResourceChange (create): %v %v", err, diagText(applied.Diagnostics))
	}
	if got := api.users(); got != n {
		b.Fatalf("PingID holds %d users after the create, want %d", got, n)
	}
	h.state = applied.NewState
	return h
}

// newRun configures the provider, as Terraform does at the start of each run.
func (h *protocolHarness) newRun(b *testing.B) {
	configured, err := h.server.ConfigureProvider(h.ctx, h.configure)
	if err != nil || hasErrors(configured.Diagnostics) {
		b.Fatalf("ConfigureProvider: %v %v", err, diagText(configured.Diagnostics))
	}
}

// read is one refresh: ReadResource of the created state.
func (h *protocolHarness) read(b *testing.B) (*tfprotov6.DynamicValue, []byte) {
	resp, err := h.server.ReadResource(h.ctx, &tfprotov6.ReadResourceRequest{TypeName: connectionType, CurrentState: h.state})
	if err != nil || hasErrors(resp.Diagnostics) {
		b.Fatalf("ReadResource: %v %v", err, diagText(resp.Diagnostics))
	}
	return resp.NewState, resp.Private
}

// plan is one no-change plan after a refresh: the proposed new state equals the refreshed one.
func (h *protocolHarness) plan(b *testing.B, state *tfprotov6.DynamicValue, private []byte) {
	resp, err := h.server.PlanResourceChange(h.ctx, &tfprotov6.PlanResourceChangeRequest{
		TypeName: connectionType, PriorState: state, ProposedNewState: state,
		Config: dynamic(b, h.typ, h.config), PriorPrivate: private,
	})
	if err != nil || hasErrors(resp.Diagnostics) {
		b.Fatalf("PlanResourceChange: %v %v", err, diagText(resp.Diagnostics))
	}
	if len(resp.RequiresReplace) > 0 {
		b.Fatalf("no-change plan requires replacement: %v", resp.RequiresReplace)
	}
}

// sampleHeap polls the heap every millisecond until the returned function is called, which
// returns the largest heap seen (live plus not yet collected objects: what the process's peak
// RSS is made of, apart from the runtime's fixed overhead) and the largest live heap after a
// GC. With BENCH_PEAK_HEAP_PROFILE=file it writes a heap profile whenever the live heap reaches
// a new high; a heap profile describes the last completed GC, so the file shows what was live
// at the largest live heap.
func sampleHeap() func() (peak, live uint64) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	profilePath := os.Getenv("BENCH_PEAK_HEAP_PROFILE")
	var peak, live atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			if v := samples[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			if v := samples[1].Value.Uint64(); v > live.Load() {
				live.Store(v)
				if profilePath != "" {
					writeHeapProfile(profilePath)
				}
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(stop)
		<-done
		return peak.Load(), live.Load()
	}
}

func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_ = pprof.Lookup("heap").WriteTo(f, 0)
}

// quietTraceLoggers sets up the SDK and provider root loggers the way tf6server.Serve does
// (JSON at TRACE: the framework formats every trace line it emits) but writes to /dev/null.
// The default output is os.Stderr as read at logger creation, hence the swap.
func quietTraceLoggers(ctx context.Context) context.Context {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return ctx
	}
	stderr := os.Stderr
	os.Stderr = devNull
	defer func() { os.Stderr = stderr }()
	ctx = tfsdklog.NewRootSDKLogger(ctx, tfsdklog.WithLevel(hclog.Trace))
	return tfsdklog.NewRootProviderLogger(ctx, tflog.WithLevel(hclog.Trace))
}

func objectType(b *testing.B, t tftypes.Type) tftypes.Object {
	b.Helper()
	o, ok := t.(tftypes.Object)
	if !ok {
		b.Fatalf("schema type %s is not an object", t)
	}
	return o
}

// objectOf builds an object of typ from the given attributes; the others are null.
func objectOf(typ tftypes.Object, vals map[string]tftypes.Value) tftypes.Value {
	all := make(map[string]tftypes.Value, len(typ.AttributeTypes))
	for name, t := range typ.AttributeTypes {
		if v, ok := vals[name]; ok {
			all[name] = v
		} else {
			all[name] = tftypes.NewValue(t, nil)
		}
	}
	return tftypes.NewValue(typ, all)
}

func dynamic(b *testing.B, typ tftypes.Type, v tftypes.Value) *tfprotov6.DynamicValue {
	dv, err := tfprotov6.NewDynamicValue(typ, v)
	if err != nil {
		b.Fatalf("encode value: %v", err)
	}
	return &dv
}

func hasErrors(diags []*tfprotov6.Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			return true
		}
	}
	return false
}

func diagText(diags []*tfprotov6.Diagnostic) string {
	var parts []string
	for _, d := range diags {
		parts = append(parts, d.Summary+": "+d.Detail)
	}
	return strings.Join(parts, "; ")
}

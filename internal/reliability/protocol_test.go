package reliability

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/provider"
)

const (
	connectionType = "pingid_provisioning_connection"
	mappedUserType = "pingid_mapped_user"
	groupDataType  = "pingid_datastore_group"
)

// secretScanner checks every diagnostic the provider produces against the secrets a test
// configured: no token, signing key or bind password may ever appear in one.
type secretScanner struct {
	t       testing.TB
	mu      sync.Mutex
	secrets map[string]bool
	scanned int
}

func newSecretScanner(t testing.TB, secrets ...string) *secretScanner {
	s := &secretScanner{t: t, secrets: map[string]bool{}}
	s.add(secrets...)
	return s
}

func (s *secretScanner) add(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secrets {
		// Very short values (a test's "x") would match by accident and are not secrets anyone uses.
		if len(v) >= 6 {
			s.secrets[v] = true
		}
	}
}

func (s *secretScanner) scan(where string, diags []*tfprotov6.Diagnostic) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range diags {
		s.scanned++
		text := d.Summary + "\n" + d.Detail
		for secret := range s.secrets {
			if strings.Contains(text, secret) {
				s.t.Errorf("%s: a diagnostic contains a secret (%d characters): %s", where, len(secret), d.Summary)
			}
		}
	}
}

// scannedDiagnostics is how many diagnostics passed the scan (so a test can show it scanned some).
func (s *secretScanner) scannedDiagnostics() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scanned
}

// scanningServer is the real provider server with every response's diagnostics scanned.
type scanningServer struct {
	tfprotov6.ProviderServer
	scanner *secretScanner
}

// scanned calls one RPC of the real server and scans the diagnostics of its response.
func scanned[Req, Resp any](ctx context.Context, s scanningServer, rpc string, call func(context.Context, *Req) (*Resp, error), req *Req) (*Resp, error) {
	resp, err := call(ctx, req)
	if resp != nil {
		// Every tfprotov6 response type has a Diagnostics field.
		var diags []*tfprotov6.Diagnostic
		field := reflect.ValueOf(resp).Elem().FieldByName("Diagnostics")
		if field.IsValid() {
			diags, _ = field.Interface().([]*tfprotov6.Diagnostic)
		}
		if diags == nil && field.Kind() != reflect.Slice {
			s.scanner.t.Errorf("%s: response %T has no Diagnostics to scan", rpc, resp)
		}
		s.scanner.scan(rpc, diags)
	}
	return resp, err
}

func (s scanningServer) ValidateProviderConfig(ctx context.Context, req *tfprotov6.ValidateProviderConfigRequest) (*tfprotov6.ValidateProviderConfigResponse, error) {
	return scanned(ctx, s, "ValidateProviderConfig", s.ProviderServer.ValidateProviderConfig, req)
}

func (s scanningServer) ConfigureProvider(ctx context.Context, req *tfprotov6.ConfigureProviderRequest) (*tfprotov6.ConfigureProviderResponse, error) {
	return scanned(ctx, s, "ConfigureProvider", s.ProviderServer.ConfigureProvider, req)
}

func (s scanningServer) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return scanned(ctx, s, "ValidateResourceConfig", s.ProviderServer.ValidateResourceConfig, req)
}

func (s scanningServer) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	return scanned(ctx, s, "ValidateDataResourceConfig", s.ProviderServer.ValidateDataResourceConfig, req)
}

func (s scanningServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return scanned(ctx, s, "ReadResource", s.ProviderServer.ReadResource, req)
}

func (s scanningServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return scanned(ctx, s, "PlanResourceChange", s.ProviderServer.PlanResourceChange, req)
}

func (s scanningServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return scanned(ctx, s, "ApplyResourceChange", s.ProviderServer.ApplyResourceChange, req)
}

func (s scanningServer) ImportResourceState(ctx context.Context, req *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	return scanned(ctx, s, "ImportResourceState", s.ProviderServer.ImportResourceState, req)
}

func (s scanningServer) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	return scanned(ctx, s, "ReadDataSource", s.ProviderServer.ReadDataSource, req)
}

// scannedFactories are plugin-testing provider factories whose every diagnostic is scanned.
func scannedFactories(scanner *secretScanner) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"pingid": func() (tfprotov6.ProviderServer, error) {
			inner, err := providerserver.NewProtocol6WithError(provider.New("test")())()
			if err != nil {
				return nil, err
			}
			return scanningServer{ProviderServer: inner, scanner: scanner}, nil
		},
	}
}

// session talks to one provider server instance the way Terraform does, one RPC at a time.
type session struct {
	t       testing.TB
	server  tfprotov6.ProviderServer
	schemas *tfprotov6.GetProviderSchemaResponse
	// providerConfig is the last successful ConfigureProvider's configuration. Terraform
	// configures the provider at the start of every run (each plan and apply walk), so each plan
	// here starts a new run the same way: per-run provider data (the claim registry that finds two
	// resources managing one user) must not carry over from one plan to the next.
	providerConfig map[string]any
}

func newSession(t testing.TB, scanner *secretScanner) *session {
	t.Helper()
	inner, err := providerserver.NewProtocol6WithError(provider.New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, server: scanningServer{ProviderServer: inner, scanner: scanner}}
	s.schemas, err = s.server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if errs := errorDiags(s.schemas.Diagnostics); len(errs) > 0 {
		t.Fatalf("GetProviderSchema: %s", describe(errs))
	}
	return s
}

func (s *session) providerType() tftypes.Type { return s.schemas.Provider.ValueType() }

func (s *session) resourceType(name string) tftypes.Type {
	sch, ok := s.schemas.ResourceSchemas[name]
	if !ok {
		s.t.Fatalf("no resource %s", name)
	}
	return sch.ValueType()
}

func (s *session) dataType(name string) tftypes.Type {
	sch, ok := s.schemas.DataSourceSchemas[name]
	if !ok {
		s.t.Fatalf("no data source %s", name)
	}
	return sch.ValueType()
}

func (s *session) dynamic(typ tftypes.Type, v tftypes.Value) *tfprotov6.DynamicValue {
	s.t.Helper()
	dv, err := tfprotov6.NewDynamicValue(typ, v)
	if err != nil {
		s.t.Fatalf("encode %s: %v", typ, err)
	}
	return &dv
}

func (s *session) validateProvider(cfg map[string]any) []*tfprotov6.Diagnostic {
	s.t.Helper()
	typ := s.providerType()
	resp, err := s.server.ValidateProviderConfig(context.Background(), &tfprotov6.ValidateProviderConfigRequest{
		Config: s.dynamic(typ, value(s.t, typ, cfg)),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.Diagnostics
}

func (s *session) configure(cfg map[string]any) []*tfprotov6.Diagnostic {
	s.t.Helper()
	typ := s.providerType()
	resp, err := s.server.ConfigureProvider(context.Background(), &tfprotov6.ConfigureProviderRequest{
		TerraformVersion: "1.5.7",
		Config:           s.dynamic(typ, value(s.t, typ, cfg)),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.Diagnostics
}

// mustConfigure configures the provider and fails the test on any error.
func (s *session) mustConfigure(cfg map[string]any) {
	s.t.Helper()
	if errs := errorDiags(s.configure(cfg)); len(errs) > 0 {
		s.t.Fatalf("ConfigureProvider: %s", describe(errs))
	}
	s.providerConfig = cfg
}

// newRun configures the provider again, as Terraform does at the start of each run.
func (s *session) newRun() {
	s.t.Helper()
	if s.providerConfig != nil {
		s.mustConfigure(s.providerConfig)
	}
}

func (s *session) validateResource(name string, cfg map[string]any) []*tfprotov6.Diagnostic {
	s.t.Helper()
	typ := s.resourceType(name)
	resp, err := s.server.ValidateResourceConfig(context.Background(), &tfprotov6.ValidateResourceConfigRequest{
		TypeName: name, Config: s.dynamic(typ, value(s.t, typ, cfg)),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.Diagnostics
}

func (s *session) validateData(name string, cfg map[string]any) []*tfprotov6.Diagnostic {
	s.t.Helper()
	typ := s.dataType(name)
	resp, err := s.server.ValidateDataResourceConfig(context.Background(), &tfprotov6.ValidateDataResourceConfigRequest{
		TypeName: name, Config: s.dynamic(typ, value(s.t, typ, cfg)),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.Diagnostics
}

// planned is one resource plan: the planned state and its private data, as Terraform keeps them.
type planned struct {
	config  tftypes.Value
	state   tftypes.Value
	private []byte
	diags   []*tfprotov6.Diagnostic
}

// planCreate plans a new connection from cfg. Terraform's proposed new state for a create is the
// configuration itself (computed attributes null).
func (s *session) planCreate(ctx context.Context, cfg map[string]any) planned {
	s.t.Helper()
	s.newRun()
	name := connectionType
	typ := s.resourceType(name)
	config := value(s.t, typ, cfg)
	resp, err := s.server.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
		TypeName:         name,
		PriorState:       s.dynamic(typ, tftypes.NewValue(typ, nil)),
		ProposedNewState: s.dynamic(typ, config),
		Config:           s.dynamic(typ, config),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return planned{config: config, state: s.decode(typ, resp.PlannedState), private: resp.PlannedPrivate, diags: resp.Diagnostics}
}

// refreshAndPlan is Terraform's plan of an existing resource whose configuration did not
// change: ReadResource, then PlanResourceChange with the refreshed state as prior and as
// proposed new state (with an unchanged configuration they are the same).
func (s *session) refreshAndPlan(ctx context.Context, config, prior tftypes.Value, priorPrivate []byte) (refreshed tftypes.Value, p planned) {
	s.t.Helper()
	s.newRun()
	name := connectionType
	typ := s.resourceType(name)
	read, err := s.server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{
		TypeName: name, CurrentState: s.dynamic(typ, prior), Private: priorPrivate,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	if errs := errorDiags(read.Diagnostics); len(errs) > 0 {
		return prior, planned{config: config, state: prior, diags: read.Diagnostics}
	}
	refreshed = s.decode(typ, read.NewState)
	resp, err := s.server.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
		TypeName:         name,
		PriorState:       s.dynamic(typ, refreshed),
		ProposedNewState: s.dynamic(typ, refreshed),
		Config:           s.dynamic(typ, config),
		PriorPrivate:     read.Private,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return refreshed, planned{config: config, state: s.decode(typ, resp.PlannedState), private: resp.PlannedPrivate, diags: resp.Diagnostics}
}

// apply applies a plan on top of prior (null for a create) and returns the new state.
func (s *session) apply(ctx context.Context, prior tftypes.Value, p planned) (tftypes.Value, []*tfprotov6.Diagnostic) {
	s.t.Helper()
	name := connectionType
	typ := s.resourceType(name)
	if prior.Type() == nil {
		prior = tftypes.NewValue(typ, nil)
	}
	resp, err := s.server.ApplyResourceChange(ctx, &tfprotov6.ApplyResourceChangeRequest{
		TypeName:       name,
		PriorState:     s.dynamic(typ, prior),
		PlannedState:   s.dynamic(typ, p.state),
		Config:         s.dynamic(typ, p.config),
		PlannedPrivate: p.private,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return s.decode(typ, resp.NewState), resp.Diagnostics
}

func (s *session) decode(typ tftypes.Type, dv *tfprotov6.DynamicValue) tftypes.Value {
	s.t.Helper()
	if dv == nil {
		return tftypes.NewValue(typ, nil)
	}
	v, err := dv.Unmarshal(typ)
	if err != nil {
		s.t.Fatalf("decode %s: %v", typ, err)
	}
	return v
}

// unknownValue in a configuration map stands for a value known only after apply.
type unknownValue struct{}

// value builds a tftypes value of typ from plain Go values: nil (null), string, int, bool,
// []string, map[string]string, map[string]any (objects) and unknownValue. Keys that the type
// does not have fail the test, so a typo cannot silently test nothing.
func value(t testing.TB, typ tftypes.Type, v any) tftypes.Value {
	t.Helper()
	switch v := v.(type) {
	case nil:
		return tftypes.NewValue(typ, nil)
	case unknownValue:
		return tftypes.NewValue(typ, tftypes.UnknownValue)
	case tftypes.Value:
		return v
	}
	switch v := v.(type) {
	case string:
		return tftypes.NewValue(typ, v)
	case int:
		return tftypes.NewValue(typ, int64(v))
	case bool:
		return tftypes.NewValue(typ, v)
	case []string:
		list, ok := typ.(tftypes.List)
		if !ok {
			break
		}
		var elems []tftypes.Value
		for _, e := range v {
			elems = append(elems, tftypes.NewValue(list.ElementType, e))
		}
		return tftypes.NewValue(typ, elems)
	case map[string]string:
		m, ok := typ.(tftypes.Map)
		if !ok {
			break
		}
		elems := map[string]tftypes.Value{}
		for k, e := range v {
			elems[k] = tftypes.NewValue(m.ElementType, e)
		}
		return tftypes.NewValue(typ, elems)
	case map[string]any:
		obj, ok := typ.(tftypes.Object)
		if !ok {
			break
		}
		for k := range v {
			if _, ok := obj.AttributeTypes[k]; !ok {
				t.Fatalf("configuration key %q is not an attribute (have %v)", k, keys(obj.AttributeTypes))
			}
		}
		attrs := map[string]tftypes.Value{}
		for name, at := range obj.AttributeTypes {
			attrs[name] = value(t, at, v[name])
		}
		return tftypes.NewValue(typ, attrs)
	}
	t.Fatalf("cannot build a %s from %T", typ, v)
	return tftypes.Value{}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// usersOf reads the users map (username -> canonical JSON) of a connection state.
func usersOf(t testing.TB, state tftypes.Value) map[string]string {
	t.Helper()
	if state.IsNull() {
		return nil
	}
	var attrs map[string]tftypes.Value
	if err := state.As(&attrs); err != nil {
		t.Fatal(err)
	}
	if !attrs["users"].IsKnown() {
		t.Fatal("users is unknown")
	}
	var elems map[string]tftypes.Value
	if err := attrs["users"].As(&elems); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(elems))
	for k, v := range elems {
		var s string
		if err := v.As(&s); err != nil {
			t.Fatal(err)
		}
		out[k] = s
	}
	return out
}

// attrPath renders a diagnostic's attribute path as HCL would: datastore.url, users["x"].
func attrPath(p *tftypes.AttributePath) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	for _, step := range p.Steps() {
		switch s := step.(type) {
		case tftypes.AttributeName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(s))
		case tftypes.ElementKeyString:
			fmt.Fprintf(&b, "[%q]", string(s))
		case tftypes.ElementKeyInt:
			fmt.Fprintf(&b, "[%d]", int64(s))
		default:
			b.WriteString("[?]")
		}
	}
	return b.String()
}

func errorDiags(diags []*tfprotov6.Diagnostic) []*tfprotov6.Diagnostic {
	var out []*tfprotov6.Diagnostic
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			out = append(out, d)
		}
	}
	return out
}

func describe(diags []*tfprotov6.Diagnostic) string {
	var parts []string
	for _, d := range diags {
		parts = append(parts, fmt.Sprintf("[%s] %s: %s", attrPath(d.Attribute), d.Summary, d.Detail))
	}
	return strings.Join(parts, "\n")
}

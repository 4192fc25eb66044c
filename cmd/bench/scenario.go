package main

import (
	"context"
	"fmt"
	"log"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

// bench holds what every scenario shares.
type bench struct {
	cfg      config
	root     string // repository root
	work     string
	provider string // built provider binary
	tfPath   string
	// planReport is the built cmd/pingid-plan-report.
	planReport string
}

// runFunc runs one measured Terraform command: in tfDir, named name (its log file), exit
// codes okCodes accepted.
type runFunc func(tfDir, name string, okCodes []int, args ...string) (phase, error)

// phase is one measured Terraform command.
type phase struct {
	Name string
	measurement
}

// sizeResult is everything measured on one directory of N users.
type sizeResult struct {
	N            int
	Bound        time.Duration // N × latency / concurrency
	LoadTime     time.Duration // slapadd + start
	GroupTime    time.Duration // online add of the N-member group
	CreatePlan   phase         // (a) plan
	CreateApply  phase         // (a) apply of the saved plan
	NoChangePlan phase         // (b)
	ChangePlan   phase         // (c) plan after 1 % changed
	ChangeApply  phase         // (c) apply of that plan
	// (g) MFA devices on the same connection: mail also paired as "Email 1"
	// (manage_devices = "merge"), then a no-change plan, which must cost what (b) did.
	DevicesPlan, DevicesApply, DevicesNoChangePlan phase
	Changed                                        int
	LDAPSearch                                     timed // (e) anchor
	DatastoreRead                                  timed // provider's read of the same group, in process
	GoLDAPFloor                                    timed // go-ldap's bare paged search of ldapsearch's query, in process
	Comparisons                                    []comparison
	PlanReport                                     *planReportResult    // pingid-plan-report on the saved plan (a)
	NoChangeInFlight                               []inFlightBucketStat // calls in flight at the emulator during (b)
	NoChangeRefresh                                *progressSummary     // the provider's summary line of (b)'s refresh
	Limited                                        *limitedResult       // issue 15: full no-change plan under a rate limit
	Rolling                                        *rollingResult       // issue 15: rolling drift detection after 1 % changed
	Problems                                       []string             // results that contradict what the phase should do
}

// comparison is the connection and for_each over the same group of Size users.
type comparison struct {
	Size        int
	Latency     time.Duration
	Connection  variantResult
	ForEach     variantResult
	HostN       int  // the directory the groups were taken from
	ReusedMainN bool // connection numbers are the main run's (same group)
}

type variantResult struct {
	Plan, Apply, NoChangePlan phase
}

// FirstApply is the wall time of the first plan plus its apply.
func (v variantResult) FirstApply() time.Duration { return v.Plan.Wall + v.Apply.Wall }

func (b *bench) runSize(ctx context.Context, n int, compareSizes []int, compareZero bool) (*sizeResult, error) {
	res := &sizeResult{N: n, Bound: time.Duration(n) * b.cfg.latency / time.Duration(b.cfg.maxConcurrency())}
	dir := filepath.Join(b.work, fmt.Sprintf("n%d", n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	logf("N=%d: loading slapd", n)
	ldapDir, err := startDirectory(ctx, dir, n)
	if err != nil {
		return nil, err
	}
	defer func() { _ = ldapDir.srv.Stop() }()
	res.LoadTime = ldapDir.loadTime
	groupDN, err := ldapDir.addGroup(ctx, mainGroupCN, n)
	if err != nil {
		return nil, err
	}
	res.GroupTime = ldapDir.groupTime[mainGroupCN]
	logf("N=%d: slapd loaded in %s, group of %d added in %s", n, secs(res.LoadTime), n, secs(res.GroupTime))

	api, err := startPingIDAPI(dir, b.cfg.limits())
	if err != nil {
		return nil, err
	}
	defer api.close()

	env, err := newTFEnv(filepath.Join(dir, "tfenv"), b.tfPath, b.provider, b.cfg.providerEnv)
	if err != nil {
		return nil, err
	}
	if b.cfg.pprof {
		env.pprofRoot = filepath.Join(b.work, "pprof", fmt.Sprintf("n%d", n))
	}
	runner := func(env *tfEnv) runFunc {
		return func(tfDir, name string, okCodes []int, args ...string) (phase, error) {
			api.srv.ResetCalls()
			logf("N=%d: %s: terraform %s", n, name, strings.Join(args, " "))
			m, err := env.run(ctx, tfDir, logName(name), okCodes, args...)
			m.Calls = api.srv.Calls()
			p := phase{Name: name, measurement: m}
			if err != nil {
				return p, fmt.Errorf("%d users, %s: %w", n, name, err)
			}
			logf("N=%d: %s: %s wall, provider peak RSS %s, terraform %s, CPU provider %.1fs total %.1fs emulator %.1fs, %d provider processes, %d API calls",
				n, name, secs(m.Wall), mib(m.ProviderKiB), mib(m.TFHWMKiB), m.ProviderCPU, m.TotalCPU, m.BenchCPU, m.Providers, m.CallTotal())
			return p, nil
		}
	}
	run := runner(env)
	// Phases whose refresh the report breaks down also log the provider's progress lines.
	runLogged := runner(env.with(providerInfoLog...))

	// (a)-(c): the connection over the N-member group.
	tfDir := filepath.Join(dir, "connection")
	if err := writeConfig(tfDir, b.providerBlock(api, ldapDir), connectionBlock(ldapDir.peopleDN, groupDN)); err != nil {
		return nil, err
	}
	if res.CreatePlan, err = run(tfDir, "create-plan", []int{2}, planArgs("create.tfplan")...); err != nil {
		return res, err
	}
	logf("N=%d: reviewing the saved plan with pingid-plan-report", n)
	if res.PlanReport, err = b.measurePlanReport(ctx, env, tfDir, "create.tfplan", n, res); err != nil {
		return res, fmt.Errorf("%d users, plan report: %w", n, err)
	}
	if res.CreateApply, err = run(tfDir, "create-apply", []int{0}, applyArgs("create.tfplan")...); err != nil {
		return res, err
	}
	if got := api.users(); got != n {
		res.Problems = append(res.Problems, fmt.Sprintf("after the first apply PingID holds %d users, want %d", got, n))
	}
	var samples []inFlightSample
	res.NoChangePlan, samples, err = sampled(api, func() (phase, error) { return runLogged(tfDir, "nochange-plan", []int{0, 2}, planArgs("")...) })
	res.NoChangeInFlight = bucketInFlight(samples)
	if err != nil {
		return res, err
	}
	if _, summaries, err := readProgress(res.NoChangePlan); err != nil {
		return res, err
	} else if sum, ok := refresh(summaries); ok {
		res.NoChangeRefresh = &sum
	} else {
		res.Problems = append(res.Problems, noRefreshSummary("no-change plan"))
	}
	if res.NoChangePlan.PlanHasChange {
		res.Problems = append(res.Problems, "the no-change plan proposed changes")
	}
	if res.Changed, err = ldapDir.changeMail(ctx, n, 1); err != nil {
		return res, err
	}
	if res.ChangePlan, err = run(tfDir, "change-plan", []int{2}, planArgs("change.tfplan")...); err != nil {
		return res, err
	}
	if res.ChangeApply, err = run(tfDir, "change-apply", []int{0}, applyArgs("change.tfplan")...); err != nil {
		return res, err
	}
	if u, ok := api.srv.User(slapd.UserName(userPrefix, 0)); !ok || !strings.Contains(u.Email, "@changed.") {
		res.Problems = append(res.Problems, fmt.Sprintf("after the 1 %% apply, %s has email %q, want the changed one", slapd.UserName(userPrefix, 0), u.Email))
	}
	if err := b.runDevices(tfDir, run, api, ldapDir, groupDN, res); err != nil {
		return res, err
	}

	if err := b.runThroughput(ctx, run, runLogged, api, ldapDir, tfDir, res); err != nil {
		return res, err
	}

	// (e): the LDAP anchor and the provider's own read of the same group.
	logf("N=%d: timing ldapsearch, go-ldap's paged search and the datastore read (%d runs each)", n, b.cfg.ldapRuns)
	if res.LDAPSearch, err = repeatTiming(b.cfg.ldapRuns, n, func() (time.Duration, int, error) {
		return ldapDir.ldapsearchTime(ctx, groupDN)
	}); err != nil {
		return res, fmt.Errorf("%d users, ldapsearch: %w", n, err)
	}
	if res.DatastoreRead, err = repeatTiming(b.cfg.ldapRuns, n, func() (time.Duration, int, error) {
		return ldapDir.datastoreReadTime(ctx, groupDN)
	}); err != nil {
		return res, fmt.Errorf("%d users, datastore read: %w", n, err)
	}
	if res.GoLDAPFloor, err = repeatTiming(b.cfg.ldapRuns, n, func() (time.Duration, int, error) {
		return ldapDir.goLDAPFloorTime(ctx, groupDN)
	}); err != nil {
		return res, fmt.Errorf("%d users, go-ldap paged search: %w", n, err)
	}
	logf("N=%d: ldapsearch %s, go-ldap paged search %s, datastore read %s (medians)", n,
		secs(res.LDAPSearch.Median), secs(res.GoLDAPFloor.Median), secs(res.DatastoreRead.Median))

	// (d): for_each against the connection on the same groups, each from an empty PingID.
	latencies := []time.Duration{b.cfg.latency}
	if compareZero && b.cfg.latency > 0 {
		latencies = append(latencies, 0)
	}
	for _, lat := range latencies {
		for i, size := range compareSizes {
			if lat == 0 && i != len(compareSizes)-1 {
				continue // without latency only the largest size: it shows the non-API overhead
			}
			c, err := b.compare(ctx, run, api, ldapDir, dir, res, size, lat)
			if c != nil {
				res.Comparisons = append(res.Comparisons, *c)
			}
			if err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// runDevices is (g): device management turned on for the connection of (a)-(c).
func (b *bench) runDevices(tfDir string, run runFunc, api *pingidAPI,
	ldapDir *directory, groupDN string, res *sizeResult,
) error {
	block := strings.Replace(connectionBlock(ldapDir.peopleDN, groupDN), `    last_name  = "sn"
  }`, `    last_name  = "sn"
    mfa_email_1 = "mail"
  }
  manage_devices = "merge"`, 1)
	if err := writeConfig(tfDir, b.providerBlock(api, ldapDir), block); err != nil {
		return err
	}
	var err error
	if res.DevicesPlan, err = run(tfDir, "devices-plan", []int{2}, planArgs("devices.tfplan")...); err != nil {
		return err
	}
	if res.DevicesApply, err = run(tfDir, "devices-apply", []int{0}, applyArgs("devices.tfplan")...); err != nil {
		return err
	}
	if got, want := res.DevicesApply.Calls["offlinepairing"], int64(res.N); got != want {
		res.Problems = append(res.Problems, fmt.Sprintf("turning devices on paired %d devices, want %d", got, want))
	}
	if res.DevicesNoChangePlan, err = run(tfDir, "devices-nochange-plan", []int{0, 2}, planArgs("")...); err != nil {
		return err
	}
	if res.DevicesNoChangePlan.PlanHasChange {
		res.Problems = append(res.Problems, "the no-change plan with devices managed proposed changes")
	}
	if got, want := res.DevicesNoChangePlan.Calls, res.NoChangePlan.Calls; !maps.Equal(got, want) {
		res.Problems = append(res.Problems, fmt.Sprintf("the no-change plan with devices managed made %s API calls, (b) without devices %s",
			formatCalls(got), formatCalls(want)))
	}
	return nil
}

func (b *bench) compare(ctx context.Context, run runFunc, api *pingidAPI,
	ldapDir *directory, dir string, res *sizeResult, size int, latency time.Duration,
) (*comparison, error) {
	c := &comparison{Size: size, Latency: latency, HostN: res.N}
	cn := mainGroupCN
	if size != res.N {
		cn = fmt.Sprintf("cmp%d", size)
	}
	groupDN, err := ldapDir.addGroup(ctx, cn, size)
	if err != nil {
		return nil, err
	}
	tag := fmt.Sprintf("%d-%dms", size, latency.Milliseconds())
	provider := b.providerBlock(api, ldapDir)

	variants := []struct {
		name  string
		block string
		out   *variantResult
	}{
		{"connection", connectionBlock(ldapDir.peopleDN, groupDN), &c.Connection},
		{"foreach", forEachBlock(ldapDir.peopleDN, groupDN), &c.ForEach},
	}
	for _, v := range variants {
		if v.name == "connection" && size == res.N && latency == b.cfg.latency {
			c.Connection = variantResult{Plan: res.CreatePlan, Apply: res.CreateApply, NoChangePlan: res.NoChangePlan}
			c.ReusedMainN = true
			continue
		}
		if err := api.reset(latency); err != nil {
			return c, err
		}
		tfDir := filepath.Join(dir, v.name+"-"+tag)
		if err := writeConfig(tfDir, provider, v.block); err != nil {
			return c, err
		}
		var err error
		if v.out.Plan, err = run(tfDir, v.name+"-"+tag+"-plan", []int{2}, planArgs("create.tfplan")...); err != nil {
			return c, err
		}
		if v.out.Apply, err = run(tfDir, v.name+"-"+tag+"-apply", []int{0}, applyArgs("create.tfplan")...); err != nil {
			return c, err
		}
		if got := api.users(); got != size {
			res.Problems = append(res.Problems, fmt.Sprintf("%s %s: PingID holds %d users after apply, want %d", v.name, tag, got, size))
		}
		if v.out.NoChangePlan, err = run(tfDir, v.name+"-"+tag+"-nochange-plan", []int{0, 2}, planArgs("")...); err != nil {
			return c, err
		}
		if v.out.NoChangePlan.PlanHasChange {
			res.Problems = append(res.Problems, fmt.Sprintf("%s %s: the no-change plan proposed changes", v.name, tag))
		}
	}
	return c, nil
}

func planArgs(out string) []string {
	args := []string{"plan", "-input=false", "-no-color", "-detailed-exitcode"}
	if out != "" {
		args = append(args, "-out="+out)
	}
	return args
}

func applyArgs(planFile string) []string {
	return []string{"apply", "-input=false", "-no-color", "-auto-approve", planFile}
}

func logName(phase string) string { return phase + ".log" }

func writeConfig(dir string, blocks ...string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	text := "terraform {\n  required_providers {\n    pingid = { source = \"pingid-provisioner/pingid\" }\n  }\n}\n\n" + strings.Join(blocks, "\n")
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(text), 0o644); err != nil {
		return fmt.Errorf("write %s/main.tf: %w", dir, err)
	}
	return nil
}

func (b *bench) providerBlock(api *pingidAPI, d *directory) string {
	ds := d.config()
	concurrency := ""
	if b.cfg.concurrency > 0 {
		concurrency = fmt.Sprintf("  max_concurrency = %d\n", b.cfg.concurrency)
	}
	return fmt.Sprintf(`provider "pingid" {
  properties_file = %q
%s  datastore = {
    url                 = %q
    bind_dn             = %q
    bind_password       = %q
    directory_type      = %q
    allow_insecure_bind = true
    page_size           = %d
  }
}
`, api.properties, concurrency, ds.URL, ds.BindDN, ds.BindPassword, datastore.DirectoryOpenLDAP, ds.PageSize)
}

func connectionBlock(peopleDN, groupDN string) string {
	return fmt.Sprintf(`resource "pingid_provisioning_connection" "bench" {
  name = "bench"
  source_location = {
    base_dn  = %q
    group_dn = %q
  }
  attribute_mapping = {
    username   = "uid"
    email      = "mail"
    first_name = "givenName"
    last_name  = "sn"
  }
}
`, peopleDN, groupDN)
}

func forEachBlock(peopleDN, groupDN string) string {
	return fmt.Sprintf(`data "pingid_datastore_group" "bench" {
  base_dn            = %q
  group_dn           = %q
  username_attribute = "uid"
  attributes         = ["mail", "givenName", "sn"]
}

resource "pingid_mapped_user" "member" {
  for_each   = data.pingid_datastore_group.bench.members
  username   = each.key
  email      = each.value.attributes.mail
  first_name = each.value.attributes.givenName
  last_name  = each.value.attributes.sn
}
`, peopleDN, groupDN)
}

func logf(format string, args ...any) { log.Printf(format, args...) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func mib(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }

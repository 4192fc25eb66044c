package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// Target limits: the scale goals BENCHMARKS.md reports against.
const (
	targetBoundFactor   = 1.2
	targetBoundSlack    = 5 * time.Second
	targetDatastoreRead = 1.5
	targetForEachFactor = 10.0
	targetRSSBytes      = 300e6
	targetGrowth        = 6.0
	targetCallsPerUser  = 2.0
	targetN             = 10000
	targetLargeN        = 50000
	targetCompareSize   = 2000
)

// machine describes where the numbers come from.
type machine struct {
	Date, GoVersion, Terraform, Slapd, Kernel, CPU, Commit string
	NProc                                                  int
	MemTotal                                               string
}

// report is a whole run.
type report struct {
	Machine     machine
	Command     string
	Latency     time.Duration
	Concurrency int
	Limits      emulator.Limits
	ProviderEnv []string
	Sizes       []*sizeResult
	Total       time.Duration
}

type targetResult struct {
	Name, Measured, Limit string
	Status                string // PASS, MISS or "not measured"
	// Why says with this run's numbers what bounds the measurement; the report lists it
	// for every MISS.
	Why string
}

// bound explains a measured command: how its wall time splits into the PingID reads (when
// the provider logged them) and the rest, and how busy the machine's CPUs were.
func (r *report) bound(p phase, reads *progressSummary) string {
	busy := ratio(phaseCPU(p), p.Wall.Seconds())
	text := fmt.Sprintf("%s took %s", p.Name, secs(p.Wall))
	readShare := 0.0
	if reads != nil {
		readShare = ratio(reads.Elapsed.Seconds(), p.Wall.Seconds())
		text += fmt.Sprintf(": PingID reads %s (%d calls, %.0f calls/s, peak concurrency %d/%d), the rest (Terraform, the directory read, planning) %s",
			secs(reads.Elapsed), reads.Calls, reads.CallsPerSecond, reads.Peak, reads.Max, secs(max(0, p.Wall-reads.Elapsed)))
	}
	text += fmt.Sprintf("; CPU: terraform + provider %.1fs, emulator %.1fs, %.2f of %d CPUs busy on average (1-minute load %.1f at the end)",
		p.TotalCPU, p.BenchCPU, busy, r.Machine.NProc, p.Load)
	switch {
	case r.Machine.NProc > 0 && busy >= 0.85*float64(r.Machine.NProc):
		text += ": the machine's CPUs are the bound"
	case reads != nil && readShare >= 0.7:
		text += ": the PingID reads are the bound"
	case reads != nil:
		text += ": Terraform and the provider's work outside the PingID reads are the bound"
	}
	return text
}

// phaseCPU is the CPU time of a command: terraform with its providers and the emulator.
func phaseCPU(p phase) float64 { return p.TotalCPU + p.BenchCPU }

// writeMisses lists what bounds every missed target.
func writeMisses(b *strings.Builder, targets []targetResult) {
	var lines []string
	for _, t := range targets {
		if t.Status == "MISS" && t.Why != "" {
			lines = append(lines, fmt.Sprintf("- **%s**: %s.\n", t.Name, t.Why))
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("What bounds the missed targets, from this run's numbers (see also *Where the time of a plan goes*):\n\n")
	for _, l := range lines {
		b.WriteString(l)
	}
	b.WriteString("\n")
}

func (r *report) size(n int) *sizeResult {
	for _, s := range r.Sizes {
		if s.N == n {
			return s
		}
	}
	return nil
}

func (r *report) comparison(size int, latency time.Duration) *comparison {
	for _, s := range r.Sizes {
		for i := range s.Comparisons {
			if c := &s.Comparisons[i]; c.Size == size && c.Latency == latency {
				return c
			}
		}
	}
	return nil
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// ratio returns a/b, or 0 when b is zero.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func (s *sizeResult) phases() []phase {
	return []phase{s.CreatePlan, s.CreateApply, s.NoChangePlan, s.ChangePlan, s.ChangeApply}
}

func (s *sizeResult) peakProviderKiB() int64 {
	var peak int64
	for _, p := range s.phases() {
		peak = max(peak, p.ProviderKiB)
	}
	return peak
}

// allPhases is every measured command at this size: (a)-(c), the devices phases and
// issue 15's cases.
func (s *sizeResult) allPhases() []phase {
	out := append(s.phases(), s.DevicesPlan, s.DevicesApply, s.DevicesNoChangePlan)
	if s.Limited != nil {
		out = append(out, s.Limited.Plan)
	}
	if s.Rolling != nil {
		out = append(out, s.Rolling.Setup, s.Rolling.Warm, s.Rolling.Plan)
	}
	return out
}

// peakProviderPhase is the phase with the largest provider peak RSS over allPhases.
func (s *sizeResult) peakProviderPhase() phase {
	var peak phase
	for _, p := range s.allPhases() {
		if p.ProviderKiB > peak.ProviderKiB {
			peak = p
		}
	}
	return peak
}

// scaleTargets are issue 7's memory and growth targets, which issue 15 keeps.
func (r *report) scaleTargets() []targetResult {
	var out []targetResult
	notMeasured := func(name, why string) {
		out = append(out, targetResult{Name: name, Measured: why, Status: "not measured"})
	}
	name := fmt.Sprintf("%d users: provider peak RSS ≤ %.0f MB", targetLargeN, targetRSSBytes/1e6)
	if s := r.size(targetLargeN); s != nil {
		peak := s.peakProviderPhase()
		out = append(out, targetResult{Name: name, Limit: fmt.Sprintf("%.0f MB", targetRSSBytes/1e6),
			Measured: fmt.Sprintf("%s in %s (max over every phase at %d users; (a)-(c) alone: %s)", mb(peak.ProviderKiB), peak.Name, s.N, mb(s.peakProviderKiB())),
			Status:   passMiss(float64(peak.ProviderKiB)*1024 <= targetRSSBytes),
			Why: fmt.Sprintf("the peak is in %s, whose state file holds %.1f MB for %d users; run with -pprof for the provider's heap profiles",
				peak.Name, float64(peak.StateBytes)/1e6, s.N)})
	} else {
		notMeasured(name, fmt.Sprintf("N=%d not in -sizes", targetLargeN))
	}

	name = fmt.Sprintf("%d/%d time ratio ≤ %.0f in every phase", targetLargeN, targetN, targetGrowth)
	large, base := r.size(targetLargeN), r.size(targetN)
	if large != nil && base != nil {
		worst, worstName := 0.0, ""
		var parts []string
		for i, p := range large.phases() {
			q := ratio(p.Wall.Seconds(), base.phases()[i].Wall.Seconds())
			parts = append(parts, fmt.Sprintf("%s ×%.2f", p.Name, q))
			if q > worst {
				worst, worstName = q, p.Name
			}
		}
		var why string
		for i, p := range large.phases() {
			if p.Name != worstName {
				continue
			}
			bp := base.phases()[i]
			cpu := ratio(phaseCPU(p), phaseCPU(bp))
			why = fmt.Sprintf("at %d users %s; at %d users %s. The CPU time grew ×%.2f", base.N, r.bound(bp, nil), large.N, r.bound(p, nil), cpu)
			if cpu <= targetGrowth {
				why += fmt.Sprintf(", within ×%.0f: the work scales, and the wall time grew more because other work competed for the CPUs "+
					"(1-minute load %.1f at %d users against %.1f at %d)", targetGrowth, p.Load, large.N, bp.Load, base.N)
			} else {
				why += fmt.Sprintf(", beyond ×%.0f: the work itself grows faster than the users (run with -pprof for the provider's CPU profiles)", targetGrowth)
			}
		}
		out = append(out, targetResult{Name: name, Limit: fmt.Sprintf("×%.0f", targetGrowth),
			Measured: fmt.Sprintf("worst %s ×%.2f; %s", worstName, worst, strings.Join(parts, ", ")),
			Status:   passMiss(worst <= targetGrowth), Why: why})
	} else {
		notMeasured(name, fmt.Sprintf("needs N=%d and N=%d", targetN, targetLargeN))
	}

	return out
}

func (r *report) targets() []targetResult {
	var out []targetResult
	notMeasured := func(name, why string) {
		out = append(out, targetResult{Name: name, Measured: why, Status: "not measured"})
	}

	name := fmt.Sprintf("no-change plan of %d users ≤ %.1f × bound + %s", targetN, targetBoundFactor, secs(targetBoundSlack))
	if s := r.size(targetN); s != nil {
		limit := time.Duration(float64(s.Bound)*targetBoundFactor) + targetBoundSlack
		out = append(out, targetResult{Name: name, Limit: secs(limit),
			Measured: fmt.Sprintf("%s (bound %s, ratio %.2f)", secs(s.NoChangePlan.Wall), secs(s.Bound), ratio(s.NoChangePlan.Wall.Seconds(), s.Bound.Seconds())),
			Status:   passMiss(s.NoChangePlan.Wall <= limit), Why: r.bound(s.NoChangePlan, s.NoChangeRefresh)})
	} else {
		notMeasured(name, fmt.Sprintf("N=%d not in -sizes", targetN))
	}

	name = fmt.Sprintf("datastore read of %d members ≤ %.1f × ldapsearch", targetN, targetDatastoreRead)
	if s := r.size(targetN); s != nil {
		q := ratio(s.DatastoreRead.Median.Seconds(), s.LDAPSearch.Median.Seconds())
		measured := fmt.Sprintf("%s vs ldapsearch %s (×%.2f)", secs(s.DatastoreRead.Median), secs(s.LDAPSearch.Median), q)
		if s.GoLDAPFloor.Runs > 0 {
			measured += fmt.Sprintf("; go-ldap's bare paged search of the same query %s (×%.2f)",
				secs(s.GoLDAPFloor.Median), ratio(s.GoLDAPFloor.Median.Seconds(), s.LDAPSearch.Median.Seconds()))
		}
		why := ""
		if s.GoLDAPFloor.Runs > 0 {
			why = fmt.Sprintf("go-ldap's own paged search of exactly ldapsearch's query takes %s, ×%.2f of ldapsearch (BER decoding in Go), "+
				"so no go-ldap reader can reach ×%.1f; the provider's read is ×%.2f of that floor", secs(s.GoLDAPFloor.Median),
				ratio(s.GoLDAPFloor.Median.Seconds(), s.LDAPSearch.Median.Seconds()), targetDatastoreRead,
				ratio(s.DatastoreRead.Median.Seconds(), s.GoLDAPFloor.Median.Seconds()))
		}
		out = append(out, targetResult{Name: name, Limit: fmt.Sprintf("%.2fs", targetDatastoreRead*s.LDAPSearch.Median.Seconds()),
			Measured: measured, Status: passMiss(q <= targetDatastoreRead), Why: why})
	} else {
		notMeasured(name, fmt.Sprintf("N=%d not in -sizes", targetN))
	}

	name = fmt.Sprintf("connection ≥ %.0f × faster than for_each at %d users (no-change plan)", targetForEachFactor, targetCompareSize)
	if c := r.comparison(targetCompareSize, r.Latency); c != nil {
		plan := ratio(c.ForEach.NoChangePlan.Wall.Seconds(), c.Connection.NoChangePlan.Wall.Seconds())
		apply := ratio(c.ForEach.FirstApply().Seconds(), c.Connection.FirstApply().Seconds())
		out = append(out, targetResult{Name: name, Limit: fmt.Sprintf("×%.0f", targetForEachFactor),
			Measured: fmt.Sprintf("plan ×%.1f (%s vs %s); first plan+apply ×%.1f (%s vs %s)", plan,
				secs(c.ForEach.NoChangePlan.Wall), secs(c.Connection.NoChangePlan.Wall), apply,
				secs(c.ForEach.FirstApply()), secs(c.Connection.FirstApply())),
			Status: passMiss(plan >= targetForEachFactor),
			Why:    fmt.Sprintf("for_each: %s; connection: %s", r.bound(c.ForEach.NoChangePlan, nil), r.bound(c.Connection.NoChangePlan, nil))})
	} else {
		notMeasured(name, fmt.Sprintf("no comparison at %d users", targetCompareSize))
	}

	name = fmt.Sprintf("apply of %d creates: API calls ≤ %.0f per user", targetN, targetCallsPerUser)
	if s := r.size(targetN); s != nil {
		per := ratio(float64(s.CreateApply.CallTotal()), float64(s.N))
		withPlan := ratio(float64(s.CreateApply.CallTotal()+s.CreatePlan.CallTotal()), float64(s.N))
		out = append(out, targetResult{Name: name, Limit: fmt.Sprintf("%.0f per user", targetCallsPerUser),
			Measured: fmt.Sprintf("apply of the saved plan %.2f per user (%s); with its plan %.2f per user",
				per, formatCalls(s.CreateApply.Calls), withPlan),
			Status: passMiss(per <= targetCallsPerUser)})
	} else {
		notMeasured(name, fmt.Sprintf("N=%d not in -sizes", targetN))
	}
	out = append(out, r.planReportTarget())
	return out
}

func mb(kib int64) string { return fmt.Sprintf("%.0f MB", float64(kib)*1024/1e6) }

func formatCalls(calls map[string]int64) string {
	if len(calls) == 0 {
		return "none"
	}
	ops := make([]string, 0, len(calls))
	for op := range calls {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	parts := make([]string, 0, len(ops))
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%s %d", op, calls[op]))
	}
	return strings.Join(parts, ", ")
}

// describeLimits renders the emulator's rate limit and queueing threshold.
func describeLimits(l emulator.Limits) string {
	var parts []string
	if l.RatePerSecond > 0 {
		burst := "a tenth of a second's worth"
		if l.Burst > 0 {
			burst = strconv.Itoa(l.Burst)
		}
		parts = append(parts, fmt.Sprintf("token bucket of %g calls/s (burst %s) answering 429 with Retry-After", l.RatePerSecond, burst))
	}
	if l.QueueAfter > 0 {
		parts = append(parts, fmt.Sprintf("latency grows in proportion beyond %d calls in flight", l.QueueAfter))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

func (r *report) write(w io.Writer) error {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `%s` (cmd/bench) from one real run; do not edit by hand. Regenerate with `make bench`.\n\n", r.Command)
	fmt.Fprintf(&b, "- Date: %s; commit %s; run took %s\n", m.Date, m.Commit, r.Total.Round(time.Second))
	fmt.Fprintf(&b, "- Machine: %d CPUs (%s), %s RAM, Linux %s\n", m.NProc, m.CPU, m.MemTotal, m.Kernel)
	fmt.Fprintf(&b, "- %s, %s, %s\n", m.GoVersion, m.Terraform, m.Slapd)
	fmt.Fprintf(&b, "- PingID emulator (in process, loopback) adds **%s per API call**; provider `max_concurrency` (the cap of its adaptive concurrency limit) %d; "+
		"LDAP page size %d; Terraform default `-parallelism=10`; local backend.\n", r.Latency, r.Concurrency, ldapPageSize)
	if l := r.Limits; l.RatePerSecond > 0 || l.QueueAfter > 0 {
		fmt.Fprintf(&b, "- Emulator service limits: %s.\n", describeLimits(l))
	}
	if len(r.ProviderEnv) > 0 {
		fmt.Fprintf(&b, "- **Experiment**: the provider ran with `%s` (not the default).\n", strings.Join(r.ProviderEnv, " "))
	}
	fmt.Fprintf(&b, "- Latency bound (f) = N × %s / %d: the PingID API has no list endpoint, so a refresh of N users is N `getuserdetails` calls.\n\n",
		r.Latency, r.Concurrency)

	b.WriteString("## Targets (issues 7 and 17; peak RSS and growth are in issue 15's table)\n\n| target | measured | limit | result |\n|---|---|---|---|\n")
	targets := r.targets()
	for _, t := range targets {
		fmt.Fprintf(&b, "| %s | %s | %s | **%s** |\n", t.Name, t.Measured, t.Limit, t.Status)
	}
	b.WriteString("\n")
	writeMisses(&b, targets)
	b.WriteString("## Targets (issue 15)\n\n| target | measured | limit | result |\n|---|---|---|---|\n")
	throughput := r.throughputTargets()
	for _, t := range throughput {
		fmt.Fprintf(&b, "| %s | %s | %s | **%s** |\n", t.Name, t.Measured, t.Limit, t.Status)
	}
	b.WriteString("\n")
	writeMisses(&b, throughput)

	for _, s := range r.Sizes {
		r.writeSize(&b, s)
	}
	r.writeThroughput(&b)
	r.writeGrowth(&b)
	r.writePlanReports(&b)
	r.writeComparisons(&b)
	b.WriteString(methodText)
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *report) writeSize(b *strings.Builder, s *sizeResult) {
	fmt.Fprintf(b, "## N = %d users\n\n", s.N)
	fmt.Fprintf(b, "slapd: slapadd of %d users + start %s; online add of the %d-member group %s. Latency bound (f) = **%s**.\n\n",
		s.N, secs(s.LoadTime), s.N, secs(s.GroupTime), secs(s.Bound))
	b.WriteString("| phase | wall | ÷ bound | provider peak RSS | terraform peak RSS | provider CPU | total CPU | API calls | calls/user | state file | load |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|\n")
	labels := []string{
		"(a) first plan (all creates)", "(a) apply of that plan", "(b) no-change plan (refresh + datastore read)",
		fmt.Sprintf("(c) plan after 1 %% changed (%d mails)", s.Changed), "(c) apply of that plan",
	}
	for i, p := range s.phases() {
		fmt.Fprintf(b, "| %s | %s | %.2f | %s | %s | %.1fs | %.1fs | %s | %.2f | %.1f MB | %.1f |\n",
			labels[i], secs(p.Wall), ratio(p.Wall.Seconds(), s.Bound.Seconds()), mb(p.ProviderKiB), mb(p.TFHWMKiB),
			p.ProviderCPU, p.TotalCPU, formatCalls(p.Calls), ratio(float64(p.CallTotal()), float64(s.N)), float64(p.StateBytes)/1e6, p.Load)
	}
	if d := s.DevicesNoChangePlan; d.Wall > 0 {
		fmt.Fprintf(b, "\n(g) MFA devices on the same connection (`manage_devices = \"merge\"`, `mfa_email_1 = \"mail\"`): "+
			"plan %s (%s), apply %s (%s), then a no-change plan **%s** with %s API calls (%.2f per user; (b) without devices: %s).\n",
			secs(s.DevicesPlan.Wall), formatCalls(s.DevicesPlan.Calls), secs(s.DevicesApply.Wall), formatCalls(s.DevicesApply.Calls),
			secs(d.Wall), formatCalls(d.Calls), ratio(float64(d.CallTotal()), float64(s.N)), formatCalls(s.NoChangePlan.Calls))
	}
	fmt.Fprintf(b, "\n(e) LDAP, same group, page size %d, median of %d warm runs (fastest in brackets):\n\n", ldapPageSize, s.LDAPSearch.Runs)
	fmt.Fprintf(b, "- `ldapsearch -E pr=%d/noprompt (memberOf=<group>) uid mail givenName sn`: **%s** (%s), %d entries\n",
		ldapPageSize, secs(s.LDAPSearch.Median), secs(s.LDAPSearch.Min), s.LDAPSearch.Entries)
	if s.GoLDAPFloor.Runs > 0 {
		fmt.Fprintf(b, "- go-ldap `SearchWithPaging` of exactly that query (dial + bind + search, in process; the Go client's floor): **%s** (%s), %d entries\n",
			secs(s.GoLDAPFloor.Median), secs(s.GoLDAPFloor.Min), s.GoLDAPFloor.Entries)
	}
	fmt.Fprintf(b, "- provider datastore read (`datastore.Open` + `Search`, in process, directory_type openldap): **%s** (%s), %d entries\n\n",
		secs(s.DatastoreRead.Median), secs(s.DatastoreRead.Min), s.DatastoreRead.Entries)
	fmt.Fprintf(b, "Ratios: (b)/(f) = **%.2f**; datastore read / ldapsearch = **%.2f**",
		ratio(s.NoChangePlan.Wall.Seconds(), s.Bound.Seconds()), ratio(s.DatastoreRead.Median.Seconds(), s.LDAPSearch.Median.Seconds()))
	if s.GoLDAPFloor.Runs > 0 {
		fmt.Fprintf(b, "; go-ldap floor / ldapsearch = **%.2f**; datastore read / go-ldap floor = **%.2f**",
			ratio(s.GoLDAPFloor.Median.Seconds(), s.LDAPSearch.Median.Seconds()), ratio(s.DatastoreRead.Median.Seconds(), s.GoLDAPFloor.Median.Seconds()))
	}
	b.WriteString(".\n\n")
	if len(s.Problems) > 0 {
		b.WriteString("Problems seen in this run:\n\n")
		for _, p := range s.Problems {
			fmt.Fprintf(b, "- %s\n", p)
		}
		b.WriteString("\n")
	}
}

func (r *report) writeGrowth(b *strings.Builder) {
	if len(r.Sizes) < 2 {
		return
	}
	b.WriteString("## Growth between sizes (wall-time ratios, CPU-time ratios in brackets; linear = the size ratio)\n\n" +
		"CPU time is terraform + provider + the in-process emulator: it shows how the work grows whatever else ran on the machine.\n\n| phase |")
	for i := 1; i < len(r.Sizes); i++ {
		fmt.Fprintf(b, " %dk/%dk |", r.Sizes[i].N/1000, r.Sizes[i-1].N/1000)
	}
	b.WriteString("\n|---|")
	for i := 1; i < len(r.Sizes); i++ {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for pi, p := range r.Sizes[0].phases() {
		fmt.Fprintf(b, "| %s |", p.Name)
		for i := 1; i < len(r.Sizes); i++ {
			cur, prev := r.Sizes[i].phases()[pi], r.Sizes[i-1].phases()[pi]
			fmt.Fprintf(b, " ×%.2f (×%.2f) |", ratio(cur.Wall.Seconds(), prev.Wall.Seconds()), ratio(phaseCPU(cur), phaseCPU(prev)))
		}
		b.WriteString("\n")
	}
	b.WriteString("| provider peak RSS |")
	for i := 1; i < len(r.Sizes); i++ {
		fmt.Fprintf(b, " ×%.2f |", ratio(float64(r.Sizes[i].peakProviderKiB()), float64(r.Sizes[i-1].peakProviderKiB())))
	}
	b.WriteString("\n\n")
}

func (r *report) writeComparisons(b *strings.Builder) {
	var cs []comparison
	for _, s := range r.Sizes {
		cs = append(cs, s.Comparisons...)
	}
	if len(cs) == 0 {
		return
	}
	fmt.Fprintf(b, "## (d) `for_each` over `pingid_mapped_user` vs one connection, same group\n\n")
	fmt.Fprintf(b, "Groups of the first 1 000 / 2 000 users of the N = %d directory; PingID is emptied before each variant. "+
		"`for_each` iterates `data.pingid_datastore_group.members`.\n\n", cs[0].HostN)
	b.WriteString("| users | latency | variant | first plan | apply | first plan+apply | no-change plan | provider peak RSS | terraform peak RSS | API calls (plan+apply) | calls (no-change plan) | max load |\n")
	b.WriteString("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range cs {
		for _, v := range []struct {
			name string
			r    variantResult
		}{{"connection", c.Connection}, {"for_each", c.ForEach}} {
			name := v.name
			if v.name == "connection" && c.ReusedMainN {
				name += " (the N-user run above)"
			}
			fmt.Fprintf(b, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d | %.1f |\n", c.Size, c.Latency, name,
				secs(v.r.Plan.Wall), secs(v.r.Apply.Wall), secs(v.r.FirstApply()), secs(v.r.NoChangePlan.Wall),
				mb(max(v.r.Plan.ProviderKiB, v.r.Apply.ProviderKiB, v.r.NoChangePlan.ProviderKiB)),
				mb(max(v.r.Plan.TFHWMKiB, v.r.Apply.TFHWMKiB, v.r.NoChangePlan.TFHWMKiB)),
				v.r.Plan.CallTotal()+v.r.Apply.CallTotal(), v.r.NoChangePlan.CallTotal(), max(v.r.Plan.Load, v.r.Apply.Load, v.r.NoChangePlan.Load))
		}
		fmt.Fprintf(b, "| | | **for_each ÷ connection** | | | **×%.1f** | **×%.1f** | | | | | |\n",
			ratio(c.ForEach.FirstApply().Seconds(), c.Connection.FirstApply().Seconds()),
			ratio(c.ForEach.NoChangePlan.Wall.Seconds(), c.Connection.NoChangePlan.Wall.Seconds()))
	}
	b.WriteString("\n")
}

const methodText = `## Method

- One Go program, ` + "`cmd/bench`" + `, does everything in one run on the same data: it builds the provider, slapadds N
  generated ` + "`inetOrgPerson`" + ` users into a throwaway slapd (internal/testutil/slapd, AD-like limits: pages ≤ 1000), adds the
  group online (so the memberof overlay runs), serves the PingID emulator in process with a fixed latency on every call,
  and drives ` + "`bin/terraform`" + ` 1.5.7 through a ` + "`dev_overrides`" + ` CLI configuration (no init, no network;
  ` + "`TF_IN_AUTOMATION=1`" + `, ` + "`CHECKPOINT_DISABLE=1`" + `).
- (a) is ` + "`terraform plan -out`" + ` then ` + "`terraform apply <plan>`" + `, timed separately; (b) and (c) are plans with refresh;
  (c) changes the ` + "`mail`" + ` of every 100th user in LDAP first. Wall time is the whole Terraform command.
- Peak RSS: the dev_overrides directory holds a wrapper script that appends its pid to a file and ` + "`exec`" + `s the
  real provider (same pid); ` + "`/proc/<pid>/status`" + ` VmHWM of every provider process and of terraform itself is polled
  every 50 ms (terraform reaps the plugin, so wait4's max RSS would be the larger of the two). Provider CPU comes
  from ` + "`/proc/<pid>/stat`" + `; total CPU is terraform's rusage, which includes its reaped providers.
- API calls are the emulator's counters, zeroed before each command. "CPU emulator" is this process's own CPU
  time (getrusage) during the command: the in-process PingID emulator (signature checks, JSON) and the samplers.
- Issue 15's cases run at every N on the connection the phases above leave behind: a no-change plan against the
  emulator's token bucket (` + "`-limited-latency`, `-limited-rate`, `-limited-burst`" + `), with the calls in flight at the
  emulator sampled every 250 ms, then ` + "`drift_detection = \"rolling\"`" + ` (one apply that reads everyone, one no-change apply
  that saves the bookkeeping) and a timed plan after 1 % of the users changed. The no-change plan (b), the rate-limited
  plan and the rolling plan run with ` + "`TF_LOG_PROVIDER=INFO`" + `: the provider's progress lines (its adaptive limit over
  time) and its refresh summary (how long the PingID reads took) come from that log; no other phase logs.
- Scope: one ` + "`make bench`" + ` (` + "`go run ./cmd/bench`" + `) measures every target of issues 7, 15 and 17 in one run, so the
  50k/10k ratios compare numbers from the same machine state; on 2 CPUs it takes about half an hour, most of it the
  ` + "`for_each`" + ` comparison (Terraform core is quadratic in instances) and the 50 000-user phases. ` + "`-sizes`, `-compare-sizes none`" + `
  and ` + "`-cases`" + ` narrow a run for experiments (targets it cannot measure say "not measured").
- pingid-plan-report: after (a), ` + "`terraform show -json`" + ` writes the saved plan's JSON to a file and the built
  ` + "`cmd/pingid-plan-report`" + ` reviews it twice (Markdown, HTML); wall time and wait4's peak RSS per command. The HTML
  must list all N creates.
- (e) ` + "`ldapsearch`" + ` and the provider's ` + "`datastore.Open`" + ` + ` + "`Search`" + ` (same query as the connection) run against the
  same slapd with the same reader account, one warm-up run each, then the median of the timed runs. go-ldap's own
  ` + "`SearchWithPaging`" + ` of exactly ldapsearch's query is timed the same way: the floor of any go-ldap reader (BER decoding
  in Go costs about three times the C client's), so the provider's read is judged against both.
- Profiling: ` + "`go run ./cmd/bench -pprof`" + ` runs a profiling build of the provider (cmd/bench/profiled-provider) that
  writes CPU and heap profiles per provider process; ` + "`BenchmarkConnectionProtocol`" + ` (cmd/bench, ` + "`go test -bench`" + `)
  drives the connection through the framework's protocol server in process, without Terraform or API latency.
- Timings are one run per cell. "load" is the 1-minute load average when the command ended: the machine is shared,
  and a load above the CPU count means other work competed for the CPUs during that cell.
- Nothing here is a pass/fail test; ` + "`make test`" + ` only runs ` + "`-quick`" + ` (N = 1 000, for_each at 200) to keep the harness working.
`

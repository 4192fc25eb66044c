package e2e

// Upgrade tests (issue 18): state and saved plans written by the last release must work with
// the current build. The last release is the commit named in LAST_RELEASE at the repository
// root; the test builds the provider at that commit from `git archive` (the repository is never
// checked out or changed) and drives both builds with the same Terraform, directory, PingID
// emulator, working directory and state.
//
// Rules for every later change to what the provider stores (enforced by this test):
//
//   - State format. A change to a resource's schema or to the meaning of a stored value —
//     including the canonical JSON inside pingid_provisioning_connection.users — comes with a
//     schema version bump and a state upgrader (the framework's ResourceWithUpgradeState), or
//     this test proves the old state compatible as it is. "Compatible" means what the test
//     checks: the first plan with the new build on the old state is empty (exit 0), refresh
//     rewrites no value, no warning or error is printed or logged, and PingID receives no write.
//   - New fields in a user's JSON appear only where a setting that needs them is used (e.g.
//     devices only with manage_devices != "none"), so an upgrade alone never rewrites every
//     user's value. The configuration below sets none of the optional settings on purpose: it is
//     what most users run, and it must stay byte-for-byte stable across upgrades. A setting
//     added after the last release cannot be here yet (that build would reject it); once it is
//     released, add it if the state it writes must survive the next upgrade.
//   - Private state (the refresh's source snapshot, the plan's link set and plan kind) is read
//     by the next build too: from the state for a refresh-less plan, and from a saved plan when
//     the new build applies it. A format change there must keep reading the old form, or make
//     the provider fail before any write with an error that says to run `terraform plan` again;
//     TestUpgradeFromLastRelease/saved_plan then has to be changed on purpose to assert that.
//   - Saved plans, as of this test: when users upgrade the usual way (`terraform init -upgrade`
//     between `plan -out` and `apply`), Terraform refuses the old plan before the provider runs
//     ("Inconsistent dependency lock file ... Create a new plan"), and PingID sees no call
//     (saved_plan_after_init_upgrade). Where Terraform does not compare provider versions
//     (dev_overrides), the current build applies a plan saved by the last release exactly: what
//     was reviewed, no more (saved_plan). Either way nothing is written that was not reviewed.
//   - At each release, LAST_RELEASE names the released commit (see the file), with a CHANGELOG
//     line.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// lastReleaseFile names the last released commit of main, relative to the repository root.
const lastReleaseFile = "LAST_RELEASE"

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// TestUpgradeFromLastRelease builds the provider at LAST_RELEASE once and runs the upgrade
// scenarios against it in parallel.
func TestUpgradeFromLastRelease(t *testing.T) {
	requireTerraform(t)
	old := buildLastRelease(t)
	t.Run("state", func(t *testing.T) {
		t.Parallel()
		testUpgradeState(t, old)
	})
	t.Run("saved_plan", func(t *testing.T) {
		t.Parallel()
		testUpgradeSavedPlan(t, old)
	})
	t.Run("saved_plan_after_init_upgrade", func(t *testing.T) {
		t.Parallel()
		testUpgradeSavedPlanInstalled(t, old)
	})
}

// lastRelease is the provider built at the last released commit.
type lastRelease struct {
	sha string
	dir string // contains terraform-provider-pingid
}

// testUpgradeState: the old build provisions users (one of them linked, one deprovisioned) and
// a pingid_mapped_user; the current build must then see nothing to do on the same state, and
// afterwards handle a directory change like any other.
func testUpgradeState(t *testing.T, old lastRelease) {
	w := newWorld(t, worldOptions{})
	oldConfig, newConfig := w.cliConfigFor(t, old.dir), w.cliConfig
	w.writeConfig(t, upgradeHCL(w))

	// dave exists in PingID already, active with a paired device: the connection links him.
	if err := w.pingID.SeedUser(emulator.User{
		UserName: "dave", FirstName: "Dave", LastName: "Davis", Email: "dave@old.example.com",
		Status: emulator.StatusActive, Devices: []emulator.Device{{Type: "iPhone", Nickname: "iPhone of dave"}},
	}); err != nil {
		t.Fatal(err)
	}
	daveID := w.user(t, "dave").ID
	w.changeDirectory(t, joinGroup("dave"))
	// alice has no mail: the last release records her with "email":"", which the current build
	// spells without the key for new users only (issue 16), so her value must stay as it is.
	w.changeDirectory(t, "dn: uid=alice,"+baseDN+"\nchangetype: modify\ndelete: mail\n")

	w.cliConfig = oldConfig
	w.mustTerraform(t, nil, "apply", "-no-color", "-auto-approve")
	w.changeDirectory(t, leaveGroup("bob")) // bob leaves: suspended
	w.mustTerraform(t, nil, "apply", "-no-color", "-auto-approve")
	for name, status := range map[string]string{
		"alice": emulator.StatusNotActive, "bob": emulator.StatusSuspended, "carol": emulator.StatusNotActive,
		"dave": emulator.StatusActive, "frank": emulator.StatusNotActive,
	} {
		if u := w.user(t, name); u.Status != status {
			t.Fatalf("after the last release's applies, %s is %+v, want status %s", name, u, status)
		}
	}
	if u := w.user(t, "dave"); u.ID != daveID || u.Email != "dave@example.com" || len(u.Devices) != 1 {
		t.Fatalf("dave should be linked (same PingID user, email from the directory, device kept): %+v", u)
	}
	// The old build itself is settled; otherwise an empty plan below would prove nothing. Its
	// refresh is recorded first, so what the current build's refresh is compared with is the
	// last release's own view of the same PingID and directory, not an apply's planned values.
	w.mustTerraform(t, nil, "apply", "-no-color", "-refresh-only", "-auto-approve")
	for _, args := range [][]string{{"plan", "-detailed-exitcode"}, {"plan", "-refresh-only", "-detailed-exitcode"}} {
		if res := w.terraform(t, nil, append(args, "-no-color")...); res.exitCode != 0 {
			t.Fatalf("the last release's own plan after its apply is not empty:\n%s", res)
		}
	}
	stateBefore := w.stateUsers(t)
	if len(stateBefore) != 4 {
		t.Fatalf("state should manage alice, bob, carol and dave; got %v", slices.Sorted(maps.Keys(stateBefore)))
	}
	if alice := stateBefore["alice"]; !strings.Contains(alice, `"email":""`) {
		t.Fatalf("alice has no mail; the last release should have recorded \"email\":\"\", not %s", alice)
	}

	// The current build on the same state and configuration.
	w.cliConfig = newConfig
	w.pingID.ResetCalls()
	logPath := filepath.Join(t.TempDir(), "provider.log")
	logEnv := []string{"TF_LOG_PROVIDER=WARN", "TF_LOG_PATH=" + logPath}
	plan := w.terraform(t, logEnv, "plan", "-no-color", "-detailed-exitcode")
	if plan.exitCode != 0 {
		t.Fatalf("the first plan with the current build on the state of the last release (%s) is not empty (want exit 0):\n%s", old.sha[:7], plan)
	}
	assertQuiet(t, plan)
	// Without a refresh, the plan works from the last release's private state (its source
	// snapshot) instead of one the current build just took.
	noRefresh := w.terraform(t, logEnv, "plan", "-no-color", "-refresh=false", "-detailed-exitcode")
	if noRefresh.exitCode != 0 {
		t.Fatalf("a -refresh=false plan with the current build on the last release's state is not empty (want exit 0):\n%s", noRefresh)
	}
	assertQuiet(t, noRefresh)
	// The current build's refresh, recorded: every user's value stays byte for byte what the
	// last release wrote. (Private state is not compared: a snapshot format change that the
	// current build reads correctly is allowed, and the plans above would show one it does not.)
	refresh := w.mustTerraform(t, logEnv, "apply", "-no-color", "-refresh-only", "-auto-approve")
	assertQuiet(t, refresh)
	if got := w.stateUsers(t); !maps.Equal(got, stateBefore) {
		for name, before := range stateBefore {
			if got[name] != before {
				t.Errorf("the current build's refresh rewrote user %q:\n  last release: %s\n  current:      %s", name, before, got[name])
			}
		}
		t.Fatalf("the current build's refresh changed the users map: %v, was %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(stateBefore)))
	}
	if log := readFile(t, logPath); strings.Contains(log, "[WARN]") || strings.Contains(log, "[ERROR]") {
		t.Errorf("the current build logged warnings or errors on the last release's state:\n%s", log)
	}
	if writes := w.writeCalls(); len(writes) > 0 {
		t.Errorf("planning with the current build wrote to PingID: %v", writes)
	}
	if calls := w.pingID.Calls(); calls[emulator.OpGetUserDetails] == 0 {
		t.Errorf("the plans did not read PingID at all (calls %v): the check above proves nothing", calls)
	}

	// A directory change applies normally with the current build: carol's email changes and
	// erin joins; nobody else's value is rewritten.
	w.changeDirectory(t, `dn: uid=carol,`+baseDN+`
changetype: modify
replace: mail
mail: carol@new.example.com
`)
	w.changeDirectory(t, joinGroup("erin"))
	if res := w.terraform(t, nil, "plan", "-no-color", "-detailed-exitcode"); res.exitCode != 2 {
		t.Fatalf("plan after the directory change should have changes (exit 2):\n%s", res)
	}
	w.pingID.ResetCalls()
	apply := w.mustTerraform(t, nil, "apply", "-no-color", "-auto-approve")
	if !strings.Contains(apply.stdout, "Apply complete! Resources: 0 added, 1 changed, 0 destroyed.") {
		t.Errorf("apply of the directory change did something else:\n%s", apply)
	}
	if got, want := w.writeCalls(), map[string]int64{emulator.OpAddUser: 1, emulator.OpEditUser: 1}; !maps.Equal(got, want) {
		t.Errorf("writes for carol's new email and erin joining: %v, want %v", got, want)
	}
	if u := w.user(t, "carol"); u.Email != "carol@new.example.com" {
		t.Errorf("carol after apply: %+v", u)
	}
	if u := w.user(t, "erin"); u.Status != emulator.StatusNotActive {
		t.Errorf("erin after apply: %+v", u)
	}
	if u := w.user(t, "bob"); u.Status != emulator.StatusSuspended {
		t.Errorf("bob after apply: %+v, want him still suspended", u)
	}
	stateAfter := w.stateUsers(t)
	for name, before := range stateBefore {
		if name != "carol" && stateAfter[name] != before {
			t.Errorf("user %q was rewritten by the current build:\n  last release: %s\n  current:      %s", name, before, stateAfter[name])
		}
	}
	if _, ok := stateAfter["erin"]; !ok || len(stateAfter) != 5 {
		t.Errorf("state after the change: %v, want erin added", slices.Sorted(maps.Keys(stateAfter)))
	}
	if res := w.terraform(t, nil, "plan", "-no-color", "-detailed-exitcode"); res.exitCode != 0 {
		t.Errorf("final plan with the current build is not empty:\n%s", res)
	}
}

// testUpgradeSavedPlan: a plan saved by the old build and applied by the current one does
// exactly what was reviewed, even though the directory changed after the plan.
func testUpgradeSavedPlan(t *testing.T, old lastRelease) {
	w := newWorld(t, worldOptions{})
	oldConfig, newConfig := w.cliConfigFor(t, old.dir), w.cliConfig
	w.writeConfig(t, upgradeHCL(w))

	w.cliConfig = oldConfig
	w.mustTerraform(t, nil, "apply", "-no-color", "-auto-approve")
	w.changeDirectory(t, joinGroup("dave")) // reviewed: dave joins
	w.mustTerraform(t, nil, "plan", "-no-color", "-out=reviewed.tfplan")
	users, _ := w.plannedUsers(t, "reviewed.tfplan")
	if _, ok := users["dave"]; !ok {
		t.Fatalf("the last release's plan should add dave; planned users: %v", users)
	}
	w.changeDirectory(t, joinGroup("erin")) // not reviewed: erin joins after the plan

	w.cliConfig = newConfig
	w.pingID.ResetCalls()
	apply := w.terraform(t, nil, "apply", "-no-color", "reviewed.tfplan")
	if apply.exitCode != 0 && schemaChangedSinceLastRelease(apply) {
		// Issue 14 added attributes to both resources (as any new setting does). Terraform
		// decodes a saved plan with the provider's current schema, so it refuses a plan saved
		// against the last release's before the provider runs. Nothing reaches PingID, and a
		// new plan works: that is what is asserted here, on purpose (CHANGELOG.md says so).
		if calls := w.pingID.Calls(); len(nonZero(calls)) > 0 {
			t.Fatalf("a refused saved plan reached PingID: %v\n%s", calls, apply)
		}
		w.mustTerraform(t, nil, "plan", "-no-color", "-out=again.tfplan")
		users, _ := w.plannedUsers(t, "again.tfplan")
		if _, ok := users["dave"]; !ok {
			t.Fatalf("the new plan should add dave; planned users: %v", users)
		}
		w.mustTerraform(t, nil, "apply", "-no-color", "again.tfplan")
		w.user(t, "dave")
		if res := w.terraform(t, nil, "plan", "-no-color", "-detailed-exitcode"); res.exitCode != 0 {
			t.Errorf("final plan is not empty:\n%s", res)
		}
		return
	}
	if apply.exitCode != 0 {
		// Allowed by issue 18 only with a "plan again" message and no write; if a change makes
		// this the behaviour, assert it here on purpose and say so in CHANGELOG.md.
		t.Fatalf("the current build did not apply the last release's saved plan (writes %v):\n%s", w.writeCalls(), apply)
	}
	assertQuiet(t, apply, "PingID provisioning summary")
	if !strings.Contains(apply.stdout, "Apply complete! Resources: 0 added, 1 changed, 0 destroyed.") {
		t.Errorf("apply of the saved plan did something else:\n%s", apply)
	}
	if got, want := w.writeCalls(), map[string]int64{emulator.OpAddUser: 1}; !maps.Equal(got, want) {
		t.Errorf("writes applying the saved plan: %v, want %v (dave only)", got, want)
	}
	if u := w.user(t, "dave"); u.Email != "dave@example.com" {
		t.Errorf("dave (reviewed) after apply: %+v", u)
	}
	if u, ok := w.pingID.User("erin"); ok {
		t.Errorf("erin joined after the plan was reviewed but was provisioned: %+v", u)
	}
	// The next plan, by the current build, shows erin.
	w.mustTerraform(t, nil, "plan", "-no-color", "-out=next.tfplan")
	users, _ = w.plannedUsers(t, "next.tfplan")
	if e := users["erin"]; e == nil || e["source_state"] != "in_scope" {
		t.Fatalf("next plan should provision erin; planned users: %v", users)
	}
	w.mustTerraform(t, nil, "apply", "-no-color", "next.tfplan")
	w.user(t, "erin")
	if res := w.terraform(t, nil, "plan", "-no-color", "-detailed-exitcode"); res.exitCode != 0 {
		t.Errorf("final plan is not empty:\n%s", res)
	}
}

// schemaChangedSinceLastRelease reports Terraform refusing a saved plan because the provider's
// schema gained attributes since the plan was made.
func schemaChangedSinceLastRelease(res result) bool {
	stderr := strings.Join(strings.Fields(res.stderr), " ")
	return strings.Contains(stderr, "failed to decode planned changes") && strings.Contains(stderr, "attributes is required")
}

// nonZero keeps the operations that were called.
func nonZero(calls map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for op, n := range calls {
		if n > 0 {
			out[op] = n
		}
	}
	return out
}

// testUpgradeSavedPlanInstalled is the upgrade as users do it: both builds installed from a
// provider mirror as versions (no dev_overrides), `terraform init -upgrade` between the saved
// plan and its apply. Terraform refuses the plan before the provider runs, saying to create a
// new plan, and PingID receives no write; the new plan then applies.
func testUpgradeSavedPlanInstalled(t *testing.T, old lastRelease) {
	w := newWorld(t, worldOptions{})
	mirror := filepath.Join(t.TempDir(), "mirror")
	install := func(version, providerDir string) {
		t.Helper()
		dir := filepath.Join(mirror, filepath.FromSlash(binaries.cli.providerAddress), version, runtime.GOOS+"_"+runtime.GOARCH)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		copyFile(t, filepath.Join(providerDir, "terraform-provider-pingid"), filepath.Join(dir, "terraform-provider-pingid_v"+version))
	}
	w.cliConfig = filepath.Join(t.TempDir(), "mirror.tfrc")
	w.writeFile(t, w.cliConfig, fmt.Sprintf("disable_checkpoint = true\nprovider_installation {\n  filesystem_mirror {\n    path = %q\n  }\n}\n", mirror))
	w.writeConfig(t, upgradeHCL(w))

	install("0.0.1", old.dir)
	w.mustTerraform(t, nil, "init", "-no-color", "-input=false")
	w.mustTerraform(t, nil, "apply", "-no-color", "-auto-approve")
	w.changeDirectory(t, joinGroup("dave"))
	w.mustTerraform(t, nil, "plan", "-no-color", "-out=reviewed.tfplan")

	install("0.0.2", binaries.providerDir)
	if res := w.mustTerraform(t, nil, "init", "-no-color", "-input=false", "-upgrade"); !strings.Contains(res.stdout, "Installed pingid-provisioner/pingid v0.0.2") {
		t.Fatalf("init -upgrade did not install the current build as v0.0.2:\n%s", res)
	}
	w.pingID.ResetCalls()
	apply := w.terraform(t, nil, "apply", "-no-color", "reviewed.tfplan")
	stderr := strings.Join(strings.Fields(apply.stderr), " ") // Terraform wraps to the terminal width
	if apply.exitCode == 0 || !strings.Contains(stderr, "Inconsistent dependency lock file") || !strings.Contains(stderr, "Create a new plan") {
		t.Fatalf("applying the last release's saved plan after init -upgrade should fail, saying to create a new plan:\n%s", apply)
	}
	if calls := w.pingID.Calls(); len(calls) > 0 {
		t.Errorf("the refused apply called PingID: %v", calls)
	}
	if u, ok := w.pingID.User("dave"); ok {
		t.Errorf("dave was provisioned by a refused plan: %+v", u)
	}
	w.mustTerraform(t, nil, "plan", "-no-color", "-out=new.tfplan")
	w.mustTerraform(t, nil, "apply", "-no-color", "new.tfplan")
	w.user(t, "dave")
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// upgradeHCL is the configuration both builds apply: a connection over pingid-users and the
// for_each pattern over contractors, with no optional settings.
func upgradeHCL(w *world) string {
	return "provider \"pingid\" {\n  properties = <<-EOT\n" + w.properties + "  EOT\n" + w.datastoreHCL(w.ldap.ReaderPassword) + "}\n" +
		connectionHCL + contractorsHCL
}

func joinGroup(uid string) string {
	return "dn: " + pingIDUsersDN + "\nchangetype: modify\nadd: member\nmember: uid=" + uid + "," + baseDN + "\n"
}

func leaveGroup(uid string) string {
	return "dn: " + pingIDUsersDN + "\nchangetype: modify\ndelete: member\nmember: uid=" + uid + "," + baseDN + "\n"
}

// assertQuiet fails the test when Terraform printed an error, noted drift, or printed a
// warning other than the dev_overrides notice and the titles allowed: an upgrade must not make
// users read about their state.
func assertQuiet(t *testing.T, res result, allowedWarnings ...string) {
	t.Helper()
	allowed := append([]string{"Provider development overrides are in effect"}, allowedWarnings...)
	out := res.stdout + res.stderr
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if title, ok := strings.CutPrefix(line, "Warning: "); ok && !slices.Contains(allowed, title) {
			t.Errorf("terraform %s warned %q:\n%s", strings.Join(res.args, " "), title, res)
		}
		if strings.HasPrefix(line, "Error: ") {
			t.Errorf("terraform %s printed %q:\n%s", strings.Join(res.args, " "), line, res)
		}
	}
	if strings.Contains(out, "changed outside of "+binaries.cli.name) {
		t.Errorf("terraform %s noted changes outside of Terraform:\n%s", strings.Join(res.args, " "), res)
	}
}

// writeCalls returns the PingID API calls since the last ResetCalls that are not reads. Every
// operation except getuserdetails counts, so an operation added to the emulator later is a
// write until it is listed here as a read.
func (w *world) writeCalls() map[string]int64 {
	writes := map[string]int64{}
	for op, n := range w.pingID.Calls() {
		if op != emulator.OpGetUserDetails && n > 0 {
			writes[op] = n
		}
	}
	return writes
}

// stateUsers returns the connection's users map from the working directory's state file: the
// raw JSON strings, compared byte for byte.
func (w *world) stateUsers(t *testing.T) map[string]string {
	t.Helper()
	var state struct {
		Resources []struct {
			Type      string `json:"type"`
			Instances []struct {
				Attributes struct {
					Users map[string]string `json:"users"`
				} `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(w.dir, "terraform.tfstate"))), &state); err != nil {
		t.Fatalf("parse terraform.tfstate: %v", err)
	}
	for _, r := range state.Resources {
		if r.Type == "pingid_provisioning_connection" && len(r.Instances) == 1 {
			return r.Instances[0].Attributes.Users
		}
	}
	t.Fatal("terraform.tfstate has no pingid_provisioning_connection")
	return nil
}

// cliConfigFor writes a copy of the world's CLI configuration whose dev_overrides point at
// providerDir instead of the current build, and returns its path.
func (w *world) cliConfigFor(t *testing.T, providerDir string) string {
	t.Helper()
	current := readFile(t, w.cliConfig)
	quoted := strconv.Quote(binaries.providerDir)
	if !strings.Contains(current, quoted) {
		t.Fatalf("the CLI configuration %s does not name the current build %s:\n%s", w.cliConfig, quoted, current)
	}
	path := filepath.Join(t.TempDir(), "last-release.tfrc")
	w.writeFile(t, path, strings.ReplaceAll(current, quoted, strconv.Quote(providerDir)))
	return path
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

// buildLastRelease builds the provider at the commit LAST_RELEASE names, from `git archive`
// into a temporary directory (the repository and its working tree are left alone). It fails,
// never skips, when the commit is not in the clone: a shallow clone must not pass silently.
func buildLastRelease(t *testing.T) lastRelease {
	t.Helper()
	ctx := t.Context()
	root, err := repoRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sha, err := readLastRelease(filepath.Join(root, lastReleaseFile))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, "git", "-C", root, "cat-file", "-e", sha+"^{commit}").CombinedOutput(); err != nil {
		shallow, _ := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--is-shallow-repository").Output()
		t.Fatalf("the last release %s (%s) is not in the git repository at %s (shallow clone: %s): "+
			"the upgrade test builds the provider at that commit. Fetch the full history "+
			"(git fetch --unshallow, or actions/checkout with fetch-depth: 0) and run the tests again.\n%s",
			sha, lastReleaseFile, root, strings.TrimSpace(string(shallow)), out)
	}

	start := time.Now()
	tmp := t.TempDir()
	src, dir := filepath.Join(tmp, "src"), filepath.Join(tmp, "bin")
	tarball := filepath.Join(tmp, "src.tar")
	for _, dirPath := range []string{src, dir} {
		if err := os.Mkdir(dirPath, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(dir string, env []string, name string, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build the last release %s: %s %s: %v\n%s", sha, name, strings.Join(args, " "), err, out)
		}
	}
	run(root, nil, "git", "archive", "--format=tar", "-o", tarball, sha)
	run(tmp, nil, "tar", "-xf", tarball, "-C", src)
	// GOWORK=off: a go.work around the checkout must not change what the old commit builds with;
	// -buildvcs=false: the copy may sit inside the repository (TMPDIR is .cache/tmp under make).
	run(src, []string{"GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false"}, "go", "build",
		"-ldflags", "-X main.version="+sha[:7], "-o", filepath.Join(dir, "terraform-provider-pingid"), ".")
	t.Logf("built the last release %s in %s", sha[:7], time.Since(start).Round(100*time.Millisecond))
	return lastRelease{sha: sha, dir: dir}
}

// repoRoot is the git top-level directory of the module under test.
func repoRoot(ctx context.Context) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	moduleDir := filepath.Dir(strings.TrimSpace(string(gomod)))
	out, err := exec.CommandContext(ctx, "git", "-C", moduleDir, "rev-parse", "--show-toplevel").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("the upgrade test needs the git repository of %s (to build %s's commit): %w\n%s", moduleDir, lastReleaseFile, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// readLastRelease returns the one full commit sha in the file; lines starting with # are
// comments.
func readLastRelease(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the last release: %w", err)
	}
	var shas []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			shas = append(shas, line)
		}
	}
	if len(shas) != 1 || !fullSHA.MatchString(shas[0]) {
		return "", fmt.Errorf("%s must hold exactly one full (40 hex digit) commit sha besides # comments, got %q", path, shas)
	}
	return shas[0], nil
}

package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/provider"
)

const providerAddress = "registry.terraform.io/pingid-provisioner/pingid"

// applyTracker counts ApplyResourceChange calls in flight, so a test can wait until the
// provider has finished an apply whose Terraform was killed.
type applyTracker struct {
	scanningServer
	applies *sync.WaitGroup
}

func (a applyTracker) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	a.applies.Add(1)
	defer a.applies.Done()
	return a.scanningServer.ApplyResourceChange(ctx, req)
}

// cliRun is a Terraform working directory whose provider runs in this test process
// (TF_REATTACH_PROVIDERS), as a user's would run under the real CLI.
type cliRun struct {
	t         *testing.T
	dir       string
	terraform string
	env       []string
	applies   sync.WaitGroup
}

func newCLIRun(t *testing.T, scanner *secretScanner) *cliRun {
	t.Helper()
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		t.Skip("TF_ACC_TERRAFORM_PATH is not set")
	}
	r := &cliRun{t: t, dir: t.TempDir(), terraform: tf}
	inner, err := providerserver.NewProtocol6WithError(provider.New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	server := applyTracker{scanningServer: scanningServer{ProviderServer: inner, scanner: scanner}, applies: &r.applies}

	ctx, cancel := context.WithCancel(context.Background())
	reattach := make(chan *plugin.ReattachConfig)
	closed := make(chan struct{})
	go func() {
		err := tf6server.Serve(providerAddress, func() tfprotov6.ProviderServer { return server },
			tf6server.WithDebug(ctx, reattach, closed), tf6server.WithLoggingSink(t), tf6server.WithGoPluginLogger(hclog.NewNullLogger()))
		if err != nil {
			t.Errorf("serve provider: %v", err)
		}
	}()
	var cfg *plugin.ReattachConfig
	select {
	case cfg = <-reattach:
	case <-time.After(10 * time.Second):
		t.Fatal("provider server did not start")
	}
	t.Cleanup(func() {
		cancel()
		<-closed
	})
	type addr struct{ Network, String string }
	info, err := json.Marshal(map[string]any{providerAddress: map[string]any{
		"Protocol": string(cfg.Protocol), "ProtocolVersion": cfg.ProtocolVersion, "Pid": cfg.Pid, "Test": cfg.Test,
		"Addr": addr{cfg.Addr.Network(), cfg.Addr.String()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r.env = []string{
		"TF_REATTACH_PROVIDERS=" + string(info), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
		"HOME=" + r.dir, "PATH=" + os.Getenv("PATH"), "TF_CLI_CONFIG_FILE=" + filepath.Join(r.dir, "empty.tfrc"),
	}
	if err := os.WriteFile(filepath.Join(r.dir, "empty.tfrc"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// write replaces the configuration.
func (r *cliRun) write(config string) {
	r.t.Helper()
	header := "terraform {\n  required_providers {\n    pingid = { source = \"pingid-provisioner/pingid\" }\n  }\n}\n\n"
	if err := os.WriteFile(filepath.Join(r.dir, "main.tf"), []byte(header+config), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func (r *cliRun) command(args ...string) *exec.Cmd {
	cmd := exec.CommandContext(r.t.Context(), r.terraform, args...)
	cmd.Dir = r.dir
	cmd.Env = r.env
	return cmd
}

// run runs terraform and returns its exit code and combined output.
func (r *cliRun) run(args ...string) (int, string) {
	r.t.Helper()
	var out bytes.Buffer
	cmd := r.command(args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String()
	}
	r.t.Fatalf("terraform %v: %v", args, err)
	return -1, ""
}

func (r *cliRun) mustRun(args ...string) string {
	r.t.Helper()
	code, out := r.run(args...)
	if code != 0 {
		r.t.Fatalf("terraform %v exited %d:\n%s", args, code, out)
	}
	return out
}

// stateUsers reads the usernames of the connection from the state.
func (r *cliRun) stateUsers() map[string]string {
	r.t.Helper()
	var doc struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Address string         `json:"address"`
					Values  map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal([]byte(r.mustRun("show", "-json")), &doc); err != nil {
		r.t.Fatal(err)
	}
	for _, res := range doc.Values.RootModule.Resources {
		if res.Address == connAddr {
			out := map[string]string{}
			users, _ := res.Values["users"].(map[string]any)
			for k, v := range users {
				out[k], _ = v.(string)
			}
			return out
		}
	}
	return nil
}

// plannedChange saves a plan and returns the connection's action and changed users.
func (r *cliRun) plannedChange() (actions []string, changed []string) {
	r.t.Helper()
	r.mustRun("plan", "-input=false", "-no-color", "-out=tfplan")
	var doc struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions []string       `json:"actions"`
				Before  map[string]any `json:"before"`
				After   map[string]any `json:"after"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(r.mustRun("show", "-json", "tfplan")), &doc); err != nil {
		r.t.Fatal(err)
	}
	for _, rc := range doc.ResourceChanges {
		if rc.Address != connAddr {
			continue
		}
		before, _ := rc.Change.Before["users"].(map[string]any)
		after, _ := rc.Change.After["users"].(map[string]any)
		return rc.Change.Actions, changedUsers(before, after)
	}
	r.t.Fatalf("no change for %s in the plan", connAddr)
	return nil, nil
}

// TestInterruptedApplyThroughTerraform interrupts `terraform apply` of 480 new users with
// Ctrl-C (SIGINT: Terraform asks the provider to stop and saves what it reports) and with
// SIGKILL (Terraform dies; the provider's request is cancelled when its connection drops).
// The saved state never claims a user PingID does not have, the next plan provisions exactly
// the users the state lacks (linking those PingID already has), and applying it converges
// without creating anyone twice.
func TestInterruptedApplyThroughTerraform(t *testing.T) {
	requireTerraform(t)
	const total, firstMembers, interruptAt = 500, 20, 150
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			in := &interrupter{after: interruptAt}
			w := newWorld(t, worldOptions{dir: directory{users: total + 10, members: firstMembers, disabledEvery: 10}, wrap: in.wrap})
			first := w.seedID(t, "probe-before")
			r := newCLIRun(t, newSecretScanner(t, w.secrets...))
			r.write(terraformConfig(w.providerConfig(), connection(nil)))
			r.mustRun("init", "-input=false", "-no-color")
			r.mustRun("apply", "-auto-approve", "-input=false", "-no-color")

			var grow strings.Builder
			fmt.Fprintf(&grow, "dn: %s\nchangetype: modify\nadd: member\n", groupDN)
			for i := firstMembers; i < total; i++ {
				fmt.Fprintf(&grow, "member: %s\n", userDN(i))
			}
			if err := w.ldap.Apply(context.Background(), grow.String()); err != nil {
				t.Fatal(err)
			}

			var out bytes.Buffer
			cmd := r.command("apply", "-auto-approve", "-input=false", "-no-color")
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			interrupt := context.CancelFunc(func() { _ = cmd.Process.Signal(sig) })
			in.cancel.Store(&interrupt)
			err := cmd.Wait()
			in.cancel.Store(nil)
			r.applies.Wait() // a killed Terraform leaves the provider to notice on its own
			in.inFlight.Wait()
			if err == nil {
				t.Fatalf("interrupted apply succeeded (interrupt after %d adduser requests):\n%s", in.adds.Load(), out.String())
			}
			if sig == syscall.SIGINT && !strings.Contains(out.String(), "context canceled") {
				t.Errorf("after Ctrl-C, Terraform should report the provider's cancelled changes:\n%s", out.String())
			}

			recorded := r.stateUsers()
			inPingID := map[string]bool{}
			for _, u := range w.emu.Users() {
				inPingID[strings.ToLower(u.UserName)] = true
			}
			for name := range recorded {
				if !inPingID[strings.ToLower(name)] {
					t.Errorf("%s is in state but not in PingID", name)
				}
			}
			t.Logf("%s after %d adduser requests: %d users in state, %d in PingID", sig, in.adds.Load(), len(recorded), len(inPingID)-1)
			if sig == syscall.SIGINT && len(recorded) <= firstMembers {
				t.Errorf("after Ctrl-C the state records %d users: the finished ones were not saved", len(recorded))
			}

			actions, changed := r.plannedChange()
			if strings.Join(actions, ",") != "update" {
				t.Errorf("next plan actions %v, want update", actions)
			}
			if len(changed) != total-len(recorded) {
				t.Errorf("next plan changes %d users, want the %d the state lacks", len(changed), total-len(recorded))
			}
			for _, name := range changed {
				if _, ok := recorded[name]; ok {
					t.Errorf("next plan changes %s, which the state records as done", name)
				}
			}
			r.mustRun("apply", "-input=false", "-no-color", "tfplan")
			w.pingIDMatchesDirectory(t, "probe-before")
			if created := w.seedID(t, "probe-after") - first - 1; created != total {
				t.Errorf("adduser created %d users for %d members", created, total)
			}
			if code, out := r.run("plan", "-input=false", "-no-color", "-detailed-exitcode"); code != 0 {
				t.Errorf("plan after convergence exited %d (2 = changes):\n%s", code, out)
			}
		})
	}
}

package reliability

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// TestRandomFaultsConverge drives the provider with many concurrent PingID calls while every
// operation fails at random (throttling, 5xx, drops) and state-changing ones also lose their
// answers or come back forged. Like an operator re-running terraform apply, the test plans and
// applies until an apply succeeds; the directory changes in between. PingID must end up equal
// to the directory, with every user created exactly once, and the final plan empty.
func TestRandomFaultsConverge(t *testing.T) {
	const members = 200
	w := newWorld(t, worldOptions{dir: directory{users: members + 10, members: members, disabledEvery: 10}})
	first := w.seedID(t, "probe-before")
	s := newSession(t, newSecretScanner(t, w.secrets...))
	cfg := w.providerConfig()
	cfg["max_concurrency"] = 16
	cfg["max_retries"] = 3
	s.mustConfigure(cfg)

	retryable := emulator.Fault{Rate429: 0.03, Rate500: 0.03, Rate503: 0.02, DropRate: 0.02}
	mutating := retryable
	mutating.DropAfterProcessRate, mutating.BadSignatureRate = 0.05, 0.03
	w.emu.SetFault("*", retryable)
	for _, op := range []string{emulator.OpAddUser, emulator.OpEditUser, emulator.OpSuspendUser, emulator.OpActivateUser, emulator.OpDeleteUser} {
		w.emu.SetFault(op, mutating)
	}

	ctx := context.Background()
	conn := connection(nil)
	config := value(t, s.resourceType(connectionType), conn)
	var state tftypes.Value
	var private []byte
	rounds, failedApplies, failedPlans := 0, 0, 0
	// converge plans and applies until an apply reports no error.
	converge := func(phase string) {
		t.Helper()
		for range 12 {
			rounds++
			var p planned
			prior := state
			if state.Type() == nil {
				p = s.planCreate(ctx, conn)
			} else {
				prior, p = s.refreshAndPlan(ctx, config, state, private)
			}
			if errs := errorDiags(p.diags); len(errs) > 0 {
				failedPlans++
				t.Logf("%s: plan failed: %.300s", phase, describe(errs))
				continue
			}
			newState, diags := s.apply(ctx, prior, p)
			if !newState.IsNull() {
				state, private = newState, p.private
			}
			if errs := errorDiags(diags); len(errs) > 0 {
				failedApplies++
				t.Logf("%s: apply failed: %.300s", phase, describe(errs))
				continue
			}
			return
		}
		t.Fatalf("%s: no successful apply in 12 rounds under random faults", phase)
	}
	converge("provisioning")

	// Some members leave, some are disabled, while the faults go on.
	var change strings.Builder
	fmt.Fprintf(&change, "dn: %s\nchangetype: modify\ndelete: member\n", groupDN)
	for i := 0; i < 15; i++ {
		fmt.Fprintf(&change, "member: %s\n", userDN(i))
	}
	change.WriteString("-\n\n")
	for i := 100; i < 110; i++ {
		fmt.Fprintf(&change, "dn: %s\nchangetype: modify\nreplace: pwdAccountLockedTime\npwdAccountLockedTime: %s\n-\n\n", userDN(i), lockedTime)
	}
	if err := w.ldap.Apply(ctx, change.String()); err != nil {
		t.Fatal(err)
	}
	converge("deprovisioning")

	w.emu.ClearFaults()
	refreshed, final := s.refreshAndPlan(ctx, config, state, private)
	if errs := errorDiags(final.diags); len(errs) > 0 {
		t.Fatalf("final plan: %s", describe(errs))
	}
	before, after := usersOf(t, refreshed), usersOf(t, final.state)
	if changed := changedUsers(anyMap(before), anyMap(after)); len(changed) > 0 {
		t.Errorf("the plan after convergence still changes %d users: %v", len(changed), changed)
	}
	w.pingIDMatchesDirectoryOrSuspended(t, "probe-before")
	if created := w.seedID(t, "probe-after") - first - 1; created != members {
		t.Errorf("adduser created %d users for %d members", created, members)
	}
	calls := w.emu.Calls()
	t.Logf("%d rounds (%d failed plans, %d partially failed applies); PingID requests: %v", rounds, failedPlans, failedApplies, calls)
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

package reliability

import (
	"fmt"
	"maps"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// pingIDFault is one provider-level fault scenario: a fault injected while Terraform applies a
// connection growing from 10 to all members of the group.
type pingIDFault struct {
	name  string
	op    string // emulator operation, "*" for all
	fault emulator.Fault
	// provider settings added to the provider block (max_retries, request_timeout…).
	provider map[string]any
	// fails: the faulted apply must fail with this error; "" means the retries absorb the fault.
	fails string
	// extraAdds bounds the adduser requests beyond one per created user: faulted attempts
	// that never reached the user store cost one more request each.
	minExtraAdds, maxExtraAdds int64
}

// TestPingIDFaultsDuringApply: with PingID misbehaving during a 200-user apply, retries stay
// within bounds, a forged answer is an error, no user is created twice, the state records only
// what was done, and once the fault clears a re-apply converges PingID to the directory.
func TestPingIDFaultsDuringApply(t *testing.T) {
	requireTerraform(t)
	const members = 200
	scenarios := []pingIDFault{
		{name: "429 burst with Retry-After", op: "*", fault: emulator.Fault{Rate429: 1, RetryAfter: time.Second, Count: 5},
			minExtraAdds: 0, maxExtraAdds: 5},
		{name: "500 burst on adduser", op: emulator.OpAddUser, fault: emulator.Fault{Rate500: 1, Count: 5},
			minExtraAdds: 5, maxExtraAdds: 5},
		{name: "503 burst with Retry-After", op: "*", fault: emulator.Fault{Rate503: 1, RetryAfter: time.Second, Count: 5},
			minExtraAdds: 0, maxExtraAdds: 5},
		{name: "dropped connections on adduser", op: emulator.OpAddUser, fault: emulator.Fault{DropRate: 1, Count: 5},
			minExtraAdds: 5, maxExtraAdds: 5},
		{name: "lost adduser responses", op: emulator.OpAddUser, fault: emulator.Fault{DropAfterProcessRate: 0.3},
			minExtraAdds: 0, maxExtraAdds: 0},
		{name: "slow adduser past request_timeout", op: emulator.OpAddUser, fault: emulator.Fault{Latency: 4 * time.Second, Count: 4},
			provider: map[string]any{"request_timeout": "1s"}, minExtraAdds: 4, maxExtraAdds: 4},
		{name: "bad signatures on adduser", op: emulator.OpAddUser, fault: emulator.Fault{BadSignatureRate: 1, Count: 5},
			fails: `(?s)Some PingID user changes failed.*5 of \d+ user changes failed.*response\s+signature\s+missing\s+or\s+invalid`,
			// The 5 were created: the re-apply links them (at most one refused adduser each).
			minExtraAdds: 0, maxExtraAdds: 5},
		// max_retries = 0: with retries, which calls a 12-answer burst hits depends on how many
		// calls the adaptive concurrency limit has in flight (retries wait out their backoff
		// while other calls use up the burst), so only "no retries" makes exactly 12 fail.
		{name: "503 burst beyond max_retries", op: emulator.OpAddUser, fault: emulator.Fault{Rate503: 1, Count: 12},
			provider: map[string]any{"max_retries": 0},
			fails:    `(?s)Some PingID user changes failed.*HTTP\s+503`, minExtraAdds: 12, maxExtraAdds: 12},
	}
	logsClean := traceLogs(t)
	var allSecrets []string
	w := newWorldShared(t, members)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			w.startPingID(t, worldOptions{})
			allSecrets = append(allSecrets, w.secrets...)
			scanner := newSecretScanner(t, w.secrets...)
			first := w.seedID(t, "probe-before")
			providerCfg := w.providerConfigPasswordFromEnv(t)
			maps.Copy(providerCfg, sc.provider)
			small := connection(map[string]any{"source_location": map[string]any{
				"base_dn": peopleDN, "group_dn": groupDN, "filter": "(uid=u0000*)",
			}})
			full := connection(nil)
			faulted := resource.TestStep{
				PreConfig: func() { w.emu.SetFault(sc.op, sc.fault) },
				Config:    terraformConfig(providerCfg, full),
				Check:     w.stateWithinPingID(t, "probe-before"),
			}
			if sc.fails != "" {
				faulted.ExpectError = regexp.MustCompile(sc.fails)
			}
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: scannedFactories(scanner),
				Steps: []resource.TestStep{
					{Config: terraformConfig(providerCfg, small)},
					faulted,
					{
						PreConfig: func() {
							w.emu.ClearFaults()
						},
						Config: terraformConfig(providerCfg, full),
						ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
							plancheck.ExpectResourceAction(connAddr, expectedRecoveryAction(sc)),
						}},
						Check: resource.ComposeTestCheckFunc(
							w.stateWithinPingID(t, "probe-before"),
							func(*terraform.State) error {
								w.pingIDMatchesDirectory(t, "probe-before")
								return nil
							},
							resource.TestCheckResourceAttr(connAddr, "users.%", fmt.Sprint(members)),
						),
					},
				},
			})
			created := w.seedID(t, "probe-after") - first - 1
			if created != members {
				t.Errorf("adduser created %d users for %d directory members", created, members)
			}
			adds := w.emu.Calls()[emulator.OpAddUser]
			if extra := adds - created; extra < sc.minExtraAdds || extra > sc.maxExtraAdds {
				t.Errorf("%d adduser requests for %d users: %d extra, want %d to %d", adds, created, extra, sc.minExtraAdds, sc.maxExtraAdds)
			}
			t.Logf("%s: %d adduser requests (%d extra), %d getuserdetails; %d diagnostics scanned", sc.name, adds, adds-created,
				w.emu.Calls()[emulator.OpGetUserDetails], scanner.scannedDiagnostics())
		})
	}
	logsClean(allSecrets)
}

// expectedRecoveryAction: after a faulted apply that succeeded nothing is left to do; after
// a failed one the re-apply updates the connection with what is left.
func expectedRecoveryAction(sc pingIDFault) plancheck.ResourceActionType {
	if sc.fails == "" {
		return plancheck.ResourceActionNoop
	}
	return plancheck.ResourceActionUpdate
}

// newWorldShared starts one directory for several scenarios (each starts its own PingID).
func newWorldShared(t *testing.T, members int) *world {
	t.Helper()
	return newWorld(t, worldOptions{dir: directory{users: members + 10, members: members, disabledEvery: 10}})
}

// TestPartialFailureOnCreate: the first apply of a connection fails for some users (forged
// answers). The state records the others; the re-apply must provision the rest without
// deprovisioning anyone, whatever on_destroy says.
//
// Terraform taints a resource whose create returned an error, so the re-apply replaces the
// connection: destroy, then create, without planning the destroy half. The provider's Delete
// recognises a replacement and must not deprovision anyone, even with on_destroy =
// "deprovision" and remove_user_action = "delete".
func TestPartialFailureOnCreate(t *testing.T) {
	requireTerraform(t)
	const members = 20
	for _, tc := range []struct {
		name string
		conn map[string]any
	}{
		{name: "on_destroy retain", conn: map[string]any{}},
		{name: "on_destroy deprovision with delete", conn: map[string]any{"on_destroy": "deprovision", "remove_user_action": "delete", "max_deprovisions": 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, worldOptions{dir: directory{users: members + 5, members: members, disabledEvery: 10}})
			first := w.seedID(t, "probe-before")
			cfg := terraformConfig(w.providerConfig(), connection(tc.conn))
			// Lifts max_deprovisions so that the post-test destroy may deprovision.
			unlimited := terraformConfig(w.providerConfig(), connection(mergeNested(tc.conn, map[string]any{"max_deprovisions": -1})))
			var deletesBefore int64
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: scannedFactories(newSecretScanner(t, w.secrets...)),
				Steps: []resource.TestStep{
					{
						PreConfig:   func() { w.emu.SetFault(emulator.OpAddUser, emulator.Fault{BadSignatureRate: 1, Count: 2}) },
						Config:      cfg,
						ExpectError: regexp.MustCompile(`(?s)Some PingID user changes failed.*2 of \d+ user changes failed`),
					},
					{
						PreConfig: func() {
							w.emu.ClearFaults()
							deletesBefore = w.emu.Calls()[emulator.OpDeleteUser] + w.emu.Calls()[emulator.OpSuspendUser]
						},
						Config: cfg,
						Check: func(*terraform.State) error {
							if tc.conn["remove_user_action"] == nil { // with "delete", disabled members are not provisioned
								w.pingIDMatchesDirectory(t, "probe-before")
							}
							calls := w.emu.Calls()
							// Only the directory's disabled members are suspended; nobody is deleted.
							if n := calls[emulator.OpDeleteUser] + calls[emulator.OpSuspendUser] - deletesBefore; n > int64(members/10) {
								t.Errorf("the re-apply after a partial create sent %d deleteuser/suspenduser requests; at most %d disabled members need one", n, members/10)
							}
							return nil
						},
					},
					{Config: unlimited},
				},
			})
			want := int64(members)
			if tc.conn["remove_user_action"] == "delete" {
				want -= members / 10 // disabled members are not provisioned
			}
			if created := w.seedID(t, "probe-after") - first - 1; created != want {
				t.Errorf("adduser created %d users, want %d (each member once)", created, want)
			}
		})
	}
}

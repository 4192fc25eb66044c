package provider

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// allowDevices sets the emulated organization's Maximum Allowed Devices.
func (e *accEnv) allowDevices(t *testing.T, n int) {
	t.Helper()
	if err := e.PingID.SetMaxAllowedDevices(n); err != nil {
		t.Fatal(err)
	}
}

// deviceList renders a PingID user's devices as sorted "nickname=value(ROLE)" items.
func deviceList(u emulator.User) string {
	var out []string
	for _, d := range u.Devices {
		out = append(out, fmt.Sprintf("%s=%s%s(%s)", d.Nickname, d.Phone, d.Email, d.Role))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// wantDevices checks a PingID user's devices (see deviceList).
func (e *accEnv) wantDevices(name, want string) func() error {
	return func() error {
		u, ok := e.PingID.User(name)
		if !ok {
			return fmt.Errorf("PingID user %q does not exist", name)
		}
		if got := deviceList(u); got != want {
			return fmt.Errorf("%s devices:\n got %s\nwant %s", name, got, want)
		}
		return nil
	}
}

func (e *accEnv) mappedUserConfig(name, body string) string {
	return e.providerConfig() + fmt.Sprintf(`
resource "pingid_mapped_user" %q {
  username = %q
%s
}
`, name, name, body)
}

// TestAccMappedUser_devices: devices paired under their slot nicknames with primary_device on
// create, formatting differences planning nothing, a changed and a removed value, a value edited
// in PingID restored, remove_other_devices unpairing what the plan listed, and import.
func TestAccMappedUser_devices(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.allowDevices(t, 5)
	addr := "pingid_mapped_user.eva"
	cfg := func(body string) string { return env.mappedUserConfig("eva", body) }

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// The directory's formatting differs from what PingID stores; the
				// post-apply plan of the harness must still be empty.
				Config: cfg(`  devices = { mfa_sms_1 = "+1 (555) 010-2030", mfa_email_1 = "Eva@Example.test" }
  primary_device = "mfa_email_1"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("devices").AtMapKey("mfa_sms_1"), knownvalue.StringExact("+1 (555) 010-2030")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("other_devices"), knownvalue.Null()),
					inEmulator(
						env.wantDevices("eva", "Email 1=eva@example.test(PRIMARY) SMS Number 1=+15550102030(SECONDARY)"),
						env.wantStatus("eva", stActive), // pairing activates a NOT_ACTIVE user
					),
				},
			},
			{
				// A changed number is replaced under the same nickname; a null value unpairs.
				Config: cfg(`  devices = { mfa_sms_1 = "+1 555 010 9999", mfa_email_1 = null }
  primary_device = "mfa_email_1"`),
				ConfigPlanChecks: preApply(expectAction(addr, plancheck.ResourceActionUpdate)),
				ConfigStateChecks: []statecheck.StateCheck{inEmulator(
					env.wantDevices("eva", "SMS Number 1=+15550109999(PRIMARY)"),
				)},
			},
			{
				// Someone edits the number in PingID and adds a phone app; the configuration
				// wins, and remove_other_devices lists and unpairs the app.
				PreConfig: func() {
					if err := env.PingID.UpdateUserDirect("eva", func(u *emulator.User) {
						u.Devices[0].Phone = "+15550100000"
						u.Devices = append(u.Devices, emulator.Device{Type: "iPhone", Nickname: "iPhone of eva"})
					}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg(`  devices = { mfa_sms_1 = "+1 555 010 9999", mfa_email_1 = null }
  remove_other_devices = true`),
				ConfigPlanChecks: preApply(
					expectAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("devices").AtMapKey("mfa_sms_1"), knownvalue.StringExact("+1 555 010 9999")),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("other_devices"), knownvalue.ListExact([]knownvalue.Check{})),
				),
				ConfigStateChecks: []statecheck.StateCheck{inEmulator(
					env.wantDevices("eva", "SMS Number 1=+15550109999(PRIMARY)"),
				)},
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateId:     "eva",
				ImportStateVerify: true,
				// Not readable from PingID: the user's intent, not PingID's state.
				ImportStateVerifyIgnore: []string{"primary_device", "remove_other_devices", "other_devices", "devices"},
			},
		},
	})
}

// TestAccMappedUser_importWithDevices: an imported user records its managed devices, so a
// configuration naming the same devices plans nothing.
func TestAccMappedUser_importWithDevices(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.seed(t, emulator.User{UserName: "eva", Status: stActive, Devices: []emulator.Device{
		{Type: "SMS", Nickname: "SMS Number 1", Phone: "+15550102030"},
		{Type: "Email", Nickname: "Email 2", Email: "eva@example.test"},
		{Type: "iPhone", Nickname: "iPhone of eva"},
	}})
	// Terraform plans an attribute's value exactly as configured, so a configuration written in
	// another formatting than PingID's shows a one-time update after import.
	cfg := env.mappedUserConfig("eva", `  devices = { mfa_sms_1 = "+15550102030", mfa_email_2 = "eva@example.test" }`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:             cfg,
				ResourceName:       "pingid_mapped_user.eva",
				ImportState:        true,
				ImportStateId:      "eva",
				ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("%d imported instances", len(states))
					}
					attrs := states[0].Attributes
					if attrs["devices.mfa_sms_1"] != "+15550102030" || attrs["devices.mfa_email_2"] != "eva@example.test" || attrs["devices.%"] != "2" {
						return fmt.Errorf("imported devices: %v", attrs)
					}
					return nil
				},
			},
			{
				Config:           cfg,
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
			},
		},
	})
}

// TestAccMappedUser_primaryOnlyOnCreateAndDeviceLimit: a linked user keeps its primary device; a
// device PingID refuses (Maximum Allowed Devices) is reported with the slot and the setting
// named, what did pair stays in state, and the next plan shows what is left: on create as a
// warning (an error would taint the user and replace it over a device), on update as an error.
func TestAccMappedUser_primaryOnlyOnCreateAndDeviceLimit(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.allowDevices(t, 2)
	env.seed(t, emulator.User{UserName: "linked", Status: stActive, Devices: []emulator.Device{{Type: "iPhone", Nickname: "iPhone"}}})
	addr := "pingid_mapped_user.linked"
	cfg := func(devices string) string {
		return env.mappedUserConfig("linked", "  devices = "+devices+"\n  primary_device = \"mfa_sms_1\"")
	}
	two := `{ mfa_sms_1 = "+15550102030", mfa_email_1 = "l@example.test" }`
	three := `{ mfa_sms_1 = "+15550102030", mfa_email_1 = "l@example.test", mfa_voice_1 = "+15550102031" }`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// Slots go in name order: the email pairs, the SMS does not fit (a warning).
				Config:             cfg(two),
				ExpectNonEmptyPlan: true,
				ConfigStateChecks: []statecheck.StateCheck{
					inEmulator(env.wantDevices("linked", "Email 1=l@example.test(SECONDARY) iPhone=(PRIMARY)")),
				},
			},
			{
				// The next plan shows exactly the SMS as what is left.
				PreConfig: func() { env.allowDevices(t, 3) },
				Config:    cfg(two),
				ConfigPlanChecks: preApply(
					expectAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("devices").AtMapKey("mfa_sms_1"), knownvalue.StringExact("+15550102030")),
				),
				ConfigStateChecks: []statecheck.StateCheck{inEmulator(
					// Linked, not created: the iPhone stays primary despite primary_device.
					env.wantDevices("linked", "Email 1=l@example.test(SECONDARY) SMS Number 1=+15550102030(SECONDARY) iPhone=(PRIMARY)"),
				)},
			},
			{
				Config:      cfg(three),
				ExpectError: regexp.MustCompile(`(?s)"linked".*mfa_voice_1.*"Voice\s+Number\s+1".*Maximum\s+Allowed\s+Devices`),
			},
			{
				PreConfig: func() {
					if got := deviceList(env.user(t, "linked")); !strings.Contains(got, "SMS Number 1") || strings.Contains(got, "Voice") {
						t.Errorf("after the refused voice device: %s", got)
					}
					env.allowDevices(t, 4)
				},
				Config: cfg(three),
				ConfigStateChecks: []statecheck.StateCheck{inEmulator(
					env.wantDevices("linked", "Email 1=l@example.test(SECONDARY) SMS Number 1=+15550102030(SECONDARY) Voice Number 1=+15550102031(SECONDARY) iPhone=(PRIMARY)"),
				)},
			},
		},
	})
}

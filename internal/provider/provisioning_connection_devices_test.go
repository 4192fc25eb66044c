package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// deviceConnectionConfig is the connection over the pingid-users group with mail, mobile and
// telephoneNumber mapped to Email 1, SMS Number 1 and Voice Number 1.
func (e *accEnv) deviceConnectionConfig(settings string) string {
	return e.providerConfig() + fmt.Sprintf(`
resource "pingid_provisioning_connection" "corp" {
  name = "corp"
  source_location = {
    base_dn       = %q
    group_dn      = %q
    nested_groups = true
  }
  attribute_mapping = {
    username    = "uid"
    email       = "mail"
    first_name  = "givenName"
    last_name   = "sn"
    mfa_email_1 = "mail"
    mfa_sms_1   = "mobile"
    mfa_voice_1 = "telephoneNumber"
  }
  max_deprovisions = -1
%s
}
`, testBaseDN, testGroupDN, settings)
}

// withDevices is an entry with the given device slots (and other_devices when others != nil).
func withDevices(e reconcile.Entry, slots map[reconcile.Slot]string, others []string) reconcile.Entry {
	e.Devices = reconcile.Devices{Managed: true}
	for s, v := range slots {
		e.Devices.Values[s] = v
	}
	if others != nil {
		e.OtherDevices = reconcile.NewOtherDevices(others)
	}
	return e
}

func knownJSON(e reconcile.Entry) knownvalue.Check { return knownvalue.StringExact(e.JSON()) }

// onlyReads asserts that the plan made no PingID call but getuserdetails, n of them.
type onlyReads struct {
	env *accEnv
	n   int64
}

func (c onlyReads) CheckPlan(_ context.Context, _ plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	calls := c.env.PingID.Calls()
	for op, n := range calls {
		if op != emulator.OpGetUserDetails && n > 0 {
			resp.Error = fmt.Errorf("the plan called %s %d times: %v", op, n, calls)
			return
		}
	}
	if calls[emulator.OpGetUserDetails] != c.n {
		resp.Error = fmt.Errorf("the plan made %d getuserdetails calls, want %d (one per managed user)", calls[emulator.OpGetUserDetails], c.n)
	}
}

const (
	jsmithMobile  = "+1 (555) 010-2030" // as the directory writes them
	adoeMobile    = "+1 555 010 3040"
	adoeVoice     = "+1-202-555-0123,2992" // telephoneNumber syntax has no #
	adoeNewMobile = "+1.555.010.9999"
)

// TestAccProvisioningConnection_devicesMerge: merge pairs the mapped devices under the managed
// nicknames (primary only for users the connection creates), a directory formatting differing
// from PingID's plans nothing, a changed number is replaced, a removed one unpaired, a value
// edited in PingID restored while other devices stay, a disabled user's devices are kept, and a
// no-change plan costs one getuserdetails per user, as without devices.
func TestAccProvisioningConnection_devicesMerge(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.allowDevices(t, 5)
	env.seed(t, activeJSmith()) // linked: keeps its iPhone as primary
	cfg := env.deviceConnectionConfig(`  manage_devices = "merge"
  primary_device_on_create = "mfa_sms_1"`)
	mobile := func(p person, v string) string { return replaceLDIF(p.dn(), "mobile", v) }

	adoe := func(sms, voice string) reconcile.Entry {
		slots := map[reconcile.Slot]string{reconcile.SlotEmail1: pADoe.mail, reconcile.SlotSMS1: sms}
		if voice != "" {
			slots[reconcile.SlotVoice1] = voice
		}
		return withDevices(pADoe.entry(true, stActive, reconcile.SourceInScope), slots, nil)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: env.pre(t, mobile(pJSmith, jsmithMobile), mobile(pADoe, adoeMobile), replaceLDIF(pADoe.dn(), "telephoneNumber", adoeVoice)),
				Config:    cfg,
				ConfigPlanChecks: preApply(
					// Planned normalised, as PingID stores them.
					planUser("adoe", withDevices(pADoe.entry(true, stNotActive, reconcile.SourceInScope), map[reconcile.Slot]string{
						reconcile.SlotEmail1: pADoe.mail, reconcile.SlotSMS1: "+15550103040", reconcile.SlotVoice1: "+12025550123,2992"}, nil)),
					planUser("cdisabled", withDevices(pCDisabled.entry(false, stSuspended, reconcile.SourceDisabled), nil, nil)),
				),
				// The harness's next plan is empty: "+1 (555) 010-2030" is PingID's "+15550102030".
				ConfigStateChecks: []statecheck.StateCheck{inEmulator(
					env.wantDevices("jsmith", "Email 1=john.smith@example.com(SECONDARY) SMS Number 1=+15550102030(SECONDARY) phone=(PRIMARY)"),
					env.wantDevices("adoe", "Email 1=ann.doe@example.com(SECONDARY) SMS Number 1=+15550103040(PRIMARY) Voice Number 1=+12025550123,2992(SECONDARY)"),
					env.wantDevices("bwayne", "Email 1=bruce.wayne@example.com(PRIMARY)"),
					env.wantDevices("cdisabled", ""), // disabled in the directory: created without devices
					env.wantStatus("adoe", stActive), // pairing activated the new user
				)},
			},
			{
				// A changed number is replaced under the same nickname; a removed one is unpaired.
				PreConfig: env.pre(t, mobile(pADoe, adoeNewMobile), modifyLDIF(pADoe.dn(), "delete", "telephoneNumber")),
				Config:    cfg,
				ConfigPlanChecks: preApply(
					expectUsersChanged("adoe"),
					planUser("adoe", adoe("+15550109999", "")),
				),
				// The replaced SMS device was primary: PingID makes the remaining one primary
				// (primary_device_on_create applies only when a user is created).
				ConfigStateChecks: []statecheck.StateCheck{inEmulator(
					env.wantDevices("adoe", "Email 1=ann.doe@example.com(PRIMARY) SMS Number 1=+15550109999(SECONDARY)"),
					env.wantWrites(map[string]int64{"unpairdevice": 2, "offlinepairing": 1, "updatedeviceattr": 1}),
				)},
			},
			{
				// Edited in PingID: the directory wins; a device the user added stays (merge).
				PreConfig: func() {
					env.PingID.ResetCalls()
					if err := env.PingID.UpdateUserDirect("jsmith", func(u *emulator.User) {
						for i := range u.Devices {
							if u.Devices[i].Nickname == "SMS Number 1" {
								u.Devices[i].Phone = "+15550100000"
							}
						}
						u.Devices = append(u.Devices, emulator.Device{Type: "Android", Nickname: "Pixel"})
					}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           cfg,
				ConfigPlanChecks: preApply(expectUsersChanged("jsmith")),
				ConfigStateChecks: []statecheck.StateCheck{inEmulator(
					env.wantDevices("jsmith", "Email 1=john.smith@example.com(SECONDARY) Pixel=(SECONDARY) SMS Number 1=+15550102030(SECONDARY) phone=(PRIMARY)"),
				)},
			},
			{
				// Disabled in the directory with a changed number: suspended, devices kept.
				PreConfig:        env.pre(t, disableLDIF(pADoe.dn()), mobile(pADoe, "+15550107777")),
				Config:           cfg,
				ConfigPlanChecks: preApply(expectUsersChanged("adoe")),
				ConfigStateChecks: []statecheck.StateCheck{inEmulator(
					env.wantStatus("adoe", stSuspended),
					env.wantDevices("adoe", "Email 1=ann.doe@example.com(PRIMARY) SMS Number 1=+15550109999(SECONDARY)"),
					env.wantWrites(map[string]int64{"suspenduser": 1}),
				)},
			},
			{
				// A no-change plan reads each managed user once, devices included.
				PreConfig: func() { env.PingID.ResetCalls() },
				Config:    cfg,
				PlanOnly:  true,
				// PlanOnly: a plan without refresh (from the stored snapshot: no calls), then
				// the refreshing plan this checks.
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{onlyReads{env: env, n: 4}}},
			},
		},
	})
}

// TestAccProvisioningConnection_devicesOverwrite: overwrite unpairs devices outside the managed
// nicknames, shows a device added later in other_devices and plans it [], and never touches a
// PingID ADMIN's devices.
func TestAccProvisioningConnection_devicesOverwrite(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.allowDevices(t, 5)
	env.seed(t, activeJSmith(), emulator.User{UserName: "bwayne", Role: emulator.RoleAdmin, Status: stActive,
		Devices: []emulator.Device{{Type: "iPhone", Nickname: "admin phone"}}})
	cfg := env.deviceConnectionConfig(`  manage_devices = "overwrite"`)
	jsmith := func(others []string) reconcile.Entry {
		return withDevices(pJSmith.entry(true, stActive, reconcile.SourceInScope),
			map[reconcile.Slot]string{reconcile.SlotEmail1: pJSmith.mail, reconcile.SlotSMS1: "+15550102030"}, others)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig:        env.pre(t, replaceLDIF(pJSmith.dn(), "mobile", jsmithMobile)),
				Config:           cfg,
				ConfigPlanChecks: preApply(planUser("jsmith", jsmith([]string{}))),
				// The iPhone goes first (room under the device limit), so Email 1 is paired
				// first and PingID makes it primary.
				ConfigStateChecks: []statecheck.StateCheck{inEmulator(
					env.wantDevices("jsmith", "Email 1=john.smith@example.com(PRIMARY) SMS Number 1=+15550102030(SECONDARY)"),
					env.wantDevices("bwayne", "admin phone=(PRIMARY)"),
				)},
			},
			{
				PreConfig: func() {
					if err := env.PingID.UpdateUserDirect("jsmith", func(u *emulator.User) {
						u.Devices = append(u.Devices, emulator.Device{Type: "iPhone", Nickname: "iPhone of jsmith"})
					}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: preApply(
					expectUsersChanged("jsmith"),
					planUser("jsmith", jsmith([]string{})),
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(connAddr, tfjsonpath.New("users").AtMapKey("jsmith"), knownJSON(jsmith([]string{}))),
					inEmulator(
						env.wantDevices("jsmith", "Email 1=john.smith@example.com(PRIMARY) SMS Number 1=+15550102030(SECONDARY)"),
						env.wantDevices("bwayne", "admin phone=(PRIMARY)"),
					),
				},
			},
		},
	})
}

// TestAccProvisioningConnection_deviceLimit: devices beyond the organization's Maximum Allowed
// Devices fail the apply with the user, slot and setting named; the users and every device that
// did pair stay in state, and the next plan shows exactly what is left. It also turns device
// management on for a connection that already manages users.
func TestAccProvisioningConnection_deviceLimit(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t) // PingID's default: one device per user
	env.seed(t, activeJSmith())
	noDevices := env.deviceConnectionConfig("")
	merge := env.deviceConnectionConfig(`  manage_devices = "merge"`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// Without manage_devices the users carry no device members.
				PreConfig:        env.pre(t, replaceLDIF(pADoe.dn(), "mobile", adoeMobile)),
				Config:           noDevices,
				ConfigPlanChecks: preApply(planUser("adoe", pADoe.entry(true, stNotActive, reconcile.SourceInScope))),
			},
			{
				// jsmith's iPhone fills his one device; adoe gets her email device only.
				PreConfig:   env.pre(t),
				Config:      merge,
				ExpectError: regexp.MustCompile(`(?s)"adoe".*mfa_sms_1.*"SMS\s+Number\s+1".*Maximum\s+Allowed\s+Devices.*"jsmith".*mfa_email_1`),
			},
			{
				PreConfig: func() {
					env.allowDevices(t, 3)
					env.PingID.ResetCalls()
				},
				Config: merge,
				ConfigPlanChecks: preApply(
					expectUsersChanged("adoe", "jsmith"),
					planUser("adoe", withDevices(pADoe.entry(true, stActive, reconcile.SourceInScope),
						map[reconcile.Slot]string{reconcile.SlotEmail1: pADoe.mail, reconcile.SlotSMS1: "+15550103040"}, nil)),
				),
				ConfigStateChecks: []statecheck.StateCheck{inEmulator(
					env.wantDevices("adoe", "Email 1=ann.doe@example.com(PRIMARY) SMS Number 1=+15550103040(SECONDARY)"),
					env.wantDevices("jsmith", "Email 1=john.smith@example.com(SECONDARY) phone=(PRIMARY)"),
					env.wantDevices("bwayne", "Email 1=bruce.wayne@example.com(PRIMARY)"),
				)},
			},
		},
	})
}

// TestAccDeviceSettingsValidation: device settings that cannot take effect fail validation,
// pointing at the attribute, before anything is read or written.
func TestAccDeviceSettingsValidation(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	mappedUser := func(body string) string { return env.mappedUserConfig("eva", body) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      env.deviceConnectionConfig(`  primary_device_on_create = "mfa_sms_1"`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)primary_device_on_create.*manage_devices`),
			},
			{
				Config:      env.deviceConnectionConfig(`  manage_devices = "merge"` + "\n" + `  primary_device_on_create = "mfa_sms_2"`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)primary_device_on_create.*value must be one of`),
			},
			{
				// A misspelt device attribute would read as empty and unpair every user's device.
				Config:      strings.Replace(env.deviceConnectionConfig(`  manage_devices = "merge"`), `"mobile"`, `"mobil"`, 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)attribute_mapping.mfa_sms_1.*mobil`),
			},
			{
				Config:      env.deviceConnectionConfig(`  manage_devices = "sometimes"`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)manage_devices.*value must be one of`),
			},
			{
				Config:      mappedUser(`  devices = { mfa_sms_4 = "+15550102030" }`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)devices.*mfa_sms_4`),
			},
			{
				Config:      mappedUser(`  devices = { mfa_sms_1 = "+15550102030" }` + "\n" + `  primary_device = "mfa_email_1"`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)primary_device is not among devices`),
			},
		},
	})
	if n := len(env.PingID.Users()); n != 0 {
		t.Errorf("validation failures created %d PingID users", n)
	}
}

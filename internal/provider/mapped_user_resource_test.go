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
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// memberAddr is the address of one for_each instance of pingid_mapped_user.member.
func memberAddr(name string) string { return fmt.Sprintf("pingid_mapped_user.member[%q]", name) }

// membersConfig is the for_each pattern of the interface file over the pingid-users group.
// dnew is the one member removed with "delete".
func (e *accEnv) membersConfig() string {
	return e.providerConfig() + fmt.Sprintf(`
data "pingid_datastore_group" "members" {
  base_dn    = %q
  group_dn   = %q
  nested     = true
  attributes = ["mail", "givenName", "sn"]
}

resource "pingid_mapped_user" "member" {
  for_each           = data.pingid_datastore_group.members.members
  username           = each.key
  email              = each.value.attributes.mail
  first_name         = each.value.attributes.givenName
  last_name          = each.value.attributes.sn
  enabled            = each.value.enabled
  remove_user_action = each.key == "dnew" ? "delete" : "disable"
}
`, testBaseDN, testGroupDN)
}

// inEmulator runs emulator checks as a state check: the legacy Check shim cannot represent
// for_each instances.
func inEmulator(fns ...func() error) statecheck.StateCheck { return emulatorCheck(fns) }

type emulatorCheck []func() error

func (c emulatorCheck) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = checks(c...)(nil)
}

func expectAction(addr string, action plancheck.ResourceActionType) plancheck.PlanCheck {
	return plancheck.ExpectResourceAction(addr, action)
}

func expectPlanned(addr, attr string, value knownvalue.Check) plancheck.PlanCheck {
	return plancheck.ExpectKnownValue(addr, tfjsonpath.New(attr), value)
}

// TestAccMappedUser_forEachGroupMembers: members joining, changing and leaving the group show
// up as create, update and destroy; destroy suspends by default and deletes with
// remove_user_action = "delete"; users changed or deleted in PingID are corrected.
func TestAccMappedUser_forEachGroupMembers(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.seed(t, activeJSmith())
	pDNew := person{"dnew", "Dan", "New", "dan.new@example.com"}
	newMail := "ann@corp.example.com"
	cfg := env.membersConfig()

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: env.pre(t),
				Config:    cfg,
				ConfigPlanChecks: preApply(
					expectAction(memberAddr("jsmith"), plancheck.ResourceActionCreate),
					expectAction(memberAddr("adoe"), plancheck.ResourceActionCreate),
					expectAction(memberAddr("bwayne"), plancheck.ResourceActionCreate),
					expectAction(memberAddr("cdisabled"), plancheck.ResourceActionCreate),
					expectPlanned(memberAddr("jsmith"), "email", knownvalue.StringExact(pJSmith.mail)),
					expectPlanned(memberAddr("cdisabled"), "enabled", knownvalue.Bool(false)),
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(memberAddr("jsmith"), tfjsonpath.New("status"), knownvalue.StringExact(stActive)),
					statecheck.ExpectKnownValue(memberAddr("jsmith"), tfjsonpath.New("role"), knownvalue.StringExact("REGULAR")),
					statecheck.ExpectKnownValue(memberAddr("adoe"), tfjsonpath.New("status"), knownvalue.StringExact(stNotActive)),
					statecheck.ExpectKnownValue(memberAddr("cdisabled"), tfjsonpath.New("status"), knownvalue.StringExact(stSuspended)),
					inEmulator(
						// jsmith existed: linked (no adduser), keeps status and device.
						env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stActive, 1),
						env.wantProfile("adoe", pADoe.mail, "Ann", "Doe", stNotActive, 0),
						env.wantProfile("cdisabled", pCDisabled.mail, "Carl", "Disabled", stSuspended, 0),
						env.wantUsernames("adoe", "bwayne", "cdisabled", "jsmith"),
						env.wantWrites(map[string]int64{"adduser": 3, "edituser": 1, "suspenduser": 2, "activateuser": 1}),
					),
				},
			},
			{
				// adoe's mail changes, dnew joins, bwayne leaves (his nested group is
				// taken out of pingid-users).
				PreConfig: env.pre(t, replaceLDIF(pADoe.dn(), "mail", newMail), pDNew.ldif(),
					join(pDNew.dn()), leave(engineeringDN)),
				Config: cfg,
				ConfigPlanChecks: preApply(
					expectAction(memberAddr("adoe"), plancheck.ResourceActionUpdate),
					expectPlanned(memberAddr("adoe"), "email", knownvalue.StringExact(newMail)),
					expectPlanned(memberAddr("adoe"), "status", knownvalue.StringExact(stNotActive)),
					expectAction(memberAddr("dnew"), plancheck.ResourceActionCreate),
					expectAction(memberAddr("bwayne"), plancheck.ResourceActionDestroy),
					expectAction(memberAddr("jsmith"), plancheck.ResourceActionNoop),
					expectAction(memberAddr("cdisabled"), plancheck.ResourceActionNoop),
				),
				ConfigStateChecks: []statecheck.StateCheck{inEmulator(
					env.wantProfile("adoe", newMail, "Ann", "Doe", stNotActive, 0),
					env.wantProfile("dnew", pDNew.mail, "Dan", "New", stNotActive, 0),
					env.wantStatus("bwayne", stSuspended), // destroy disables (activate first: never activated)
					env.wantWrites(map[string]int64{"edituser": 1, "adduser": 1, "suspenduser": 2, "activateuser": 1}),
				)},
			},
			{
				// dnew leaves (remove_user_action = "delete"); jsmith is disabled in the
				// directory.
				PreConfig: env.pre(t, leave(pDNew.dn()), disableLDIF(pJSmith.dn())),
				Config:    cfg,
				ConfigPlanChecks: preApply(
					expectAction(memberAddr("dnew"), plancheck.ResourceActionDestroy),
					expectAction(memberAddr("jsmith"), plancheck.ResourceActionUpdate),
					expectPlanned(memberAddr("jsmith"), "enabled", knownvalue.Bool(false)),
				),
				ConfigStateChecks: []statecheck.StateCheck{inEmulator(
					env.wantAbsent("dnew"),
					env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stSuspended, 1),
					env.wantWrites(map[string]int64{"deleteuser": 1, "suspenduser": 1}),
				)},
			},
			{
				// jsmith is re-enabled; adoe is deleted and cdisabled edited in PingID
				// outside Terraform: all corrected.
				PreConfig: func() {
					env.pre(t, enableLDIF(pJSmith.dn()))()
					env.PingID.DeleteUserDirect("adoe")
					if err := env.PingID.UpdateUserDirect("cdisabled", func(u *emulator.User) { u.Email = "carl@elsewhere.example.com" }); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: preApply(
					expectAction(memberAddr("jsmith"), plancheck.ResourceActionUpdate),
					expectPlanned(memberAddr("jsmith"), "enabled", knownvalue.Bool(true)),
					expectAction(memberAddr("adoe"), plancheck.ResourceActionCreate),
					expectAction(memberAddr("cdisabled"), plancheck.ResourceActionUpdate),
					expectPlanned(memberAddr("cdisabled"), "email", knownvalue.StringExact(pCDisabled.mail)),
				),
				ConfigStateChecks: []statecheck.StateCheck{inEmulator(
					env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stActive, 1),
					env.wantProfile("adoe", newMail, "Ann", "Doe", stNotActive, 0),
					env.wantProfile("cdisabled", pCDisabled.mail, "Carl", "Disabled", stSuspended, 0),
					env.wantWrites(map[string]int64{"activateuser": 1, "adduser": 1, "edituser": 1}),
				)},
			},
			{
				// Removing the resource destroys every member: suspended with
				// remove_user_action = "disable" (cdisabled already is). This step also
				// leaves no for_each instance in state, which terraform-plugin-testing's
				// post-test state reading cannot represent.
				PreConfig: env.pre(t),
				Config:    strings.Split(cfg, `resource "pingid_mapped_user"`)[0],
				ConfigPlanChecks: preApply(
					expectAction(memberAddr("jsmith"), plancheck.ResourceActionDestroy),
					expectAction(memberAddr("adoe"), plancheck.ResourceActionDestroy),
					expectAction(memberAddr("cdisabled"), plancheck.ResourceActionDestroy),
				),
				ConfigStateChecks: []statecheck.StateCheck{inEmulator(
					env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stSuspended, 1),
					env.wantStatus("adoe", stSuspended),
					env.wantStatus("cdisabled", stSuspended),
					env.wantUsernames("adoe", "bwayne", "cdisabled", "jsmith"),
					env.wantWrites(map[string]int64{"suspenduser": 4, "activateuser": 1}),
				)},
			},
		},
	})
}

// TestAccMappedUser_admin: a PingID ADMIN is neither taken over nor changed unless
// allow_admin = true.
func TestAccMappedUser_admin(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.seed(t,
		emulator.User{UserName: "root", Email: "root@example.com", Role: "ADMIN", Status: stActive, Devices: []emulator.Device{{Type: "iPhone"}}},
		emulator.User{UserName: "kpatel", Email: "kp@example.com", Status: stActive, Devices: []emulator.Device{{Type: "SMS"}}})
	config := func(allowRoot, allowKPatel bool, kpatelMail string) string {
		return env.providerConfig() + fmt.Sprintf(`
resource "pingid_mapped_user" "root" {
  username    = "root"
  email       = "admin@example.com"
  allow_admin = %t
}

resource "pingid_mapped_user" "kpatel" {
  username    = "kpatel"
  email       = %q
  allow_admin = %t
}
`, allowRoot, kpatelMail, allowKPatel)
	}
	roleAndMail := func(name, role, email string) func() error {
		return env.wantUser(name, func(u emulator.User) error {
			if u.Role != role || u.Email != email || u.Status != stActive {
				return fmt.Errorf("want role %s, email %s, ACTIVE", role, email)
			}
			return nil
		})
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      config(false, false, "kp@example.com"),
				ExpectError: words(`Refusing to manage a PingID administrator`),
			},
			{
				PreConfig: func() {
					if err := roleAndMail("root", "ADMIN", "root@example.com")(); err != nil {
						t.Errorf("refused plan changed the administrator: %v", err)
					}
				},
				Config: config(true, false, "kp@example.com"),
				Check:  checks(roleAndMail("root", "ADMIN", "admin@example.com"), roleAndMail("kpatel", "REGULAR", "kp@example.com")),
			},
			{
				// kpatel is promoted in PingID: changing him now needs allow_admin.
				PreConfig: func() {
					if err := env.PingID.UpdateUserDirect("kpatel", func(u *emulator.User) { u.Role = "ADMIN" }); err != nil {
						t.Fatal(err)
					}
				},
				Config:      config(true, false, "kpatel@example.com"),
				ExpectError: words(`Refusing to change a PingID administrator`),
			},
			{
				PreConfig: func() {
					if err := roleAndMail("kpatel", "ADMIN", "kp@example.com")(); err != nil {
						t.Errorf("refused apply changed the administrator: %v", err)
					}
				},
				Config: config(true, true, "kpatel@example.com"),
				Check:  checks(roleAndMail("kpatel", "ADMIN", "kpatel@example.com")),
			},
		},
		// With allow_admin, destroy may suspend administrators too.
		CheckDestroy: checks(env.wantStatus("root", stSuspended), env.wantStatus("kpatel", stSuspended)),
	})
}

// TestAccMappedUser_import is behaviour 6 for pingid_mapped_user: importing an existing user
// reads every attribute from PingID, the next plan changes only what differs from the
// configuration, and a re-import reproduces the state except for the one setting PingID
// cannot know. Changing the username replaces the user unless only its letter case changes.
func TestAccMappedUser_import(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.seed(t, activeJSmith())
	const addr = "pingid_mapped_user.x"
	cfg := env.providerConfig() + fmt.Sprintf(`
resource "pingid_mapped_user" "x" {
  username           = "jsmith"
  email              = %q
  first_name         = "John"
  last_name          = "Smith"
  remove_user_action = "delete"
}
`, pJSmith.mail)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:             cfg,
				ResourceName:       addr,
				ImportState:        true,
				ImportStateId:      "jsmith",
				ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("imported %d resources, want 1", len(states))
					}
					want := map[string]string{
						"id": "jsmith", "username": "jsmith", "email": "old@example.com", "first_name": "Johnny", "last_name": "Smith",
						"enabled": "true", "status": stActive, "role": "REGULAR", "remove_user_action": "disable", "allow_admin": "false",
					}
					for k, v := range want {
						if got := states[0].Attributes[k]; got != v {
							return fmt.Errorf("imported %s = %q, want %q", k, got, v)
						}
					}
					return nil
				},
			},
			{
				PreConfig: env.pre(t),
				Config:    cfg,
				ConfigPlanChecks: preApply(
					expectAction(addr, plancheck.ResourceActionUpdate),
					expectPlanned(addr, "email", knownvalue.StringExact(pJSmith.mail)),
					expectPlanned(addr, "first_name", knownvalue.StringExact("John")),
					expectPlanned(addr, "last_name", knownvalue.StringExact("Smith")),
					expectPlanned(addr, "status", knownvalue.StringExact(stActive)),
					expectPlanned(addr, "role", knownvalue.StringExact("REGULAR")),
					expectPlanned(addr, "remove_user_action", knownvalue.StringExact("delete")),
				),
				Check: checks(
					env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stActive, 1),
					env.wantWrites(map[string]int64{"edituser": 1}),
				),
			},
			{
				ResourceName:            addr,
				ImportState:             true,
				ImportStateId:           "jsmith",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"remove_user_action"}, // configuration only: PingID has no such field
			},
			{
				// PingID usernames are case-insensitive: a change of letter case is not a
				// new user.
				PreConfig: env.pre(t),
				Config:    strings.Replace(cfg, `"jsmith"`, `"JSmith"`, 1),
				ConfigPlanChecks: preApply(
					expectAction(addr, plancheck.ResourceActionUpdate),
					expectPlanned(addr, "id", knownvalue.StringExact("jsmith")),
				),
				Check: checks(env.wantUsernames("jsmith"), env.wantWrites(nil)),
			},
			{
				// Another username replaces the user (remove_user_action = "delete").
				PreConfig:        env.pre(t),
				Config:           strings.Replace(cfg, `"jsmith"`, `"jsmith2"`, 1),
				ConfigPlanChecks: preApply(expectAction(addr, plancheck.ResourceActionDestroyBeforeCreate)),
				Check: checks(
					env.wantUsernames("jsmith2"),
					env.wantProfile("jsmith2", pJSmith.mail, "John", "Smith", stNotActive, 0),
					env.wantWrites(map[string]int64{"deleteuser": 1, "adduser": 1}),
				),
			},
		},
		CheckDestroy: checks(env.wantUsernames()),
	})
}

// TestAccMappedUser_renamedBlock: renaming the resource block without a moved block plans a
// destroy (which would suspend the user) beside a create for the same user: the plan fails and
// says to declare the move; with the moved block the plan is empty and PingID sees no write.
func TestAccMappedUser_renamedBlock(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.seed(t, activeJSmith())
	block := func(name string) string {
		return env.providerConfig() + fmt.Sprintf(`
resource "pingid_mapped_user" %q {
  username   = "jsmith"
  email      = %q
  first_name = "John"
  last_name  = "Smith"
}
`, name, pJSmith.mail)
	}
	moved := block("john") + "\nmoved {\n  from = pingid_mapped_user.x\n  to   = pingid_mapped_user.john\n}\n"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: block("x")},
			{
				PreConfig:   env.pre(t),
				Config:      block("john"),
				ExpectError: regexp.MustCompile(`(?s)managed by two resources.*Both resources are a\s+pingid_mapped_user\s+with\s+username\s+=\s+"jsmith".*add\s+a\s+moved\s+block`),
			},
			{
				PreConfig:        env.pre(t),
				Config:           moved,
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
				Check:            checks(env.wantWrites(nil), env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stActive, 1)),
			},
		},
	})
}

package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

const connAddr = "pingid_provisioning_connection.corp"

// connectionConfig renders a connection over the pingid-users group; extra is added inside
// the resource block.
func (e *accEnv) connectionConfig(extra string) string {
	return e.providerConfig() + fmt.Sprintf(`
resource "pingid_provisioning_connection" "corp" {
  name = "corp"
  source_location = {
    base_dn       = %q
    group_dn      = %q
    nested_groups = true
  }
  attribute_mapping = {
    username   = "uid"
    email      = "mail"
    first_name = "givenName"
    last_name  = "sn"
  }
%s
}
`, testBaseDN, testGroupDN, extra)
}

// providerConfigWith is providerConfig with extra provider attributes.
func (e *accEnv) providerConfigWith(extra string) string {
	return strings.Replace(e.providerConfig(), "provider \"pingid\" {", "provider \"pingid\" {\n"+extra, 1)
}

func usersKey(name string) tfjsonpath.Path { return tfjsonpath.New("users").AtMapKey(name) }

// planUser asserts a user's planned value in the connection's users map.
func planUser(name string, e reconcile.Entry) plancheck.PlanCheck {
	return plancheck.ExpectKnownValue(connAddr, usersKey(name), knownvalue.StringExact(e.JSON()))
}

// expectUsers asserts the whole planned (or stored) users map.
func expectUsers(entries map[string]reconcile.Entry) knownvalue.Check {
	want := make(map[string]knownvalue.Check, len(entries))
	for name, e := range entries {
		want[name] = knownvalue.StringExact(e.JSON())
	}
	return knownvalue.MapExact(want)
}

// usersChanged asserts which keys of a resource's users map the plan adds, changes or
// removes: exactly these, so every other user is planned unchanged.
type usersChanged struct {
	addr  string
	names []string
}

func expectUsersChanged(names ...string) plancheck.PlanCheck {
	return usersChanged{addr: connAddr, names: names}
}

func (c usersChanged) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != c.addr || rc.Change == nil {
			continue
		}
		before, after := usersOf(rc.Change.Before), usersOf(rc.Change.After)
		var changed []string
		for name, v := range after {
			if b, ok := before[name]; !ok || b != v {
				changed = append(changed, name)
			}
		}
		for name := range before {
			if _, ok := after[name]; !ok {
				changed = append(changed, name)
			}
		}
		slices.Sort(changed)
		want := slices.Sorted(slices.Values(c.names))
		if !slices.Equal(changed, want) {
			resp.Error = fmt.Errorf("%s: users changed by the plan: %v, want %v", c.addr, changed, want)
		}
		return
	}
	resp.Error = fmt.Errorf("%s: not in the plan", c.addr)
}

// usersOf extracts the users map from a planned or prior object.
func usersOf(v any) map[string]any {
	obj, _ := v.(map[string]any)
	users, _ := obj["users"].(map[string]any)
	return users
}

// noUser asserts that a user is not a key of the planned users map.
type noUser struct{ addr, name string }

func expectNoUser(name string) plancheck.PlanCheck { return noUser{addr: connAddr, name: name} }

func (c noUser) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address == c.addr && rc.Change != nil {
			if v, ok := usersOf(rc.Change.After)[c.name]; ok {
				resp.Error = fmt.Errorf("%s: user %q is planned (%v), want it absent", c.addr, c.name, v)
			}
			return
		}
	}
	resp.Error = fmt.Errorf("%s: not in the plan", c.addr)
}

// update expects the connection to be updated, with checks.
func update(checks ...plancheck.PlanCheck) resource.ConfigPlanChecks {
	return preApply(append([]plancheck.PlanCheck{plancheck.ExpectResourceAction(connAddr, plancheck.ResourceActionUpdate)}, checks...)...)
}

func modified(e reconcile.Entry, edit func(*reconcile.Entry)) reconcile.Entry {
	edit(&e)
	return e
}

// initialUsers is what a default connection plans over companyLDIF when PingID is empty.
func initialUsers() map[string]reconcile.Entry {
	return map[string]reconcile.Entry{
		"jsmith":    pJSmith.entry(true, stNotActive, reconcile.SourceInScope),
		"adoe":      pADoe.entry(true, stNotActive, reconcile.SourceInScope),
		"bwayne":    pBWayne.entry(true, stNotActive, reconcile.SourceInScope),
		"cdisabled": pCDisabled.entry(false, stSuspended, reconcile.SourceDisabled),
	}
}

// TestAccProvisioningConnection_existingUsersLinked is behaviour 1: existing PingID users are
// linked by username (case-insensitively, keeping PingID's spelling), never duplicated, and
// keep their status, devices and role; the next plan is empty.
func TestAccProvisioningConnection_existingUsersLinked(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	pMKlein := person{"MKlein", "Maria", "Klein", "maria.klein@example.com"}
	env.apply(t, pMKlein.ldif())
	env.apply(t, join(pMKlein.dn()))
	env.seed(t, activeJSmith(), emulator.User{
		UserName: "mklein", FirstName: "Mary", Email: "mk@example.com", Role: "REGULAR", Status: stActive,
		Devices: []emulator.Device{{Type: "Android"}},
	})
	env.PingID.ResetCalls()

	linked := map[string]reconcile.Entry{
		"jsmith": pJSmith.entry(true, stActive, reconcile.SourceInScope),
		"mklein": pMKlein.entry(true, stActive, reconcile.SourceInScope),
	}
	for name, e := range initialUsers() {
		if name != "jsmith" {
			linked[name] = e
		}
	}
	// The refresh finds what apply recorded: cdisabled, created disabled, was planned SUSPENDED
	// (issue 16: a disable's status is what PingID then reports, not the stale NOT_ACTIVE).
	refreshed := linked

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: env.connectionConfig(""),
				ConfigPlanChecks: preApply(
					plancheck.ExpectResourceAction(connAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectKnownValue(connAddr, tfjsonpath.New("users"), expectUsers(linked)),
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(connAddr, tfjsonpath.New("id"), knownvalue.StringExact("corp")),
					statecheck.ExpectKnownValue(connAddr, tfjsonpath.New("users"), expectUsers(linked)),
				},
				Check: checks(
					env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stActive, 1),
					env.wantProfile("mklein", pMKlein.mail, "Maria", "Klein", stActive, 1),
					env.wantUsernames("adoe", "bwayne", "cdisabled", "jsmith", "mklein"),
					// Three users are added; the two existing ones are only edited. A
					// never-activated user is activated before it can be suspended.
					env.wantWrites(map[string]int64{"adduser": 3, "edituser": 2, "suspenduser": 2, "activateuser": 1}),
				),
			},
			{
				// Nothing changed: the plan is empty and refreshing writes nothing. The
				// refresh records cdisabled's real status (suspended after activation).
				PreConfig:         env.pre(t),
				Config:            env.connectionConfig(""),
				ConfigPlanChecks:  preApply(plancheck.ExpectEmptyPlan()),
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(connAddr, tfjsonpath.New("users"), expectUsers(refreshed))},
				Check:             checks(env.wantWrites(nil)),
			},
		},
		// on_destroy = "retain" (the default) leaves every user as it was.
		CheckDestroy: checks(
			env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stActive, 1),
			env.wantStatus("adoe", stNotActive),
			env.wantStatus("mklein", stActive),
			env.wantUsernames("adoe", "bwayne", "cdisabled", "jsmith", "mklein"),
		),
	})
}

// TestAccProvisioningConnection_provisioning is behaviour 2 for a group: new members are
// created (not activated), disabled ones are created suspended unless
// provision_disabled_users = false, and user_create = false creates no one.
func TestAccProvisioningConnection_provisioning(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	pDNew := person{"dnew", "Dan", "New", "dan.new@example.com"}
	pEDis := person{"edis", "Eve", "Dis", "eve.dis@example.com"}
	pFDis := person{"fdis", "Fay", "Dis", "fay.dis@example.com"}
	pGNew := person{"gnew", "Gus", "New", "gus.new@example.com"}
	pHNew := person{"hnew", "Hal", "New", "hal.new@example.com"}
	locked := "pwdAccountLockedTime: " + lockedForever

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: env.pre(t),
				Config:    env.connectionConfig(""),
				ConfigPlanChecks: preApply(
					plancheck.ExpectResourceAction(connAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectKnownValue(connAddr, tfjsonpath.New("users"), expectUsers(initialUsers())),
				),
				Check: checks(
					env.wantProfile("adoe", pADoe.mail, "Ann", "Doe", stNotActive, 0),
					env.wantProfile("bwayne", pBWayne.mail, "Bruce", "Wayne", stNotActive, 0), // nested group member
					env.wantStatus("jsmith", stNotActive),
					// Disabled in the directory: created, then suspended (PingID cannot
					// suspend a never-activated user, so it is activated first).
					env.wantProfile("cdisabled", pCDisabled.mail, "Carl", "Disabled", stSuspended, 0),
					env.wantUsernames("adoe", "bwayne", "cdisabled", "jsmith"),
					env.wantWrites(map[string]int64{"adduser": 4, "suspenduser": 2, "activateuser": 1}),
				),
			},
			{
				// A user and a disabled user join the group.
				PreConfig: env.pre(t, pDNew.ldif(), pEDis.ldif(locked), join(pDNew.dn()), join(pEDis.dn())),
				Config:    env.connectionConfig(""),
				ConfigPlanChecks: update(
					expectUsersChanged("dnew", "edis"),
					planUser("dnew", pDNew.entry(true, stNotActive, reconcile.SourceInScope)),
					planUser("edis", pEDis.entry(false, stSuspended, reconcile.SourceDisabled)),
				),
				Check: checks(
					env.wantProfile("dnew", pDNew.mail, "Dan", "New", stNotActive, 0),
					env.wantProfile("edis", pEDis.mail, "Eve", "Dis", stSuspended, 0),
					env.wantWrites(map[string]int64{"adduser": 2, "suspenduser": 2, "activateuser": 1}),
				),
			},
			{
				// provision_disabled_users = false: a disabled newcomer is not created, an
				// enabled one is, and users already managed stay as they are.
				PreConfig: env.pre(t, pFDis.ldif(locked), pGNew.ldif(), join(pFDis.dn()), join(pGNew.dn())),
				Config:    env.connectionConfig("provision_disabled_users = false"),
				ConfigPlanChecks: update(
					expectUsersChanged("gnew"),
					planUser("gnew", pGNew.entry(true, stNotActive, reconcile.SourceInScope)),
					expectNoUser("fdis"),
				),
				Check: checks(
					env.wantAbsent("fdis"),
					env.wantStatus("gnew", stNotActive),
					env.wantStatus("edis", stSuspended),
					env.wantWrites(map[string]int64{"adduser": 1}),
				),
			},
			{
				// user_create = false: neither the new member nor the disabled one (now
				// allowed again) is created.
				PreConfig: env.pre(t, pHNew.ldif(), join(pHNew.dn())),
				Config:    env.connectionConfig("user_create = false"),
				ConfigPlanChecks: update(
					expectUsersChanged(),
					expectNoUser("hnew"),
					expectNoUser("fdis"),
				),
				Check: checks(env.wantAbsent("hnew"), env.wantAbsent("fdis"), env.wantWrites(nil)),
			},
		},
	})
}

// filterConnectionConfig is a connection whose source location is a filter, not a group.
func (e *accEnv) filterConnectionConfig(filter string) string {
	return e.providerConfig() + fmt.Sprintf(`
resource "pingid_provisioning_connection" "corp" {
  name = "corp"
  source_location = {
    base_dn = %q
    filter  = %q
  }
  attribute_mapping = {
    username   = "uid"
    email      = "mail"
    first_name = "givenName"
    last_name  = "sn"
  }
}
`, testBaseDN, filter)
}

// TestAccProvisioningConnection_filter is behaviours 2 and 4 for a filter: a user who starts
// matching it is created, one who stops matching it is suspended.
func TestAccProvisioningConnection_filter(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.apply(t, modifyLDIF(pOutsider.dn(), "add", "employeeType", "pingid"))
	env.apply(t, modifyLDIF(pJSmith.dn(), "add", "employeeType", "pingid"))
	cfg := env.filterConnectionConfig("(employeeType=pingid)")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: env.pre(t),
				Config:    cfg,
				ConfigPlanChecks: preApply(plancheck.ExpectKnownValue(connAddr, tfjsonpath.New("users"), expectUsers(map[string]reconcile.Entry{
					"jsmith":   pJSmith.entry(true, stNotActive, reconcile.SourceInScope),
					"outsider": pOutsider.entry(true, stNotActive, reconcile.SourceInScope),
				}))),
				Check: checks(env.wantUsernames("jsmith", "outsider"), env.wantWrites(map[string]int64{"adduser": 2})),
			},
			{
				PreConfig: env.pre(t,
					modifyLDIF(pADoe.dn(), "add", "employeeType", "pingid"),
					modifyLDIF(pOutsider.dn(), "delete", "employeeType")),
				Config: cfg,
				ConfigPlanChecks: update(
					expectUsersChanged("adoe", "outsider"),
					planUser("adoe", pADoe.entry(true, stNotActive, reconcile.SourceInScope)),
					planUser("outsider", pOutsider.entry(false, stSuspended, reconcile.SourceOutOfScope)),
				),
				Check: checks(
					env.wantProfile("adoe", pADoe.mail, "Ann", "Doe", stNotActive, 0),
					env.wantStatus("outsider", stSuspended),
					env.wantWrites(map[string]int64{"adduser": 1, "suspenduser": 2, "activateuser": 1}),
				),
			},
		},
	})
}

// TestAccProvisioningConnection_updates is behaviour 3: a changed mapped attribute shows as
// exactly that change and is written without touching the user's other fields; unmapped
// attributes are never diffed or written; user_update = false stops updates.
func TestAccProvisioningConnection_updates(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.seed(t, activeJSmith())
	jsmith := pJSmith.entry(true, stActive, reconcile.SourceInScope)
	adoe := pADoe.entry(true, stNotActive, reconcile.SourceInScope)
	bwayne := pBWayne.entry(true, stNotActive, reconcile.SourceInScope)
	newMail := modified(jsmith, func(e *reconcile.Entry) { e.Email = "john@corp.example.com" })
	newFirst := modified(adoe, func(e *reconcile.Entry) { e.FirstName = "Annie" })
	newLast := modified(bwayne, func(e *reconcile.Entry) { e.LastName = "Wayne-Kent" })
	laterMail := modified(newMail, func(e *reconcile.Entry) { e.Email = "j.smith@corp.example.com" })

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: env.connectionConfig("")},
			{
				PreConfig: env.pre(t,
					replaceLDIF(pJSmith.dn(), "mail", newMail.Email),
					replaceLDIF(pADoe.dn(), "givenName", newFirst.FirstName),
					replaceLDIF(pBWayne.dn(), "sn", newLast.LastName)),
				Config: env.connectionConfig(""),
				ConfigPlanChecks: update(
					expectUsersChanged("jsmith", "adoe", "bwayne"),
					planUser("jsmith", newMail), planUser("adoe", newFirst), planUser("bwayne", newLast),
				),
				Check: checks(
					// edituser replaces the whole record: status, role and devices survive
					// because the client reads, merges and writes every field.
					env.wantProfile("jsmith", newMail.Email, "John", "Smith", stActive, 1),
					env.wantProfile("adoe", pADoe.mail, "Annie", "Doe", stNotActive, 0),
					env.wantProfile("bwayne", pBWayne.mail, "Bruce", "Wayne-Kent", stNotActive, 0),
					env.wantWrites(map[string]int64{"edituser": 3}),
				),
			},
			{
				// Attributes that are not mapped: no diff, no call.
				PreConfig: env.pre(t,
					modifyLDIF(pJSmith.dn(), "add", "telephoneNumber", "+1 555 0100"),
					replaceLDIF(pADoe.dn(), "cn", "Annie Doe")),
				Config:           env.connectionConfig(""),
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
				Check:            checks(env.wantWrites(nil)),
			},
			{
				// user_update = false: the directory change is not planned or written.
				PreConfig:        env.pre(t, replaceLDIF(pJSmith.dn(), "mail", laterMail.Email)),
				Config:           env.connectionConfig("user_update = false"),
				ConfigPlanChecks: update(expectUsersChanged()),
				Check: checks(
					env.wantProfile("jsmith", newMail.Email, "John", "Smith", stActive, 1),
					env.wantWrites(nil),
				),
			},
			{
				// Updates resume when user_update is true again.
				PreConfig:        env.pre(t),
				Config:           env.connectionConfig(""),
				ConfigPlanChecks: update(expectUsersChanged("jsmith"), planUser("jsmith", laterMail)),
				Check: checks(
					env.wantProfile("jsmith", laterMail.Email, "John", "Smith", stActive, 1),
					env.wantWrites(map[string]int64{"edituser": 1}),
				),
			},
			{
				// A field that is no longer mapped keeps PingID's value: neither the
				// directory's new first name nor a change made in PingID is planned.
				PreConfig: func() {
					env.pre(t, replaceLDIF(pJSmith.dn(), "givenName", "Jonathan"))()
					if err := env.PingID.UpdateUserDirect("jsmith", func(u *emulator.User) { u.FirstName = "Jo" }); err != nil {
						t.Fatal(err)
					}
				},
				Config: strings.Replace(env.connectionConfig(""), `first_name = "givenName"`, "", 1),
				ConfigPlanChecks: update(
					expectUsersChanged(),
					planUser("jsmith", modified(laterMail, func(e *reconcile.Entry) { e.FirstName = "Jo" })),
				),
				Check: checks(
					env.wantProfile("jsmith", laterMail.Email, "Jo", "Smith", stActive, 1),
					env.wantWrites(nil),
				),
			},
		},
	})
}

// TestAccProvisioningConnection_deprovisioning is behaviour 4: users removed from the group,
// deleted from or disabled in the directory are suspended (never-activated ones too), come
// back when they return, are deleted with remove_user_action = "delete", and are left alone
// with user_disable_delete = false.
func TestAccProvisioningConnection_deprovisioning(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.seed(t, activeJSmith())
	jsmith := pJSmith.entry(true, stActive, reconcile.SourceInScope)
	adoe := pADoe.entry(true, stNotActive, reconcile.SourceInScope)
	bwayne := pBWayne.entry(true, stNotActive, reconcile.SourceInScope)
	// This test deprovisions most of its four users at once: the share brake is off.
	connectionConfig := func(extra string) string { return env.connectionConfig("max_deprovisions_percent = -1\n" + extra) }
	state := func(e reconcile.Entry, enabled bool, status string, source reconcile.SourceState) reconcile.Entry {
		e.Enabled, e.Status, e.SourceState = enabled, status, source
		return e
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: connectionConfig("")},
			{
				// Removed from the group, deleted from the directory (its DN stays in the
				// nested group, as OpenLDAP without refint leaves it), disabled in it.
				PreConfig: env.pre(t,
					leave(pJSmith.dn()),
					deleteLDIF(pBWayne.dn()),
					disableLDIF(pADoe.dn())),
				Config: connectionConfig(""),
				ConfigPlanChecks: update(
					expectUsersChanged("jsmith", "bwayne", "adoe"),
					planUser("jsmith", state(jsmith, false, stSuspended, reconcile.SourceOutOfScope)),
					planUser("bwayne", state(bwayne, false, stSuspended, reconcile.SourceDeleted)),
					planUser("adoe", state(adoe, false, stSuspended, reconcile.SourceDisabled)),
				),
				Check: checks(
					env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stSuspended, 1),
					// Never activated: activated first, then suspended, so neither can
					// enrol or authenticate.
					env.wantStatus("adoe", stSuspended),
					env.wantStatus("bwayne", stSuspended),
					env.wantWrites(map[string]int64{"suspenduser": 5, "activateuser": 2}),
				),
			},
			{
				// Back in the group, but user_update = false: not re-enabled, and recorded as
				// suspended by this connection (out_of_scope), so it is re-enabled below.
				PreConfig: env.pre(t, join(pJSmith.dn())),
				Config:    connectionConfig("user_update = false"),
				ConfigPlanChecks: update(
					expectUsersChanged(),
					planUser("jsmith", state(jsmith, false, stSuspended, reconcile.SourceOutOfScope)),
				),
				Check: checks(env.wantStatus("jsmith", stSuspended), env.wantWrites(nil)),
			},
			{
				// Everyone comes back: re-enabled (PingID decides between ACTIVE and
				// PENDING_ACTIVATION, so the status stays what the last read returned; the next
				// refresh records the new one). The disables above were planned SUSPENDED.
				PreConfig: env.pre(t, enableLDIF(pADoe.dn()), pBWayne.ldif()),
				Config:    connectionConfig(""),
				ConfigPlanChecks: update(
					expectUsersChanged("jsmith", "bwayne", "adoe"),
					planUser("jsmith", state(jsmith, true, stSuspended, reconcile.SourceInScope)),
					planUser("bwayne", state(bwayne, true, stSuspended, reconcile.SourceInScope)),
					planUser("adoe", state(adoe, true, stSuspended, reconcile.SourceInScope)),
				),
				Check: checks(
					env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stActive, 1),
					env.wantStatus("adoe", stPendingActivation),
					env.wantStatus("bwayne", stPendingActivation),
					env.wantWrites(map[string]int64{"activateuser": 3}),
				),
			},
			{
				// remove_user_action = "delete": the user who leaves is deleted, and so is
				// the one already deprovisioned because the directory disabled him.
				PreConfig: env.pre(t, leave(pADoe.dn())),
				Config:    connectionConfig(`remove_user_action = "delete"`),
				ConfigPlanChecks: update(
					expectUsersChanged("adoe", "cdisabled"),
					expectNoUser("adoe"), expectNoUser("cdisabled"),
				),
				Check: checks(
					env.wantAbsent("adoe"), env.wantAbsent("cdisabled"),
					env.wantWrites(map[string]int64{"deleteuser": 2}),
				),
			},
			{
				// user_disable_delete = false: only the bookkeeping changes. (Disabled
				// newcomers are not provisioned, so the deleted cdisabled stays deleted.)
				PreConfig: env.pre(t, leave(engineeringDN)),
				Config: connectionConfig(`remove_user_action = "delete"
user_disable_delete = false
provision_disabled_users = false`),
				ConfigPlanChecks: update(
					expectUsersChanged("bwayne"),
					planUser("bwayne", state(bwayne, true, stPendingActivation, reconcile.SourceOutOfScope)),
				),
				Check: checks(env.wantStatus("bwayne", stPendingActivation), env.wantWrites(nil)),
			},
		},
	})
}

// TestAccProvisioningConnection_maxDeprovisions: a plan that would deprovision more users
// than max_deprovisions fails, naming them, and changes nothing; -1 lifts the limit.
func TestAccProvisioningConnection_maxDeprovisions(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	leave := env.pre(t, leave(pJSmith.dn()), leave(pADoe.dn()))

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: env.connectionConfig("max_deprovisions = 1\nmax_deprovisions_percent = -1")},
			{
				PreConfig:   leave,
				Config:      env.connectionConfig("max_deprovisions = 1\nmax_deprovisions_percent = -1"),
				ExpectError: words("2 users would be deprovisioned (disabled or deleted), more than max_deprovisions = 1: adoe (left group/filter), jsmith (left group/filter)"),
			},
			{
				PreConfig: func() {
					if err := env.wantWrites(nil)(); err != nil {
						t.Errorf("the failed plan changed PingID: %v", err)
					}
					env.pre(t)()
				},
				Config: env.connectionConfig("max_deprovisions = -1\nmax_deprovisions_percent = -1"),
				ConfigPlanChecks: update(
					expectUsersChanged("adoe", "jsmith"),
					planUser("adoe", pADoe.entry(false, stSuspended, reconcile.SourceOutOfScope)),
					planUser("jsmith", pJSmith.entry(false, stSuspended, reconcile.SourceOutOfScope)),
				),
				Check: checks(env.wantStatus("adoe", stSuspended), env.wantStatus("jsmith", stSuspended)),
			},
		},
	})
}

// TestAccProvisioningConnection_drift is behaviour 5: changes made in PingID outside
// Terraform are refreshed into state, shown by the next plan and corrected by apply.
func TestAccProvisioningConnection_drift(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.seed(t, activeJSmith())
	adoe := pADoe.entry(true, stNotActive, reconcile.SourceInScope)
	drifted := modified(adoe, func(e *reconcile.Entry) { e.Email, e.FirstName = "ann@elsewhere.example.com", "Annabel" })
	cfg := env.connectionConfig("")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				// Refresh alone records what PingID holds now.
				PreConfig: func() {
					if err := env.PingID.UpdateUserDirect("adoe", func(u *emulator.User) { u.Email, u.FirstName = drifted.Email, drifted.FirstName }); err != nil {
						t.Fatal(err)
					}
				},
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check:              resource.TestCheckResourceAttr(connAddr, "users.adoe", drifted.JSON()),
			},
			{
				// Suspended and deleted out of band as well: the attributes are corrected and
				// the deleted user re-created, but the suspension made in PingID is left alone
				// (TestAccProvisioningConnection_suspendedOutsideTerraform has the details).
				PreConfig: func() {
					env.pre(t)()
					if err := env.PingID.SetUserStatus("jsmith", stSuspended); err != nil {
						t.Fatal(err)
					}
					if !env.PingID.DeleteUserDirect("bwayne") {
						t.Fatal("bwayne missing")
					}
				},
				Config: cfg,
				ConfigPlanChecks: update(
					expectUsersChanged("adoe", "bwayne"),
					planUser("adoe", adoe),
					planUser("jsmith", pJSmith.entry(false, stSuspended, reconcile.SourceInScope)),
					planUser("bwayne", pBWayne.entry(true, stNotActive, reconcile.SourceInScope)),
				),
				Check: checks(
					env.wantProfile("adoe", pADoe.mail, "Ann", "Doe", stNotActive, 0),
					env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stSuspended, 1),
					env.wantProfile("bwayne", pBWayne.mail, "Bruce", "Wayne", stNotActive, 0),
					env.wantWrites(map[string]int64{"edituser": 1, "adduser": 1}),
				),
			},
			{
				PreConfig:        env.pre(t, leave(pJSmith.dn())),
				Config:           cfg,
				ConfigPlanChecks: update(expectUsersChanged("jsmith")),
				Check:            checks(env.wantStatus("jsmith", stSuspended)),
			},
			{
				// Re-activated out of band while out of scope: suspended again.
				PreConfig: func() {
					env.pre(t)()
					if err := env.PingID.SetUserStatus("jsmith", stActive); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: update(
					expectUsersChanged("jsmith"),
					planUser("jsmith", pJSmith.entry(false, stSuspended, reconcile.SourceOutOfScope)),
				),
				Check: checks(env.wantStatus("jsmith", stSuspended), env.wantWrites(map[string]int64{"suspenduser": 1})),
			},
			{
				// Deleted out of band while out of scope: dropped, not re-created.
				PreConfig: func() {
					env.pre(t)()
					env.PingID.DeleteUserDirect("jsmith")
				},
				Config:            cfg,
				ConfigPlanChecks:  preApply(plancheck.ExpectEmptyPlan(), expectNoUser("jsmith")),
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(connAddr, tfjsonpath.New("users"), knownvalue.MapSizeExact(3))},
				Check:             checks(env.wantAbsent("jsmith"), env.wantWrites(nil)),
			},
		},
	})
}

// TestAccProvisioningConnection_partialFailure: when some user changes fail, apply errors
// listing them, the state records exactly the ones that succeeded, and the next plan shows
// only the rest.
func TestAccProvisioningConnection_partialFailure(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	pDNew := person{"dnew", "Dan", "New", "dan.new@example.com"}
	newMail := func(p person) string { return p.uid + "@corp.example.com" }
	// One worker and no retries: actions run in username order and the first call of each
	// faulted operation fails for good.
	cfg := strings.Replace(env.connectionConfig(""), env.providerConfig(), env.providerConfigWith("max_retries = 0\nmax_concurrency = 1"), 1)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				PreConfig: func() {
					env.pre(t,
						replaceLDIF(pADoe.dn(), "mail", newMail(pADoe)),
						replaceLDIF(pBWayne.dn(), "mail", newMail(pBWayne)),
						replaceLDIF(pJSmith.dn(), "mail", newMail(pJSmith)),
						pDNew.ldif(), join(pDNew.dn()))()
					env.PingID.SetFault("edituser", emulator.Fault{Rate500: 1, Count: 1})
					env.PingID.SetFault("adduser", emulator.Fault{Rate500: 1, Count: 1})
				},
				Config: cfg,
				// What was done and what failed, by kind (issue 16): the plan's summary counted
				// all four as to be done.
				ExpectError: regexp.MustCompile(`(?s)done:\s+2\s+updated;\s+failed:\s+1\s+create,\s+1\s+update\..*` +
					`2 of 4 user changes failed.*adoe\s+\(update\).*dnew\s+\(create\)`),
			},
			{
				PreConfig: func() {
					for _, check := range []func() error{
						env.wantProfile("adoe", pADoe.mail, "Ann", "Doe", stNotActive, 0),
						env.wantProfile("bwayne", newMail(pBWayne), "Bruce", "Wayne", stNotActive, 0),
						env.wantProfile("jsmith", newMail(pJSmith), "John", "Smith", stNotActive, 0),
						env.wantAbsent("dnew"),
					} {
						if err := check(); err != nil {
							t.Errorf("after the partial failure: %v", err)
						}
					}
					env.pre(t)()
				},
				Config: cfg,
				ConfigPlanChecks: update(
					expectUsersChanged("adoe", "dnew"),
					planUser("adoe", modified(pADoe.entry(true, stNotActive, reconcile.SourceInScope), func(e *reconcile.Entry) { e.Email = newMail(pADoe) })),
					planUser("dnew", pDNew.entry(true, stNotActive, reconcile.SourceInScope)),
				),
				Check: checks(
					env.wantProfile("adoe", newMail(pADoe), "Ann", "Doe", stNotActive, 0),
					env.wantProfile("dnew", pDNew.mail, "Dan", "New", stNotActive, 0),
					env.wantWrites(map[string]int64{"edituser": 1, "adduser": 1}),
				),
			},
		},
	})
}

// TestAccProvisioningConnection_admins: the connection never links, edits, suspends or
// deletes a PingID ADMIN.
func TestAccProvisioningConnection_admins(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	admin := activeJSmith()
	admin.Role = "ADMIN"
	env.seed(t, admin)
	env.PingID.ResetCalls()
	cfg := env.connectionConfig("")
	unchangedAdmin := env.wantUser("jsmith", func(u emulator.User) error {
		if u.Role != "ADMIN" || u.Status != stActive || u.Email != admin.Email || u.FirstName != admin.FirstName {
			return fmt.Errorf("the administrator was changed")
		}
		return nil
	})

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:           cfg,
				ConfigPlanChecks: preApply(expectNoUser("jsmith"), planUser("adoe", pADoe.entry(true, stNotActive, reconcile.SourceInScope))),
				Check:            checks(unchangedAdmin, env.wantWrites(map[string]int64{"adduser": 3, "suspenduser": 2, "activateuser": 1})),
			},
			{
				// A managed user promoted to ADMIN, then removed from the group and
				// renamed in the directory: only bookkeeping changes.
				PreConfig: func() {
					env.pre(t, leave(pADoe.dn()), replaceLDIF(pADoe.dn(), "sn", "Doe-Admin"))()
					if err := env.PingID.UpdateUserDirect("adoe", func(u *emulator.User) { u.Role = "ADMIN" }); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: update(
					expectUsersChanged("adoe"),
					planUser("adoe", pADoe.entry(true, stNotActive, reconcile.SourceOutOfScope)),
					expectNoUser("jsmith"),
				),
				Check: checks(unchangedAdmin, env.wantWrites(nil), env.wantUser("adoe", func(u emulator.User) error {
					if u.Role != "ADMIN" || u.Status != stNotActive || u.LastName != "Doe" {
						return fmt.Errorf("the promoted administrator was changed")
					}
					return nil
				})),
			},
		},
	})
}

// TestAccProvisioningConnection_onDestroyDeprovision: destroying a connection with
// on_destroy = "deprovision" suspends every managed user but administrators, subject to both
// brakes, max_deprovisions and max_deprovisions_percent; a refused destroy writes nothing.
func TestAccProvisioningConnection_onDestroyDeprovision(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.seed(t, activeJSmith())
	noWrites := func() {
		if err := env.wantWrites(nil)(); err != nil {
			t.Errorf("the refused destroy plan changed PingID: %v", err)
		}
		if u := env.user(t, "jsmith"); u.Status != stActive {
			t.Errorf("the refused destroy plan changed PingID: jsmith is %s", u.Status)
		}
		env.pre(t)()
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: env.connectionConfig("on_destroy = \"deprovision\"\nmax_deprovisions = 2")},
			{
				// Destroying would suspend three enabled users of four: over both brakes.
				PreConfig: env.pre(t),
				Config:    env.providerConfig(),
				ExpectError: words("3 users would be deprovisioned (disabled or deleted), more than max_deprovisions = 2, and more than " +
					"max_deprovisions_percent = 20 % of the 4 users this connection manages (at most 1): adoe (connection destroyed), " +
					"bwayne (connection destroyed), jsmith (connection destroyed)"),
			},
			{
				PreConfig:        noWrites,
				Config:           env.connectionConfig("on_destroy = \"deprovision\"\nmax_deprovisions = -1"),
				ConfigPlanChecks: update(expectUsersChanged()),
			},
			{
				// max_deprovisions lifted: the share brake alone still refuses.
				PreConfig:   env.pre(t),
				Config:      env.providerConfig(),
				ExpectError: words("more than max_deprovisions_percent = 20 % of the 4 users this connection manages (at most 1): adoe (connection destroyed)"),
			},
			{
				PreConfig: func() {
					noWrites()
					// An administrator is never deprovisioned, not even on destroy.
					if err := env.PingID.UpdateUserDirect("bwayne", func(u *emulator.User) { u.Role = "ADMIN" }); err != nil {
						t.Fatal(err)
					}
				},
				Config:           env.connectionConfig("on_destroy = \"deprovision\"\nmax_deprovisions = -1\nmax_deprovisions_percent = -1"),
				ConfigPlanChecks: update(expectUsersChanged()),
			},
		},
		CheckDestroy: checks(
			env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stSuspended, 1),
			env.wantStatus("adoe", stSuspended),
			env.wantStatus("bwayne", stNotActive),
			env.wantStatus("cdisabled", stSuspended),
		),
	})
}

// TestAccProvisioningConnection_import is behaviour 6 for the connection: importing it over
// users an earlier provisioner created links them, and the plan changes only what really
// differs (jsmith's first name and email); nothing is created or suspended.
func TestAccProvisioningConnection_import(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.seed(t, activeJSmith(),
		emulator.User{UserName: "adoe", FirstName: "Ann", LastName: "Doe", Email: pADoe.mail, Status: stNotActive},
		emulator.User{UserName: "bwayne", FirstName: "Bruce", LastName: "Wayne", Email: pBWayne.mail, Status: stActive, Devices: []emulator.Device{{Type: "SMS"}}},
		emulator.User{UserName: "cdisabled", FirstName: "Carl", LastName: "Disabled", Email: pCDisabled.mail, Status: stSuspended})
	cfg := env.connectionConfig("")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:             cfg,
				ResourceName:       connAddr,
				ImportState:        true,
				ImportStateId:      "corp",
				ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("imported %d resources, want 1", len(states))
					}
					a := states[0].Attributes
					if a["id"] != "corp" || a["name"] != "corp" || a["users.%"] != "0" {
						return fmt.Errorf("imported state: %v", a)
					}
					return nil
				},
			},
			{
				PreConfig: env.pre(t),
				Config:    cfg,
				ConfigPlanChecks: update(plancheck.ExpectKnownValue(connAddr, tfjsonpath.New("users"), expectUsers(map[string]reconcile.Entry{
					"jsmith":    pJSmith.entry(true, stActive, reconcile.SourceInScope),
					"adoe":      pADoe.entry(true, stNotActive, reconcile.SourceInScope),
					"bwayne":    pBWayne.entry(true, stActive, reconcile.SourceInScope),
					"cdisabled": pCDisabled.entry(false, stSuspended, reconcile.SourceDisabled),
				}))),
				Check: checks(
					env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stActive, 1),
					env.wantProfile("bwayne", pBWayne.mail, "Bruce", "Wayne", stActive, 1),
					env.wantUsernames("adoe", "bwayne", "cdisabled", "jsmith"),
					// Only jsmith differs. The plan's link set (planned private state)
					// tells apply that NOT_ACTIVE adoe is a link, so no adduser is tried.
					env.wantWrites(map[string]int64{"edituser": 1}),
				),
			},
		},
	})
}

// TestAccProvisioningConnection_wrongPingIDToken: PingID refusing the credentials while a new
// connection reads its source is reported as PingID's failure with the settings to check, not
// as the directory's ("Unable to read the source location"), and changes nothing.
func TestAccProvisioningConnection_wrongPingIDToken(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	props, err := pingid.ParseProperties(env.Properties)
	if err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(t.TempDir(), "wrong-token.properties")
	content := strings.Replace(env.Properties, "token="+props.Token, "token=0123456789abcdef0123456789abcdef", 1)
	if content == env.Properties {
		t.Fatal("the emulator's properties have no token line to replace")
	}
	if err := os.WriteFile(wrong, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(env.connectionConfig(""), env.PropertiesFile, wrong, 1)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig:   env.pre(t),
			Config:      cfg,
			ExpectError: regexp.MustCompile(`(?s)Unable to read users from PingID.*plan-time look-ups.*org_alias.*token.*use_base64_key.*idp_url.*No user is provisioned`),
		}},
	})
	if err := env.wantWrites(nil)(); err != nil {
		t.Errorf("the failed plan changed PingID: %v", err)
	}
}

// TestAccProvisioningConnection_unreadableSource: a directory that cannot be read, or a
// group that does not exist, fails the plan; it never looks like every user left.
func TestAccProvisioningConnection_unreadableSource(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	cfg := env.connectionConfig("")
	unreachable := strings.Replace(cfg, env.LDAP.URL, "ldap://127.0.0.1:1", 1)
	missingGroup := strings.Replace(cfg, testGroupDN, "cn=nope,ou=groups,dc=example,dc=com", 1)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				PreConfig:   env.pre(t),
				Config:      unreachable,
				ExpectError: regexp.MustCompile(`(?s)Unable to read the source location.*127\.0\.0\.1:1.*No user is provisioned or\s+deprovisioned`),
			},
			{
				Config:      missingGroup,
				ExpectError: regexp.MustCompile(`(?s)Unable to read the source location.*cn=nope,ou=groups,dc=example,dc=com.*no\s+such\s+entry`),
			},
			{
				PreConfig: func() {
					if err := env.wantWrites(nil)(); err != nil {
						t.Errorf("failed plans changed PingID: %v", err)
					}
				},
				Config:           cfg,
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
				Check:            checks(env.wantStatus("jsmith", stNotActive), env.wantStatus("adoe", stNotActive), env.wantWrites(nil)),
			},
		},
	})
}

// afterPlan is a plan check with a side effect: it changes the directory after Terraform has
// planned and before it applies, to prove apply carries out the reviewed plan.
type afterPlan func()

func (f afterPlan) CheckPlan(context.Context, plancheck.CheckPlanRequest, *plancheck.CheckPlanResponse) {
	f()
}

// TestAccProvisioningConnection_appliesTheReviewedPlan: directory changes made between plan
// and apply never leak into the apply. For an existing connection the apply carries out the
// reviewed plan (the plan is computed from the snapshot taken at refresh, which Terraform
// keeps in the plan) and the next plan picks the changes up. A new connection has no prior
// state to carry a snapshot in, so Terraform's apply-time re-plan reads the changed directory
// and refuses to apply ("inconsistent final plan"): nothing is written, and planning again
// shows the new situation.
func TestAccProvisioningConnection_appliesTheReviewedPlan(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	pDNew := person{"dnew", "Dan", "New", "dan.new@example.com"}
	cfg := env.connectionConfig("")
	late := modified(pJSmith.entry(true, stNotActive, reconcile.SourceInScope), func(e *reconcile.Entry) { e.Email = "late@example.com" })

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigPlanChecks: preApply(
					plancheck.ExpectKnownValue(connAddr, tfjsonpath.New("users"), expectUsers(initialUsers())),
					afterPlan(env.pre(t, leave(pADoe.dn()), replaceLDIF(pJSmith.dn(), "mail", late.Email))),
				),
				ExpectError: words("Provider produced inconsistent final plan"),
			},
			{
				PreConfig: func() {
					if err := checks(env.wantWrites(nil), env.wantUsernames())(nil); err != nil {
						t.Errorf("the refused apply changed PingID: %v", err)
					}
				},
				Config:           cfg,
				ConfigPlanChecks: preApply(planUser("jsmith", late), expectNoUser("adoe")),
			},
			{
				// dnew joins; after the plan, adoe comes back and jsmith's mail changes
				// again: apply creates dnew only.
				PreConfig: env.pre(t, pDNew.ldif(), join(pDNew.dn())),
				Config:    cfg,
				ConfigPlanChecks: update(
					expectUsersChanged("dnew"),
					afterPlan(func() {
						env.apply(t, join(pADoe.dn()))
						env.apply(t, replaceLDIF(pJSmith.dn(), "mail", "later@example.com"))
					}),
				),
				Check: checks(
					env.wantStatus("dnew", stNotActive),
					env.wantAbsent("adoe"),
					env.wantProfile("jsmith", late.Email, "John", "Smith", stNotActive, 0),
					env.wantWrites(map[string]int64{"adduser": 1}),
				),
				ExpectNonEmptyPlan: true, // the late changes
			},
			{
				PreConfig: env.pre(t),
				Config:    cfg,
				ConfigPlanChecks: update(
					expectUsersChanged("adoe", "jsmith"),
					planUser("adoe", pADoe.entry(true, stNotActive, reconcile.SourceInScope)),
				),
				Check: checks(
					env.wantStatus("adoe", stNotActive),
					env.wantProfile("jsmith", "later@example.com", "John", "Smith", stNotActive, 0),
					env.wantWrites(map[string]int64{"adduser": 1, "edituser": 1}),
				),
			},
		},
	})
}

// TestAccProvisioningConnection_replaceRetainsUsers: changing `name` replaces the connection,
// and the destroy half of that replacement never applies on_destroy = "deprovision": the new
// connection takes the same users over, so suspending them first would lock everyone out for
// the length of the apply (and lose their devices with remove_user_action = "delete").
func TestAccProvisioningConnection_replaceRetainsUsers(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.seed(t, activeJSmith())
	cfg := env.connectionConfig("on_destroy = \"deprovision\"\nmax_deprovisions = -1\nmax_deprovisions_percent = -1")
	renamed := strings.Replace(cfg, `name = "corp"`, `name = "corp-renamed"`, 1)
	if renamed == cfg {
		t.Fatal("the connection configuration no longer sets name = \"corp\"")
	}
	var before []string // "name(STATUS)" of every PingID user
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: checks(func() error {
					before = env.usernames()
					return nil
				}),
			},
			{
				PreConfig: env.pre(t),
				Config:    renamed,
				ConfigPlanChecks: preApply(
					plancheck.ExpectResourceAction(connAddr, plancheck.ResourceActionDestroyBeforeCreate),
				),
				Check: checks(
					// Nothing suspended, deleted or re-activated. The new connection links
					// every user; the two NOT_ACTIVE ones cost a refused adduser each (Create
					// gets no planned private state, so a NOT_ACTIVE planned user looks new,
					// see linkCandidates) and are then linked, not duplicated.
					env.wantWrites(map[string]int64{"adduser": 2}),
					env.wantSameUsers(&before, "the replacement"),
					env.wantStatus("jsmith", stActive),
				),
			},
		},
	})
}

// TestAccProvisioningConnection_renamedBlock: renaming the resource block is not a change of
// `name`. Without a moved block Terraform plans a destroy of the old address beside a create of
// the new one; with on_destroy = "deprovision" that would suspend the users the create takes
// over, so the plan fails and says to declare the move. With the moved block the plan is empty.
// With on_destroy = "retain" the destroy touches nobody and the create links everyone again.
func TestAccProvisioningConnection_renamedBlock(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.seed(t, activeJSmith())
	cfg := env.connectionConfig("on_destroy = \"deprovision\"\nmax_deprovisions = -1\nmax_deprovisions_percent = -1")
	renameBlock := func(c, to string) string {
		out := strings.Replace(c, `"pingid_provisioning_connection" "corp"`, `"pingid_provisioning_connection" "`+to+`"`, 1)
		if out == c {
			t.Fatal("the connection configuration no longer declares pingid_provisioning_connection.corp")
		}
		return out
	}
	moved := renameBlock(cfg, "main") + "\nmoved {\n  from = pingid_provisioning_connection.corp\n  to   = pingid_provisioning_connection.main\n}\n"
	retain := strings.Replace(moved, `on_destroy = "deprovision"`, `on_destroy = "retain"`, 1)
	retainRenamed := renameBlock(strings.Replace(cfg, `on_destroy = "deprovision"`, `on_destroy = "retain"`, 1), "other")
	var before []string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg, Check: checks(func() error { before = env.usernames(); return nil })},
			{
				PreConfig:   env.pre(t),
				Config:      renameBlock(cfg, "main"),
				ExpectError: regexp.MustCompile(`(?s)managed by two resources.*Both resources are a\s+pingid_provisioning_connection\s+with\s+name\s+=\s+"corp".*add\s+a\s+moved\s+block`),
			},
			{
				PreConfig:        env.pre(t),
				Config:           moved,
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
				Check:            checks(env.wantWrites(nil)),
			},
			{PreConfig: env.pre(t), Config: retain, Check: checks(env.wantWrites(nil))},
			{
				PreConfig: env.pre(t),
				Config:    retainRenamed,
				ConfigPlanChecks: preApply(
					plancheck.ExpectResourceAction("pingid_provisioning_connection.main", plancheck.ResourceActionDestroy),
					plancheck.ExpectResourceAction("pingid_provisioning_connection.other", plancheck.ResourceActionCreate),
				),
				Check: checks(
					// Nobody suspended, deleted or re-activated; the NOT_ACTIVE users cost a
					// refused adduser each before they are linked (as in a replacement).
					env.wantWrites(map[string]int64{"adduser": 2}),
					env.wantSameUsers(&before, "the rename"),
				),
			},
		},
	})
}

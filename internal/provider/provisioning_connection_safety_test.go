package provider

// Acceptance tests of issue 13's safe defaults: a suspension made in PingID is never undone
// silently, a scope mistake never deprovisions a small tenant, and one user has one owner.

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// TestAccProvisioningConnection_suspendedOutsideTerraform: a user a PingID administrator
// suspends stays suspended (state records it as PingID has it, so the next plans are empty), an
// existing SUSPENDED user is linked and left suspended, and reactivate_suspended_users = true
// re-activates both; the other direction (re-activated outside Terraform while deprovisioned)
// is still corrected.
func TestAccProvisioningConnection_suspendedOutsideTerraform(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.seed(t, activeJSmith(), emulator.User{
		UserName: "outsider", FirstName: "Olivia", LastName: "Outsider", Email: "olivia@old.example.com", Role: "REGULAR",
		Status: stSuspended, Devices: []emulator.Device{{Type: "Android", Nickname: "phone"}},
	})
	env.apply(t, join(pOutsider.dn()))
	jsmith := pJSmith.entry(true, stActive, reconcile.SourceInScope)
	suspended := func(e reconcile.Entry) reconcile.Entry {
		e.Enabled, e.Status = false, stSuspended
		return e
	}
	outsider := suspended(pOutsider.entry(true, stSuspended, reconcile.SourceInScope))
	cfg := env.connectionConfig("")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// The existing SUSPENDED outsider is linked (its email set from the directory)
				// and left suspended: no activateuser for it.
				Config:           cfg,
				ConfigPlanChecks: preApply(planUser("outsider", outsider), planUser("jsmith", jsmith)),
				Check: checks(
					env.wantProfile("outsider", pOutsider.mail, "Olivia", "Outsider", stSuspended, 1),
					env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stActive, 1),
				),
			},
			{
				// A PingID administrator suspends jsmith: the refresh records it, the plan
				// keeps it, and nothing is written.
				PreConfig: func() {
					env.pre(t)()
					if err := env.PingID.SetUserStatus("jsmith", stSuspended); err != nil {
						t.Fatal(err)
					}
				},
				Config:           cfg,
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan(), planUser("jsmith", suspended(jsmith)), planUser("outsider", outsider)),
				Check:            checks(env.wantStatus("jsmith", stSuspended), env.wantWrites(nil)),
			},
			{
				// And the next plan is empty too: no perpetual diff.
				PreConfig:        env.pre(t),
				Config:           cfg,
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
				Check:            checks(env.wantStatus("jsmith", stSuspended), env.wantStatus("outsider", stSuspended), env.wantWrites(nil)),
			},
			{
				// The opt-out: both are re-activated as the directory says.
				PreConfig: env.pre(t),
				Config:    env.connectionConfig("reactivate_suspended_users = true"),
				ConfigPlanChecks: update(
					expectUsersChanged("jsmith", "outsider"),
					planUser("jsmith", modified(suspended(jsmith), func(e *reconcile.Entry) { e.Enabled = true })),
					planUser("outsider", modified(outsider, func(e *reconcile.Entry) { e.Enabled = true })),
				),
				Check: checks(
					env.wantStatus("jsmith", stActive), env.wantStatus("outsider", stActive),
					env.wantWrites(map[string]int64{"activateuser": 2}),
				),
			},
			{
				// Unchanged direction: jsmith leaves and is suspended by the connection;
				// re-activated outside Terraform, he is suspended again.
				PreConfig: env.pre(t, leave(pJSmith.dn())),
				Config:    cfg,
				Check:     checks(env.wantStatus("jsmith", stSuspended), env.wantWrites(map[string]int64{"suspenduser": 1})),
			},
			{
				PreConfig: func() {
					env.pre(t)()
					if err := env.PingID.SetUserStatus("jsmith", stActive); err != nil {
						t.Fatal(err)
					}
				},
				Config:           cfg,
				ConfigPlanChecks: update(expectUsersChanged("jsmith"), planUser("jsmith", pJSmith.entry(false, stSuspended, reconcile.SourceOutOfScope))),
				Check:            checks(env.wantStatus("jsmith", stSuspended), env.wantWrites(map[string]int64{"suspenduser": 1})),
			},
			{
				// The connection suspended jsmith itself, so it re-enables him when he returns,
				// with reactivate_suspended_users = false.
				PreConfig:        env.pre(t, join(pJSmith.dn())),
				Config:           cfg,
				ConfigPlanChecks: update(expectUsersChanged("jsmith"), planUser("jsmith", pJSmith.entry(true, stSuspended, reconcile.SourceInScope))),
				Check:            checks(env.wantStatus("jsmith", stActive), env.wantWrites(map[string]int64{"activateuser": 1})),
			},
		},
	})
}

// twelvePeople are eight more members of pingid-users, for a 12-user tenant.
func twelvePeople() []person {
	var people []person
	for i := range 8 {
		name := fmt.Sprintf("user%02d", i)
		people = append(people, person{name, "User", fmt.Sprintf("Number%d", i), name + "@example.com"})
	}
	return people
}

// TestAccProvisioningConnection_maxDeprovisionsPercent: in a 12-user tenant 20 % allows 2
// deprovisions, so 3 leavers (fewer than max_deprovisions = 10) fail the plan, naming
// max_deprovisions_percent, with no PingID write; a larger share lets them through; bad values
// are refused at validate time.
func TestAccProvisioningConnection_maxDeprovisionsPercent(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	people := twelvePeople()
	for _, p := range people {
		env.apply(t, p.ldif())
		env.apply(t, join(p.dn()))
	}
	leavers := env.pre(t, leave(people[0].dn()), leave(people[1].dn()), leave(people[2].dn()))
	refused := func() {
		if err := env.wantWrites(nil)(); err != nil {
			t.Errorf("the refused plan changed PingID: %v", err)
		}
		for _, p := range people[:3] {
			if u := env.user(t, p.uid); u.Status != stNotActive {
				t.Errorf("the refused plan changed %s: %s", p.uid, u.Status)
			}
		}
		env.pre(t)()
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			// Bad values are refused at validate time, pointing at the attribute.
			{
				Config:      env.connectionConfig("max_deprovisions_percent = 150"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid percentage.*max_deprovisions_percent.*150 is not a share of users`),
			},
			{
				Config:      env.connectionConfig("max_deprovisions_percent = -0.5"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid percentage.*-0.5 is not a share of users: use a percentage between 0 and 100`),
			},
			{Config: env.connectionConfig("")},
			{
				PreConfig: leavers,
				Config:    env.connectionConfig(""),
				ExpectError: words("3 users would be deprovisioned (disabled or deleted), more than max_deprovisions_percent = 20 % of the 12 users " +
					"this connection manages (at most 2): user00 (left group/filter), user01 (left group/filter), user02 (left group/filter). " +
					"To proceed: check that the source location (base_dn, group_dn, filter) and the directory return the users you expect, " +
					"then raise max_deprovisions_percent for this run (-1 = unlimited)"),
			},
			{
				PreConfig: refused,
				Config:    env.connectionConfig("max_deprovisions_percent = 25"),
				ConfigPlanChecks: update(
					expectUsersChanged("user00", "user01", "user02"),
					planUser("user00", people[0].entry(false, stSuspended, reconcile.SourceOutOfScope)),
				),
				Check: checks(env.wantStatus("user00", stSuspended), env.wantStatus("user01", stSuspended), env.wantStatus("user02", stSuspended)),
			},
		},
	})
}

// TestAccProvisioningConnection_ownership: two resources of one provider configuration that
// would manage the same PingID user fail the plan, naming the user and both resources, and
// write nothing; disjoint resources, a replaced connection and a replaced mapped user plan
// and apply as usual.
func TestAccProvisioningConnection_ownership(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	pContractor := person{"contractor", "Con", "Tractor", "con.tractor@example.com"}
	env.apply(t, pContractor.ldif()) // in the directory, in no connection's scope
	mapped := func(resourceName, username string) string {
		return fmt.Sprintf(`
resource "pingid_mapped_user" %q {
  username = %q
  email    = "someone@example.com"
}
`, resourceName, username)
	}
	second := func(name, filter string) string {
		return fmt.Sprintf(`
resource "pingid_provisioning_connection" "second" {
  name = %q
  source_location = {
    base_dn = %q
    filter  = %q
  }
  attribute_mapping = {
    username = "uid"
    email    = "mail"
  }
}
`, name, testBaseDN, filter)
	}
	refused := func() {
		if err := env.wantWrites(nil)(); err != nil {
			t.Errorf("the refused plan changed PingID: %v", err)
		}
		env.pre(t)()
	}
	conflict := func(user, ownerA, ownerB string) *regexp.Regexp {
		// The one planned second reports the conflict, so the owners come in either order.
		a, b := regexp.QuoteMeta(ownerA), regexp.QuoteMeta(ownerB)
		return regexp.MustCompile(`(?s)PingID users? managed by two resources.*(` + a + `.*` + regexp.QuoteMeta(user) + `: also managed by\s+` + b +
			`|` + b + `.*` + regexp.QuoteMeta(user) + `: also managed by\s+` + a + `).*Nothing was changed`)
	}
	connCorp := `pingid_provisioning_connection with name = "corp"`
	connSecond := `pingid_provisioning_connection with name = "second-renamed"`

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// A connection and a pingid_mapped_user both covering jsmith.
				PreConfig:   env.pre(t),
				Config:      env.connectionConfig("") + mapped("jsmith", "jsmith"),
				ExpectError: conflict("jsmith", connCorp, `pingid_mapped_user with username = "jsmith"`),
			},
			{
				// Two connections with overlapping scopes (the second one's filter matches adoe).
				PreConfig:   refused,
				Config:      env.connectionConfig("") + second("second-renamed", "(uid=adoe)"),
				ExpectError: conflict("adoe", connCorp, connSecond),
			},
			{
				// Two pingid_mapped_user for one username (matched case-insensitively).
				PreConfig:   refused,
				Config:      env.providerConfig() + mapped("one", "outsider") + mapped("two", "Outsider"),
				ExpectError: regexp.MustCompile(`(?s)PingID user managed by two resources.*[oO]utsider: also managed by\s+pingid_mapped_user with username = "[oO]utsider"`),
			},
			{
				// Disjoint: both connections and a mapped user outside their scopes apply.
				PreConfig: func() {
					refused()
					if users := env.PingID.Users(); len(users) != 0 {
						t.Errorf("refused plans created users: %v", env.usernames())
					}
				},
				Config: env.connectionConfig("") + second("second", "(uid=outsider)") + mapped("contractor", "contractor") + mapped("temp", "temp1"),
				Check:  checks(env.wantStatus("jsmith", stNotActive), env.wantStatus("outsider", stNotActive), env.wantStatus("contractor", stNotActive)),
			},
			{
				// Renaming the second connection replaces it, which Terraform plans twice: no
				// conflict with itself.
				Config:           env.connectionConfig("") + second("second-renamed", "(uid=outsider)") + mapped("contractor", "contractor") + mapped("temp", "temp1"),
				ConfigPlanChecks: preApply(plancheck.ExpectResourceAction("pingid_provisioning_connection.second", plancheck.ResourceActionDestroyBeforeCreate)),
			},
			{
				// A new username replaces the mapped user: no conflict with itself either.
				Config:           env.connectionConfig("") + second("second-renamed", "(uid=outsider)") + mapped("contractor", "contractor") + mapped("temp", "temp2"),
				ConfigPlanChecks: preApply(plancheck.ExpectResourceAction("pingid_mapped_user.temp", plancheck.ResourceActionDestroyBeforeCreate)),
			},
			{
				// Removing the mapped user while widening a connection to the same user: the
				// destroy would suspend the user the connection links. Refused, nothing written.
				PreConfig:   env.pre(t),
				Config:      env.connectionConfig("") + second("second-renamed", "(|(uid=outsider)(uid=contractor))") + mapped("temp", "temp2"),
				ExpectError: conflict("contractor", connSecond, `pingid_mapped_user with username = "contractor"`),
			},
			{
				PreConfig: refused,
				Config:    env.connectionConfig("") + second("second-renamed", "(uid=outsider)") + mapped("contractor", "contractor") + mapped("temp", "temp2"),
				Check:     checks(env.wantStatus("contractor", stNotActive), env.wantStatus("temp1", stSuspended)),
			},
		},
	})
}

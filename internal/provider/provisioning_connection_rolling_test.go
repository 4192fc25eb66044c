package provider

import (
	"fmt"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// testClock is a clock the test moves by hand, shared by every provider instance of a test.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// factoriesWithClock serves the provider with clock as its time source.
func factoriesWithClock(clock *testClock) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"pingid": providerserver.NewProtocol6WithError(&PingIDProvider{version: "test", getenv: os.Getenv, readFile: os.ReadFile, now: clock.Now}),
	}
}

// TestAccProvisioningConnection_rollingDriftDetection: with drift_detection = "rolling" a
// change made directly in PingID is not read (and not corrected) until its user is acted on or
// falls due within the window; users the plan acts on are always read first; once the window
// has passed every managed user is read and the drift is corrected. The bookkeeping is saved
// with the state, so it advances with each apply (every step here applies).
func TestAccProvisioningConnection_rollingDriftDetection(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	clock := &testClock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	cfg := env.connectionConfig(`  drift_detection        = "rolling"
  drift_detection_window = "1h"`)
	adoe := pADoe.entry(true, stNotActive, reconcile.SourceInScope)
	drifted := modified(adoe, func(e *reconcile.Entry) { e.Email, e.FirstName = "ann@elsewhere.example.com", "Annabel" })
	const newMail = "john.smith@new.example.com"
	jsmith := modified(pJSmith.entry(true, stNotActive, reconcile.SourceInScope), func(e *reconcile.Entry) { e.Email = newMail })

	driftADoe := func() {
		env.PingID.ResetCalls()
		if err := env.PingID.UpdateUserDirect("adoe", func(u *emulator.User) { u.Email, u.FirstName = drifted.Email, drifted.FirstName }); err != nil {
			t.Fatal(err)
		}
	}
	adoeStillDrifted := env.wantUser("adoe", func(u emulator.User) error {
		if u.Email != drifted.Email || u.FirstName != drifted.FirstName {
			return fmt.Errorf("email %q first name %q: the drift was corrected, so adoe was read", u.Email, u.FirstName)
		}
		return nil
	})
	noReads := func() error {
		if n := env.PingID.Calls()["getuserdetails"]; n != 0 {
			return fmt.Errorf("%d getuserdetails calls; a rolling refresh with nothing to act on and nothing due reads nobody", n)
		}
		return nil
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factoriesWithClock(clock),
		Steps: []resource.TestStep{
			{Config: cfg, Check: resource.TestCheckResourceAttr(connAddr, "drift_detection", "rolling")},
			{
				// A new connection has no bookkeeping: its first refresh reads every user, and the
				// apply (here without changes) saves when each was read.
				Config:           cfg,
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
			},
			{
				// Ten minutes later PingID holds a change made outside Terraform: not read yet.
				PreConfig:        func() { clock.Advance(10 * time.Minute); driftADoe() },
				Config:           cfg,
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
				Check:            checks(adoeStillDrifted, noReads, env.wantWrites(nil)),
			},
			{
				// jsmith changes in the directory: he is read before planning (and again by the
				// update itself); adoe is still not.
				PreConfig: func() {
					clock.Advance(10 * time.Minute)
					env.pre(t, replaceLDIF(pJSmith.dn(), "mail", newMail))()
				},
				Config:           cfg,
				ConfigPlanChecks: update(expectUsersChanged("jsmith"), planUser("jsmith", jsmith)),
				Check: checks(
					adoeStillDrifted,
					env.wantProfile("jsmith", newMail, "John", "Smith", stNotActive, 0),
					env.wantWrites(map[string]int64{"edituser": 1}),
				),
			},
			{
				// The window has passed since the users were last read: all are read, and adoe's
				// drift is planned back.
				PreConfig:        func() { clock.Advance(time.Hour); env.PingID.ResetCalls() },
				Config:           cfg,
				ConfigPlanChecks: update(expectUsersChanged("adoe"), planUser("adoe", adoe)),
				Check: checks(
					env.wantProfile("adoe", pADoe.mail, "Ann", "Doe", stNotActive, 0),
					env.wantWrites(map[string]int64{"edituser": 1}),
				),
			},
			{
				// Back to full drift detection: the next refresh reads everyone again.
				PreConfig:        driftADoe,
				Config:           env.connectionConfig(`  drift_detection = "full"`),
				ConfigPlanChecks: update(expectUsersChanged("adoe")),
				Check:            checks(env.wantProfile("adoe", pADoe.mail, "Ann", "Doe", stNotActive, 0)),
			},
		},
	})
}

// TestAccProvisioningConnection_driftDetectionValidation: bad values are reported against the
// attribute, at plan time, before anything is read.
func TestAccProvisioningConnection_driftDetectionValidation(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      env.connectionConfig(`  drift_detection = "sometimes"`),
				ExpectError: regexp.MustCompile(`(?s)drift_detection.*value must be one of`),
				PlanOnly:    true,
			},
			{
				Config: env.connectionConfig(`  drift_detection = "rolling"
  drift_detection_window = "a day"`),
				ExpectError: regexp.MustCompile(`(?s)Invalid duration.*drift_detection_window`),
				PlanOnly:    true,
			},
			{
				Config:      env.connectionConfig(`  drift_detection_window = "12h"`),
				ExpectError: words(`drift_detection_window only applies with drift_detection = "rolling"`),
				PlanOnly:    true,
			},
			{
				Config: env.connectionConfig(`  drift_detection        = "full"
  drift_detection_window = "12h"`),
				ExpectError: words(`drift_detection_window needs rolling drift detection`),
				PlanOnly:    true,
			},
		},
	})
}

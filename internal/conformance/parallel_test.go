package conformance

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/executor"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
)

// expectedUser is what the caller believes after its calls reported success.
type expectedUser struct {
	exists  bool
	enabled bool
	email   string
}

// TestParallelCallsWithRandomFaultsStayConsistent runs many users' lifecycles at once through
// one client while the emulator injects every kind of fault at random. Callers retry failed
// steps the way a re-apply would (through the executor's idempotent helpers). Afterwards the
// emulator must hold exactly what the callers were told, every user must have been created
// exactly once, and client and emulator must agree on every attempt sent.
func TestParallelCallsWithRandomFaultsStayConsistent(t *testing.T) {
	const users = 150
	tn := newTenant(t, nil)
	first := tn.seedID(t, "probe-before")
	c := tn.client(t, func(cfg *pingid.Config) {
		cfg.MaxConcurrency = 16
		cfg.MaxRetries = 4
		cfg.RequestTimeout = 2 * time.Second
	})
	tn.emu.SetFault("*", emulator.Fault{
		Rate429: 0.06, Rate500: 0.04, Rate503: 0.04, DropRate: 0.04, DropAfterProcessRate: 0.06, BadSignatureRate: 0.03,
	})

	ctx := t.Context()
	var callerRetries atomic.Int64
	// eventually retries one lifecycle step until the client reports success, like the next
	// terraform apply retrying what failed.
	eventually := func(step func() error) error {
		var err error
		for range 40 {
			if err = step(); err == nil {
				return nil
			}
			callerRetries.Add(1)
		}
		return err
	}

	expected := make([]expectedUser, users)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				name := fmt.Sprintf("user%03d", i)
				rng := rand.New(rand.NewPCG(uint64(i), 42))
				exp := expectedUser{exists: true, enabled: true, email: name + "@example.com"}
				err := eventually(func() error {
					_, err := c.AddUser(ctx, pingid.NewUser{UserName: name, Email: exp.email})
					if errors.Is(err, pingid.ErrUserExists) {
						return nil // created by an earlier attempt whose answer we could not trust
					}
					return err
				})
				for step := 0; err == nil && step < 5 && exp.exists; step++ {
					switch r := rng.IntN(10); {
					case r < 3:
						err = eventually(func() error { return executor.Disable(ctx, c, name) })
						exp.enabled = false
					case r < 5 && !exp.enabled:
						err = eventually(func() error { return executor.Enable(ctx, c, name) })
						exp.enabled = true
					case r < 8:
						email := fmt.Sprintf("%s.%d@example.com", name, step)
						err = eventually(func() error {
							_, _, err := c.UpdateUser(ctx, name, pingid.UserFields{Email: &email})
							return err
						})
						exp.email = email
					case r == 9:
						err = eventually(func() error { return executor.Delete(ctx, c, name) })
						exp.exists = false
					}
				}
				if err != nil {
					t.Errorf("%s: a step still failed after 40 caller retries: %v", name, err)
				}
				expected[i] = exp
			}
		}()
	}
	for i := range users {
		work <- i
	}
	close(work)
	wg.Wait()

	tn.emu.ClearFaults()
	// Attempts: every one the client sent reached the emulator, and nothing else did.
	clientCalls, emuCalls := c.Calls(), tn.emu.Calls()
	var total int64
	for _, op := range []string{pingid.OpAddUser, pingid.OpGetUserDetails, pingid.OpEditUser, pingid.OpSuspendUser, pingid.OpActivateUser, pingid.OpDeleteUser} {
		total += clientCalls[op]
		if clientCalls[op] != emuCalls[op] {
			t.Errorf("%s: client sent %d attempts, emulator received %d", op, clientCalls[op], emuCalls[op])
		}
	}

	// State: the emulator holds exactly what the callers were told.
	live := 0
	for i, exp := range expected {
		name := fmt.Sprintf("user%03d", i)
		u, ok := tn.emu.User(name)
		if ok != exp.exists {
			t.Errorf("%s: exists in emulator = %v, callers were told %v", name, ok, exp.exists)
			continue
		}
		if !ok {
			if _, err := c.GetUser(ctx, name); !errors.Is(err, pingid.ErrUserNotFound) {
				t.Errorf("%s: client reads a deleted user as %v", name, err)
			}
			continue
		}
		live++
		if suspended := u.Status == emulator.StatusSuspended; suspended == exp.enabled || u.Email != exp.email || u.Role != emulator.RoleRegular {
			t.Errorf("%s: emulator has %s/%s/%s, callers were told enabled=%v email=%s", name, u.Status, u.Email, u.Role, exp.enabled, exp.email)
		}
		got, err := c.GetUser(ctx, name)
		if err != nil || got.Status != u.Status || got.Email != u.Email || got.Role != u.Role {
			t.Errorf("%s: client reads %+v (%v), emulator has %s/%s/%s", name, got, err, u.Status, u.Email, u.Role)
		}
	}
	if n := len(tn.emu.Users()) - 1; n != live { // minus probe-before
		t.Errorf("emulator holds %d users, callers expect %d", n, live)
	}
	// Creation: exactly one adduser per user was processed, whatever was lost or forged.
	tn.http.Close()
	if created := tn.seedID(t, "probe-after") - first - 1; created != users {
		t.Errorf("emulator created %d users for %d distinct users (duplicates or losses)", created, users)
	}
	t.Logf("%d users, %d attempts sent, %d caller-level retries after errors the client reported", users, total, callerRetries.Load())
}

package reliability

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// interrupter sits in front of the emulator: it cancels the apply's context when the n-th
// adduser request arrives (that request and the others in flight still reach PingID, whose
// answers then go unheard), and lets the test wait until no request is inside the emulator.
type interrupter struct {
	after    int64
	adds     atomic.Int64
	cancel   atomic.Pointer[context.CancelFunc]
	inFlight sync.WaitGroup
}

func (in *interrupter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.inFlight.Add(1)
		defer in.inFlight.Done()
		if strings.Contains(r.URL.Path, "/"+emulator.OpAddUser+"/") && in.adds.Add(1) == in.after {
			if cancel := in.cancel.Load(); cancel != nil {
				(*cancel)()
			}
		}
		next.ServeHTTP(w, r)
	})
}

// TestInterruptedApply cancels an apply of 300 users part-way (as Terraform does on Ctrl-C),
// on create and on update. Afterwards: every user in state exists in PingID, PingID holds only
// directory users, none twice; the next plan changes exactly the users not in state; applying
// it converges PingID to the directory; the plan after that is empty.
func TestInterruptedApply(t *testing.T) {
	const total, interruptAt = 300, 100
	for _, tc := range []struct {
		name         string
		firstMembers int // members applied before the interrupted apply; 0 = the interrupted apply creates
	}{
		{"create", 0},
		{"update", 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &interrupter{after: interruptAt}
			members := total
			if tc.firstMembers > 0 {
				members = tc.firstMembers
			}
			w := newWorld(t, worldOptions{dir: directory{users: total + 10, members: members, disabledEvery: 10}, wrap: in.wrap})
			first := w.seedID(t, "probe-before")
			s := newSession(t, newSecretScanner(t, w.secrets...))
			s.mustConfigure(w.providerConfig())
			bg := context.Background()
			cfg := connection(nil)

			var prior tftypes.Value
			var p planned
			if tc.firstMembers > 0 {
				p = s.planCreate(bg, cfg)
				var diags = p.diags
				if errs := errorDiags(diags); len(errs) > 0 {
					t.Fatalf("plan: %s", describe(errs))
				}
				prior, diags = s.apply(bg, prior, p)
				if errs := errorDiags(diags); len(errs) > 0 {
					t.Fatalf("first apply: %s", describe(errs))
				}
				var add strings.Builder
				fmt.Fprintf(&add, "dn: %s\nchangetype: modify\nadd: member\n", groupDN)
				for i := tc.firstMembers; i < total; i++ {
					fmt.Fprintf(&add, "member: %s\n", userDN(i))
				}
				if err := w.ldap.Apply(bg, add.String()); err != nil {
					t.Fatal(err)
				}
				_, p = s.refreshAndPlan(bg, p.config, prior, nil)
			} else {
				p = s.planCreate(bg, cfg)
			}
			if errs := errorDiags(p.diags); len(errs) > 0 {
				t.Fatalf("plan: %s", describe(errs))
			}
			if n := len(usersOf(t, p.state)); n != total {
				t.Fatalf("plan lists %d users, want %d", n, total)
			}

			ctx, cancel := context.WithCancel(bg)
			defer cancel()
			in.cancel.Store(&cancel)
			state, diags := s.apply(ctx, prior, p)
			in.cancel.Store(nil)
			in.inFlight.Wait()
			errs := errorDiags(diags)
			if len(errs) == 0 || !strings.Contains(describe(errs), "context canceled") {
				t.Fatalf("interrupted apply: want an error naming the cancellation, got %s", describe(diags))
			}
			recorded := usersOf(t, state)
			t.Logf("interrupted after %d adduser requests: %d users in state, %d in PingID", in.adds.Load(), len(recorded), len(w.emu.Users())-1)
			if len(recorded) >= total || len(recorded) < tc.firstMembers {
				t.Fatalf("state holds %d users after the interruption; want between %d and %d", len(recorded), tc.firstMembers, total-1)
			}

			// State ⊆ PingID ⊆ directory.
			inPingID := map[string]emulator.User{}
			for _, u := range w.emu.Users() {
				inPingID[strings.ToLower(u.UserName)] = u
			}
			delete(inPingID, "probe-before")
			for name := range recorded {
				if _, ok := inPingID[strings.ToLower(name)]; !ok {
					t.Errorf("%s is in state but not in PingID", name)
				}
			}
			dir := w.groupMembers(t)
			for name := range inPingID {
				if _, ok := dir[name]; !ok {
					t.Errorf("%s is in PingID but not in the directory group", name)
				}
			}

			// The next plan changes exactly the users the state lacks.
			refreshed, next := s.refreshAndPlan(bg, p.config, state, nil)
			if errs := errorDiags(next.diags); len(errs) > 0 {
				t.Fatalf("plan after the interruption: %s", describe(errs))
			}
			before, after := usersOf(t, refreshed), usersOf(t, next.state)
			var changed, missing []string
			for name, v := range after {
				if before[name] != v {
					changed = append(changed, name)
				}
			}
			for name := range dir {
				if _, ok := recorded[dirNameOf(dir, name)]; !ok {
					missing = append(missing, name)
				}
			}
			if len(changed) != len(missing) || len(after) != total {
				t.Errorf("next plan changes %d users and lists %d; want the %d not in state, and %d in all", len(changed), len(after), len(missing), total)
			}
			for _, name := range changed {
				if _, ok := recorded[name]; ok {
					t.Errorf("next plan changes %s, which the interrupted apply recorded as done", name)
				}
			}

			// Applying it converges; nothing was lost or created twice; the plan after is empty.
			final, diags := s.apply(bg, refreshed, next)
			if errs := errorDiags(diags); len(errs) > 0 {
				t.Fatalf("apply after the interruption: %s", describe(errs))
			}
			w.pingIDMatchesDirectory(t, "probe-before")
			if n := len(usersOf(t, final)); n != total {
				t.Errorf("final state holds %d users, want %d", n, total)
			}
			if created := w.seedID(t, "probe-after") - first - 1; created != total {
				t.Errorf("adduser created %d users for %d directory users", created, total)
			}
			refreshed, last := s.refreshAndPlan(bg, p.config, final, nil)
			if errs := errorDiags(last.diags); len(errs) > 0 {
				t.Fatalf("final plan: %s", describe(errs))
			}
			b, a := usersOf(t, refreshed), usersOf(t, last.state)
			for name, v := range a {
				if b[name] != v {
					t.Errorf("plan after convergence still changes %s: %s -> %s", name, b[name], v)
				}
			}
		})
	}
}

// dirNameOf returns the directory spelling of a lower-cased username.
func dirNameOf(dir map[string]directoryUser, lower string) string { return dir[lower].username }

package emulator_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
)

// BenchmarkGetUserDetails measures one verified, signed round trip over loopback HTTP.
func BenchmarkGetUserDetails(b *testing.B) {
	tn := newTenant(b)
	if err := tn.srv.SeedUser(emulator.User{UserName: "u", Status: "ACTIVE", Devices: []emulator.Device{{Type: "iPhone"}}}); err != nil {
		b.Fatal(err)
	}
	body := tn.documentedRequest(map[string]any{"userName": "u"}).compact(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, _, err := tn.post(b, "getuserdetails", body)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("HTTP %v %v", resp, err)
				return
			}
		}
	})
}

// BenchmarkAddUserPersisted shows the O(users) cost of rewriting the state file per mutation.
func BenchmarkAddUserPersisted(b *testing.B) {
	for _, existing := range []int{0, 1000, 10000} {
		b.Run("existing="+strconv.Itoa(existing), func(b *testing.B) {
			opts, err := emulator.GenerateOptions()
			if err != nil {
				b.Fatal(err)
			}
			// Write the starting state directly: seeding through the server would itself be O(n²).
			users := make([]emulator.User, existing)
			for i := range users {
				users[i] = emulator.User{UserName: "seed" + strconv.Itoa(i), FirstName: "First", LastName: "Last",
					Email: "seed@example.com", Status: "ACTIVE", Devices: []emulator.Device{{Type: "iPhone"}}}
			}
			state, err := json.Marshal(map[string]any{"version": 1, "org_alias": opts.OrgAlias, "token": opts.Token,
				"use_base64_key": opts.Base64Key, "users": users})
			if err != nil {
				b.Fatal(err)
			}
			opts.StatePath = filepath.Join(b.TempDir(), "s.json")
			if err := os.WriteFile(opts.StatePath, state, 0o600); err != nil {
				b.Fatal(err)
			}
			srv, err := emulator.New(opts)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				if err := srv.SeedUser(emulator.User{UserName: "new" + strconv.Itoa(i)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

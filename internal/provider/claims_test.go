package provider

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

// fakePrivate is a private state for claimant tests.
type fakePrivate map[string][]byte

func (p fakePrivate) GetKey(_ context.Context, key string) ([]byte, diag.Diagnostics) {
	return p[key], nil
}

func (p fakePrivate) SetKey(_ context.Context, key string, value []byte) diag.Diagnostics {
	p[key] = value
	return nil
}

func TestClaimRegistry(t *testing.T) {
	ctx := context.Background()
	r := newClaimRegistry()
	connPrivate := fakePrivate{}
	conn, _ := r.claimant(ctx, fakePrivate{}, connPrivate)
	if c := r.claim(conn, connectionOwner("corp"), []string{"jsmith", "adoe"}); len(c) != 0 {
		t.Fatalf("first claim conflicts: %v", c)
	}
	// A replacement's second plan arrives with the first one's planned private state.
	again, _ := r.claimant(ctx, connPrivate, fakePrivate{})
	if again != conn {
		t.Errorf("second plan of the same resource got claimant %q, want %q", again, conn)
	}
	if c := r.claim(again, connectionOwner("corp"), []string{"JSmith", "adoe", "bwayne"}); len(c) != 0 {
		t.Errorf("the same resource conflicts with itself: %v", c)
	}
	// Another resource, even one described the same way, conflicts; matching ignores case.
	other, _ := r.claimant(ctx, fakePrivate{}, fakePrivate{})
	c := r.claim(other, connectionOwner("corp"), []string{"zed", "BWAYNE", "ADOE"})
	want := []claimConflict{{"ADOE", connectionOwner("corp")}, {"BWAYNE", connectionOwner("corp")}}
	if fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("conflicts = %v, want %v", c, want)
	}
	// A token from an earlier run (another registry) is not reused.
	stale := fakePrivate{privateClaimantKey: connPrivate[privateClaimantKey]}
	if fresh, _ := newClaimRegistry().claimant(ctx, stale, fakePrivate{}); fresh == conn {
		t.Errorf("a claimant token of an earlier run was reused")
	}
	var none *claimRegistry
	if c := none.claim("x", "y", []string{"jsmith"}); c != nil {
		t.Errorf("nil registry: %v", c)
	}
}

// TestClaimRegistryConcurrent: whatever the interleaving, of two resources claiming one user
// exactly one sees the other.
func TestClaimRegistryConcurrent(t *testing.T) {
	ctx := context.Background()
	for range 200 {
		r := newClaimRegistry()
		var wg sync.WaitGroup
		conflicts := make([]int, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				claimant, _ := r.claimant(ctx, fakePrivate{}, fakePrivate{})
				conflicts[i] = len(r.claim(claimant, mappedUserOwner(fmt.Sprint(i)), []string{"jsmith", "adoe"}))
			}()
		}
		wg.Wait()
		if conflicts[0]+conflicts[1] != 2 || conflicts[0]*conflicts[1] != 0 {
			t.Fatalf("conflicts seen = %v, want both users by exactly one resource", conflicts)
		}
	}
}

func TestConflictDetail(t *testing.T) {
	var conflicts []claimConflict
	for i := range 52 {
		conflicts = append(conflicts, claimConflict{fmt.Sprintf("user%02d", i), mappedUserOwner(fmt.Sprintf("user%02d", i))})
	}
	got := conflictDetail(connectionOwner("corp"), conflicts)
	for _, want := range []string{
		`52 PingID users would be managed by two resources of this provider configuration, pingid_provisioning_connection with name = "corp" and another one:`,
		`  user00: also managed by pingid_mapped_user with username = "user00"`,
		"  ... and 2 more",
		"Moving users between resources",
		"Nothing was changed.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("detail lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "user50") {
		t.Errorf("detail lists more than 50 users:\n%s", got)
	}
	if strings.Contains(got, "moved") {
		t.Errorf("a connection and mapped users got the renamed-block hint:\n%s", got)
	}
}

// TestConflictDetailSameOwner: two resources that describe themselves alike (same connection
// name, or two pingid_mapped_user for one username) are what a resource block renamed without a
// moved block looks like, and the detail says so.
func TestConflictDetailSameOwner(t *testing.T) {
	for _, owner := range []string{connectionOwner("corp"), mappedUserOwner("jsmith")} {
		got := conflictDetail(owner, []claimConflict{{"jsmith", owner}})
		for _, want := range []string{"Both resources are a " + owner, "add a moved block", "Moving users between resources"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: detail lacks %q:\n%s", owner, want, got)
			}
		}
	}
}

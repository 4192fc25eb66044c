package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// claimRegistry detects two resources of one provider configuration that would manage the same
// PingID user (a connection and a pingid_mapped_user, two connections with overlapping scopes,
// two pingid_mapped_user for one username): they would overwrite each other on every apply.
//
// Why it works although Terraform plans resources concurrently and gives none a view of the
// others: every resource instance in the configuration, including each one being destroyed, is
// planned exactly once per plan (and once more at apply, in a separate run), always by the
// provider process of its provider configuration, which is configured afresh for each run. So
// the registry lives in the data Configure creates, and each ModifyPlan registers the users its
// plan acts on or keeps enforcing and, in the same locked step, checks them against the claims
// registered so far. Whichever of two overlapping resources is planned second sees the first
// one's claim and fails the plan, whatever the order; the first cannot see the second, and need
// not, because one error refuses the whole plan before anything is applied.
//
// One exception to "planned once": a resource to be replaced is planned a second time, with no
// prior state, for its create half. The first ModifyPlan stores its claimant token in the
// planned private state, which Terraform hands to the second, so the second claims as the same
// resource; tokens name the registry's run, so one left in the state by an earlier run is
// ignored.
//
// Consequences: a refresh-only run (no resource is planned) checks nothing and changes nothing;
// a plan with -target checks only among the targeted resources; resources under different
// provider configurations (aliases) run in different processes and cannot see each other.
// Claims are made at plan time only, never by Read: a resource being destroyed claims what its
// destroy does (a pingid_mapped_user its user; a connection with on_destroy = "deprovision" the
// users it deprovisions; with "retain" nothing), so the outcome never depends on whether a
// refresh happened to run before another resource's plan.
type claimRegistry struct {
	run    string // random, new with each registry
	mu     sync.Mutex
	next   int
	claims map[string]claim // FoldUsername -> the first claim
}

type claim struct {
	claimant string // one per planned resource: two resources with the same description still conflict
	owner    string // e.g. `pingid_provisioning_connection with name = "corp"`
	username string // as the owner spells it
}

// privateClaimantKey carries a resource's claimant token from the first to the second
// ModifyPlan of a replacement.
const privateClaimantKey = "claimant"

// Conflict is one user claimed by two resources.
type claimConflict struct {
	Username, Other string
}

func newClaimRegistry() *claimRegistry {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return &claimRegistry{run: hex.EncodeToString(b), claims: map[string]claim{}}
}

type privateState interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}

type privateStateSetter interface {
	SetKey(context.Context, string, []byte) diag.Diagnostics
}

// claimant returns the token under which one ModifyPlan claims: the one an earlier ModifyPlan
// of the same resource in this run stored in prior (a replacement's second plan), or a new one,
// which it stores in planned.
func (r *claimRegistry) claimant(ctx context.Context, prior privateState, planned privateStateSetter) (string, diag.Diagnostics) {
	raw, diags := prior.GetKey(ctx, privateClaimantKey)
	var token string
	if len(raw) > 0 && json.Unmarshal(raw, &token) == nil && strings.HasPrefix(token, r.run+"/") {
		return token, diags
	}
	r.mu.Lock()
	r.next++
	token = fmt.Sprintf("%s/%d", r.run, r.next)
	r.mu.Unlock()
	b, _ := json.Marshal(token) // a string: cannot fail
	diags.Append(planned.SetKey(ctx, privateClaimantKey, b)...)
	return token, diags
}

// claim registers usernames for the resource planned under claimant, described by owner, and
// returns the users another resource has claimed already, sorted by username. A nil registry
// (provider not configured) claims nothing.
func (r *claimRegistry) claim(claimant, owner string, usernames []string) []claimConflict {
	if r == nil || len(usernames) == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var conflicts []claimConflict
	for _, name := range usernames {
		key := reconcile.FoldUsername(name)
		if c, taken := r.claims[key]; taken {
			if c.claimant != claimant {
				conflicts = append(conflicts, claimConflict{Username: name, Other: c.owner})
			}
			continue
		}
		r.claims[key] = claim{claimant: claimant, owner: owner, username: name}
	}
	slices.SortFunc(conflicts, func(a, b claimConflict) int { return strings.Compare(a.Username, b.Username) })
	return conflicts
}

// conflictDetail explains the conflicts found while planning owner.
func conflictDetail(owner string, conflicts []claimConflict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d PingID %s would be managed by two resources of this provider configuration, %s and another one:\n",
		len(conflicts), pluralize(len(conflicts), "user", "users"), owner)
	for i, c := range conflicts {
		if i == diagnosticListLimit {
			fmt.Fprintf(&b, "  ... and %d more\n", len(conflicts)-diagnosticListLimit)
			break
		}
		fmt.Fprintf(&b, "  %s: also managed by %s\n", c.Username, c.Other)
	}
	if slices.ContainsFunc(conflicts, func(c claimConflict) bool { return c.Other == owner }) {
		// The same name on both sides is what renaming a resource block (or moving it into a
		// module) without a moved block looks like: a destroy of the old address and a create of
		// the new one, planned side by side.
		fmt.Fprintf(&b, "\nBoth resources are a %s. If you renamed the resource block or moved it into or out of a module, "+
			"Terraform plans a destroy of the old address and a create of the new one: add a moved block "+
			"(moved { from = <old address>, to = <new address> }) and the plan shows no change. Otherwise remove one of the two blocks.\n", owner)
	}
	b.WriteString("\nTwo resources managing one user overwrite each other on every apply, and destroying one suspends or deletes a user " +
		"the other still wants. Keep each user in exactly one resource: narrow a connection's source_location (base_dn, group_dn, filter) " +
		"or remove the other resource. To move a user from one resource to the other without touching it in PingID, see " +
		"\"Moving users between resources\" in the pingid_provisioning_connection documentation. Nothing was changed.")
	return b.String()
}

func connectionOwner(name string) string {
	return fmt.Sprintf("pingid_provisioning_connection with name = %q", name)
}

func mappedUserOwner(username string) string {
	return fmt.Sprintf("pingid_mapped_user with username = %q", username)
}

package datastore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// The memberOf back-link only finds members faster; the group's own member
// values decide. Members the back-link misses are resolved in batches, and an
// entry whose memberOf names the group without being a member is not returned.
func TestSearchMemberOfBackLink(t *testing.T) {
	const (
		groupDN = "cn=staff,ou=groups," + corp
		members = 12
		linked  = 9 // u0..u8 carry memberOf; u9..u11 do not
	)
	memberDNs := make([]string, members)
	for i := range memberDNs {
		memberDNs[i] = fmt.Sprintf("uid=u%d,%s", i, corpPeople)
	}
	// A member value written differently from the DN the server returns.
	memberDNs[3] = "UID=u3, OU=People, DC=corp, DC=example"

	type request struct {
		scope  int
		filter string
	}
	var mu sync.Mutex
	var requests []request
	backLink := true
	handler := func(req fakeSearch) fakeResult {
		mu.Lock()
		requests = append(requests, request{req.Scope, req.Filter})
		mu.Unlock()
		isMemberOf := strings.Contains(req.Filter, "(memberOf="+groupDN+")")
		switch {
		case req.Scope == ldap.ScopeBaseObject && strings.EqualFold(req.Base, groupDN):
			return fakeResult{Entries: []*ldap.Entry{ldap.NewEntry(groupDN, map[string][]string{
				"objectClass": {"top", "groupOfNames"}, "member": memberDNs})}}
		case req.Scope == ldap.ScopeBaseObject && strings.EqualFold(req.Base, corpPeople):
			return fakeResult{Entries: []*ldap.Entry{ldap.NewEntry(corpPeople, nil)}}
		case req.Scope == ldap.ScopeBaseObject && isMemberOf: // the probe
			if backLink && strings.EqualFold(req.Base, memberDNs[0]) {
				return fakeResult{Entries: []*ldap.Entry{ldap.NewEntry(memberDNs[0], nil)}}
			}
			return fakeResult{}
		case req.Scope == ldap.ScopeWholeSubtree && isMemberOf:
			if !backLink {
				t.Errorf("memberOf subtree search although the probe failed: %s", req.Filter)
			}
			out := []*ldap.Entry{fakeUser("stale", nil)} // memberOf=staff, but not a member
			for i := range linked {
				out = append(out, fakeUser(fmt.Sprintf("u%d", i), nil))
			}
			return fakeResult{Entries: out, Paged: true}
		case req.Scope == ldap.ScopeSingleLevel && strings.EqualFold(req.Base, corpPeople):
			var out []*ldap.Entry
			for i := range members {
				// Attribute types match case-insensitively (u3's member value says UID=).
				if name := fmt.Sprintf("u%d", i); strings.Contains(strings.ToLower(req.Filter), "(uid="+name+")") {
					out = append(out, fakeUser(name, nil))
				}
			}
			return fakeResult{Entries: out, Paged: true}
		}
		return fakeResult{Code: ldap.LDAPResultNoSuchObject}
	}
	f := startFakeLDAP(t, handler)
	d := openT(t, Config{URL: f.URL(), DirectoryType: DirectoryOpenLDAP})
	d.memberOfMin = 1
	ctx := context.Background()
	want := []string{"u0", "u1", "u10", "u11", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"}

	batchFilters := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, r := range requests {
			if r.scope == ldap.ScopeSingleLevel {
				out = append(out, r.filter)
			}
		}
		requests = nil
		return out
	}

	got, err := d.Search(ctx, Query{BaseDN: corpPeople, GroupDN: groupDN})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(usernames(got), want) {
		t.Fatalf("with the back-link: usernames = %q, want %q", usernames(got), want)
	}
	// Only the members the back-link missed are looked up one level down.
	batches := batchFilters()
	if len(batches) != 1 || !strings.Contains(batches[0], "(uid=u9)(uid=u10)(uid=u11)") || strings.Contains(batches[0], "(uid=u0)") {
		t.Fatalf("batch searches = %q, want one for u9, u10, u11 only", batches)
	}

	backLink = false
	got, err = d.Search(ctx, Query{BaseDN: corpPeople, GroupDN: groupDN})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(usernames(got), want) {
		t.Fatalf("without the back-link: usernames = %q, want %q", usernames(got), want)
	}
	if batches := batchFilters(); len(batches) != 1 || !strings.Contains(batches[0], "(uid=u0)") {
		t.Fatalf("batch searches = %q, want one for all members", batches)
	}
}

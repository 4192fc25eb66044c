package datastore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

const (
	corp       = "dc=corp,dc=example"
	corpPeople = "ou=people," + corp
)

func fakeUser(name string, extra map[string][]string) *ldap.Entry {
	attrs := map[string][]string{"uid": {name}, "sAMAccountName": {name}, "objectClass": {"top", "person", "user"}}
	for k, v := range extra {
		attrs[k] = v
	}
	return ldap.NewEntry("uid="+name+","+corpPeople, attrs)
}

// Groups larger than Active Directory's MaxValRange come back as
// member;range=0-1499, and the rest must be fetched range by range.
func TestRangeRetrieval(t *testing.T) {
	const groupDN = "cn=big,ou=groups," + corp
	members := make([]string, 7)
	for i := range members {
		members[i] = fmt.Sprintf("uid=u%d,%s", i, corpPeople)
	}
	ranges := map[string]*ldap.EntryAttribute{
		"":                  {Name: "member;range=0-2", Values: members[0:3]},
		"member;range=3-*":  {Name: "member;range=3-5", Values: members[3:6]},
		"member;range=6-*":  {Name: "member;range=6-*", Values: members[6:]},
		"member;range=99-*": {Name: "member;range=99-*"},
	}
	var mu sync.Mutex
	var rangeRequests []string
	var skipAhead atomic.Bool
	handler := func(req fakeSearch) fakeResult {
		switch {
		case req.Scope == ldap.ScopeBaseObject && strings.EqualFold(req.Base, corpPeople):
			return fakeResult{Entries: []*ldap.Entry{ldap.NewEntry(corpPeople, nil)}}
		case req.Scope == ldap.ScopeBaseObject && strings.EqualFold(req.Base, groupDN):
			e := ldap.NewEntry(groupDN, map[string][]string{"objectClass": {"top", "group"}})
			key := ""
			if len(req.Attrs) == 1 {
				key = req.Attrs[0]
				mu.Lock()
				rangeRequests = append(rangeRequests, key)
				mu.Unlock()
				if skipAhead.Load() {
					key = "member;range=99-*"
				}
			}
			e.Attributes = append(e.Attributes, ranges[key])
			return fakeResult{Entries: []*ldap.Entry{e}}
		case req.Scope == ldap.ScopeSingleLevel && strings.EqualFold(req.Base, corpPeople):
			var out []*ldap.Entry
			for i := range members {
				if name := fmt.Sprintf("u%d", i); strings.Contains(req.Filter, "(uid="+name+")") {
					out = append(out, fakeUser(name, nil))
				}
			}
			return fakeResult{Entries: out, Paged: true}
		}
		return fakeResult{Code: ldap.LDAPResultNoSuchObject}
	}
	f := startFakeLDAP(t, handler)
	d := openT(t, Config{URL: f.URL(), DirectoryType: DirectoryGeneric})
	ctx := context.Background()

	got, err := d.Search(ctx, Query{BaseDN: corpPeople, GroupDN: groupDN})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6"}; !slices.Equal(usernames(got), want) {
		t.Fatalf("usernames = %q, want %q", usernames(got), want)
	}
	if want := []string{"member;range=3-*", "member;range=6-*"}; !slices.Equal(rangeRequests, want) {
		t.Errorf("range requests = %q, want %q", rangeRequests, want)
	}

	// A server that answers a different range than asked for must not be
	// trusted to have sent everything.
	skipAhead.Store(true)
	if got, err := d.Search(ctx, Query{BaseDN: corpPeople, GroupDN: groupDN}); err == nil || !strings.Contains(err.Error(), "range") {
		t.Fatalf("inconsistent ranges: %d entries, err = %v; want an error", len(got), err)
	}
}

func TestActiveDirectoryWire(t *testing.T) {
	guid := string(mustHex(t, "e004253f894fd3119a0c0305e82c3301"))
	var mu sync.Mutex
	var filters []string
	var childDomain atomic.Bool
	handler := func(req fakeSearch) fakeResult {
		mu.Lock()
		filters = append(filters, req.Filter)
		mu.Unlock()
		if req.Scope == ldap.ScopeBaseObject && req.Base == "" {
			return fakeResult{Entries: []*ldap.Entry{ldap.NewEntry("", map[string][]string{
				"supportedCapabilities": {"1.2.840.113556.1.4.800", "1.2.840.113556.1.4.1670"}})}}
		}
		if req.Scope == ldap.ScopeBaseObject {
			return fakeResult{Entries: []*ldap.Entry{ldap.NewEntry(req.Base, map[string][]string{"objectClass": {"top", "group"}})}}
		}
		res := fakeResult{
			Entries: []*ldap.Entry{
				fakeUser("alice", map[string][]string{"userAccountControl": {"512"}, "objectGUID": {guid}}),
				fakeUser("bob", map[string][]string{"userAccountControl": {"514"}}),
				fakeUser("carol", map[string][]string{"userAccountControl": {"66050"}}),
				ldap.NewEntry("CN=Nested,OU=Groups,"+corp, map[string][]string{"objectClass": {"top", "group"}, "sAMAccountName": {"Nested"}}),
			},
			Refs: []string{
				"ldap://corp.example/CN=Configuration,DC=corp,DC=example",
				"ldap://DomainDnsZones.corp.example/DC=DomainDnsZones,DC=corp,DC=example",
				"ldap://ForestDnsZones.corp.example/DC=ForestDnsZones,DC=corp,DC=example",
			},
			Paged: true,
		}
		if childDomain.Load() {
			res.Refs = append(res.Refs, "ldap://emea.corp.example/DC=emea,DC=corp,DC=example")
		}
		return res
	}
	f := startFakeLDAP(t, handler)
	d := openT(t, Config{URL: f.URL(), DirectoryType: DirectoryActiveDirectory})
	ctx := context.Background()

	got, err := d.Search(ctx, Query{BaseDN: corp, GroupDN: "CN=Eng,OU=Groups," + corp, Nested: true, Filter: "(department=IT)"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(usernames(got), []string{"alice", "bob", "carol"}) {
		t.Fatalf("usernames = %q (groups are not users)", usernames(got))
	}
	users := byUsername(got)
	if !users["alice"].Enabled || users["bob"].Enabled || users["carol"].Enabled {
		t.Errorf("userAccountControl: alice %v, bob %v, carol %v; want true, false, false",
			users["alice"].Enabled, users["bob"].Enabled, users["carol"].Enabled)
	}
	if users["alice"].ID != "3f2504e0-4f89-11d3-9a0c-0305e82c3301" {
		t.Errorf("alice ID = %q", users["alice"].ID)
	}
	wantFilter := "(&(memberOf:1.2.840.113556.1.4.1941:=CN=Eng,OU=Groups,dc=corp,dc=example)(department=IT))"
	if !slices.Contains(filters, wantFilter) {
		t.Errorf("filters sent = %q, want one of them %s", filters, wantFilter)
	}

	childDomain.Store(true)
	if got, err := d.Search(ctx, Query{BaseDN: corp, Filter: "(objectClass=user)"}); !errors.Is(err, ErrReferral) || !strings.Contains(err.Error(), "emea") {
		t.Fatalf("child-domain referral: %d entries, err = %v; want ErrReferral", len(got), err)
	}
}

func TestServerFailureModes(t *testing.T) {
	page := func(names ...string) []*ldap.Entry {
		var out []*ldap.Entry
		for _, n := range names {
			out = append(out, fakeUser(n, nil))
		}
		return out
	}
	tests := []struct {
		name    string
		handler func(fakeSearch) fakeResult
		want    []string // nil: the read must fail
		code    uint16
	}{
		{"pages then time limit exceeded", func(r fakeSearch) fakeResult {
			if r.Cookie == "" {
				return fakeResult{Entries: page("a", "b"), Paged: true, Cookie: "page2"}
			}
			return fakeResult{Entries: page("c"), Code: ldap.LDAPResultTimeLimitExceeded}
		}, nil, ldap.LDAPResultTimeLimitExceeded},
		{"pages then busy", func(r fakeSearch) fakeResult {
			if r.Cookie == "" {
				return fakeResult{Entries: page("a", "b"), Paged: true, Cookie: "page2"}
			}
			return fakeResult{Code: ldap.LDAPResultBusy}
		}, nil, ldap.LDAPResultBusy},
		{"unpaged server hits its size limit", func(fakeSearch) fakeResult {
			return fakeResult{Entries: page("a", "b", "c"), Code: ldap.LDAPResultSizeLimitExceeded}
		}, nil, ldap.LDAPResultSizeLimitExceeded},
		{"referral result", func(fakeSearch) fakeResult {
			return fakeResult{Code: ldap.LDAPResultReferral}
		}, nil, ldap.LDAPResultReferral},
		{"server ignores the paging control and sends everything", func(fakeSearch) fakeResult {
			return fakeResult{Entries: page("a", "b", "c")}
		}, []string{"a", "b", "c"}, 0},
		{"three pages", func(r fakeSearch) fakeResult {
			next := map[string]fakeResult{
				"":   {Entries: page("e", "d"), Paged: true, Cookie: "p2"},
				"p2": {Entries: page("c", "b"), Paged: true, Cookie: "p3"},
				"p3": {Entries: page("a"), Paged: true},
			}
			return next[r.Cookie]
		}, []string{"a", "b", "c", "d", "e"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFakeLDAP(t, func(r fakeSearch) fakeResult {
				if r.Scope == ldap.ScopeBaseObject {
					return fakeResult{Entries: []*ldap.Entry{ldap.NewEntry(r.Base, nil)}}
				}
				return tt.handler(r)
			})
			d := openT(t, Config{URL: f.URL(), PageSize: 2})
			got, err := d.Search(context.Background(), Query{BaseDN: corpPeople, Filter: "(uid=*)"})
			if tt.want != nil {
				if err != nil || !slices.Equal(usernames(got), tt.want) {
					t.Fatalf("Search = %q, %v; want %q", usernames(got), err, tt.want)
				}
				return
			}
			var le *Error
			if !errors.As(err, &le) || le.Code != tt.code || le.Op != OpSearch || got != nil {
				t.Fatalf("Search = %q, err = %v; want a search error with code %d", usernames(got), err, tt.code)
			}
		})
	}
}

func TestOperationTimeout(t *testing.T) {
	f := startFakeLDAP(t, func(r fakeSearch) fakeResult {
		if r.Scope == ldap.ScopeBaseObject {
			return fakeResult{Entries: []*ldap.Entry{ldap.NewEntry(r.Base, nil)}}
		}
		return fakeResult{Hang: true}
	})
	d := openT(t, Config{URL: f.URL(), Timeout: 200 * time.Millisecond})
	got, err := d.Search(context.Background(), Query{BaseDN: corpPeople, Filter: "(uid=*)"})
	var le *Error
	if !errors.As(err, &le) || le.Op != OpSearch || got != nil {
		t.Fatalf("Search against a silent server = %v, err = %v; want a search error", got, err)
	}

	// A caller's deadline also ends a hanging operation.
	d2 := openT(t, Config{URL: f.URL(), Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := d2.Search(ctx, Query{BaseDN: corpPeople, Filter: "(uid=*)"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

package datastore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/dirsrv"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

// logRecorder is a Config.Log that keeps the messages.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) log(_ context.Context, msg string, _ map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, msg)
}

func (l *logRecorder) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

// pagedFake serves n users in pages of at most the requested size, refusing
// (code) first pages larger than limit; with code 0 it caps pages at limit
// silently, as Active Directory does with MaxPageSize. It records the page
// size of every first page.
func pagedFake(t *testing.T, n, limit int, code uint16) (*fakeLDAP, func() []int) {
	var mu sync.Mutex
	var firstPages []int
	users := make([]*ldap.Entry, n)
	for i := range users {
		users[i] = fakeUser(fmt.Sprintf("u%03d", i), nil)
	}
	f := startFakeLDAP(t, func(r fakeSearch) fakeResult {
		if r.Scope == ldap.ScopeBaseObject {
			return fakeResult{Entries: []*ldap.Entry{ldap.NewEntry(r.Base, nil)}}
		}
		start, _ := strconv.Atoi(r.Cookie)
		if r.Cookie == "" {
			mu.Lock()
			firstPages = append(firstPages, int(r.PageSize))
			mu.Unlock()
		}
		size := int(r.PageSize)
		if size > limit {
			switch code {
			case ldap.LDAPResultSizeLimitExceeded: // 389 DS: limit entries, then the error
				return fakeResult{Entries: users[:min(limit, n)], Code: code}
			case ldap.LDAPResultAdminLimitExceeded: // OpenLDAP: refused outright
				return fakeResult{Code: code}
			}
			size = limit
		}
		end := min(start+size, n)
		res := fakeResult{Entries: users[start:end], Paged: true}
		if end < n {
			res.Cookie = strconv.Itoa(end)
		}
		return res
	})
	return f, func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(firstPages)
	}
}

func TestPageSizeFallback(t *testing.T) {
	ctx := context.Background()
	q := Query{BaseDN: corpPeople, Filter: "(uid=*)"}

	t.Run("refused sizes step down, the size that works is kept and logged", func(t *testing.T) {
		f, firstPages := pagedFake(t, 120, 60, ldap.LDAPResultAdminLimitExceeded)
		logs := &logRecorder{}
		memory := &PageSizeMemory{}
		cfg := Config{URL: f.URL(), PageSizes: memory, Log: logs.log}
		got, err := openT(t, cfg).Search(ctx, q)
		if err != nil || len(got) != 120 {
			t.Fatalf("Search = %d entries, %v; want 120", len(got), err)
		}
		if want := []int{1000, 500, 250, 100, 50}; !slices.Equal(firstPages(), want) {
			t.Errorf("first pages asked for %v, want %v", firstPages(), want)
		}
		if memory.PageSize() != 50 {
			t.Errorf("remembered page size %d, want 50", memory.PageSize())
		}
		if l := logs.all(); len(l) != 1 || !strings.Contains(l[0], "pages of 50 work") || !strings.Contains(l[0], "datastore.page_size = 50") {
			t.Errorf("logs = %q", l)
		}
		// The rest of the run: another read, and another connection with the same memory,
		// start at 50 and log nothing more.
		before := len(firstPages())
		if _, err := openT(t, cfg).LookupUsers(ctx, corpPeople, "", []string{"u001"}, nil, ""); err != nil {
			t.Fatal(err)
		}
		if got, err := openT(t, cfg).Search(ctx, q); err != nil || len(got) != 120 {
			t.Fatalf("second Search = %d, %v", len(got), err)
		}
		if later := firstPages()[before:]; slices.ContainsFunc(later, func(s int) bool { return s != 50 }) {
			t.Errorf("later first pages %v, want only 50", later)
		}
		if l := logs.all(); len(l) != 1 {
			t.Errorf("logged again: %q", l)
		}
	})
	t.Run("a server that caps at the limit: just under what it sent", func(t *testing.T) {
		f, firstPages := pagedFake(t, 120, 30, ldap.LDAPResultSizeLimitExceeded)
		got, err := openT(t, Config{URL: f.URL()}).Search(ctx, q)
		if err != nil || len(got) != 120 {
			t.Fatalf("Search = %d entries, %v; want 120", len(got), err)
		}
		if want := []int{1000, 29}; !slices.Equal(firstPages(), want) {
			t.Errorf("first pages asked for %v, want %v", firstPages(), want)
		}
	})
	t.Run("Active Directory caps pages silently: no fallback", func(t *testing.T) {
		f, firstPages := pagedFake(t, 25, 7, 0)
		memory := &PageSizeMemory{}
		got, err := openT(t, Config{URL: f.URL(), DirectoryType: DirectoryGeneric, PageSizes: memory}).Search(ctx, q)
		if err != nil || len(got) != 25 {
			t.Fatalf("Search = %d entries, %v; want 25", len(got), err)
		}
		if !slices.Equal(firstPages(), []int{1000}) || memory.PageSize() != 1000 {
			t.Errorf("first pages %v, memory %d; want one page request of 1000", firstPages(), memory.PageSize())
		}
	})
	t.Run("the floor refused too: an error naming datastore.page_size", func(t *testing.T) {
		f, firstPages := pagedFake(t, 40, 5, ldap.LDAPResultAdminLimitExceeded)
		got, err := openT(t, Config{URL: f.URL()}).Search(ctx, q)
		var le *Error
		if !errors.Is(err, ErrPageSizeRefused) || !errors.As(err, &le) || le.Code != ldap.LDAPResultAdminLimitExceeded || got != nil ||
			!strings.Contains(err.Error(), "datastore.page_size") || !strings.Contains(err.Error(), "pages of 1000 down to 10") {
			t.Fatalf("Search = %d entries, %v", len(got), err)
		}
		if want := []int{1000, 500, 250, 100, 50, 25, 10}; !slices.Equal(firstPages(), want) {
			t.Errorf("first pages asked for %v, want %v", firstPages(), want)
		}
	})
	t.Run("a limit hit on a later page is not the page size", func(t *testing.T) {
		var firstPages int
		f := startFakeLDAP(t, func(r fakeSearch) fakeResult {
			if r.Scope == ldap.ScopeBaseObject {
				return fakeResult{Entries: []*ldap.Entry{ldap.NewEntry(r.Base, nil)}}
			}
			if r.Cookie == "" {
				firstPages++
				return fakeResult{Entries: []*ldap.Entry{fakeUser("a", nil)}, Paged: true, Cookie: "2"}
			}
			return fakeResult{Code: ldap.LDAPResultSizeLimitExceeded}
		})
		got, err := openT(t, Config{URL: f.URL()}).Search(ctx, q)
		var le *Error
		if !errors.As(err, &le) || le.Code != ldap.LDAPResultSizeLimitExceeded || errors.Is(err, ErrPageSizeRefused) || got != nil || firstPages != 1 {
			t.Fatalf("Search = %d entries, %v after %d first pages; want one attempt failing with code 4", len(got), err, firstPages)
		}
	})
}

func TestNextPageSize(t *testing.T) {
	for _, tt := range []struct{ size, returned, want int }{
		{1000, 0, 500}, {500, 0, 250}, {250, 0, 100}, {100, 0, 50}, {50, 0, 25}, {25, 0, 10}, {10, 0, 0},
		{800, 0, 500}, {12, 0, 10}, {5, 0, 0},
		{1000, 100, 99}, {1000, 11, 10}, {1000, 10, 500}, {100, 100, 50}, {100, 200, 50},
	} {
		if got := nextPageSize(tt.size, tt.returned); got != tt.want {
			t.Errorf("nextPageSize(%d, %d) = %d, want %d", tt.size, tt.returned, got, tt.want)
		}
	}
}

// TestPageSizeFallbackRealDirectories binds as the service accounts that the
// directories' limits apply to, as production does (limits never apply to the
// rootdn), with the default page size of 1000.
func TestPageSizeFallbackRealDirectories(t *testing.T) {
	const n = 250
	users := filepath.Join(t.TempDir(), "users.ldif")
	if err := slapd.WriteUsersFile(users, suffix, "u", n); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	read := func(t *testing.T, cfg Config, wantPageSize int) {
		t.Helper()
		logs := &logRecorder{}
		cfg.PageSizes, cfg.Log = &PageSizeMemory{}, logs.log
		d := openT(t, cfg)
		got, err := d.Search(ctx, Query{BaseDN: people, Filter: "(uid=u*)"})
		if err != nil || len(got) != n {
			t.Fatalf("filter read: %d entries, %v; want %d", len(got), err, n)
		}
		if cfg.PageSizes.PageSize() != wantPageSize {
			t.Errorf("page size in use %d, want %d", cfg.PageSizes.PageSize(), wantPageSize)
		}
		if l := logs.all(); len(l) != 1 || !strings.Contains(l[0], fmt.Sprintf("pages of %d work", wantPageSize)) {
			t.Errorf("logs = %q", l)
		}
		// The group path (memberOf first, then page-sized batches) with the size learned.
		d.memberOfMin = 1
		got, err = d.Search(ctx, Query{BaseDN: people, GroupDN: "cn=big," + groups})
		if err != nil || len(got) != n {
			t.Fatalf("group read: %d entries, %v; want %d", len(got), err, n)
		}
		// A fresh memory learns it again inside a group read (no filter read first).
		cfg.PageSizes = &PageSizeMemory{}
		d2 := openT(t, cfg)
		d2.memberOfMin = 1
		if got, err := d2.Search(ctx, Query{BaseDN: people, GroupDN: "cn=big," + groups}); err != nil || len(got) != n {
			t.Fatalf("group read, fresh memory: %d entries, %v; want %d", len(got), err, n)
		}
	}
	t.Run("openldap size.pr", func(t *testing.T) {
		s := slapd.StartT(t, slapd.Options{BulkLDIF: []string{users}, ServicePageLimit: 100})
		if _, err := s.AddGeneratedGroup(ctx, "big", "u", n); err != nil {
			t.Fatal(err)
		}
		cfg := Config{URL: s.URL, BindDN: s.ServiceDN, BindPassword: s.ServicePassword, AllowInsecureBind: true, DirectoryType: DirectoryOpenLDAP}
		read(t, cfg, 100)
		// The rootdn is exempt: no fallback (limits do not apply to it, so never test only as the rootdn).
		root := cfg
		root.BindDN, root.BindPassword, root.PageSizes = s.AdminDN, s.AdminPassword, &PageSizeMemory{}
		if got, err := openT(t, root).Search(ctx, Query{BaseDN: people, Filter: "(uid=u*)"}); err != nil || len(got) != n || root.PageSizes.PageSize() != 1000 {
			t.Fatalf("rootdn: %d entries, %v, page size %d", len(got), err, root.PageSizes.PageSize())
		}
	})
	t.Run("openldap size.pr below the floor", func(t *testing.T) {
		s := slapd.StartT(t, slapd.Options{BulkLDIF: []string{users}, ServicePageLimit: 5})
		cfg := Config{URL: s.URL, BindDN: s.ServiceDN, BindPassword: s.ServicePassword, AllowInsecureBind: true}
		got, err := openT(t, cfg).Search(ctx, Query{BaseDN: people, Filter: "(uid=u*)"})
		if !errors.Is(err, ErrPageSizeRefused) || got != nil || !strings.Contains(err.Error(), "datastore.page_size") ||
			!strings.Contains(err.Error(), "illegal pagedResults page size") {
			t.Fatalf("Search = %d entries, %v; want ErrPageSizeRefused naming datastore.page_size", len(got), err)
		}
		cfg.PageSize = 5 // what the error asks for
		if got, err := openT(t, cfg).Search(ctx, Query{BaseDN: people, Filter: "(uid=u*)"}); err != nil || len(got) != n {
			t.Fatalf("page_size = 5: %d entries, %v", len(got), err)
		}
	})
	t.Run("389 DS nsPagedSizeLimit", func(t *testing.T) {
		s := dirsrv.StartT(t, dirsrv.Options{ServicePagedSizeLimit: 100})
		var ldif strings.Builder
		member := "dn: cn=big,ou=groups," + s.Suffix + "\nobjectClass: groupOfNames\ncn: big\n"
		for i := range n {
			fmt.Fprintf(&ldif, "dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %[2]s\nsn: %[2]s\n\n", slapd.UserDN(s.Suffix, "u", i), slapd.UserName("u", i))
			member += "member: " + slapd.UserDN(s.Suffix, "u", i) + "\n"
		}
		if err := s.Apply(ctx, ldif.String()+member); err != nil {
			t.Fatal(err)
		}
		read(t, Config{URL: s.URL, BindDN: s.ServiceDN, BindPassword: s.ServicePassword, AllowInsecureBind: true}, 99)
	})
}

package datastore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/dirsrv"
)

// 389 Directory Server, bound as its ordinary service account (never Directory
// Manager, which no limit or ACI applies to), with directory_type generic.
// Fixture: internal/testutil/dirsrv/testdata/fixture.ldif.

func dirsrvFixture(t *testing.T, opts dirsrv.Options) *dirsrv.Server {
	t.Helper()
	s := dirsrv.StartT(t, opts)
	if err := s.LoadFixture(context.Background()); err != nil {
		t.Fatalf("load 389 DS fixture: %v", err)
	}
	return s
}

func dirsrvConfig(s *dirsrv.Server) Config {
	return Config{URL: s.URL, BindDN: s.ServiceDN, BindPassword: s.ServicePassword,
		AllowInsecureBind: true, DirectoryType: DirectoryGeneric, Timeout: 10 * time.Second}
}

func TestDirsrvSearch(t *testing.T) {
	s := dirsrvFixture(t, dirsrv.Options{})
	ctx := context.Background()
	people, groups := "ou=people,"+s.Suffix, "ou=groups,"+s.Suffix

	tests := []struct {
		name     string
		q        Query
		want     []string // usernames, sorted
		disabled []string
	}{
		// 389's memberOf is transitive (carol, dave, gina also name engineering), but only
		// the group's own member values count: nested members stay out unless Nested.
		{"direct members", Query{BaseDN: people, GroupDN: "cn=engineering," + groups},
			[]string{"alice", "bob"}, []string{"bob"}},
		{"nested", Query{BaseDN: people, GroupDN: "cn=engineering," + groups, Nested: true},
			[]string{"alice", "bob", "carol", "dave", "gina"}, []string{"bob", "gina"}},
		{"nested, wider base", Query{BaseDN: s.Suffix, GroupDN: "cn=engineering," + groups, Nested: true},
			[]string{"alice", "bob", "carol", "dave", "frank", "gina"}, []string{"bob", "gina"}},
		{"nested and filter", Query{BaseDN: people, GroupDN: "cn=engineering," + groups, Nested: true, Filter: "(!(uid=carol))"},
			[]string{"alice", "bob", "dave", "gina"}, []string{"bob", "gina"}},
		{"uniqueMember", Query{BaseDN: people, GroupDN: "cn=uniq," + groups},
			[]string{"erin"}, nil},
		{"filter only", Query{BaseDN: people, Filter: "(objectClass=inetOrgPerson)"},
			[]string{"alice", "bob", "carol", "dave", "erin", "gina"}, []string{"bob", "gina"}},
		{"disabled_filter on top of nsAccountLock", Query{BaseDN: people, Filter: "(objectClass=inetOrgPerson)", DisabledFilter: "(uid=erin)"},
			[]string{"alice", "bob", "carol", "dave", "erin", "gina"}, []string{"bob", "erin", "gina"}},
	}
	batches := openT(t, dirsrvConfig(s))
	viaMemberOf := openT(t, dirsrvConfig(s))
	viaMemberOf.memberOfMin = 1 // every group level tries the memberOf back-link first
	for _, dir := range []struct {
		name string
		d    *Directory
	}{{"batches", batches}, {"memberOf first", viaMemberOf}} {
		for _, tt := range tests {
			t.Run(dir.name+"/"+tt.name, func(t *testing.T) {
				got, err := dir.d.Search(ctx, tt.q)
				if err != nil {
					t.Fatalf("Search: %v", err)
				}
				if !slices.Equal(usernames(got), tt.want) {
					t.Fatalf("usernames = %q, want %q", usernames(got), tt.want)
				}
				var disabled []string
				for _, e := range got {
					if !e.Enabled {
						disabled = append(disabled, e.Username)
					}
					if len(e.ID) != 35 || strings.Count(e.ID, "-") != 3 {
						t.Errorf("%s: ID = %q, want the nsUniqueId", e.Username, e.ID)
					}
				}
				if !slices.Equal(disabled, tt.disabled) {
					t.Errorf("disabled = %q, want %q", disabled, tt.disabled)
				}
			})
		}
	}

	t.Run("schema", func(t *testing.T) {
		schema, err := batches.ReadSchema(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checkFixtureSchema(t, schema)
	})
	t.Run("LookupUsers", func(t *testing.T) {
		got, err := batches.LookupUsers(ctx, s.Suffix, "", []string{"BOB", "gina", "frank", "nobody"}, []string{"mail"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got["bob"].Enabled || got["gina"].Enabled || !got["frank"].Enabled || got["frank"].Attributes["mail"] != "frank@example.com" {
			t.Fatalf("LookupUsers = %+v", got)
		}
	})
	// The service account is not Directory Manager: its ACI hides userPassword, and
	// reading users (role-based locks included) must not need more.
	t.Run("service account is limited", func(t *testing.T) {
		conn, err := s.ServiceConn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		res, err := conn.Search(ldap.NewSearchRequest("uid=alice,"+people, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			0, 0, false, "(objectClass=*)", []string{"userPassword"}, nil))
		if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("userPassword") != "" {
			t.Fatalf("the service account reads userPassword or fails: %v %v", res, err)
		}
	})
}

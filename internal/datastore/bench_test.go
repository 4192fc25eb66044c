package datastore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

// startBulk starts slapd with n generated users (slapadd) and one groupOfNames
// holding all of them (added online so memberOf is maintained).
func startBulk(tb testing.TB, n int) (*slapd.Server, string) {
	tb.Helper()
	ctx := context.Background()
	users := filepath.Join(tb.TempDir(), "users.ldif")
	if err := slapd.WriteUsersFile(users, slapd.DefaultSuffix, "user", n); err != nil {
		tb.Fatal(err)
	}
	s := slapd.StartT(tb, slapd.Options{BulkLDIF: []string{users}})
	groupDN, err := s.AddGeneratedGroup(ctx, "bulk", "user", n)
	if err != nil {
		tb.Fatal(err)
	}
	return s, groupDN
}

func benchmarkSearch(b *testing.B, directoryType string, pageSize int, nested bool) {
	const n = 10000
	s, groupDN := startBulk(b, n)
	ctx := context.Background()
	d, err := Open(ctx, Config{URL: s.URL, BindDN: s.ReaderDN, BindPassword: s.ReaderPassword,
		AllowInsecureBind: true, DirectoryType: directoryType, PageSize: pageSize})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	q := Query{BaseDN: "ou=people," + s.Suffix, GroupDN: groupDN, Nested: nested, UsernameAttribute: "uid", Attributes: []string{"mail", "givenName", "sn"}}
	b.ResetTimer()
	for b.Loop() {
		entries, err := d.Search(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if len(entries) != n {
			b.Fatalf("got %d entries, want %d", len(entries), n)
		}
	}
}

// BenchmarkSearch10k reads a 10 000-member group from slapd.
func BenchmarkSearch10k(b *testing.B) {
	b.Run("openldap", func(b *testing.B) { benchmarkSearch(b, DirectoryOpenLDAP, 1000, false) })
	b.Run("openldap-nested", func(b *testing.B) { benchmarkSearch(b, DirectoryOpenLDAP, 1000, true) })
	// The Active Directory path (memberOf back-link, one paged search) works on
	// slapd too because of the memberof overlay (direct membership only).
	b.Run("memberOf", func(b *testing.B) { benchmarkSearch(b, DirectoryActiveDirectory, 1000, false) })
}

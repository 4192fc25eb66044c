package datastore

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

// startBulk starts slapd with n generated users (slapadd) and one groupOfNames
// holding all of them (added online so memberOf is maintained).
func startBulk(tb testing.TB, n int) (*slapd.Server, string) {
	tb.Helper()
	users := filepath.Join(tb.TempDir(), "users.ldif")
	if err := slapd.WriteUsersFile(users, slapd.DefaultSuffix, "user", n); err != nil {
		tb.Fatal(err)
	}
	s := slapd.StartT(tb, slapd.Options{BulkLDIF: []string{users}})
	groupDN, err := s.AddGeneratedGroup(context.Background(), "bulk", "user", n)
	if err != nil {
		tb.Fatal(err)
	}
	return s, groupDN
}

// processCPU reads a process's user+system CPU time from /proc (Linux).
func processCPU(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	if len(fields) < 13 {
		return 0, false
	}
	user, err1 := strconv.Atoi(fields[11])
	sys, err2 := strconv.Atoi(fields[12])
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(user+sys) * 10 * time.Millisecond, true // USER_HZ = 100
}

// BenchmarkSearch10k reads a 10 000-member group from slapd, next to the
// baselines a client cannot beat: go-ldap's own paged search and OpenLDAP's
// ldapsearch over the same group (memberOf, same attributes).
// slapd-ms/op is the server's CPU time per read.
func BenchmarkSearch10k(b *testing.B) {
	const n = 10000
	s, groupDN := startBulk(b, n)
	ctx := context.Background()
	base := "ou=people," + s.Suffix
	extra := []string{"mail", "givenName", "sn"}

	measure := func(b *testing.B, read func(b *testing.B)) {
		before, ok := processCPU(s.PID())
		for b.Loop() {
			read(b)
		}
		if after, ok2 := processCPU(s.PID()); ok && ok2 {
			b.ReportMetric(float64((after-before).Milliseconds())/float64(b.N), "slapd-ms/op")
		}
	}
	search := func(directoryType string, nested bool) func(*testing.B) {
		return func(b *testing.B) {
			d, err := Open(ctx, Config{URL: s.URL, BindDN: s.ReaderDN, BindPassword: s.ReaderPassword,
				AllowInsecureBind: true, DirectoryType: directoryType})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			if directoryType == DirectoryActiveDirectory {
				assumeActiveDirectory(d)
			}
			q := Query{BaseDN: base, GroupDN: groupDN, Nested: nested, UsernameAttribute: "uid", Attributes: extra}
			measure(b, func(b *testing.B) {
				entries, err := d.Search(ctx, q)
				if err != nil || len(entries) != n {
					b.Fatalf("got %d entries, %v; want %d", len(entries), err, n)
				}
			})
		}
	}
	// Member list read from the group, resolved in one-level batches.
	b.Run("member-list", search(DirectoryOpenLDAP, false))
	b.Run("member-list-nested", search(DirectoryOpenLDAP, true))
	// The Active Directory path: one paged (memberOf=group) search. On slapd
	// the memberof overlay provides memberOf (direct members only).
	b.Run("memberOf", search(DirectoryActiveDirectory, false))

	attrs := userAttributes(DirectoryOpenLDAP, "uid", extra)
	filter := "(memberOf=" + ldap.EscapeFilter(groupDN) + ")"
	b.Run("baseline-go-ldap-paged", func(b *testing.B) {
		conn, err := ldap.DialURL(s.URL)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		if err := conn.Bind(s.ReaderDN, s.ReaderPassword); err != nil {
			b.Fatal(err)
		}
		measure(b, func(b *testing.B) {
			res, err := conn.SearchWithPaging(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
				0, 0, false, filter, attrs, nil), DefaultPageSize)
			if err != nil || len(res.Entries) != n {
				b.Fatalf("got %d entries, %v", len(res.Entries), err)
			}
		})
	})
	b.Run("baseline-ldapsearch", func(b *testing.B) {
		if _, err := exec.LookPath("ldapsearch"); err != nil {
			b.Skip("ldapsearch not installed")
		}
		args := append([]string{"-x", "-LLL", "-H", s.URL, "-D", s.ReaderDN, "-w", s.ReaderPassword,
			"-b", base, "-E", "pr=1000/noprompt", filter}, attrs...)
		measure(b, func(b *testing.B) {
			out, err := exec.CommandContext(b.Context(), "ldapsearch", args...).Output()
			if err != nil || strings.Count(string(out), "\ndn: ")+1 != n {
				b.Fatalf("ldapsearch: %v", err)
			}
		})
	})
}

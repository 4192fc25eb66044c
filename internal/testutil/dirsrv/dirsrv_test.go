package dirsrv

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func search(t *testing.T, conn *ldap.Conn, base, filter string, attrs ...string) []*ldap.Entry {
	t.Helper()
	res, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil))
	if err != nil {
		t.Fatalf("search %s %s: %v", base, filter, err)
	}
	return res.Entries
}

// TestStartFixtureAndPlugins checks what the datastore tests rely on: the
// service account binds, memberOf is maintained transitively, nsAccountLock
// is readable both as a real and as a role-based (virtual) attribute.
func TestStartFixtureAndPlugins(t *testing.T) {
	s := StartT(t, Options{})
	ctx := context.Background()
	if err := s.LoadFixture(ctx); err != nil {
		t.Fatalf("load fixture: %v", err)
	}
	conn, err := s.ServiceConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	carol := search(t, conn, "ou=people,"+s.Suffix, "(uid=carol)", "memberOf")
	if len(carol) != 1 {
		t.Fatalf("carol: %d entries", len(carol))
	}
	got := carol[0].GetAttributeValues("memberOf")
	slices.Sort(got)
	want := []string{"cn=backend,ou=groups," + s.Suffix, "cn=engineering,ou=groups," + s.Suffix}
	if !slices.Equal(got, want) {
		t.Errorf("carol memberOf = %q, want %q (transitive)", got, want)
	}
	for uid, lock := range map[string]string{"bob": "true", "dave": "false", "gina": "true", "alice": ""} {
		e := search(t, conn, "ou=people,"+s.Suffix, "(uid="+uid+")", "nsAccountLock")
		if len(e) != 1 || !strings.EqualFold(e[0].GetAttributeValue("nsAccountLock"), lock) {
			t.Errorf("%s nsAccountLock: got %v, want %q", uid, e, lock)
		}
	}
	// The service account must not read passwords.
	if e := search(t, conn, s.Suffix, "(uid=alice)", "userPassword"); len(e) != 1 || len(e[0].Attributes) != 0 {
		t.Errorf("alice as the service account: %+v", e)
	}
	if s.StartupTime <= 0 {
		t.Errorf("StartupTime not measured")
	}
}

// TestPagedSizeLimit pins down what 389 DS 2.3 does with a paged-results limit,
// which the datastore's page-size fallback depends on: pages smaller than the
// limit read everything; a page of the limit or more ends with
// sizeLimitExceeded after limit entries. Directory Manager is exempt.
func TestPagedSizeLimit(t *testing.T) {
	s := StartT(t, Options{ServicePagedSizeLimit: 5})
	ctx := context.Background()
	var ldif strings.Builder
	for i := range 12 {
		ldif.WriteString("dn: uid=p" + string(rune('a'+i)) + ",ou=people," + s.Suffix + "\nobjectClass: inetOrgPerson\nuid: p" +
			string(rune('a'+i)) + "\ncn: p\nsn: p\n\n")
	}
	if err := s.Apply(ctx, ldif.String()); err != nil {
		t.Fatal(err)
	}
	paged := func(conn *ldap.Conn, size uint32) (int, error) {
		res, err := conn.SearchWithPaging(ldap.NewSearchRequest("ou=people,"+s.Suffix, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, 0, false, "(uid=p*)", []string{"1.1"}, nil), size)
		if res == nil {
			return 0, err
		}
		return len(res.Entries), err
	}
	svc, err := s.ServiceConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if n, err := paged(svc, 4); err != nil || n != 12 {
		t.Errorf("service account, pages of 4: %d entries, %v; want 12, nil", n, err)
	}
	if _, err := paged(svc, 5); !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		t.Errorf("service account, pages of 5: err = %v, want sizeLimitExceeded", err)
	}
	admin, err := s.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if n, err := paged(admin, 100); err != nil || n != 12 {
		t.Errorf("Directory Manager, pages of 100: %d entries, %v; want 12, nil", n, err)
	}
}

func TestStartRefusesNonEmptyDir(t *testing.T) {
	if _, err := Binary(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(context.Background(), dir, Options{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("Start on a non-empty dir: %v", err)
	}
}

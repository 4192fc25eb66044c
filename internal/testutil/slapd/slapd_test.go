package slapd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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

func TestStartApplyAndOverlays(t *testing.T) {
	ctx := context.Background()
	s := StartT(t, Options{})
	if !strings.HasPrefix(s.URL, "ldap://127.0.0.1:") || s.LDAPSURL != "" {
		t.Fatalf("URLs = %q, %q", s.URL, s.LDAPSURL)
	}
	err := s.Apply(ctx, `version: 1

# users
dn: uid=ann,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: nsAccountLockable
uid: ann
cn: Ann
sn: A
nsAccountLock: true
description: a long value folded
  over two lines

dn:: dWlkPWrDtnJnLG91PXBlb3BsZSxkYz1leGFtcGxlLGRjPWNvbQ==
objectClass: inetOrgPerson
uid:: asO2cmc=
cn: J
sn: J

dn: cn=team,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: team
member: uid=ann,ou=people,dc=example,dc=com

dn: cn=team,ou=groups,dc=example,dc=com
changetype: modify
add: member
member: uid=jörg,ou=people,dc=example,dc=com
-
replace: description
description: the team
-

dn: uid=ann,ou=people,dc=example,dc=com
changetype: modrdn
newrdn: uid=anna
deleteoldrdn: 0

dn: uid=anna,ou=people,dc=example,dc=com
changetype: modify
delete: nsAccountLock
-
add: pwdAccountLockedTime
pwdAccountLockedTime: 000001010000Z
`)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := s.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	anna := search(t, conn, "ou=people,"+s.Suffix, "(uid=anna)", "memberOf", "description", "pwdAccountLockedTime", "nsAccountLock", "uid")
	if len(anna) != 1 {
		t.Fatalf("modrdn: found %d entries for uid=anna", len(anna))
	}
	// memberof overlay follows the rename (refint); ppolicy attribute settable by the rootdn.
	if got := anna[0].GetAttributeValue("memberOf"); !strings.EqualFold(got, "cn=team,ou=groups,dc=example,dc=com") {
		t.Errorf("memberOf = %q", got)
	}
	if got := anna[0].GetAttributeValue("description"); got != "a long value folded over two lines" {
		t.Errorf("folded description = %q", got)
	}
	if anna[0].GetAttributeValue("pwdAccountLockedTime") != "000001010000Z" || anna[0].GetAttributeValue("nsAccountLock") != "" {
		t.Errorf("modify: %v", anna[0].Attributes)
	}
	if vals := anna[0].GetAttributeValues("uid"); !slices.Contains(vals, "ann") {
		t.Errorf("deleteoldrdn: 0 should keep uid=ann: %v", vals)
	}
	team := search(t, conn, "ou=groups,"+s.Suffix, "(cn=team)", "member", "description")
	if members := team[0].GetAttributeValues("member"); len(members) != 2 || !slices.Contains(members, "uid=anna,ou=people,dc=example,dc=com") {
		t.Errorf("team members = %q", members)
	}
	if jorg := search(t, conn, s.Suffix, "(uid=jörg)", "memberOf"); len(jorg) != 1 || jorg[0].GetAttributeValue("memberOf") == "" {
		t.Errorf("base64 dn/uid: %v", jorg)
	}
	if got := search(t, conn, s.Suffix, "(cn=default)", "pwdAttribute"); len(got) != 1 {
		t.Errorf("default password policy missing")
	}

	if err := s.Apply(ctx, "dn: uid=anna,ou=people,dc=example,dc=com\nchangetype: delete\n"); err != nil {
		t.Fatal(err)
	}
	if got := search(t, conn, s.Suffix, "(uid=anna)"); len(got) != 0 {
		t.Errorf("delete: still %d entries", len(got))
	}
	// A failing record reports where it is.
	err = s.Apply(ctx, "dn: uid=x,ou=nowhere,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: x\ncn: x\nsn: x\n")
	if err == nil || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "uid=x,ou=nowhere") {
		t.Errorf("Apply error = %v", err)
	}
}

func TestLimitsApplyToReaderNotAdmin(t *testing.T) {
	ctx := context.Background()
	users := filepath.Join(t.TempDir(), "users.ldif")
	if err := WriteUsersFile(users, DefaultSuffix, "p", 8); err != nil {
		t.Fatal(err)
	}
	s := StartT(t, Options{SizeLimit: 5, BulkLDIF: []string{users}})
	admin, err := s.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if got := search(t, admin, "ou=people,"+s.Suffix, "(uid=p*)"); len(got) != 8 {
		t.Errorf("rootdn saw %d entries, want 8 (no limits)", len(got))
	}
	reader, err := s.bind(ctx, s.ReaderDN, s.ReaderPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	_, err = reader.Search(ldap.NewSearchRequest("ou=people,"+s.Suffix, ldap.ScopeWholeSubtree, 0, 0, 0, false, "(uid=p*)", nil, nil))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		t.Errorf("reader unpaged search: err = %v, want size limit exceeded", err)
	}
	res, err := reader.SearchWithPaging(ldap.NewSearchRequest("ou=people,"+s.Suffix, ldap.ScopeWholeSubtree, 0, 0, 0, false, "(uid=p*)", nil, nil), 5)
	if err != nil || len(res.Entries) != 8 {
		t.Errorf("reader paged search: %d entries, %v", len(res.Entries), err)
	}
	if _, err := s.bind(ctx, s.ReaderDN, "wrong"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("wrong reader password: err = %v", err)
	}
}

func TestTLS(t *testing.T) {
	s := StartT(t, Options{TLS: true})
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACertPEM) {
		t.Fatal("CACertPEM does not parse")
	}
	if s.ServerName != "localhost" || !strings.HasPrefix(s.LDAPSURL, "ldaps://127.0.0.1:") {
		t.Fatalf("ServerName %q, LDAPSURL %q", s.ServerName, s.LDAPSURL)
	}
	for _, name := range []string{"localhost", "127.0.0.1"} {
		conn, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: name}))
		if err != nil {
			t.Fatalf("ldaps as %s: %v", name, err)
		}
		if err := conn.Bind(s.ReaderDN, s.ReaderPassword); err != nil {
			t.Errorf("bind over ldaps: %v", err)
		}
		conn.Close()
	}
	conn, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.StartTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if _, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "other.example"})); err == nil {
		t.Error("ldaps accepted a certificate for the wrong name")
	}
}

func TestGeneratedGroup(t *testing.T) {
	ctx := context.Background()
	users := filepath.Join(t.TempDir(), "users.ldif")
	if err := WriteUsersFile(users, DefaultSuffix, "g", 50); err != nil {
		t.Fatal(err)
	}
	s := StartT(t, Options{BulkLDIF: []string{users}})
	groupDN, err := s.AddGeneratedGroup(ctx, "fifty", "g", 50)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := s.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// memberOf was computed for the slapadd-ed users when the group was added online.
	got := search(t, conn, s.Suffix, "(memberOf="+ldap.EscapeFilter(groupDN)+")", "uid", "entryUUID")
	if len(got) != 50 {
		t.Fatalf("memberOf matched %d users, want 50", len(got))
	}
	if got[0].GetAttributeValue("entryUUID") == "" {
		t.Error("slapadd-ed entries lack entryUUID")
	}
}

func TestStartRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Binary("slapd"); err != nil {
		t.Skip(err)
	}
	if _, err := Start(context.Background(), dir, Options{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("Start in a non-empty dir: err = %v", err)
	}
}

func TestStopTerminatesSlapd(t *testing.T) {
	s := StartT(t, Options{})
	pid := s.cmd.Process.Pid
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("slapd pid %d still exists after Stop (kill -0: %v)", pid, err)
	}
	if c, err := (&net.Dialer{Timeout: time.Second}).DialContext(t.Context(), "tcp", strings.TrimPrefix(s.URL, "ldap://")); err == nil {
		c.Close()
		t.Fatal("port still accepts connections")
	}
}

// The demo script and the Go harness must configure slapd identically.
func TestScriptMatchesHarness(t *testing.T) {
	if _, err := Binary("slapd"); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	script, err := filepath.Abs("../../../scripts/start-slapd.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "state")
	users := filepath.Join(t.TempDir(), "users.ldif")
	if err := WriteUsersFile(users, DefaultSuffix, "s", 3); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "bash", script, dir, users)
	cmd.Env = append(os.Environ(), "LDAP_PORT="+strconv.Itoa(port), "LDAP_SIZE_LIMIT=250")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("start-slapd.sh: %v: %s", err, stderr)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("script printed %q, want a PID", out)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	})

	hashLine := regexp.MustCompile(`(?m)^(rootpw|userPassword:) \{SSHA\}\S+$`)
	normalize := func(s string) string { return hashLine.ReplaceAllString(s, "$1 HASH") }
	conf, err := os.ReadFile(filepath.Join(dir, "slapd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config(ConfigParams{Dir: dir, Suffix: DefaultSuffix, RootPasswordSSHA: ssha("x"), SizeLimit: 250})
	if normalize(string(conf)) != normalize(want) {
		t.Errorf("script slapd.conf differs from Config():\n--- script\n%s\n--- Go\n%s", conf, want)
	}
	base, err := os.ReadFile(filepath.Join(dir, "base.ldif"))
	if err != nil {
		t.Fatal(err)
	}
	if normalize(string(base)) != normalize(BaseLDIF(DefaultSuffix, "x")) {
		t.Errorf("script base.ldif differs from BaseLDIF():\n--- script\n%s\n--- Go\n%s", base, BaseLDIF(DefaultSuffix, "x"))
	}

	srv := &Server{URL: "ldap://127.0.0.1:" + strconv.Itoa(port), AdminDN: "cn=admin," + DefaultSuffix, AdminPassword: DefaultAdminPassword}
	conn, err := srv.bind(context.Background(), "cn=reader,"+DefaultSuffix, DefaultReaderPassword)
	if err != nil {
		t.Fatalf("reader bind on the script's server: %v", err)
	}
	defer conn.Close()
	if got := search(t, conn, "ou=people,"+DefaultSuffix, "(uid=s*)", "uid"); len(got) != 3 {
		t.Errorf("bulk users: %d, want 3", len(got))
	}
}

func TestParseLDIF(t *testing.T) {
	changes, err := parseLDIF("version: 1\r\n# comment\r\n#  folded comment\r\n continues\r\ndn: cn=a,dc=x\r\ncn: a\r\ndescription:: aMOpbGxv\r\n\r\n\r\n" +
		"dn: cn=a,dc=x\nchangetype: modify\nreplace: cn\ncn: b\n-\ndelete: description\n\n" +
		"dn: cn=b,dc=x\nchangetype: moddn\nnewrdn: cn=c\ndeleteoldrdn: 1\nnewsuperior: ou=y,dc=x\n\n" +
		"dn: cn=c,ou=y,dc=x\nchangetype: delete\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 4 {
		t.Fatalf("%d changes, want 4", len(changes))
	}
	add, mod, rdn, del := changes[0], changes[1], changes[2], changes[3]
	if add.kind != "add" || add.dn != "cn=a,dc=x" || len(add.attrs) != 2 || add.attrs[1].value != "héllo" {
		t.Errorf("add = %+v", add)
	}
	if mod.kind != "modify" || len(mod.mods) != 2 || mod.mods[0].op != "replace" || mod.mods[0].values[0] != "b" || mod.mods[1].op != "delete" || len(mod.mods[1].values) != 0 {
		t.Errorf("modify = %+v", mod)
	}
	if rdn.kind != "modrdn" || rdn.newRDN != "cn=c" || !rdn.deleteOld || rdn.newSuperior != "ou=y,dc=x" {
		t.Errorf("modrdn = %+v", rdn)
	}
	if del.kind != "delete" || del.dn != "cn=c,ou=y,dc=x" {
		t.Errorf("delete = %+v", del)
	}

	for _, bad := range []string{
		"cn: a\n",                                         // no dn
		"dn: cn=a\nchangetype: frobnicate\n",              // unknown changetype
		"dn: cn=a\nchangetype: modify\ncn: a\n",           // value without an operation
		"dn: cn=a\nchangetype: modify\nadd: cn\nsn: x\n",  // value of another attribute
		"dn: cn=a\nchangetype: modrdn\ndeleteoldrdn: 1\n", // no newrdn
		"dn: cn=a\ncn:: !!!\n",                            // bad base64
		"dn: cn=a\njpegPhoto:< file:///etc/passwd\n",      // URL values unsupported
		" continuation\n",                                 // nothing to continue
		"dn: cn=a\nchangetype: delete\ncn: a\n",           // attributes on delete
	} {
		if _, err := parseLDIF(bad); err == nil {
			t.Errorf("parseLDIF(%q) accepted invalid LDIF", bad)
		}
	}
}

// TestServiceAccountPageLimit: the service account's own size.pr refuses larger
// pages with adminLimitExceeded, as a production OpenLDAP configured with
// limits for its provisioning account does; the reader and rootdn are not affected.
func TestServiceAccountPageLimit(t *testing.T) {
	s := StartT(t, Options{ServicePageLimit: 3})
	ctx := context.Background()
	if err := s.Apply(ctx, FixtureLDIF()); err != nil {
		t.Fatal(err)
	}
	paged := func(dn, password string, size uint32) (int, error) {
		conn, err := s.bind(ctx, dn, password)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		res, err := conn.SearchWithPaging(ldap.NewSearchRequest("ou=people,"+s.Suffix, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, 0, false, "(objectClass=inetOrgPerson)", []string{"1.1"}, nil), size)
		if res == nil {
			return 0, err
		}
		return len(res.Entries), err
	}
	if n, err := paged(s.ServiceDN, s.ServicePassword, 3); err != nil || n < 10 {
		t.Errorf("service account, pages of 3: %d entries, %v", n, err)
	}
	_, err := paged(s.ServiceDN, s.ServicePassword, 4)
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultAdminLimitExceeded) || !strings.Contains(err.Error(), "illegal pagedResults page size") {
		t.Errorf("service account, pages of 4: err = %v, want adminLimitExceeded (illegal pagedResults page size)", err)
	}
	if n, err := paged(s.ReaderDN, s.ReaderPassword, 1000); err != nil || n < 10 {
		t.Errorf("reader, pages of 1000: %d entries, %v", n, err)
	}
}

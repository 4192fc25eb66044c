// Package slapd starts throwaway OpenLDAP servers for tests, the demo and the
// benchmarks. Each server gets its own config and database directory, listens
// on free loopback ports and carries the overlays the datastore relies on:
// memberof (groupOfNames/member), refint and ppolicy, plus a small schema for
// the 389 DS nsAccountLock attribute.
//
// scripts/start-slapd.sh writes the same slapd.conf (see Config); a test keeps
// the two in step.
package slapd

import (
	"bytes"
	"context"
	"crypto/sha1" //nolint:gosec // {SSHA} is the scheme slapd's rootpw understands; test-only secret
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Defaults for Options.
const (
	DefaultSuffix         = "dc=example,dc=com"
	DefaultAdminPassword  = "admin123"
	DefaultReaderPassword = "reader123"
	// DefaultServicePassword is the password of cn=svc-pingid,<suffix>.
	DefaultServicePassword = "svc-pingid123"
	DefaultSizeLimit       = 1000

	// RequireEnv makes StartT fail instead of skip when slapd is missing (CI sets it to 1).
	RequireEnv = "PINGID_REQUIRE_SLAPD"
)

// ErrSlapdNotFound reports that the slapd binary is not installed.
var ErrSlapdNotFound = errors.New("slapd binary not found (apt-get install slapd ldap-utils)")

// Options configure a throwaway server. The zero value is usable.
type Options struct {
	// Suffix of the single mdb database; default dc=example,dc=com.
	Suffix string
	// AdminPassword of the rootdn cn=admin,<suffix>; default admin123.
	AdminPassword string
	// ReaderPassword of cn=reader,<suffix>, an ordinary account that, unlike the
	// rootdn, is subject to the size limits; default reader123.
	ReaderPassword string
	// TLS also listens on ldaps:// and enables StartTLS, with a generated CA and
	// a server certificate for TLSHosts.
	TLS bool
	// TLSHosts are the DNS names / IPs in the server certificate; default
	// localhost and 127.0.0.1. The first one is the certificate's CN.
	TLSHosts []string
	// SizeLimit is the soft and hard limit of unpaged searches and the largest
	// accepted page size (size.pr), like AD's MaxPageSize; default 1000.
	SizeLimit int
	// PagedTotalLimit caps the entries of one paged search (size.prtotal);
	// 0 means unlimited.
	PagedTotalLimit int
	// ServicePageLimit is the largest page the service account cn=svc-pingid
	// may ask for (an OpenLDAP "limits" clause with size.pr for that DN): a
	// larger page fails with adminLimitExceeded (11) "illegal pagedResults
	// page size". 0: the account has no limits clause of its own.
	ServicePageLimit int
	// AnonymousRead lets anonymous clients read entries (passwords excepted).
	AnonymousRead bool
	// HideSchema denies everyone but the rootdn the subschema entry
	// (cn=Subschema), as some hardened directories do.
	HideSchema bool
	// BulkLDIF files are slapadd-ed after the base entries, before the server
	// starts. Fast, but overlays do not run: load groups online with Apply.
	BulkLDIF []string
}

// Server is a running slapd.
type Server struct {
	URL      string // ldap://127.0.0.1:port
	LDAPSURL string // ldaps://127.0.0.1:port when Options.TLS
	Port     int
	TLSPort  int

	Suffix         string
	AdminDN        string // rootdn: not subject to limits
	AdminPassword  string
	ReaderDN       string // ordinary bind account: subject to limits
	ReaderPassword string
	// ServiceDN is cn=svc-pingid,<suffix>, the provisioning service account as
	// production would configure it: not the rootdn, with its own limits
	// (Options.ServicePageLimit).
	ServiceDN       string
	ServicePassword string
	Dir             string

	CACertPEM  []byte // CA that issued the server certificate (TLS only)
	ServerName string // CN of the server certificate (TLS only)

	cmd      *exec.Cmd
	exited   chan struct{}
	stderr   *LogBuffer
	stopOnce sync.Once
	stopErr  error
}

func (o Options) withDefaults() Options {
	if o.Suffix == "" {
		o.Suffix = DefaultSuffix
	}
	if o.AdminPassword == "" {
		o.AdminPassword = DefaultAdminPassword
	}
	if o.ReaderPassword == "" {
		o.ReaderPassword = DefaultReaderPassword
	}
	if o.SizeLimit <= 0 {
		o.SizeLimit = DefaultSizeLimit
	}
	if len(o.TLSHosts) == 0 {
		o.TLSHosts = []string{"localhost", "127.0.0.1"}
	}
	return o
}

// Binary returns the path of a slapd helper binary (slapd, slapadd),
// looking in PATH and then /usr/sbin, where Debian installs them.
func Binary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s: %w", name, ErrSlapdNotFound)
}

// StartT starts a server in t.TempDir and stops it when the test ends. It skips
// the test when slapd is not installed, unless PINGID_REQUIRE_SLAPD=1.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	if _, err := Binary("slapd"); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%v (and %s=1)", err, RequireEnv)
		}
		t.Skipf("skipping: %v; set %s=1 to make this a failure", err, RequireEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := Start(ctx, t.TempDir(), opts)
	if err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop slapd: %v", err)
		}
	})
	return srv
}

// Start creates dir (which must be empty or absent), writes the config, loads
// the base entries and opts.BulkLDIF with slapadd and starts slapd on free
// loopback ports. ctx bounds the start-up only; the server runs until Stop.
func Start(ctx context.Context, dir string, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	slapdBin, err := Binary("slapd")
	if err != nil {
		return nil, err
	}
	slapaddBin, err := Binary("slapadd")
	if err != nil {
		return nil, err
	}
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}

	srv := &Server{
		Suffix:          opts.Suffix,
		AdminDN:         "cn=admin," + opts.Suffix,
		AdminPassword:   opts.AdminPassword,
		ReaderDN:        "cn=reader," + opts.Suffix,
		ReaderPassword:  opts.ReaderPassword,
		ServiceDN:       "cn=svc-pingid," + opts.Suffix,
		ServicePassword: DefaultServicePassword,
		Dir:             dir,
	}
	var tlsFiles *TLSFiles
	if opts.TLS {
		material, err := newTLSMaterial(opts.TLSHosts)
		if err != nil {
			return nil, err
		}
		tlsFiles, err = material.write(filepath.Join(dir, "tls"))
		if err != nil {
			return nil, err
		}
		srv.CACertPEM = material.caPEM
		srv.ServerName = opts.TLSHosts[0]
	}

	confPath := filepath.Join(dir, "slapd.conf")
	conf := Config(ConfigParams{
		Dir:              dir,
		Suffix:           opts.Suffix,
		RootPasswordSSHA: ssha(opts.AdminPassword),
		SizeLimit:        opts.SizeLimit,
		PagedTotalLimit:  opts.PagedTotalLimit,
		ServiceDN:        srv.ServiceDN,
		ServicePageLimit: opts.ServicePageLimit,
		AnonymousRead:    opts.AnonymousRead,
		HideSchema:       opts.HideSchema,
		TLS:              tlsFiles,
	})
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("write slapd.conf: %w", err)
	}
	basePath := filepath.Join(dir, "base.ldif")
	if err := os.WriteFile(basePath, []byte(BaseLDIF(opts.Suffix, opts.ReaderPassword)), 0o600); err != nil {
		return nil, fmt.Errorf("write base.ldif: %w", err)
	}
	for _, ldif := range append([]string{basePath}, opts.BulkLDIF...) {
		cmd := exec.CommandContext(ctx, slapaddBin, "-q", "-f", confPath, "-l", ldif)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("slapadd %s: %w: %s", ldif, err, bytes.TrimSpace(out))
		}
	}

	// A free port can be taken between probing and slapd's bind; retry then.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if err := srv.launch(ctx, slapdBin, confPath, opts.TLS); err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		// Online, not in base.ldif, which scripts/start-slapd.sh writes the same way.
		if err := srv.Apply(ctx, ServiceAccountLDIF(srv.ServiceDN, srv.ServicePassword)); err != nil {
			_ = srv.Stop()
			return nil, fmt.Errorf("add the service account: %w", err)
		}
		return srv, nil
	}
	return nil, lastErr
}

func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("state dir: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("state dir %s is not empty", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	return nil
}

func (s *Server) launch(ctx context.Context, slapdBin, confPath string, withTLS bool) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	urls := []string{fmt.Sprintf("ldap://127.0.0.1:%d/", port)}
	tlsPort := 0
	if withTLS {
		if tlsPort, err = freePort(); err != nil {
			return err
		}
		urls = append(urls, fmt.Sprintf("ldaps://127.0.0.1:%d/", tlsPort))
	}
	// -d 0 keeps slapd in the foreground, so the process is ours to stop.
	// The server outlives ctx (which bounds only the start); Stop ends it.
	cmd := exec.CommandContext(context.WithoutCancel(ctx), slapdBin, "-f", confPath, "-h", strings.Join(urls, " "), "-d", "0")
	stderr := &LogBuffer{}
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start slapd: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()

	s.cmd, s.exited, s.stderr = cmd, exited, stderr
	s.Port, s.TLSPort = port, tlsPort
	s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", port)
	s.LDAPSURL = ""
	if withTLS {
		s.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", tlsPort)
	}
	if err := s.waitReady(ctx); err != nil {
		_ = s.kill()
		return err
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("slapd exited during start-up: %s", strings.TrimSpace(s.stderr.String()))
		default:
		}
		conn, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
		if err == nil {
			_, err = conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases,
				0, 5, false, "(objectClass=*)", []string{"namingContexts"}, nil))
			_ = conn.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("slapd not ready on %s: %w", s.URL, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("slapd not ready on %s: %w", s.URL, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop terminates slapd and waits for it to exit. Safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.kill() })
	return s.stopErr
}

func (s *Server) kill() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	select {
	case <-s.exited:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal slapd: %w", err)
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(10 * time.Second):
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill slapd: %w", err)
	}
	<-s.exited
	return nil
}

// Conn returns a connection bound as the rootdn over plain LDAP. The caller closes it.
func (s *Server) Conn(ctx context.Context) (*ldap.Conn, error) {
	return s.bind(ctx, s.AdminDN, s.AdminPassword)
}

func (s *Server) bind(ctx context.Context, dn, password string) (*ldap.Conn, error) {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := ldap.DialURL(s.URL, ldap.DialWithDialer(dialer))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", s.URL, err)
	}
	conn.SetTimeout(30 * time.Second)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if err := conn.Bind(dn, password); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("bind as %s: %w", dn, err)
	}
	return conn, nil
}

func freePort() (int, error) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("find a free port: unexpected address %v", l.Addr())
	}
	return addr.Port, nil
}

// ssha hashes a password in slapd's {SSHA} scheme.
func ssha(password string) string {
	salt := []byte("pingidts") // fixed: test-only, keeps configs reproducible
	h := sha1.New()            //nolint:gosec // see import
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

// LogBuffer collects a child process's output for error messages: safe for concurrent
// writers, and it keeps only the first 64 KiB (start-up diagnostics, not an unbounded log).
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ConfigParams are the inputs of Config.
type ConfigParams struct {
	Dir              string // holds slapd.pid, slapd.args and data/
	Suffix           string
	RootPasswordSSHA string
	SizeLimit        int
	PagedTotalLimit  int // 0 = unlimited
	ServiceDN        string
	ServicePageLimit int // size.pr of ServiceDN; 0 = no limits clause
	AnonymousRead    bool
	HideSchema       bool
	TLS              *TLSFiles // nil = no TLS
}

// TLSFiles are the PEM files slapd serves TLS with.
type TLSFiles struct {
	CACert, Cert, Key string
}

// Config renders slapd.conf. scripts/start-slapd.sh writes the same text.
func Config(p ConfigParams) string {
	prTotal := "unlimited"
	if p.PagedTotalLimit > 0 {
		prTotal = strconv.Itoa(p.PagedTotalLimit)
	}
	anonymous := "none"
	if p.AnonymousRead {
		anonymous = "read"
	}
	var b strings.Builder
	b.WriteString(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
# 389 DS account inactivation, as a user attribute on an auxiliary class
attributetype ( 2.16.840.1.113730.3.1.610 NAME 'nsAccountLock' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.32473.1.2.1 NAME 'nsAccountLockable' SUP top AUXILIARY MAY nsAccountLock )
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload refint
moduleload ppolicy
`)
	fmt.Fprintf(&b, "pidfile %s/slapd.pid\nargsfile %s/slapd.args\nloglevel none\n", p.Dir, p.Dir)
	if p.TLS != nil {
		fmt.Fprintf(&b, "TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n",
			p.TLS.CACert, p.TLS.Cert, p.TLS.Key)
	}
	if p.HideSchema {
		// Frontend rules: they govern the root DSE and cn=Subschema (the database's own
		// "access to *" comes first for its entries).
		b.WriteString("access to dn.base=\"cn=Subschema\" by * none\naccess to * by * read\n")
	}
	fmt.Fprintf(&b, `# AD-like: unpaged searches capped, pages of at most size.pr entries
sizelimit size.soft=%d size.hard=%d size.pr=%d size.prtotal=%s
database mdb
maxsize 1073741824
dbnosync
suffix "%s"
rootdn "cn=admin,%s"
rootpw %s
%sdirectory %s/data
index objectClass eq
index uid,cn,mail eq,sub
index member,memberOf,uniqueMember,memberUid eq
index entryUUID eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by anonymous %s by * none
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
overlay refint
refint_attributes member uniqueMember
overlay ppolicy
ppolicy_default "cn=default,ou=policies,%s"
ppolicy_use_lockout
`, p.SizeLimit, p.SizeLimit, p.SizeLimit, prTotal, p.Suffix, p.Suffix, p.RootPasswordSSHA, serviceLimits(p), p.Dir, anonymous, p.Suffix)
	return b.String()
}

// serviceLimits is the limits clause of the service account, or "".
func serviceLimits(p ConfigParams) string {
	if p.ServicePageLimit <= 0 || p.ServiceDN == "" {
		return ""
	}
	return fmt.Sprintf("# the service account may page by at most %[2]d entries\nlimits dn.exact=\"%[1]s\" size.pr=%[2]d size.prtotal=unlimited\n",
		p.ServiceDN, p.ServicePageLimit)
}

// ServiceAccountLDIF adds the provisioning service account.
func ServiceAccountLDIF(dn, password string) string {
	rdn, _, _ := strings.Cut(dn, ",")
	_, cn, _ := strings.Cut(rdn, "=")
	return fmt.Sprintf("dn: %s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: %s\nuserPassword: %s\n", dn, cn, ssha(password))
}

// BaseLDIF is the skeleton every server starts with: the suffix entry,
// ou=people, ou=groups, ou=policies, the default password policy and the
// cn=reader bind account.
func BaseLDIF(suffix, readerPassword string) string {
	rdn, _, _ := strings.Cut(suffix, ",")
	attr, value, _ := strings.Cut(rdn, "=")
	top := "objectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: " + value + "\ndc: " + value + "\n"
	if !strings.EqualFold(strings.TrimSpace(attr), "dc") {
		top = "objectClass: top\nobjectClass: organization\no: " + value + "\n"
	}
	return fmt.Sprintf(`dn: %[1]s
%[2]s
dn: ou=people,%[1]s
objectClass: organizationalUnit
ou: people

dn: ou=groups,%[1]s
objectClass: organizationalUnit
ou: groups

dn: ou=policies,%[1]s
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,%[1]s
objectClass: top
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 5

dn: cn=reader,%[1]s
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: %[3]s
`, suffix, top, ssha(readerPassword))
}

// PID is the slapd process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

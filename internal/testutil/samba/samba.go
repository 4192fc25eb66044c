// Package samba starts a throwaway Samba Active Directory domain controller
// on loopback for tests of Active Directory semantics (userAccountControl,
// objectGUID, the in-chain matching rule, LDAPS). Samba always listens on the
// standard ports (389, 636, 3268, 3269), so only one can run at a time.
//
// Tests using it run only when PINGID_TEST_SAMBA=1 (Debian: apt-get install
// --no-install-recommends samba samba-ad-dc samba-ad-provision winbind
// krb5-user); provisioning and start take about 5 s.
package samba

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

// EnableEnv must be "1" for StartT to run Samba; otherwise tests skip.
const EnableEnv = "PINGID_TEST_SAMBA"

// Defaults for Options.
const (
	DefaultRealm         = "EXAMPLE.TEST"
	DefaultDomain        = "EXAMPLE"
	DefaultAdminPassword = "Passw0rd!Admin"
)

// Options configure the domain. The zero value is usable.
type Options struct {
	Realm, Domain, AdminPassword string
}

// Server is a running Samba AD DC.
type Server struct {
	URL           string // ldap://127.0.0.1 (simple binds need StartTLS: strong auth is required)
	LDAPSURL      string // ldaps://127.0.0.1
	BaseDN        string // DC=example,DC=test
	AdminDN       string // CN=Administrator,CN=Users,<BaseDN>
	AdminPassword string
	Realm         string
	Dir           string
	CACertPEM     []byte // issued the DC's certificate (SANs: dc1.<realm>, localhost, 127.0.0.1)

	configFile string
	toolBin    string // samba-tool as found by lookPath (PATH, /usr/sbin or /usr/bin)
	cmd        *exec.Cmd
	exited     chan struct{}
	log        *slapd.LogBuffer
	stopOnce   sync.Once
	stopErr    error
}

// StartT starts a DC in t.TempDir and stops it at the end of the test. It
// skips unless PINGID_TEST_SAMBA=1, and then fails if Samba is missing.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	if os.Getenv(EnableEnv) != "1" {
		t.Skipf("skipping the Samba AD DC test: set %s=1 (needs samba, samba-ad-dc, samba-ad-provision, winbind, krb5-user; ports 389/636 free)", EnableEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, t.TempDir(), opts)
	if err != nil {
		t.Fatalf("start samba: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop samba: %v", err)
		}
	})
	return s
}

// Start provisions a domain in dir (empty or absent) and starts Samba with
// only its LDAP service, using a certificate issued by a throwaway CA
// (Samba's own may carry a negative serial, which Go rejects).
func Start(ctx context.Context, dir string, opts Options) (*Server, error) {
	if opts.Realm == "" {
		opts.Realm = DefaultRealm
	}
	if opts.Domain == "" {
		opts.Domain = DefaultDomain
	}
	if opts.AdminPassword == "" {
		opts.AdminPassword = DefaultAdminPassword
	}
	sambaBin, err := lookPath("samba")
	if err != nil {
		return nil, err
	}
	toolBin, err := lookPath("samba-tool")
	if err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("state dir %s is not empty", dir)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	for _, sub := range []string{"run", "log", "tls"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("state dir: %w", err)
		}
	}
	if c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", "127.0.0.1:389"); err == nil {
		_ = c.Close()
		return nil, errors.New("port 389 is already in use (another Samba DC?)")
	}

	var labels []string
	for _, l := range strings.Split(strings.ToLower(opts.Realm), ".") {
		labels = append(labels, "DC="+l)
	}
	s := &Server{
		URL:           "ldap://127.0.0.1",
		LDAPSURL:      "ldaps://127.0.0.1",
		BaseDN:        strings.Join(labels, ","),
		AdminPassword: opts.AdminPassword,
		Realm:         opts.Realm,
		Dir:           dir,
		configFile:    filepath.Join(dir, "etc", "smb.conf"),
		toolBin:       toolBin,
		log:           &slapd.LogBuffer{},
	}
	s.AdminDN = "CN=Administrator,CN=Users," + s.BaseDN

	provision := exec.CommandContext(ctx, toolBin, "domain", "provision",
		"--targetdir="+dir, "--realm="+opts.Realm, "--domain="+opts.Domain,
		"--server-role=dc", "--dns-backend=NONE", "--use-rfc2307",
		"--adminpass="+opts.AdminPassword, "--host-ip=127.0.0.1", "--host-name=dc1",
		"--option=interfaces=lo", "--option=bind interfaces only=yes")
	if out, err := provision.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("samba-tool domain provision: %w: %s", err, tail(out))
	}

	hostName := "dc1." + strings.ToLower(opts.Realm)
	caPEM, certPEM, keyPEM, err := slapd.IssueCertificates([]string{hostName, "localhost", "127.0.0.1"})
	if err != nil {
		return nil, err
	}
	s.CACertPEM = caPEM
	files := map[string][]byte{"ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, "tls", name), content, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
	}
	if err := s.editConfig(); err != nil {
		return nil, err
	}

	// The DC outlives ctx (which bounds only the start); Stop ends it.
	s.cmd = exec.CommandContext(context.WithoutCancel(ctx), sambaBin, "--foreground", "--no-process-group", "-s", s.configFile)
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start samba: %w", err)
	}
	s.exited = make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin"} {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return filepath.Join(d, name), nil
		}
	}
	return "", fmt.Errorf("%s not found (apt-get install samba samba-ad-dc samba-ad-provision winbind krb5-user)", name)
}

// editConfig moves logs and pid files into the state dir, runs only the
// LDAP service and installs the test certificate. Provision does not write
// all --option values, hence the edit.
func (s *Server) editConfig() error {
	raw, err := os.ReadFile(s.configFile)
	if err != nil {
		return fmt.Errorf("read smb.conf: %w", err)
	}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		key := strings.TrimSpace(strings.SplitN(line, "=", 2)[0])
		if key == "log file" || key == "server services" {
			continue
		}
		out = append(out, line)
		if strings.TrimSpace(line) == "[global]" {
			tlsDir := filepath.Join(s.Dir, "tls")
			out = append(out,
				"\tlog file = "+filepath.Join(s.Dir, "log", "log.%m"),
				"\tpid directory = "+filepath.Join(s.Dir, "run"),
				"\tserver services = ldap",
				"\ttls enabled = yes",
				"\ttls keyfile = "+filepath.Join(tlsDir, "key.pem"),
				"\ttls certfile = "+filepath.Join(tlsDir, "cert.pem"),
				"\ttls cafile = "+filepath.Join(tlsDir, "ca.pem"),
			)
		}
	}
	if err := os.WriteFile(s.configFile, []byte(strings.Join(out, "\n")), 0o600); err != nil {
		return fmt.Errorf("write smb.conf: %w", err)
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("samba exited during start-up: %s", s.logTail())
		default:
		}
		conn, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
		if err == nil {
			_, err = conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 5, false,
				"(objectClass=*)", []string{"defaultNamingContext"}, nil))
			_ = conn.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("samba LDAP not ready: %w; log: %s", err, s.logTail())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("samba LDAP not ready: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop terminates Samba (all its children) and waits. Safe to call twice.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		select {
		case <-s.exited:
			return
		default:
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
			return
		case <-time.After(15 * time.Second):
		}
		if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.stopErr = fmt.Errorf("kill samba: %w", err)
		}
		<-s.exited
	})
	return s.stopErr
}

// Tool runs samba-tool against this DC's database, e.g.
// Tool(ctx, "user", "disable", "bob").
func (s *Server) Tool(ctx context.Context, args ...string) (string, error) {
	// samba-tool wants --configfile after the subcommand.
	cmd := exec.CommandContext(ctx, s.toolBin, append(args, "--configfile="+s.configFile)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("samba-tool %s: %w: %s", strings.Join(args, " "), err, tail(out))
	}
	return string(out), nil
}

// TLSConfig trusts the DC's certificate.
func (s *Server) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CACertPEM)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Conn returns a connection over LDAPS bound as Administrator.
func (s *Server) Conn(ctx context.Context) (*ldap.Conn, error) {
	conn, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(s.TLSConfig()),
		ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", s.LDAPSURL, err)
	}
	conn.SetTimeout(time.Minute)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if err := conn.Bind(s.AdminDN, s.AdminPassword); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("bind as %s: %w", s.AdminDN, err)
	}
	return conn, nil
}

func (s *Server) logTail() string { return tail([]byte(s.log.String())) }

func tail(b []byte) string {
	const limit = 2000
	b = bytes.TrimSpace(b)
	if len(b) > limit {
		b = b[len(b)-limit:]
	}
	return string(b)
}

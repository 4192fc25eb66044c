// Package dirsrv starts throwaway 389 Directory Server instances (Debian
// 389-ds-base) for tests: a plain ns-slapd process in its own directory, on a
// free loopback port, without systemd.
//
// dscreate, the supported way to make an instance, starts and checks the
// server through systemctl, which these machines do not run. The harness
// therefore builds the instance itself, the way dscreate does: dse.ldif from
// the package's template-dse.ldif with every path pointed into the instance
// directory (the schema directory must be <config>/schema, ns-slapd looks for
// it there), a salted SHA-512 root password (ns-slapd refuses a clear-text
// one), the MemberOf plugin enabled (member and uniqueMember; it keeps
// memberOf transitive, nested groups included) and small caches instead of
// autosizing from the machine's memory. Once ns-slapd answers, the backend
// and its mapping tree are added online as Directory Manager (an offline
// backend entry in dse.ldif makes ns-slapd exit without a word), then the
// suffix with an ACI that lets bound users read everything but passwords, the
// OUs and a service account.
//
// The service account (cn=svc-pingid,<suffix>) is the bind account tests use:
// Directory Manager ignores every limit, an ordinary account does not.
// Options.PagedSizeLimit sets nsslapd-pagedsizelimit for everyone and
// Options.ServicePagedSizeLimit the account's own nsPagedSizeLimit. 389 DS
// 2.3 applies that limit per page: a paged search whose page size is at least
// the limit ends with sizeLimitExceeded (4) after limit entries when more
// match, while smaller pages read everything.
package dirsrv

import (
	"context"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

// Defaults and switches.
const (
	DefaultSuffix          = "dc=example,dc=com"
	DefaultAdminPassword   = "dirmanager123"
	DefaultServicePassword = "svc-pingid123"
	// RootDN is Directory Manager, which no limit applies to.
	RootDN = "cn=Directory Manager"

	// RequireEnv makes StartT fail instead of skip when 389 DS is missing (make test sets it).
	RequireEnv = "PINGID_REQUIRE_389DS"
)

// Files of the Debian/Fedora package.
var (
	templateDSE      = "/usr/share/dirsrv/data/template-dse.ldif"
	collationsConfig = "/etc/dirsrv/config/slapd-collations.conf"
)

// ErrNotInstalled reports that 389 DS is not installed.
var ErrNotInstalled = errors.New("389 Directory Server not found (ns-slapd and " + "/usr/share/dirsrv/data/template-dse.ldif; apt-get install --no-install-recommends 389-ds-base)")

// Options configure an instance. The zero value is usable.
type Options struct {
	Suffix          string
	AdminPassword   string // Directory Manager's; default dirmanager123
	ServicePassword string // cn=svc-pingid,<suffix>; default svc-pingid123
	// PagedSizeLimit is nsslapd-pagedsizelimit (cn=config); 0 leaves it unset.
	PagedSizeLimit int
	// ServicePagedSizeLimit is the service account's own nsPagedSizeLimit; 0 leaves it unset.
	ServicePagedSizeLimit int
}

// Server is a running instance.
type Server struct {
	URL  string // ldap://127.0.0.1:port
	Port int

	Suffix          string
	AdminDN         string // Directory Manager: no limits apply
	AdminPassword   string
	ServiceDN       string // ordinary bind account: limits apply
	ServicePassword string
	Dir             string
	// StartupTime is from launching ns-slapd to the base entries being loaded.
	StartupTime time.Duration

	cmd      *exec.Cmd
	exited   chan struct{}
	log      *slapd.LogBuffer
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
	if o.ServicePassword == "" {
		o.ServicePassword = DefaultServicePassword
	}
	return o
}

// Binary returns the path of ns-slapd (PATH, then /usr/sbin), or ErrNotInstalled
// when it or the package's dse.ldif template is missing.
func Binary() (string, error) {
	if _, err := os.Stat(templateDSE); err != nil {
		return "", ErrNotInstalled
	}
	if p, err := exec.LookPath("ns-slapd"); err == nil {
		return p, nil
	}
	p := "/usr/sbin/ns-slapd"
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", ErrNotInstalled
}

// StartT starts an instance in t.TempDir and stops it when the test ends. It
// skips the test when 389 DS is not installed, unless PINGID_REQUIRE_389DS=1.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	if _, err := Binary(); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%v (and %s=1)", err, RequireEnv)
		}
		t.Skipf("skipping: %v; `make ensure-389ds` installs it, %s=1 makes this a failure", err, RequireEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv, err := Start(ctx, t.TempDir(), opts)
	if err != nil {
		t.Fatalf("start 389 DS: %v", err)
	}
	t.Logf("389 DS %s ready in %s", srv.URL, srv.StartupTime.Round(time.Millisecond))
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop 389 DS: %v", err)
		}
	})
	return srv
}

// Start builds an instance in dir (empty or absent), starts ns-slapd and loads
// the base entries. ctx bounds the start-up; the server runs until Stop.
func Start(ctx context.Context, dir string, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("instance dir %s is not empty", dir)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("instance dir: %w", err)
	}
	for _, sub := range []string{"config/schema", "db", "log", "run", "lock", "tmp", "ldif", "bak"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("instance dir: %w", err)
		}
	}
	srv := &Server{
		Suffix: opts.Suffix, AdminDN: RootDN, AdminPassword: opts.AdminPassword,
		ServiceDN: "cn=svc-pingid," + opts.Suffix, ServicePassword: opts.ServicePassword, Dir: dir,
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken before ns-slapd binds it
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		if err := writeInstance(dir, port, opts); err != nil {
			return nil, err
		}
		start := time.Now()
		if lastErr = srv.launch(ctx, bin, port); lastErr != nil {
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if err := srv.loadBase(ctx, opts); err != nil {
			_ = srv.Stop()
			return nil, err
		}
		srv.StartupTime = time.Since(start)
		return srv, nil
	}
	return nil, lastErr
}

// writeInstance writes dse.ldif and the files ns-slapd reads from the config directory.
func writeInstance(dir string, port int, opts Options) error {
	tmpl, err := os.ReadFile(templateDSE)
	if err != nil {
		return fmt.Errorf("read %s: %w", templateDSE, err)
	}
	conf := filepath.Join(dir, "config")
	values := map[string]string{
		"config_dir": conf, "schema_dir": filepath.Join(conf, "schema"), "cert_dir": conf,
		"lock_dir": filepath.Join(dir, "lock"), "tmp_dir": filepath.Join(dir, "tmp"),
		"ldif_dir": filepath.Join(dir, "ldif"), "bak_dir": filepath.Join(dir, "bak"),
		"run_dir": filepath.Join(dir, "run"), "inst_dir": dir, "log_dir": filepath.Join(dir, "log"),
		"db_dir": filepath.Join(dir, "db"), "db_home_dir": filepath.Join(dir, "db"), "db_lib": "bdb",
		"fqdn": "localhost", "ds_port": strconv.Itoa(port), "ds_user": currentUser(),
		"rootdn": RootDN, "ds_passwd": ssha512(opts.AdminPassword), "ds_suffix": opts.Suffix,
		// ldapi stays off, but ns-slapd still refuses a socket path of 104 bytes or more (sun_path), and
		// under `make test` dir is deep inside <repo>/.cache/tmp: give it a short path that is never created.
		"ldapi_enabled": "off", "ldapi": fmt.Sprintf("/tmp/pingid-dirsrv-%d.socket", port), "ldapi_autobind": "off",
	}
	var missing []string
	dse := regexp.MustCompile(`%([a-z_]+)%`).ReplaceAllStringFunc(string(tmpl), func(m string) string {
		if v, ok := values[strings.Trim(m, "%")]; ok {
			return v
		}
		missing = append(missing, m)
		return m
	})
	if len(missing) > 0 {
		return fmt.Errorf("%s has placeholders this harness does not know: %s", templateDSE, strings.Join(missing, ", "))
	}
	edits := []struct{ entry, old, new string }{
		// memberOf for member and uniqueMember; nsMemberOf is added to entries that lack a class allowing it.
		{"cn=MemberOf Plugin,cn=plugins,cn=config", "nsslapd-pluginenabled: off",
			"nsslapd-pluginenabled: on\nmemberOfGroupAttr: uniqueMember\nmemberOfAutoAddOC: nsMemberOf"},
		// Fixed small caches: autosizing takes a share of the machine's memory per instance.
		{"cn=config,cn=ldbm database,cn=plugins,cn=config", "nsslapd-mode: 600",
			"nsslapd-mode: 600\nnsslapd-cache-autosize: 0\nnsslapd-dbcachesize: 16777216"},
	}
	if opts.PagedSizeLimit > 0 {
		edits = append(edits, struct{ entry, old, new string }{"cn=config", "nsslapd-port:",
			"nsslapd-pagedsizelimit: " + strconv.Itoa(opts.PagedSizeLimit) + "\nnsslapd-port:"})
	}
	for _, e := range edits {
		if dse, err = editEntry(dse, e.entry, e.old, e.new); err != nil {
			return err
		}
	}
	files := map[string]string{
		filepath.Join(conf, "dse.ldif"): dse,
		// The instance's own schema file; the system schema comes from /usr/share/dirsrv/schema.
		filepath.Join(conf, "schema", "99user.ldif"): "dn: cn=schema\nobjectclass: top\nobjectclass: ldapSubentry\nobjectclass: subschema\ncn: schema\n",
	}
	collations, err := os.ReadFile(collationsConfig)
	if err != nil {
		return fmt.Errorf("read %s (part of 389-ds-base): %w", collationsConfig, err)
	}
	files[filepath.Join(conf, "slapd-collations.conf")] = string(collations)
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// editEntry replaces old with replacement inside the dse.ldif entry dn (case-insensitively).
func editEntry(dse, dn, old, replacement string) (string, error) {
	records := strings.Split(dse, "\n\n")
	for i, r := range records {
		first, _, _ := strings.Cut(strings.TrimLeft(r, "\n"), "\n")
		if !strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(first, "dn:")), dn) {
			continue
		}
		lower := strings.ToLower(r)
		at := strings.Index(lower, strings.ToLower(old))
		if at < 0 {
			return "", fmt.Errorf("%s: entry %q has no %q", templateDSE, dn, old)
		}
		records[i] = r[:at] + replacement + r[at+len(old):]
		return strings.Join(records, "\n\n"), nil
	}
	return "", fmt.Errorf("%s: no entry %q", templateDSE, dn)
}

func currentUser() string {
	if os.Geteuid() == 0 {
		return "root"
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return strconv.Itoa(os.Geteuid())
}

func (s *Server) launch(ctx context.Context, bin string, port int) error {
	conf := filepath.Join(s.Dir, "config")
	// -d 0 keeps ns-slapd in the foreground, so the process is ours to stop. ctx bounds the
	// start-up only: the server outlives it until Stop.
	cmd := exec.CommandContext(context.WithoutCancel(ctx), bin, "-D", conf, "-i", filepath.Join(s.Dir, "run", "slapd.pid"), "-d", "0")
	log := &slapd.LogBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start ns-slapd: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited, s.log = cmd, exited, log
	s.Port, s.URL = port, fmt.Sprintf("ldap://127.0.0.1:%d", port)
	if err := s.waitReady(ctx); err != nil {
		_ = s.kill()
		return err
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("ns-slapd exited during start-up: %s%s", strings.TrimSpace(s.log.String()), s.errorLogTail())
		default:
		}
		conn, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
		if err == nil {
			_, err = conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases,
				0, 5, false, "(objectClass=*)", []string{"vendorVersion"}, nil))
			_ = conn.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("389 DS not ready on %s: %w%s", s.URL, err, s.errorLogTail())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("389 DS not ready on %s: %w", s.URL, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// errorLogTail is the end of the instance's errors log, for start-up failures.
func (s *Server) errorLogTail() string {
	data, err := os.ReadFile(filepath.Join(s.Dir, "log", "errors"))
	if err != nil || len(data) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return "\nerrors log (end):\n" + strings.Join(lines[max(0, len(lines)-10):], "\n")
}

// loadBase creates the backend for the suffix and the base entries.
func (s *Server) loadBase(ctx context.Context, opts Options) error {
	conn, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := slapd.ApplyLDIF(ctx, conn, BaseLDIF(opts)); err != nil {
		return fmt.Errorf("load base entries: %w", err)
	}
	return nil
}

// BaseLDIF is what every instance starts with: the userRoot backend and its
// mapping tree, the suffix (read access for bound users, passwords excepted),
// ou=people, ou=groups and the service account.
func BaseLDIF(opts Options) string {
	opts = opts.withDefaults()
	rdn, _, _ := strings.Cut(opts.Suffix, ",")
	_, value, _ := strings.Cut(rdn, "=")
	limit := ""
	if opts.ServicePagedSizeLimit > 0 {
		limit = "nsPagedSizeLimit: " + strconv.Itoa(opts.ServicePagedSizeLimit) + "\n"
	}
	return fmt.Sprintf(`dn: cn=userRoot,cn=ldbm database,cn=plugins,cn=config
objectClass: top
objectClass: extensibleObject
objectClass: nsBackendInstance
cn: userRoot
nsslapd-suffix: %[1]s
nsslapd-cachememsize: 16777216

dn: cn=%[2]s,cn=mapping tree,cn=config
objectClass: top
objectClass: extensibleObject
objectClass: nsMappingTree
cn: %[1]s
nsslapd-state: backend
nsslapd-backend: userRoot

dn: %[1]s
objectClass: top
objectClass: domain
dc: %[3]s
aci: (targetattr != "userPassword")(version 3.0; acl "bound users read"; allow (read, search, compare) userdn = "ldap:///all";)

dn: ou=people,%[1]s
objectClass: organizationalUnit
ou: people

dn: ou=groups,%[1]s
objectClass: organizationalUnit
ou: groups

dn: cn=svc-pingid,%[1]s
objectClass: top
objectClass: person
cn: svc-pingid
sn: PingID provisioning service account
userPassword: %[4]s
%[5]s`, opts.Suffix, ldap.EscapeDN(opts.Suffix), value, opts.ServicePassword, limit)
}

// Conn returns a connection bound as Directory Manager. The caller closes it.
func (s *Server) Conn(ctx context.Context) (*ldap.Conn, error) {
	return s.bind(ctx, s.AdminDN, s.AdminPassword)
}

// ServiceConn returns a connection bound as the service account. The caller closes it.
func (s *Server) ServiceConn(ctx context.Context) (*ldap.Conn, error) {
	return s.bind(ctx, s.ServiceDN, s.ServicePassword)
}

func (s *Server) bind(ctx context.Context, dn, password string) (*ldap.Conn, error) {
	conn, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
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

// Apply runs LDIF change records as Directory Manager (see slapd.Server.Apply).
func (s *Server) Apply(ctx context.Context, ldif string) error {
	conn, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return slapd.ApplyLDIF(ctx, conn, ldif)
}

// Stop kills ns-slapd and waits for it to exit. Safe to call more than once.
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
	// SIGKILL, not SIGTERM: the instance is thrown away with its directory, and a clean
	// ns-slapd shutdown takes about 2 s (measured), per instance, in every test run.
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill ns-slapd: %w", err)
	}
	<-s.exited
	return nil
}

// PID is the ns-slapd process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

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

// ssha512 hashes a password in the {SSHA512} scheme 389 DS accepts for nsslapd-rootpw.
func ssha512(password string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	sum := sha512.Sum512(append([]byte(password), salt...))
	return "{SSHA512}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...))
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

const (
	userPrefix   = "user"
	mainGroupCN  = "bench"
	ldapPageSize = 1000
)

// directory is a slapd loaded with generated users u00000… and groups of the first k of them.
type directory struct {
	srv       *slapd.Server
	peopleDN  string
	loadTime  time.Duration // slapadd of the users + start
	groupTime map[string]time.Duration
	groupDNs  map[string]string // by cn, for groups already added
}

// startDirectory slapadds n users offline (fast) and starts slapd; groups are added online
// afterwards (addGroup) because slapadd bypasses the memberof overlay.
func startDirectory(ctx context.Context, dir string, n int) (*directory, error) {
	start := time.Now()
	ldif := filepath.Join(dir, "users.ldif")
	if err := slapd.WriteUsersFile(ldif, slapd.DefaultSuffix, userPrefix, n); err != nil {
		return nil, err
	}
	srv, err := slapd.Start(ctx, filepath.Join(dir, "slapd"), slapd.Options{BulkLDIF: []string{ldif}})
	if err != nil {
		return nil, fmt.Errorf("start slapd with %d users: %w", n, err)
	}
	return &directory{
		srv: srv, peopleDN: "ou=people," + srv.Suffix, loadTime: time.Since(start),
		groupTime: map[string]time.Duration{}, groupDNs: map[string]string{},
	}, nil
}

// addGroup adds group cn with the first members users, or returns its DN if it was added before.
func (d *directory) addGroup(ctx context.Context, cn string, members int) (string, error) {
	if dn, ok := d.groupDNs[cn]; ok {
		return dn, nil
	}
	start := time.Now()
	dn, err := d.srv.AddGeneratedGroup(ctx, cn, userPrefix, members)
	if err != nil {
		return "", fmt.Errorf("add group %s with %d members: %w", cn, members, err)
	}
	d.groupTime[cn] = time.Since(start)
	d.groupDNs[cn] = dn
	return dn, nil
}

// config is the datastore configuration the provider is given (reader account: subject to
// the AD-like size limits, like a real service account).
func (d *directory) config() datastore.Config {
	return datastore.Config{
		URL: d.srv.URL, BindDN: d.srv.ReaderDN, BindPassword: d.srv.ReaderPassword,
		DirectoryType: datastore.DirectoryOpenLDAP, AllowInsecureBind: true, PageSize: ldapPageSize,
	}
}

// changeMail rewrites the mail of every 100th user (1 %) and returns how many changed.
func (d *directory) changeMail(ctx context.Context, n int, round int) (int, error) {
	var b strings.Builder
	changed := 0
	for i := 0; i < n; i += 100 {
		fmt.Fprintf(&b, "dn: %s\nchangetype: modify\nreplace: mail\nmail: %s.r%d@changed.example.com\n-\n\n",
			slapd.UserDN(d.srv.Suffix, userPrefix, i), slapd.UserName(userPrefix, i), round)
		changed++
	}
	if err := d.srv.Apply(ctx, b.String()); err != nil {
		return 0, fmt.Errorf("change mail of 1%% of users: %w", err)
	}
	return changed, nil
}

// anchorAttrs are the attributes the connection maps (plus the username).
var anchorAttrs = []string{"uid", "mail", "givenName", "sn"}

// ldapsearchTime runs `ldapsearch -E pr=1000/noprompt` for the group's members (the memberOf
// back-link: one paged subtree search) and returns its wall time and the entries it printed.
func (d *directory) ldapsearchTime(ctx context.Context, groupDN string) (time.Duration, int, error) {
	args := append([]string{
		"-LLL", "-x", "-H", d.srv.URL, "-D", d.srv.ReaderDN, "-w", d.srv.ReaderPassword,
		"-b", d.peopleDN, "-E", fmt.Sprintf("pr=%d/noprompt", ldapPageSize),
		fmt.Sprintf("(memberOf=%s)", groupDN),
	}, anchorAttrs...)
	cmd := exec.CommandContext(ctx, "ldapsearch", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, fmt.Errorf("ldapsearch: %w", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("ldapsearch: %w", err)
	}
	entries, scanErr := countDNLines(stdout)
	waitErr := cmd.Wait()
	elapsed := time.Since(start)
	if scanErr != nil {
		return 0, 0, fmt.Errorf("read ldapsearch output: %w", scanErr)
	}
	if waitErr != nil {
		return 0, 0, fmt.Errorf("ldapsearch: %w", waitErr)
	}
	return elapsed, entries, nil
}

func countDNLines(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "dn: ") {
			n++
		}
	}
	return n, sc.Err()
}

// goLDAPFloorTime runs exactly ldapsearch's query (same filter, attributes and page size) with
// go-ldap's own SearchWithPaging and nothing else: the Go client's floor, which bounds how close
// any go-ldap reader, the provider's included, can get to the C client.
func (d *directory) goLDAPFloorTime(ctx context.Context, groupDN string) (time.Duration, int, error) {
	start := time.Now()
	conn, err := d.srv.Conn(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("go-ldap connect: %w", err)
	}
	defer func() { _ = conn.Close() }()
	if err := conn.Bind(d.srv.ReaderDN, d.srv.ReaderPassword); err != nil {
		return 0, 0, fmt.Errorf("go-ldap bind: %w", err)
	}
	req := ldap.NewSearchRequest(d.peopleDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		fmt.Sprintf("(memberOf=%s)", ldap.EscapeFilter(groupDN)), anchorAttrs, nil)
	res, err := conn.SearchWithPaging(req, ldapPageSize)
	if err != nil {
		return 0, 0, fmt.Errorf("go-ldap paged search: %w", err)
	}
	return time.Since(start), len(res.Entries), nil
}

// datastoreReadTime does what the provider's refresh does to read the source location:
// datastore.Open + Search with the connection's query, in process.
func (d *directory) datastoreReadTime(ctx context.Context, groupDN string) (time.Duration, int, error) {
	q := datastore.Query{
		BaseDN: d.peopleDN, GroupDN: groupDN, UsernameAttribute: "uid",
		Attributes: []string{"mail", "givenName", "sn"},
	}
	start := time.Now()
	dir, err := datastore.Open(ctx, d.config())
	if err != nil {
		return 0, 0, fmt.Errorf("datastore open: %w", err)
	}
	defer dir.Close()
	entries, err := dir.Search(ctx, q)
	if err != nil {
		return 0, 0, fmt.Errorf("datastore search: %w", err)
	}
	return time.Since(start), len(entries), nil
}

// timed is a repeated timing: the median and the fastest run.
type timed struct {
	Median, Min time.Duration
	Runs        int
	Entries     int
}

// repeatTiming runs f runs times (after one warm-up run, so both readers see a warm slapd cache).
func repeatTiming(runs int, want int, f func() (time.Duration, int, error)) (timed, error) {
	if _, _, err := f(); err != nil {
		return timed{}, err
	}
	var ds []time.Duration
	entries := 0
	for range runs {
		d, n, err := f()
		if err != nil {
			return timed{}, err
		}
		if n != want {
			return timed{}, fmt.Errorf("read %d entries, want %d", n, want)
		}
		ds = append(ds, d)
		entries = n
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return timed{Median: ds[len(ds)/2], Min: ds[0], Runs: runs, Entries: entries}, nil
}

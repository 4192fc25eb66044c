package datastore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"

	"github.com/go-ldap/ldap/v3"
)

// Directory is an open, bound connection. Its methods may be called
// concurrently; cancelling the context of a call closes the connection.
type Directory struct {
	conn *ldap.Conn
	cfg  Config // with defaults applied

	adCheck sync.Once // see requireActiveDirectory
	adErr   error

	pages *PageSizeMemory // the page size in use (Config.PageSizes or the Directory's own)

	memberOfMin int // tests: overrides memberOfMinMembers when > 0
}

// Open dials, secures (ldaps:// or StartTLS, certificates verified unless
// InsecureSkipVerify) and binds: a simple bind when BindDN is set, otherwise
// the connection stays anonymous. ctx and cfg.Timeout bound the whole call.
func Open(ctx context.Context, cfg Config) (*Directory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ep, err := cfg.endpoint()
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	netConn, err := dial(ctx, cfg.URL, ep)
	if err != nil {
		return nil, err
	}
	conn := ldap.NewConn(netConn, ep.ldaps)
	conn.Start()
	conn.SetTimeout(cfg.Timeout)

	// Cancellation or the timeout closes the connection, which unblocks a
	// hanging StartTLS handshake or bind.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	// fail closes the connection and reports err with hint, what to check (not after a timeout
	// or cancellation, which closed the connection itself).
	fail := func(op string, err error, hint string) (*Directory, error) {
		stop()
		_ = conn.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		} else {
			err = withHint(err, hint)
		}
		return nil, newError(op, cfg.URL, err)
	}
	if cfg.StartTLS {
		if err := conn.StartTLS(ep.tls); err != nil {
			return fail(OpTLS, fmt.Errorf("StartTLS: %w", readable(err)), tlsHint(err, ep, cfg.URL))
		}
	}
	if cfg.BindDN != "" {
		if err := conn.Bind(cfg.BindDN, cfg.BindPassword); err != nil {
			err = readable(err)
			hint := bindHint(err)
			if hint == "" && !cfg.StartTLS {
				hint = plainToTLSPortHint(err, ep, cfg.URL)
			}
			return fail(OpBind, fmt.Errorf("simple bind as %q: %w", cfg.BindDN, err), hint)
		}
	}
	if !stop() {
		_ = conn.Close()
		return nil, &Error{Op: OpBind, Target: cfg.URL, Err: ctx.Err()}
	}
	pages := cfg.PageSizes
	if pages == nil {
		pages = &PageSizeMemory{}
	}
	pages.size.CompareAndSwap(0, int64(cfg.PageSize))
	return &Directory{conn: conn, cfg: cfg, pages: pages}, nil
}

// endpoint is where and how Open connects.
type endpoint struct {
	addr  string // host:port
	ldaps bool   // TLS from the first byte (ldaps://)
	tls   *tls.Config
}

func (c Config) endpoint() (endpoint, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return endpoint{}, &ConfigError{Field: "url", Reason: err.Error()}
	}
	ldaps := strings.EqualFold(u.Scheme, "ldaps")
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = ldap.DefaultLdapPort
		if ldaps {
			port = ldap.DefaultLdapsPort
		}
	}
	tlsConfig, err := c.tlsConfig(host)
	if err != nil {
		return endpoint{}, err
	}
	return endpoint{addr: net.JoinHostPort(host, port), ldaps: ldaps, tls: tlsConfig}, nil
}

// dial opens the TCP connection and, for ldaps://, completes the TLS handshake.
func dial(ctx context.Context, target string, ep endpoint) (net.Conn, error) {
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", ep.addr)
	if err != nil {
		return nil, &Error{Op: OpDial, Target: target, Err: err}
	}
	if !ep.ldaps {
		return raw, nil
	}
	tlsConn := tls.Client(raw, ep.tls)
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		if ctx.Err() == nil {
			err = withHint(err, tlsHint(err, ep, target))
		}
		return nil, &Error{Op: OpTLS, Target: target, Err: err}
	}
	return tlsConn, nil
}

// tlsHint explains a failed TLS handshake by its likely cause ("" when it cannot tell): a certificate that does not verify, or a port that does not speak TLS
// at all (the server closes the connection or answers in plain LDAP).
func tlsHint(err error, ep endpoint, target string) string {
	var (
		verifyErr   *tls.CertificateVerificationError
		unknownCA   x509.UnknownAuthorityError
		hostnameErr x509.HostnameError
		invalidErr  x509.CertificateInvalidError
		recordErr   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &hostnameErr):
		return fmt.Sprintf("the server's certificate is not valid for %q: use a host name in url that the certificate names", ep.tls.ServerName)
	case errors.As(err, &verifyErr), errors.As(err, &unknownCA), errors.As(err, &invalidErr):
		return "the server's certificate was not accepted: set ca_certificate to the PEM of the CA that issued it, " +
			"or insecure_skip_verify = true for a test directory only"
	case !ep.ldaps:
		return plainToTLSPortHint(err, ep, target)
	case errors.As(err, &recordErr), connectionDropped(err):
		return fmt.Sprintf("%s did not answer the TLS handshake: it looks like a plain LDAP port, not LDAPS. "+
			"Use url = %q with start_tls = true, or the directory's LDAPS port, usually 636", ep.addr, withScheme(target, "ldap"))
	}
	return ""
}

// plainToTLSPortHint explains a connection that an ldap:// URL (plain LDAP, maybe StartTLS)
// lost on its first request: an LDAPS port drops a client that does not start with TLS.
func plainToTLSPortHint(err error, ep endpoint, target string) string {
	// go-ldap reports its reader loop ending (the server closed the connection) as untyped text.
	lost := connectionDropped(err) || ldap.IsErrorWithCode(err, ldap.ErrorNetwork) ||
		strings.Contains(err.Error(), "unable to read LDAP response packet")
	if ep.ldaps || !lost {
		return ""
	}
	return fmt.Sprintf("%s closed the connection on the first LDAP request: if it is an LDAPS port, use url = %q without start_tls",
		ep.addr, withScheme(target, "ldaps"))
}

// connectionDropped: the peer closed or reset the connection.
func connectionDropped(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// withHint appends a hint for the operator to err, in parentheses.
func withHint(err error, hint string) error {
	if hint == "" {
		return err
	}
	return fmt.Errorf("%w (%s)", err, hint)
}

// withScheme is url target with another scheme.
func withScheme(target, scheme string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	u.Scheme = scheme
	return u.String()
}

func (c Config) tlsConfig(host string) (*tls.Config, error) {
	tc := &tls.Config{
		ServerName:         host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // explicit opt-in (insecure_skip_verify)
	}
	if c.CACertificate != "" {
		pool, err := certPool(c.CACertificate)
		if err != nil {
			return nil, &ConfigError{Field: "ca_certificate", Reason: err.Error()}
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// Close ends the connection.
func (d *Directory) Close() error {
	return d.conn.Close()
}

// withContext runs op and closes the connection if ctx ends first, so that a
// blocked operation returns.
func (d *Directory) withContext(ctx context.Context, op func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = d.conn.Close() })
	err := op()
	if !stop() {
		if err != nil {
			return fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return ctx.Err()
	}
	if err != nil && d.conn.IsClosing() {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// searchPaged runs a paged search and hands every entry to fn. Any
// non-success result, and any continuation reference that is not ignorable,
// fails the whole search: the caller never sees a truncated result as success.
// A first page refused for its size is a *pageSizeRefusal, which
// withPageSizeFallback answers with smaller pages.
func (d *Directory) searchPaged(ctx context.Context, base string, scope int, filter string, attrs []string, fn func(*ldap.Entry) error) error {
	size := d.pageSize(ctx)
	paging := ldap.NewControlPaging(uint32(size))
	req := ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, d.timeLimit(), false,
		filter, attrs, []ldap.Control{paging})
	for first := true; ; first = false {
		res, err := d.search(ctx, req)
		if err != nil {
			e := newError(OpSearch, base, fmt.Errorf("filter %s: %w", abbreviate(filter), err))
			if first && isPageSizeRefusal(err) && ctx.Err() == nil {
				returned := 0
				if res != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
					returned = len(res.Entries)
				}
				return &pageSizeRefusal{size: size, returned: returned, err: e}
			}
			return e
		}
		if refs := d.relevantReferrals(res.Referrals); len(refs) > 0 {
			return &Error{Op: OpSearch, Target: base, Err: fmt.Errorf("%w: part of the scope is on another server: %s",
				ErrReferral, strings.Join(refs, ", "))}
		}
		for _, e := range res.Entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		ctrl, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok || len(ctrl.Cookie) == 0 {
			// No control back: the server ignored paging and, since the result
			// code was success, returned everything.
			return nil
		}
		paging.SetCookie(ctrl.Cookie)
	}
}

// search runs one search request, bounded by ctx.
func (d *Directory) search(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	var res *ldap.SearchResult
	err := d.withContext(ctx, func() error {
		var err error
		res, err = d.conn.Search(req)
		return readable(err)
	})
	return res, err
}

// readEntry reads one entry by DN. A missing entry is ErrNoSuchEntry.
func (d *Directory) readEntry(ctx context.Context, dn string, attrs []string) (*ldap.Entry, error) {
	req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, d.timeLimit(), false,
		"(objectClass=*)", attrs, nil)
	res, err := d.search(ctx, req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, &Error{Op: OpSearch, Target: dn, Code: ldap.LDAPResultNoSuchObject,
			Err: fmt.Errorf("%w (or it is not visible to the bind account): %w", ErrNoSuchEntry, err)}
	}
	if err != nil {
		return nil, newError(OpSearch, dn, err)
	}
	if refs := d.relevantReferrals(res.Referrals); len(refs) > 0 {
		return nil, &Error{Op: OpSearch, Target: dn, Err: fmt.Errorf("%w: %s", ErrReferral, strings.Join(refs, ", "))}
	}
	if len(res.Entries) != 1 {
		return nil, &Error{Op: OpSearch, Target: dn, Err: fmt.Errorf("%w: base search returned %d entries", ErrNoSuchEntry, len(res.Entries))}
	}
	return res.Entries[0], nil
}

func (d *Directory) timeLimit() int {
	secs := int(d.cfg.Timeout.Seconds())
	if secs < 1 {
		secs = 1
	}
	return secs
}

// relevantReferrals drops the continuation references that Active Directory
// returns for its configuration and DNS application partitions when a search
// starts at the domain root: they never hold users. Every other reference
// means entries of the scope live elsewhere, which must fail the read.
func (d *Directory) relevantReferrals(refs []string) []string {
	var out []string
	for _, ref := range refs {
		if d.cfg.DirectoryType == DirectoryActiveDirectory && isADPartitionReferral(ref) {
			continue
		}
		out = append(out, ref)
	}
	return out
}

func isADPartitionReferral(ref string) bool {
	u, err := url.Parse(ref)
	if err != nil {
		return false
	}
	dn, err := ldap.ParseDN(strings.TrimPrefix(u.Path, "/"))
	if err != nil || len(dn.RDNs) == 0 || len(dn.RDNs[0].Attributes) != 1 {
		return false
	}
	first := dn.RDNs[0].Attributes[0]
	switch {
	case strings.EqualFold(first.Type, "CN") && strings.EqualFold(first.Value, "Configuration"),
		strings.EqualFold(first.Type, "DC") && strings.EqualFold(first.Value, "DomainDnsZones"),
		strings.EqualFold(first.Type, "DC") && strings.EqualFold(first.Value, "ForestDnsZones"):
		return true
	}
	return false
}

// abbreviate shortens long filters (batches of 100 names) in error messages.
func abbreviate(filter string) string {
	const limit = 200
	if len(filter) <= limit {
		return filter
	}
	return filter[:limit] + fmt.Sprintf("... (%d bytes)", len(filter))
}

// Root DSE supportedCapabilities of Active Directory (and AD LDS).
const (
	capActiveDirectory    = "1.2.840.113556.1.4.800"
	capActiveDirectoryLDS = "1.2.840.113556.1.4.1851"
)

// requireActiveDirectory checks, once per connection, that the server
// advertises Active Directory before memberOf back-links and the in-chain rule
// are trusted: elsewhere those queries can succeed while matching nothing
// (OpenLDAP answers the unknown in-chain rule with zero entries), which would
// look like every member left.
func (d *Directory) requireActiveDirectory(ctx context.Context) error {
	d.adCheck.Do(func() {
		root, err := d.readEntry(ctx, "", []string{"supportedCapabilities"})
		if err != nil {
			d.adErr = fmt.Errorf("read the root DSE to confirm directory_type %q: %w", DirectoryActiveDirectory, err)
			return
		}
		if a := findAttr(root, "supportedCapabilities"); a != nil {
			for _, v := range a.Values {
				if v == capActiveDirectory || v == capActiveDirectoryLDS {
					return
				}
			}
		}
		d.adErr = fmt.Errorf("%w: directory_type is %q but the server does not advertise Active Directory "+
			"(supportedCapabilities lacks %s), so memberOf and in-chain queries cannot be trusted; use %q or %q",
			ErrNotActiveDirectory, DirectoryActiveDirectory, capActiveDirectory, DirectoryOpenLDAP, DirectoryGeneric)
	})
	return d.adErr
}

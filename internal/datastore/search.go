package datastore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/go-ldap/ldap/v3"
)

// Query selects the users of a source location.
type Query struct {
	BaseDN string // subtree searched for users
	// GroupDN and/or Filter select the users; with both, users must be in the
	// group AND match the filter. At least one is required.
	GroupDN string
	Filter  string
	// Nested includes members of nested groups: Active Directory's in-chain
	// matching rule, recursive expansion elsewhere.
	Nested bool
	// UsernameAttribute defaults to DefaultUsernameAttribute(directory type).
	UsernameAttribute string
	// Attributes are returned in Entry.Attributes (names are case-insensitive).
	Attributes []string
	// DisabledFilter marks the in-scope entries it matches as disabled, on top
	// of the directory type's own markers.
	DisabledFilter string
}

// Batch sizes of OR-filters: large enough to keep round trips few, small
// enough for any server's filter size limits.
const (
	dnBatchSize       = 100
	usernameBatchSize = 100
	// resolveConcurrency is how many batch searches share the connection at once.
	resolveConcurrency = 4
)

// batchSize keeps every batch search within one page. Batch searches share the connection,
// and a directory keeps one paged-search state per connection (OpenLDAP answers "paged
// results cookie is invalid" when two paged searches interleave), so none may need a second page.
func (d *Directory) batchSize(limit int) int {
	return max(1, min(limit, d.cfg.PageSize))
}

// plan is a validated Query.
type plan struct {
	q              Query
	base           *ldap.DN
	filter         string // normalized Filter, or ""
	disabledFilter string // normalized DisabledFilter, or ""
	usernameAttr   string
	attrs          []string // attributes requested for user entries
}

func (d *Directory) prepare(q Query) (*plan, error) {
	p := &plan{q: q, usernameAttr: q.UsernameAttribute}
	var err error
	if strings.TrimSpace(q.BaseDN) == "" {
		return nil, &ConfigError{Field: "base_dn", Reason: "is required"}
	}
	if p.base, err = ldap.ParseDN(q.BaseDN); err != nil || len(p.base.RDNs) == 0 {
		return nil, &ConfigError{Field: "base_dn", Reason: fmt.Sprintf("%q is not a distinguished name", q.BaseDN)}
	}
	if q.GroupDN != "" {
		if g, err := ldap.ParseDN(q.GroupDN); err != nil || len(g.RDNs) == 0 {
			return nil, &ConfigError{Field: "group_dn", Reason: fmt.Sprintf("%q is not a distinguished name", q.GroupDN)}
		}
	}
	if q.GroupDN == "" && strings.TrimSpace(q.Filter) == "" {
		return nil, &ConfigError{Field: "group_dn", Reason: "set group_dn, filter, or both"}
	}
	if p.filter, err = normalizeFilter("filter", q.Filter); err != nil {
		return nil, err
	}
	if p.disabledFilter, err = normalizeFilter("disabled_filter", q.DisabledFilter); err != nil {
		return nil, err
	}
	if p.usernameAttr == "" {
		p.usernameAttr = DefaultUsernameAttribute(d.cfg.DirectoryType)
	}
	if !validAttributeName(p.usernameAttr) {
		return nil, &ConfigError{Field: "username_attribute", Reason: fmt.Sprintf("%q is not an attribute name", p.usernameAttr)}
	}
	for _, a := range q.Attributes {
		if !validAttributeName(a) {
			return nil, &ConfigError{Field: "attributes", Reason: fmt.Sprintf("%q is not an attribute name", a)}
		}
	}
	p.attrs = userAttributes(d.cfg.DirectoryType, p.usernameAttr, q.Attributes)
	return p, nil
}

// userAttributes lists what is read for a user: the username, object classes
// (to recognise groups), the stable ids, the disabled markers and the
// requested attributes. Operational attributes are named explicitly because
// "*" does not return them.
func userAttributes(directoryType, usernameAttr string, extra []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(names ...string) {
		for _, n := range names {
			if !seen[strings.ToLower(n)] {
				seen[strings.ToLower(n)] = true
				out = append(out, n)
			}
		}
	}
	add(usernameAttr, "objectClass", "objectGUID", "entryUUID", "nsUniqueId")
	add(disabledMarkerAttributes(directoryType)...)
	add(extra...)
	return out
}

func normalizeFilter(field, filter string) (string, error) {
	f := strings.TrimSpace(filter)
	if f == "" {
		return "", nil
	}
	if !strings.HasPrefix(f, "(") {
		f = "(" + f + ")"
	}
	if _, err := ldap.CompileFilter(f); err != nil {
		return "", &ConfigError{Field: field, Reason: fmt.Sprintf("%q is not a valid LDAP filter: %v", filter, err)}
	}
	return f, nil
}

// validAttributeName accepts an attribute description (RFC 4512: a name or
// numeric OID, then ;options). Names go into filters unescaped, so anything
// else is rejected.
func validAttributeName(s string) bool {
	parts := strings.Split(s, ";")
	for i, part := range parts {
		if part == "" {
			return false
		}
		isOID := i == 0 && part[0] >= '0' && part[0] <= '9'
		for j, c := range part {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
				if isOID {
					return false
				}
			case c >= '0' && c <= '9':
				if i == 0 && j == 0 && !isOID {
					return false
				}
			case c == '-':
				if isOID || (i == 0 && j == 0) {
					return false
				}
			case c == '.':
				if !isOID || j == 0 || j == len(part)-1 || part[j-1] == '.' {
					return false
				}
			default:
				return false
			}
		}
	}
	return true
}

func and(filters ...string) string {
	var parts []string
	for _, f := range filters {
		if f != "" {
			parts = append(parts, f)
		}
	}
	switch len(parts) {
	case 0:
		return "(objectClass=*)"
	case 1:
		return parts[0]
	}
	return "(&" + strings.Join(parts, "") + ")"
}

// found collects in-scope user entries, once per DN. Entries are converted to the
// compact Entry as they arrive: a *ldap.Entry keeps its whole BER packet alive
// (ByteValues alias the read buffer), about 3 KB per user, which dominated the
// provider's peak memory at 50 000 users.
type found struct {
	entries map[string]Entry // by normalized DN
	// dns is kept only when a disabled filter must be resolved by DN afterwards.
	dns     map[string]*ldap.DN
	keepDNs bool
	convert func(*ldap.Entry) (Entry, error)
}

func (p *plan) newFound(directoryType string) *found {
	return &found{
		entries: map[string]Entry{}, dns: map[string]*ldap.DN{}, keepDNs: p.disabledFilter != "",
		convert: func(e *ldap.Entry) (Entry, error) { return toEntry(e, p.usernameAttr, p.q.Attributes, directoryType) },
	}
}

func (f *found) add(e *ldap.Entry) error {
	dn, err := parseEntryDN(e)
	if err != nil {
		return err
	}
	return f.addParsed(e, dn, normDN(dn))
}

func (f *found) addParsed(e *ldap.Entry, dn *ldap.DN, key string) error {
	if _, ok := f.entries[key]; ok {
		return nil
	}
	entry, err := f.convert(e)
	if err != nil {
		return err
	}
	f.entries[key] = entry
	if f.keepDNs {
		f.dns[key] = dn
	}
	return nil
}

func parseEntryDN(e *ldap.Entry) (*ldap.DN, error) {
	dn, err := ldap.ParseDN(e.DN)
	if err != nil {
		return nil, fmt.Errorf("server returned an unparsable DN %q: %w", e.DN, err)
	}
	return dn, nil
}

// Search returns every user in scope, sorted by lower-cased username. Any
// failure is an error; a partial list is never returned.
func (d *Directory) Search(ctx context.Context, q Query) ([]Entry, error) {
	p, err := d.prepare(q)
	if err != nil {
		return nil, err
	}
	// A wrong base DN must fail even when the group path never searches it.
	if _, err := d.readEntry(ctx, q.BaseDN, []string{"1.1"}); err != nil {
		return nil, fmt.Errorf("base_dn: %w", err)
	}
	users := p.newFound(d.cfg.DirectoryType)
	disabled := map[string]bool{}
	switch {
	case q.GroupDN == "":
		err = d.searchByFilter(ctx, p, users, disabled)
	case d.cfg.DirectoryType == DirectoryActiveDirectory:
		err = d.searchADGroup(ctx, p, users, disabled)
	default:
		err = d.searchExpandedGroup(ctx, p, users, disabled)
	}
	if err != nil {
		return nil, err
	}
	return p.entries(users, disabled)
}

// collectUsers returns a search callback that keeps non-group entries.
func collectUsers(users *found) func(*ldap.Entry) error {
	return func(e *ldap.Entry) error {
		if isGroupEntry(e) {
			return nil
		}
		return users.add(e)
	}
}

func collectDNs(set map[string]bool) func(*ldap.Entry) error {
	return func(e *ldap.Entry) error {
		dn, err := parseEntryDN(e)
		if err != nil {
			return err
		}
		set[normDN(dn)] = true
		return nil
	}
}

// collectResolvedDNs is collectDNs for resolveDNs callbacks.
func collectResolvedDNs(set map[string]bool) resolvedFunc {
	return func(_ *ldap.Entry, _ *ldap.DN, key string) error {
		set[key] = true
		return nil
	}
}

// resolvedFunc receives an entry found by resolveDNs with its parsed DN and key.
type resolvedFunc func(e *ldap.Entry, dn *ldap.DN, key string) error

func (d *Directory) searchByFilter(ctx context.Context, p *plan, users *found, disabled map[string]bool) error {
	if err := d.searchPaged(ctx, p.q.BaseDN, ldap.ScopeWholeSubtree, p.filter, p.attrs, collectUsers(users)); err != nil {
		return err
	}
	if p.disabledFilter == "" {
		return nil
	}
	return d.searchPaged(ctx, p.q.BaseDN, ldap.ScopeWholeSubtree, and(p.filter, p.disabledFilter), []string{"1.1"}, collectDNs(disabled))
}

// searchADGroup uses Active Directory's memberOf back-link: one paged search,
// with the in-chain matching rule for nested membership.
func (d *Directory) searchADGroup(ctx context.Context, p *plan, users *found, disabled map[string]bool) error {
	if err := d.requireActiveDirectory(ctx); err != nil {
		return err
	}
	g, err := d.readEntry(ctx, p.q.GroupDN, []string{"objectClass"})
	if err != nil {
		return fmt.Errorf("group_dn: %w", err)
	}
	if !isGroupEntry(g) {
		return fmt.Errorf("group_dn: %w", notAGroup(g))
	}
	scope := and(MemberOfFilter(g.DN, p.q.Nested), p.filter)
	if err := d.searchPaged(ctx, p.q.BaseDN, ldap.ScopeWholeSubtree, scope, p.attrs, collectUsers(users)); err != nil {
		return err
	}
	if p.disabledFilter == "" {
		return nil
	}
	return d.searchPaged(ctx, p.q.BaseDN, ldap.ScopeWholeSubtree, and(scope, p.disabledFilter), []string{"1.1"}, collectDNs(disabled))
}

// InChainRule is LDAP_MATCHING_RULE_IN_CHAIN (Active Directory): transitive
// evaluation of a DN-valued attribute such as memberOf.
const InChainRule = "1.2.840.113556.1.4.1941"

// MemberOfFilter is the Active Directory filter for members of groupDN:
// direct (memberOf=...) or transitive (memberOf:1.2.840.113556.1.4.1941:=...).
func MemberOfFilter(groupDN string, nested bool) string {
	if nested {
		return "(memberOf:" + InChainRule + ":=" + ldap.EscapeFilter(groupDN) + ")"
	}
	return "(memberOf=" + ldap.EscapeFilter(groupDN) + ")"
}

func notAGroup(e *ldap.Entry) error {
	var classes []string
	if a := findAttr(e, "objectClass"); a != nil {
		classes = a.Values
	}
	return fmt.Errorf("%q is %w (objectClass: %s; want groupOfNames, groupOfUniqueNames, group or posixGroup)",
		e.DN, ErrNotAGroup, strings.Join(classes, ", "))
}

// group is a static group's membership as stored on the group entry.
type group struct {
	dn         string
	memberDNs  []string // member and uniqueMember
	memberUIDs []string // memberUid (RFC 2307 names)
}

func (d *Directory) readGroup(ctx context.Context, dn string) (*group, error) {
	e, err := d.readEntry(ctx, dn, []string{"objectClass", "member", "uniqueMember", "memberUid"})
	if err != nil {
		return nil, err
	}
	if !isGroupEntry(e) {
		return nil, notAGroup(e)
	}
	g := &group{dn: e.DN}
	for _, attr := range []string{"member", "uniqueMember"} {
		values, err := d.rangedValues(ctx, e, attr)
		if err != nil {
			return nil, err
		}
		g.memberDNs = append(g.memberDNs, values...)
	}
	if g.memberUIDs, err = d.rangedValues(ctx, e, "memberUid"); err != nil {
		return nil, err
	}
	return g, nil
}

// rangedValues returns all values of attr on e, following Active Directory
// range retrieval ("member;range=0-1499", then "member;range=1500-*", ...)
// when the server returned only the first range.
func (d *Directory) rangedValues(ctx context.Context, e *ldap.Entry, attr string) ([]string, error) {
	var values []string
	next := -1 // first value of the next range to fetch; -1 = complete
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Name, attr) {
			values = append(values, a.Values...)
			continue
		}
		low, high, last, ok, err := parseRange(a.Name, attr)
		if err != nil {
			return nil, &Error{Op: OpSearch, Target: e.DN, Err: err}
		}
		if !ok {
			continue
		}
		if low != 0 {
			return nil, &Error{Op: OpSearch, Target: e.DN, Err: fmt.Errorf("range retrieval of %s started at %d, not 0", attr, low)}
		}
		values = append(values, a.Values...)
		if !last {
			next = high + 1
		}
	}
	for next >= 0 {
		want := fmt.Sprintf("%s;range=%d-*", attr, next)
		page, err := d.readEntry(ctx, e.DN, []string{want})
		if err != nil {
			return nil, err
		}
		var got *ldap.EntryAttribute
		var low, high int
		var last bool
		for _, a := range page.Attributes {
			l, h, isLast, ok, err := parseRange(a.Name, attr)
			if err != nil {
				return nil, &Error{Op: OpSearch, Target: e.DN, Err: err}
			}
			if ok {
				got, low, high, last = a, l, h, isLast
				break
			}
		}
		if got == nil || low != next {
			return nil, &Error{Op: OpSearch, Target: e.DN, Err: fmt.Errorf("range retrieval of %s: server did not return the range starting at %d", attr, next)}
		}
		values = append(values, got.Values...)
		next = -1
		if !last {
			if high < low {
				return nil, &Error{Op: OpSearch, Target: e.DN, Err: fmt.Errorf("range retrieval of %s made no progress at %d", attr, low)}
			}
			next = high + 1
		}
	}
	return values, nil
}

// searchExpandedGroup reads the group's member lists and resolves them in
// batches (see resolveDNs); with Nested it walks member groups breadth-first,
// skipping groups already seen (cycles) and failing beyond MaxNestingDepth.
func (d *Directory) searchExpandedGroup(ctx context.Context, p *plan, users *found, disabled map[string]bool) error {
	root, err := d.readGroup(ctx, p.q.GroupDN)
	if err != nil {
		return fmt.Errorf("group_dn: %w", err)
	}
	rootDN, err := ldap.ParseDN(root.dn)
	if err != nil {
		return fmt.Errorf("server returned an unparsable DN %q: %w", root.dn, err)
	}
	visitedGroups := map[string]bool{normDN(rootDN): true}
	seen := map[string]bool{} // member DNs already resolved
	names := map[string]string{}

	level := []*group{root}
	for depth := 1; len(level) > 0; depth++ {
		var inBase, outOfBase []dnRef
		for _, g := range level {
			for _, m := range g.memberUIDs {
				if m != "" {
					names[strings.ToLower(m)] = m
				}
			}
			for _, m := range g.memberDNs {
				dn, err := ldap.ParseDN(m)
				if err != nil || len(dn.RDNs) == 0 {
					return fmt.Errorf("group %q has a member value that is not a DN: %q", g.dn, m)
				}
				key := normDN(dn)
				if seen[key] || visitedGroups[key] {
					continue
				}
				seen[key] = true
				ref := dnRef{raw: m, dn: dn, key: key}
				if p.base.EqualFold(dn) || p.base.AncestorOfFold(dn) {
					inBase = append(inBase, ref)
				} else {
					outOfBase = append(outOfBase, ref)
				}
			}
		}

		var subgroups []string
		keep := func(inScope bool) resolvedFunc {
			return func(e *ldap.Entry, dn *ldap.DN, key string) error {
				if isGroupEntry(e) {
					if p.q.Nested && !visitedGroups[key] {
						visitedGroups[key] = true
						subgroups = append(subgroups, e.DN)
					}
					return nil
				}
				if inScope {
					return users.addParsed(e, dn, key)
				}
				return nil
			}
		}
		// In the base: users that match the filter, plus (nested) groups.
		selector := p.filter
		if selector != "" && p.q.Nested {
			selector = "(|" + p.filter + groupClassFilter + ")"
		}
		if inBase, err = d.resolveByMemberOf(ctx, p, level, inBase, selector, keep(true)); err != nil {
			return err
		}
		if err := d.resolveDNs(ctx, inBase, selector, p.attrs, keep(true)); err != nil {
			return err
		}
		// Outside the base only groups matter, and only when nested.
		if p.q.Nested {
			if err := d.resolveDNs(ctx, outOfBase, groupClassFilter, []string{"objectClass"}, keep(false)); err != nil {
				return err
			}
		}
		if len(subgroups) > 0 && depth > MaxNestingDepth {
			return fmt.Errorf("group_dn %q: %w (more than %d levels, e.g. %q)", p.q.GroupDN, ErrNestingTooDeep, MaxNestingDepth, subgroups[0])
		}
		level = level[:0:0]
		for _, dn := range subgroups {
			g, err := d.readGroup(ctx, dn)
			if err != nil {
				return fmt.Errorf("nested group: %w", err)
			}
			level = append(level, g)
		}
	}

	if len(names) > 0 {
		list := make([]string, 0, len(names))
		for _, n := range names {
			list = append(list, n)
		}
		err := d.resolveUsernames(ctx, p.q.BaseDN, p.usernameAttr, list, p.filter, p.attrs, collectUsers(users))
		if err != nil {
			return err
		}
	}

	if p.disabledFilter == "" || len(users.entries) == 0 {
		return nil
	}
	refs := make([]dnRef, 0, len(users.dns))
	for key, dn := range users.dns {
		refs = append(refs, dnRef{raw: users.entries[key].DN, dn: dn, key: key})
	}
	return d.resolveDNs(ctx, refs, p.disabledFilter, []string{"1.1"}, collectResolvedDNs(disabled))
}

// dnRef is a DN as written (raw), parsed, and its normalized key.
type dnRef struct {
	raw string
	dn  *ldap.DN
	key string
}

// resolveDNs looks up many entries by DN without one search per entry: DNs
// are grouped by parent and each batch is a one-level search under the parent
// for (|(rdn1)(rdn2)...), ANDed with selector; returned entries whose DN is not
// in the batch (same RDN value elsewhere is impossible one level down, but a
// server may match RDN values loosely) are ignored. A missing parent means the
// members do not exist (dangling references).
func (d *Directory) resolveDNs(ctx context.Context, refs []dnRef, selector string, attrs []string, fn resolvedFunc) error {
	type batch struct {
		parent string
		refs   []dnRef
	}
	byParent := map[string]*batch{}
	var parents []string
	for _, r := range refs {
		parent := &ldap.DN{RDNs: r.dn.RDNs[1:]}
		key := normDN(parent)
		b, ok := byParent[key]
		if !ok {
			b = &batch{parent: parent.String()}
			byParent[key] = b
			parents = append(parents, key)
		}
		b.refs = append(b.refs, r)
	}
	sort.Strings(parents)

	type job struct {
		parent string
		refs   []dnRef
		found  []resolvedEntry
		err    error
	}
	var jobs []*job
	for _, key := range parents {
		b := byParent[key]
		size := d.batchSize(dnBatchSize)
		for start := 0; start < len(b.refs); start += size {
			jobs = append(jobs, &job{parent: b.parent, refs: b.refs[start:min(start+size, len(b.refs))]})
		}
	}
	// A few batches in flight hide round trips; results are consumed in
	// order afterwards, so fn needs no locking and the outcome is deterministic.
	inParallel(len(jobs), func(i int) {
		j := jobs[i]
		j.found, j.err = d.resolveBatch(ctx, j.parent, j.refs, selector, attrs)
	})
	for _, j := range jobs {
		if j.err != nil {
			return j.err
		}
		for _, r := range j.found {
			if err := fn(r.entry, r.dn, r.key); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolvedEntry is an entry found by resolveBatch.
type resolvedEntry struct {
	entry *ldap.Entry
	dn    *ldap.DN
	key   string
}

// dnIndex tells which of a set of DNs a returned entry is.
type dnIndex struct {
	verbatim map[string]dnRef // by the DN as written
	wanted   map[string]bool  // normalized keys still wanted
}

func newDNIndex(refs []dnRef) dnIndex {
	x := dnIndex{verbatim: make(map[string]dnRef, len(refs)), wanted: make(map[string]bool, len(refs))}
	for _, r := range refs {
		x.wanted[r.key] = true
		if r.raw != "" {
			x.verbatim[r.raw] = r
		}
	}
	return x
}

// match returns the entry's parsed DN and key, and whether the key is still wanted.
// Servers usually return the DN exactly as the member value has it: that is matched
// first, without re-parsing.
func (x dnIndex) match(e *ldap.Entry) (*ldap.DN, string, bool, error) {
	if r, ok := x.verbatim[e.DN]; ok {
		return r.dn, r.key, x.wanted[r.key], nil
	}
	dn, err := parseEntryDN(e)
	if err != nil {
		return nil, "", false, err
	}
	key := normDN(dn)
	return dn, key, x.wanted[key], nil
}

// resolveBatch runs one one-level search under parent for the RDNs of refs.
func (d *Directory) resolveBatch(ctx context.Context, parent string, refs []dnRef, selector string, attrs []string) ([]resolvedEntry, error) {
	var terms strings.Builder
	for _, r := range refs {
		term, err := rdnFilter(r.dn.RDNs[0])
		if err != nil {
			return nil, err
		}
		terms.WriteString(term)
	}
	index := newDNIndex(refs)
	var found []resolvedEntry
	filter := and("(|"+terms.String()+")", selector)
	err := d.searchPaged(ctx, parent, ldap.ScopeSingleLevel, filter, attrs, func(e *ldap.Entry) error {
		e = detach(e)
		dn, key, wanted, err := index.match(e)
		if err != nil {
			return err
		}
		if wanted {
			found = append(found, resolvedEntry{e, dn, key})
		}
		return nil
	})
	var de *Error
	if errors.As(err, &de) && de.Code == ldap.LDAPResultNoSuchObject {
		return nil, nil // the parent does not exist: dangling member DNs
	}
	return found, err
}

// detach copies an entry out of its BER packet: go-ldap's ByteValues alias the
// packet's read buffers (at least 512 bytes per value), so a kept *ldap.Entry
// pins several KB; batches are kept until all of them are done.
func detach(e *ldap.Entry) *ldap.Entry {
	out := &ldap.Entry{DN: e.DN, Attributes: make([]*ldap.EntryAttribute, len(e.Attributes))}
	for i, a := range e.Attributes {
		bv := make([][]byte, len(a.ByteValues))
		for j, v := range a.ByteValues {
			bv[j] = bytes.Clone(v)
		}
		out.Attributes[i] = &ldap.EntryAttribute{Name: a.Name, Values: a.Values, ByteValues: bv}
	}
	return out
}

// rdnFilter turns an RDN into an equality filter; values are escaped, and
// attribute types must be plain names or OIDs, so a member DN cannot alter
// the query.
func rdnFilter(rdn *ldap.RelativeDN) (string, error) {
	var b strings.Builder
	if len(rdn.Attributes) > 1 {
		b.WriteString("(&")
	}
	for _, a := range rdn.Attributes {
		if !validAttributeName(a.Type) || strings.Contains(a.Type, ";") {
			return "", fmt.Errorf("member DN has an invalid attribute type %q", a.Type)
		}
		b.WriteString("(" + a.Type + "=" + ldap.EscapeFilter(a.Value) + ")")
	}
	if len(rdn.Attributes) > 1 {
		b.WriteString(")")
	}
	return b.String(), nil
}

// resolveUsernames finds the entries under base whose usernameAttr is one of
// names (case-insensitively), in batches of OR-filters of escaped values.
func (d *Directory) resolveUsernames(ctx context.Context, base, usernameAttr string, names []string, selector string, attrs []string, fn func(*ldap.Entry) error) error {
	sort.Strings(names)
	type job struct {
		names []string
		found []*ldap.Entry
		err   error
	}
	var jobs []*job
	size := d.batchSize(usernameBatchSize)
	for start := 0; start < len(names); start += size {
		jobs = append(jobs, &job{names: names[start:min(start+size, len(names))]})
	}
	inParallel(len(jobs), func(i int) {
		j := jobs[i]
		want := make(map[string]bool, len(j.names))
		var terms strings.Builder
		for _, n := range j.names {
			want[strings.ToLower(n)] = true
			terms.WriteString("(" + usernameAttr + "=" + ldap.EscapeFilter(n) + ")")
		}
		filter := and("(|"+terms.String()+")", selector)
		j.err = d.searchPaged(ctx, base, ldap.ScopeWholeSubtree, filter, attrs, func(e *ldap.Entry) error {
			// The server may match more loosely (e.g. Unicode normalization).
			if v, ok := firstValue(e, usernameAttr); ok && want[strings.ToLower(v)] {
				j.found = append(j.found, e)
			}
			return nil
		})
	})
	for _, j := range jobs {
		if j.err != nil {
			return j.err
		}
		for _, e := range j.found {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// inParallel runs work(0..n-1) with at most resolveConcurrency calls at once
// and returns when all are done. The calls share the connection: go-ldap
// multiplexes concurrent operations on it.
func inParallel(n int, work func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(resolveConcurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				work(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// entries converts the collected users, rejecting entries without a username
// and usernames that collide case-insensitively.
func (p *plan) entries(users *found, disabled map[string]bool) ([]Entry, error) {
	out := make([]Entry, 0, len(users.entries))
	owner := map[string]string{} // lower username -> DN
	keys := make([]string, 0, len(users.entries))
	for key := range users.entries {
		keys = append(keys, key)
	}
	sort.Strings(keys) // deterministic error messages
	for _, key := range keys {
		entry := users.entries[key]
		if disabled[key] {
			entry.Enabled = false
		}
		lower := strings.ToLower(entry.Username)
		if other, dup := owner[lower]; dup {
			return nil, fmt.Errorf("%w %q: entries %q and %q", ErrDuplicateUsername, entry.Username, other, entry.DN)
		}
		owner[lower] = entry.DN
		out = append(out, entry)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Username) < strings.ToLower(out[j].Username) })
	return out, nil
}

func toEntry(e *ldap.Entry, usernameAttr string, attributes []string, directoryType string) (Entry, error) {
	username, ok := firstValue(e, usernameAttr)
	if !ok || username == "" {
		return Entry{}, fmt.Errorf("entry %q: %w %q", e.DN, ErrMissingUsername, usernameAttr)
	}
	id, err := entryID(e)
	if err != nil {
		return Entry{}, err
	}
	enabled, err := entryEnabled(e, directoryType)
	if err != nil {
		return Entry{}, err
	}
	entry := Entry{DN: e.DN, Username: username, ID: id, Enabled: enabled, Attributes: map[string]string{}}
	for _, name := range attributes {
		v, ok, err := attributeValue(e, name)
		if err != nil {
			return Entry{}, err
		}
		if ok {
			entry.Attributes[name] = v
		}
	}
	return entry, nil
}

// LookupUsers finds users under baseDN by username, for classifying users who
// left the scope (found: out of scope; absent: deleted). The result is keyed
// by strings.ToLower(username); groups are never returned. usernameAttr
// defaults per directory type; disabledFilter works as in Query.
func (d *Directory) LookupUsers(ctx context.Context, baseDN, usernameAttr string, usernames []string, attrs []string, disabledFilter string) (map[string]Entry, error) {
	q := Query{BaseDN: baseDN, Filter: "(objectClass=*)", UsernameAttribute: usernameAttr, Attributes: attrs, DisabledFilter: disabledFilter}
	p, err := d.prepare(q)
	if err != nil {
		return nil, err
	}
	if _, err := d.readEntry(ctx, baseDN, []string{"1.1"}); err != nil {
		return nil, fmt.Errorf("base_dn: %w", err)
	}
	unique := map[string]string{}
	for _, u := range usernames {
		if u != "" {
			unique[strings.ToLower(u)] = u
		}
	}
	names := make([]string, 0, len(unique))
	for _, u := range unique {
		names = append(names, u)
	}
	users := p.newFound(d.cfg.DirectoryType)
	err = d.resolveUsernames(ctx, baseDN, p.usernameAttr, names, "", p.attrs, collectUsers(users))
	if err != nil {
		return nil, err
	}
	disabled := map[string]bool{}
	if p.disabledFilter != "" && len(users.entries) > 0 {
		err := d.resolveUsernames(ctx, baseDN, p.usernameAttr, names, p.disabledFilter, []string{p.usernameAttr}, collectDNs(disabled))
		if err != nil {
			return nil, err
		}
	}
	list, err := p.entries(users, disabled)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Entry, len(list))
	for _, e := range list {
		out[strings.ToLower(e.Username)] = e
	}
	return out, nil
}

// normDN is a case-insensitive canonical form of a DN for map keys.
func normDN(dn *ldap.DN) string {
	var b strings.Builder
	for i, rdn := range dn.RDNs {
		if i > 0 {
			b.WriteByte(',')
		}
		if len(rdn.Attributes) == 1 { // the common case, without the sort
			a := rdn.Attributes[0]
			b.WriteString(strings.ToLower(a.Type))
			b.WriteByte('=')
			b.WriteString(ldap.EscapeDN(strings.ToLower(a.Value)))
			continue
		}
		parts := make([]string, len(rdn.Attributes))
		for j, a := range rdn.Attributes {
			parts[j] = strings.ToLower(a.Type) + "=" + ldap.EscapeDN(strings.ToLower(a.Value))
		}
		sort.Strings(parts)
		b.WriteString(strings.Join(parts, "+"))
	}
	return b.String()
}

package datastore

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Search returns every user in scope, sorted by lower-cased username. Any
// failure is an error; a partial list is never returned. A directory that
// refuses the page size is read again from scratch with smaller pages.
func (d *Directory) Search(ctx context.Context, q Query) ([]Entry, error) {
	entries, _, err := d.SearchWithStats(ctx, q)
	return entries, err
}

// SearchStats describes a Search beyond its result.
type SearchStats struct {
	// MembersOutsideBase counts the members of GroupDN (and, with Nested, of its nested groups)
	// that are not groups and not under BaseDN, so never in scope. Counted where the group's
	// member values are read (not on Active Directory, whose memberOf search under the base
	// cannot see them); without Nested only when the bind account may read them.
	MembersOutsideBase int
}

// SearchWithStats is Search, also returning SearchStats.
func (d *Directory) SearchWithStats(ctx context.Context, q Query) ([]Entry, SearchStats, error) {
	type result struct {
		entries []Entry
		stats   SearchStats
	}
	r, err := withPageSizeFallback(ctx, d, func(ctx context.Context) (result, error) {
		entries, users, err := d.search1(ctx, q)
		if err != nil {
			return result{}, err
		}
		return result{entries, SearchStats{MembersOutsideBase: users.outsideBase}}, nil
	})
	return r.entries, r.stats, err
}

func (d *Directory) search1(ctx context.Context, q Query) ([]Entry, *found, error) {
	p, err := d.prepare(q)
	if err != nil {
		return nil, nil, err
	}
	// A wrong base DN must fail even when the group path never searches it.
	if _, err := d.readEntry(ctx, q.BaseDN, []string{"1.1"}); err != nil {
		return nil, nil, fmt.Errorf("base_dn: %w", err)
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
		return nil, nil, err
	}
	entries, err := p.entries(users, disabled)
	return entries, users, err
}

// LookupUsers finds users under baseDN by username, for classifying users who
// left the scope (found: out of scope; absent: deleted). The result is keyed
// by strings.ToLower(username); groups are never returned. usernameAttr
// defaults per directory type; disabledFilter works as in Query.
func (d *Directory) LookupUsers(ctx context.Context, baseDN, usernameAttr string, usernames []string, attrs []string, disabledFilter string) (map[string]Entry, error) {
	return withPageSizeFallback(ctx, d, func(ctx context.Context) (map[string]Entry, error) {
		return d.lookupUsers(ctx, baseDN, usernameAttr, usernames, attrs, disabledFilter)
	})
}

func (d *Directory) lookupUsers(ctx context.Context, baseDN, usernameAttr string, usernames []string, attrs []string, disabledFilter string) (map[string]Entry, error) {
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
	// outsideBase counts group members that are not groups and not under the base.
	outsideBase int
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

// resolvedFunc receives an entry found by resolveDNs with its parsed DN and key.
type resolvedFunc func(e *ldap.Entry, dn *ldap.DN, key string) error

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

package datastore

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

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
	x := &groupExpansion{
		d: d, p: p, users: users,
		visitedGroups: map[string]bool{normDN(rootDN): true},
		seenMembers:   map[string]bool{},
		memberUIDs:    map[string]string{},
	}
	if err := x.walk(ctx, root); err != nil {
		return err
	}
	if err := x.resolveMemberUIDs(ctx); err != nil {
		return err
	}
	return d.resolveDisabledByDN(ctx, p, users, disabled)
}

// groupExpansion is the state of one searchExpandedGroup walk.
type groupExpansion struct {
	d     *Directory
	p     *plan
	users *found

	visitedGroups map[string]bool   // normalized DNs of the groups expanded or queued
	seenMembers   map[string]bool   // normalized member DNs already resolved
	memberUIDs    map[string]string // memberUid values by lower case, as written
}

// walk expands root level by level: each level's member DNs are resolved, and
// with Nested the member groups found become the next level.
func (x *groupExpansion) walk(ctx context.Context, root *group) error {
	level := []*group{root}
	for depth := 1; len(level) > 0; depth++ {
		inBase, outOfBase, err := x.newMembers(level)
		if err != nil {
			return err
		}
		subgroups, err := x.resolveLevel(ctx, level, inBase, outOfBase)
		if err != nil {
			return err
		}
		if len(subgroups) > 0 && depth > MaxNestingDepth {
			return fmt.Errorf("group_dn %q: %w (more than %d levels, e.g. %q)", x.p.q.GroupDN, ErrNestingTooDeep, MaxNestingDepth, subgroups[0])
		}
		if level, err = x.d.readGroups(ctx, subgroups); err != nil {
			return err
		}
	}
	return nil
}

// newMembers records the level's memberUid names and returns its member DNs not
// seen before, split by whether they are under base_dn.
func (x *groupExpansion) newMembers(level []*group) (inBase, outOfBase []dnRef, err error) {
	for _, g := range level {
		for _, m := range g.memberUIDs {
			if m != "" {
				x.memberUIDs[strings.ToLower(m)] = m
			}
		}
		for _, m := range g.memberDNs {
			dn, err := ldap.ParseDN(m)
			if err != nil || len(dn.RDNs) == 0 {
				return nil, nil, fmt.Errorf("group %q has a member value that is not a DN: %q", g.dn, m)
			}
			key := normDN(dn)
			if x.seenMembers[key] || x.visitedGroups[key] {
				continue
			}
			x.seenMembers[key] = true
			ref := dnRef{raw: m, dn: dn, key: key}
			if x.p.base.EqualFold(dn) || x.p.base.AncestorOfFold(dn) {
				inBase = append(inBase, ref)
			} else {
				outOfBase = append(outOfBase, ref)
			}
		}
	}
	return inBase, outOfBase, nil
}

// resolveLevel resolves one level's new member DNs: in the base, users that
// match the filter (and, when nested, groups); outside it only groups matter,
// and only when nested. It returns the DNs of the member groups not expanded yet.
func (x *groupExpansion) resolveLevel(ctx context.Context, level []*group, inBase, outOfBase []dnRef) ([]string, error) {
	var subgroups []string
	keep := func(inScope bool) resolvedFunc {
		return func(e *ldap.Entry, dn *ldap.DN, key string) error {
			if isGroupEntry(e) {
				if x.p.q.Nested && !x.visitedGroups[key] {
					x.visitedGroups[key] = true
					subgroups = append(subgroups, e.DN)
				}
				return nil
			}
			if inScope {
				return x.users.addParsed(e, dn, key)
			}
			return nil
		}
	}
	selector := x.p.filter
	if selector != "" && x.p.q.Nested {
		selector = "(|" + x.p.filter + groupClassFilter + ")"
	}
	inBase, err := x.d.resolveByMemberOf(ctx, x.p, level, inBase, selector, keep(true))
	if err != nil {
		return nil, err
	}
	if err := x.d.resolveDNs(ctx, inBase, selector, x.p.attrs, keep(true)); err != nil {
		return nil, err
	}
	if len(outOfBase) == 0 {
		return subgroups, nil
	}
	if x.p.q.Nested {
		// Groups outside the base are expanded; the other entries are members never in scope.
		outside := func(e *ldap.Entry, dn *ldap.DN, key string) error {
			if !isGroupEntry(e) {
				x.users.outsideBase++
			}
			return keep(false)(e, dn, key)
		}
		if err := x.d.resolveDNs(ctx, outOfBase, "", []string{"objectClass"}, outside); err != nil {
			return nil, err
		}
		return subgroups, nil
	}
	// Without nesting nothing outside the base is needed; they are only counted for a warning,
	// so an account that may not read there loses the count, never the read.
	count := func(e *ldap.Entry, _ *ldap.DN, _ string) error {
		if !isGroupEntry(e) {
			x.users.outsideBase++
		}
		return nil
	}
	if err := x.d.resolveDNs(ctx, outOfBase, "", []string{"objectClass"}, count); err != nil && ctx.Err() != nil {
		return nil, err
	}
	return subgroups, nil
}

// readGroups reads the member groups found at one level, for the next.
func (d *Directory) readGroups(ctx context.Context, dns []string) ([]*group, error) {
	var groups []*group
	for _, dn := range dns {
		g, err := d.readGroup(ctx, dn)
		if err != nil {
			return nil, fmt.Errorf("nested group: %w", err)
		}
		groups = append(groups, g)
	}
	return groups, nil
}

// resolveMemberUIDs adds the users named by memberUid values (RFC 2307 groups).
func (x *groupExpansion) resolveMemberUIDs(ctx context.Context) error {
	if len(x.memberUIDs) == 0 {
		return nil
	}
	names := make([]string, 0, len(x.memberUIDs))
	for _, n := range x.memberUIDs {
		names = append(names, n)
	}
	return x.d.resolveUsernames(ctx, x.p.q.BaseDN, x.p.usernameAttr, names, x.p.filter, x.p.attrs, collectUsers(x.users))
}

// resolveDisabledByDN marks the collected users that match the disabled filter.
// They are looked up by DN, so only they are read, not every disabled entry under the base.
func (d *Directory) resolveDisabledByDN(ctx context.Context, p *plan, users *found, disabled map[string]bool) error {
	if p.disabledFilter == "" || len(users.entries) == 0 {
		return nil
	}
	refs := make([]dnRef, 0, len(users.dns))
	for key, dn := range users.dns {
		refs = append(refs, dnRef{raw: users.entries[key].DN, dn: dn, key: key})
	}
	return d.resolveDNs(ctx, refs, p.disabledFilter, []string{"1.1"}, collectResolvedDNs(disabled))
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

func notAGroup(e *ldap.Entry) error {
	var classes []string
	if a := findAttr(e, "objectClass"); a != nil {
		classes = a.Values
	}
	return fmt.Errorf("%q is %w (objectClass: %s; want groupOfNames, groupOfUniqueNames, group or posixGroup)",
		e.DN, ErrNotAGroup, strings.Join(classes, ", "))
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
		page, high, last, err := d.readRange(ctx, e.DN, attr, next)
		if err != nil {
			return nil, err
		}
		values = append(values, page...)
		switch {
		case last:
			next = -1
		case high < next:
			return nil, &Error{Op: OpSearch, Target: e.DN, Err: fmt.Errorf("range retrieval of %s made no progress at %d", attr, next)}
		default:
			next = high + 1
		}
	}
	return values, nil
}

// readRange reads the values of attr on dn from index low on ("attr;range=low-*"),
// returning the index of the last value returned and whether it ends the list.
func (d *Directory) readRange(ctx context.Context, dn, attr string, low int) ([]string, int, bool, error) {
	page, err := d.readEntry(ctx, dn, []string{fmt.Sprintf("%s;range=%d-*", attr, low)})
	if err != nil {
		return nil, 0, false, err
	}
	for _, a := range page.Attributes {
		l, h, last, ok, err := parseRange(a.Name, attr)
		if err != nil {
			return nil, 0, false, &Error{Op: OpSearch, Target: dn, Err: err}
		}
		if ok {
			if l != low {
				break
			}
			return a.Values, h, last, nil
		}
	}
	return nil, 0, false, &Error{Op: OpSearch, Target: dn, Err: fmt.Errorf("range retrieval of %s: server did not return the range starting at %d", attr, low)}
}

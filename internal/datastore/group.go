package datastore

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

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

package datastore

import (
	"fmt"
	"strings"

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
	add(DisabledMarkerAttributes(directoryType)...)
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

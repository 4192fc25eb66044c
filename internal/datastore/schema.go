package datastore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrSchemaUnavailable: the bind account cannot read the directory's schema
// (no subschemaSubentry in the root DSE, the subschema entry is not readable,
// or it lists no attribute types). Attribute names are then not checked.
var ErrSchemaUnavailable = errors.New("directory schema not readable")

// Schema is the set of attribute types the directory's subschema entry
// defines (RFC 4512 4.2: the entry the root DSE's subschemaSubentry names:
// cn=Subschema on OpenLDAP, cn=schema on 389 DS, CN=Aggregate,CN=Schema,
// CN=Configuration,<forest> on Active Directory).
type Schema struct {
	// DN is the subschema entry's DN (empty when built by ParseSchema).
	DN string
	// byName maps every lower-cased name, alias and OID to the first name as the
	// schema spells it.
	byName map[string]string
	names  []string // every name and alias, sorted, for suggestions
}

// ReadSchema reads the attribute types of the subschema entry that the root
// DSE names. Failing to read it is ErrSchemaUnavailable (wrapped with the
// reason): callers warn and go on without the check.
func (d *Directory) ReadSchema(ctx context.Context) (*Schema, error) {
	root, err := d.readEntry(ctx, "", []string{"subschemaSubentry"})
	if err != nil {
		return nil, fmt.Errorf("%w: read the root DSE: %w", ErrSchemaUnavailable, err)
	}
	dn, ok := firstValue(root, "subschemaSubentry")
	if !ok || dn == "" {
		return nil, fmt.Errorf("%w: the root DSE names no subschemaSubentry (or the bind account may not read it)", ErrSchemaUnavailable)
	}
	e, err := d.readEntry(ctx, dn, []string{"attributeTypes"})
	if err != nil {
		return nil, fmt.Errorf("%w: read the subschema entry: %w", ErrSchemaUnavailable, err)
	}
	a := findAttr(e, "attributeTypes")
	if a == nil || len(a.Values) == 0 {
		return nil, fmt.Errorf("%w: the subschema entry %q returned no attributeTypes to the bind account", ErrSchemaUnavailable, dn)
	}
	s, err := ParseSchema(a.Values)
	if err != nil {
		return nil, fmt.Errorf("%w: subschema entry %q: %w", ErrSchemaUnavailable, dn, err)
	}
	s.DN = e.DN
	return s, nil
}

// ParseSchema builds a Schema from attributeTypes values (RFC 4512
// AttributeTypeDescription: "( OID NAME 'name' ... )" or "NAME ( 'a' 'b' )").
// Values it cannot parse are skipped; none parsing at all is an error.
func ParseSchema(attributeTypes []string) (*Schema, error) {
	s := &Schema{byName: make(map[string]string, 2*len(attributeTypes))}
	for _, v := range attributeTypes {
		oid, names, ok := parseAttributeType(v)
		if !ok {
			continue
		}
		canonical := oid
		if len(names) > 0 {
			canonical = names[0]
		}
		s.names = append(s.names, names...)
		for _, n := range append(names, oid) {
			if _, dup := s.byName[strings.ToLower(n)]; !dup {
				s.byName[strings.ToLower(n)] = canonical
			}
		}
	}
	if len(s.byName) == 0 {
		return nil, fmt.Errorf("none of %d attributeTypes values parses", len(attributeTypes))
	}
	sort.Strings(s.names)
	return s, nil
}

// parseAttributeType returns the OID and the NAMEs of one description.
func parseAttributeType(v string) (oid string, names []string, ok bool) {
	tokens := schemaTokens(v)
	if len(tokens) < 3 || tokens[0] != "(" || tokens[len(tokens)-1] != ")" {
		return "", nil, false
	}
	oid = strings.Trim(tokens[1], "'")
	if oid == "" || oid == "(" || oid == ")" {
		return "", nil, false
	}
	for i := 2; i < len(tokens); i++ {
		if !strings.EqualFold(tokens[i], "NAME") || i+1 >= len(tokens) {
			continue
		}
		if next := tokens[i+1]; next != "(" {
			return oid, []string{strings.Trim(next, "'")}, true
		}
		for j := i + 2; j < len(tokens) && tokens[j] != ")"; j++ {
			names = append(names, strings.Trim(tokens[j], "'"))
		}
		return oid, names, true
	}
	return oid, nil, true
}

// schemaTokens splits a schema description into parentheses, quoted strings
// (kept with their quotes, so a DESC containing "NAME" is one token) and words.
func schemaTokens(v string) []string {
	var out []string
	for i := 0; i < len(v); {
		switch v[i] {
		case ' ', '\t', '\n', '\r':
			i++
		case '(', ')':
			out = append(out, v[i:i+1])
			i++
		case '\'':
			end := strings.IndexByte(v[i+1:], '\'')
			if end < 0 {
				return append(out, v[i:])
			}
			out = append(out, v[i:i+end+2])
			i += end + 2
		default:
			j := i
			for j < len(v) && !strings.ContainsRune(" \t\n\r()'", rune(v[j])) {
				j++
			}
			out = append(out, v[i:j])
			i = j
		}
	}
	return out
}

// Defines reports whether attr (a name, alias or OID, with or without
// ;options, any case) is an attribute type of the schema.
func (s *Schema) Defines(attr string) bool {
	base, _, _ := strings.Cut(attr, ";")
	_, ok := s.byName[strings.ToLower(base)]
	return ok
}

// Suggest returns the defined name closest to attr when it is close enough to
// be a typo (edit distance with transpositions: 1 for short names, up to 2
// from five characters on), else "".
func (s *Schema) Suggest(attr string) string {
	base, _, _ := strings.Cut(attr, ";")
	want := strings.ToLower(base)
	limit := 1
	if len(want) >= 5 {
		limit = 2
	}
	best, bestDist := "", limit+1
	for _, n := range s.names {
		if d := editDistance(want, strings.ToLower(n), bestDist); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// Check returns a *ConfigError for field when attr is not defined, with a
// "did you mean" when a defined name is close; nil when it is defined.
func (s *Schema) Check(field, attr string) error {
	if s.Defines(attr) {
		return nil
	}
	reason := fmt.Sprintf("%q is not an attribute type in the directory's schema", attr)
	if hint := s.Suggest(attr); hint != "" {
		reason += fmt.Sprintf(" (did you mean %q?)", hint)
	}
	return &ConfigError{Field: field, Reason: reason}
}

// editDistance is the optimal-string-alignment distance of a and b (an
// adjacent transposition costs 1, so "mial" is 1 from "mail"); it stops early
// and returns bound once the distance cannot be below bound.
func editDistance(a, b string, bound int) int {
	if d := len(a) - len(b); d >= bound || -d >= bound {
		return bound
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= bound {
			return bound
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], bound)
}

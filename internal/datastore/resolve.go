package datastore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/sync/errgroup"
)

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
func (d *Directory) batchSize(ctx context.Context, limit int) int {
	return max(1, min(limit, d.pageSize(ctx)))
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
	return searchBatches(d.dnBatches(ctx, refs),
		func(b dnBatch) ([]resolvedEntry, error) {
			return d.resolveBatch(ctx, b.parent, b.refs, selector, attrs)
		},
		func(found []resolvedEntry) error {
			for _, r := range found {
				if err := fn(r.entry, r.dn, r.key); err != nil {
					return err
				}
			}
			return nil
		})
}

// dnBatch is one batch of DNs that share a parent.
type dnBatch struct {
	parent string
	refs   []dnRef
}

// dnBatches groups refs by parent and cuts each group into batches; parents are
// sorted so the searches, and any error, do not depend on map order.
func (d *Directory) dnBatches(ctx context.Context, refs []dnRef) []dnBatch {
	byParent := map[string]*dnBatch{}
	var parents []string
	for _, r := range refs {
		parent := &ldap.DN{RDNs: r.dn.RDNs[1:]}
		key := normDN(parent)
		b, ok := byParent[key]
		if !ok {
			b = &dnBatch{parent: parent.String()}
			byParent[key] = b
			parents = append(parents, key)
		}
		b.refs = append(b.refs, r)
	}
	sort.Strings(parents)
	size := d.batchSize(ctx, dnBatchSize)
	var batches []dnBatch
	for _, key := range parents {
		b := byParent[key]
		for start := 0; start < len(b.refs); start += size {
			batches = append(batches, dnBatch{parent: b.parent, refs: b.refs[start:min(start+size, len(b.refs))]})
		}
	}
	return batches
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

// resolveUsernames finds the entries under base whose usernameAttr is one of
// names (case-insensitively), in batches of OR-filters of escaped values.
func (d *Directory) resolveUsernames(ctx context.Context, base, usernameAttr string, names []string, selector string, attrs []string, fn func(*ldap.Entry) error) error {
	sort.Strings(names)
	var batches [][]string
	size := d.batchSize(ctx, usernameBatchSize)
	for start := 0; start < len(names); start += size {
		batches = append(batches, names[start:min(start+size, len(names))])
	}
	return searchBatches(batches,
		func(batch []string) ([]*ldap.Entry, error) {
			return d.resolveUsernameBatch(ctx, base, usernameAttr, batch, selector, attrs)
		},
		func(found []*ldap.Entry) error {
			for _, e := range found {
				if err := fn(e); err != nil {
					return err
				}
			}
			return nil
		})
}

// resolveUsernameBatch runs one subtree search under base for (|(attr=name1)(attr=name2)...).
func (d *Directory) resolveUsernameBatch(ctx context.Context, base, usernameAttr string, names []string, selector string, attrs []string) ([]*ldap.Entry, error) {
	want := make(map[string]bool, len(names))
	var terms strings.Builder
	for _, n := range names {
		want[strings.ToLower(n)] = true
		terms.WriteString("(" + usernameAttr + "=" + ldap.EscapeFilter(n) + ")")
	}
	var found []*ldap.Entry
	filter := and("(|"+terms.String()+")", selector)
	err := d.searchPaged(ctx, base, ldap.ScopeWholeSubtree, filter, attrs, func(e *ldap.Entry) error {
		// The server may match more loosely (e.g. Unicode normalization).
		if v, ok := firstValue(e, usernameAttr); ok && want[strings.ToLower(v)] {
			found = append(found, e)
		}
		return nil
	})
	return found, err
}

// searchBatches runs search on every batch, at most resolveConcurrency at once
// on the shared connection (go-ldap multiplexes concurrent operations), then
// hands the results to consume in batch order: consume needs no locking, and the
// outcome, including which error is returned, does not depend on timing.
// Not errgroup.WithContext: cancelling a search's context closes the shared
// connection (see withContext), which would fail every other search on it.
func searchBatches[B, R any](batches []B, search func(B) (R, error), consume func(R) error) error {
	results := make([]R, len(batches))
	errs := make([]error, len(batches))
	var g errgroup.Group
	g.SetLimit(resolveConcurrency)
	for i, b := range batches {
		g.Go(func() error {
			results[i], errs[i] = search(b)
			return nil // reported below in batch order, not in the order the searches fail
		})
	}
	_ = g.Wait() // every search returns nil to the group
	for i := range batches {
		if errs[i] != nil {
			return errs[i]
		}
		if err := consume(results[i]); err != nil {
			return err
		}
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

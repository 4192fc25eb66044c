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

func parseEntryDN(e *ldap.Entry) (*ldap.DN, error) {
	dn, err := ldap.ParseDN(e.DN)
	if err != nil {
		return nil, fmt.Errorf("server returned an unparsable DN %q: %w", e.DN, err)
	}
	return dn, nil
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

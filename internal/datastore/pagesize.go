package datastore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/go-ldap/ldap/v3"
)

// PageSizeFloor is the smallest page the page-size fallback tries.
const PageSizeFloor = 10

// fallbackPageSizes are the sizes tried, largest first, after a refusal that
// says nothing about the limit (OpenLDAP's "illegal pagedResults page size").
var fallbackPageSizes = []int{500, 250, 100, 50, 25, PageSizeFloor}

// ErrPageSizeRefused: the directory refused paged searches down to
// PageSizeFloor entries per page (or below the configured page size, if that
// is smaller).
var ErrPageSizeRefused = errors.New("page size refused")

// PageSizeMemory carries the page size a directory accepted from one
// Directory to the next: give every Open of one datastore configuration the
// same memory (Config.PageSizes) and the fallback is paid once per run, not
// once per read. The zero value is ready; it is safe for concurrent use.
type PageSizeMemory struct {
	size   atomic.Int64 // 0: nothing learned yet
	logged atomic.Int64 // the size last logged
}

// PageSize is the page size in use: the configured one until the directory
// refused it, then the one it accepted. 0 before the first Open.
func (m *PageSizeMemory) PageSize() int { return int(m.size.Load()) }

// pageSizeRefusal is the first page of a paged search refused for its size:
// adminLimitExceeded (OpenLDAP size.pr: "illegal pagedResults page size") or
// sizeLimitExceeded (389 DS nsslapd-pagedsizelimit, which ends a page of the
// limit or more after limit entries). Nothing of that search reached the
// caller. Later pages failing are ordinary errors: a total limit, not the
// page size.
type pageSizeRefusal struct {
	size     int // the refused page size
	returned int // entries the server sent before a sizeLimitExceeded
	err      *Error
}

func (r *pageSizeRefusal) Error() string { return r.err.Error() }
func (r *pageSizeRefusal) Unwrap() error { return r.err }

// isPageSizeRefusal reports whether a first page failed in a way a smaller page may fix.
func isPageSizeRefusal(err error) bool {
	return ldap.IsErrorWithCode(err, ldap.LDAPResultAdminLimitExceeded) || ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded)
}

// pageSizeKey carries the page size of one top-level read (see withPageSizeFallback).
type pageSizeKey struct{}

// pageSize is the page size of the read ctx belongs to; one read uses one
// size throughout, so its page-sized batches always fit a page even if a
// concurrent read lowers the shared size.
func (d *Directory) pageSize(ctx context.Context) int {
	if v, ok := ctx.Value(pageSizeKey{}).(int); ok {
		return v
	}
	return max(1, d.pages.PageSize())
}

// withPageSizeFallback runs read with the current page size. When the
// directory refuses that size, read is run again from scratch (nothing of the
// refused attempt is kept) with smaller pages, down to PageSizeFloor; the size
// that worked is logged and kept in the PageSizeMemory for the rest of the run.
// Only when the floor is refused too does it fail, naming datastore.page_size.
func withPageSizeFallback[T any](ctx context.Context, d *Directory, read func(ctx context.Context) (T, error)) (T, error) {
	first := 0
	for {
		size := max(1, d.pages.PageSize())
		if first == 0 {
			first = size
		}
		v, err := read(context.WithValue(ctx, pageSizeKey{}, size))
		var refused *pageSizeRefusal
		if !errors.As(err, &refused) {
			if err == nil && size < d.cfg.PageSize {
				d.logAcceptedPageSize(ctx, size)
			}
			return v, err
		}
		if !d.lowerPageSize(refused) {
			var zero T
			return zero, &Error{Op: OpSearch, Target: refused.err.Target, Code: refused.err.Code, Err: fmt.Errorf(
				"%w: the directory refused paged searches with pages of %d down to %d entries for the bind account (last answer: %w); "+
					"set datastore.page_size to a size its limits allow, or raise them for the bind account "+
					"(OpenLDAP: limits size.pr / size.prtotal; 389 DS: nsslapd-pagedsizelimit / nsPagedSizeLimit)",
				ErrPageSizeRefused, first, refused.size, refused.err.Err)}
		}
	}
}

// lowerPageSize picks the next smaller page size after refused, unless a
// concurrent read already lowered it; false when nothing smaller is left.
func (d *Directory) lowerPageSize(refused *pageSizeRefusal) bool {
	for {
		current := d.pages.size.Load()
		if int(current) < refused.size {
			return true // lowered meanwhile: retry with that
		}
		next := nextPageSize(refused.size, refused.returned)
		if next <= 0 {
			return false
		}
		if d.pages.size.CompareAndSwap(current, int64(next)) {
			return true
		}
	}
}

// nextPageSize is the size to try after size was refused with returned
// entries sent first (sizeLimitExceeded only): just under what came back when
// the server capped the page there (389 DS returns limit entries, and pages
// below limit work), else the next smaller of fallbackPageSizes; 0 below the floor.
func nextPageSize(size, returned int) int {
	if returned > PageSizeFloor && returned < size {
		return returned - 1
	}
	for _, s := range fallbackPageSizes {
		if s < size {
			return s
		}
	}
	return 0
}

// logAcceptedPageSize logs, once per size and memory, the page size the
// directory accepted after refusing the configured one.
func (d *Directory) logAcceptedPageSize(ctx context.Context, size int) {
	if d.cfg.Log == nil || d.pages.logged.Swap(int64(size)) == int64(size) {
		return
	}
	d.cfg.Log(ctx, fmt.Sprintf("the directory refused pages of %d entries for the bind account; pages of %d work and are used for "+
		"the rest of this run (set datastore.page_size = %d to skip the retries)", d.cfg.PageSize, size, size),
		map[string]any{"configured_page_size": d.cfg.PageSize, "page_size": size})
}

package provider

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	gosync "sync"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/sync"
)

// privateSnapshotKey holds the source snapshot taken during refresh. Terraform re-plans every
// resource at apply time and insists that the result equals the saved plan; computing the plan
// from this snapshot (stored with the refreshed state, hence in the plan file) instead of
// re-reading the directory is what makes a saved plan apply exactly what was reviewed.
const privateSnapshotKey = "source_snapshot"

// sourceSnapshot is everything outside Terraform that a plan depends on.
type sourceSnapshot struct {
	// Fingerprint identifies the source location and mapping the snapshot was read with.
	Fingerprint string                        `json:"fingerprint"`
	InScope     []sync.DirectoryUser          `json:"in_scope"`
	OutOfScope  map[string]sync.DirectoryUser `json:"out_of_scope"`
	Existing    map[string]sync.PingIDUser    `json:"existing"`
	// Admins are managed users whose PingID role is ADMIN, found by the refresh.
	Admins map[string]bool `json:"admins"`
}

// sourceSpec is the part of the configuration that decides what is read.
type sourceSpec struct {
	Query                                  datastore.Query
	EmailAttr, FirstNameAttr, LastNameAttr string
	UsernameAttr                           string
}

func (s sourceSpec) fingerprint() string {
	b, _ := json.Marshal(s) // plain structs of strings: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// encodeSnapshot compresses the snapshot: private state is stored in the state file and the
// plan, and directory data compresses about tenfold.
func encodeSnapshot(s *sourceSnapshot) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(s); err != nil {
		return nil, fmt.Errorf("encode source snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress source snapshot: %w", err)
	}
	// Private state values must be JSON.
	return json.Marshal(base64.StdEncoding.EncodeToString(buf.Bytes()))
}

func decodeSnapshot(raw []byte) (*sourceSnapshot, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var b64 string
	if err := json.Unmarshal(raw, &b64); err != nil {
		return nil, fmt.Errorf("decode source snapshot: %w", err)
	}
	gz, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("decode source snapshot: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("decompress source snapshot: %w", err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("decompress source snapshot: %w", err)
	}
	var s sourceSnapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode source snapshot: %w", err)
	}
	return &s, nil
}

// readSource reads the source location and looks up, in the directory and in PingID, the
// users whose fate depends on more than the in-scope list. Any failure is an error: a partial
// read must never look like users leaving.
func readSource(ctx context.Context, data *providerData, spec sourceSpec, prior map[string]sync.Entry, admins map[string]bool) (*sourceSnapshot, error) {
	cfg := data.datastore
	dir, err := datastore.Open(ctx, *cfg)
	if err != nil {
		return nil, err
	}
	defer func() { _ = dir.Close() }()

	entries, err := dir.Search(ctx, spec.Query)
	if err != nil {
		return nil, err
	}
	snap := &sourceSnapshot{
		Fingerprint: spec.fingerprint(),
		InScope:     make([]sync.DirectoryUser, 0, len(entries)),
		OutOfScope:  map[string]sync.DirectoryUser{},
		Existing:    map[string]sync.PingIDUser{},
		Admins:      admins,
	}
	var invalid []string
	for _, e := range entries {
		if err := checkUsername(e.Username); err != nil {
			invalid = append(invalid, fmt.Sprintf("%s: %s", e.DN, err))
			continue
		}
		snap.InScope = append(snap.InScope, spec.directoryUser(e))
	}
	if len(invalid) > 0 {
		return nil, fmt.Errorf("%d directory entries have usernames PingID cannot hold (fix them or narrow the source location): %s",
			len(invalid), strings.Join(limitList(invalid, 20), "; "))
	}

	left, fresh := sync.ScopeDelta(prior, snap.InScope)
	if len(left) > 0 {
		found, err := dir.LookupUsers(ctx, spec.Query.BaseDN, spec.UsernameAttr, left, spec.Query.Attributes, spec.Query.DisabledFilter)
		if err != nil {
			return nil, fmt.Errorf("look up users who left the source location: %w", err)
		}
		for lower, e := range found {
			snap.OutOfScope[lower] = spec.directoryUser(e)
		}
	}

	existing, err := lookupPingIDUsers(ctx, data.client, fresh, data.concurrency)
	if err != nil {
		return nil, err
	}
	for _, u := range existing {
		snap.Existing[sync.FoldUsername(u.UserName)] = pingIDUser(u)
	}
	return snap, nil
}

func (s sourceSpec) attributes() []string {
	var attrs []string
	for _, a := range []string{s.EmailAttr, s.FirstNameAttr, s.LastNameAttr} {
		if a != "" {
			attrs = append(attrs, a)
		}
	}
	return attrs
}

func (s sourceSpec) directoryUser(e datastore.Entry) sync.DirectoryUser {
	value := func(attr string) *string {
		if attr == "" {
			return nil
		}
		v, ok := e.Attributes[attr]
		if !ok {
			return nil
		}
		return &v
	}
	return sync.DirectoryUser{
		Username:  e.Username,
		DN:        e.DN,
		Enabled:   e.Enabled,
		Email:     value(s.EmailAttr),
		FirstName: value(s.FirstNameAttr),
		LastName:  value(s.LastNameAttr),
	}
}

func pingIDUser(u *pingid.User) sync.PingIDUser {
	return sync.PingIDUser{
		Username: u.UserName, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Status: u.Status, Role: u.Role,
	}
}

// lookupPingIDUsers fetches users concurrently; absent users are skipped, any other error fails.
func lookupPingIDUsers(ctx context.Context, client *pingid.Client, usernames []string, workers int) (map[string]*pingid.User, error) {
	out := make(map[string]*pingid.User, len(usernames))
	var mu gosync.Mutex
	err := forEachConcurrently(ctx, usernames, workers, func(ctx context.Context, name string) error {
		u, err := client.GetUser(ctx, name)
		if errors.Is(err, pingid.ErrUserNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		mu.Lock()
		out[name] = u
		mu.Unlock()
		return nil
	})
	return out, err
}

// forEachConcurrently runs fn for every item with at most workers in flight and returns the
// first error; the remaining work is cancelled.
func forEachConcurrently(ctx context.Context, items []string, workers int, fn func(context.Context, string) error) error {
	if workers < 1 {
		workers = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan string)
	var (
		wg       gosync.WaitGroup
		once     gosync.Once
		firstErr error
	)
	for range min(workers, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for item := range work {
				if err := fn(ctx, item); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
feed:
	for _, item := range items {
		select {
		case work <- item:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func limitList(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	out := append([]string(nil), items[:n]...)
	return append(out, fmt.Sprintf("and %d more", len(items)-n))
}

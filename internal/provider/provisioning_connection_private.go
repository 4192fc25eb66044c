// Codecs for what a provisioning connection stores besides its schema attributes: the users map
// (canonical JSON strings) and the private state that carries the source snapshot, the link set
// and the plan kind from refresh and plan to apply.

package provider

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/source"
)

// privateSnapshotKey holds the source snapshot taken during refresh. Terraform re-plans every
// resource at apply time and insists that the result equals the saved plan; computing the plan
// from this snapshot (stored with the refreshed state, hence in the plan file) instead of
// re-reading the directory is what makes a saved plan apply exactly what was reviewed.
const privateSnapshotKey = "source_snapshot"

// encodeSnapshot compresses the snapshot: private state is stored in the state file and the
// plan, and directory data compresses about tenfold.
func encodeSnapshot(s *source.Snapshot) ([]byte, error) {
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

func decodeSnapshot(raw []byte) (*source.Snapshot, error) {
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
	var s source.Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode source snapshot: %w", err)
	}
	return &s, nil
}

// snapshotAdmins returns the administrators recorded by the last refresh.
func snapshotAdmins(ctx context.Context, private interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}) (map[string]bool, diag.Diagnostics) {
	raw, diags := private.GetKey(ctx, privateSnapshotKey)
	snap, err := decodeSnapshot(raw)
	if err != nil || snap == nil {
		return nil, diags
	}
	return snap.Admins, diags
}

// privatePlanKindKey records which kind of plan produced the planned private state: Delete
// applies on_destroy only for a planned destroy, never for the destroy half of a replacement.
const (
	privatePlanKindKey = "plan_kind"
	planKindDestroy    = "destroy"
	planKindApply      = "apply"
)

// privateLinkSetKey carries, from plan to apply, the new users the plan found in PingID, so
// apply links them without first trying adduser.
const privateLinkSetKey = "link_set"

func setLinkSet(ctx context.Context, private interface {
	SetKey(context.Context, string, []byte) diag.Diagnostics
}, links map[string]bool) diag.Diagnostics {
	names := make([]string, 0, len(links))
	for name, ok := range links {
		if ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	raw, err := json.Marshal(names)
	if err != nil {
		var diags diag.Diagnostics
		diags.AddError("Unable to record linked users", err.Error())
		return diags
	}
	return private.SetKey(ctx, privateLinkSetKey, raw)
}

// getLinkSet returns nil when the plan recorded no link set (a plan made by an older
// provider version), so apply falls back to linkCandidates.
func getLinkSet(ctx context.Context, private interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}) (map[string]bool, diag.Diagnostics) {
	raw, diags := private.GetKey(ctx, privateLinkSetKey)
	if len(raw) == 0 || diags.HasError() {
		return nil, diags
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		return nil, diags
	}
	links := make(map[string]bool, len(names))
	for _, n := range names {
		links[n] = true
	}
	return links, diags
}

// linkCandidates marks new users the plan found in PingID: their planned status is PingID's,
// while a user to be created is planned as NOT_ACTIVE. A user created disabled is planned
// SUSPENDED, like a linked user who is (or is about to be) suspended, and is tried as a link
// first. The executor falls back either way (add on "not found", link on "already exists"), so
// this only saves calls.
func linkCandidates(prior, planned map[string]reconcile.Entry) map[string]bool {
	links := map[string]bool{}
	for name, e := range planned {
		if _, ok := prior[name]; !ok && e.Status != reconcile.StatusNotActive {
			links[name] = true
		}
	}
	return links
}

// stateUsers decodes the users map of the prior state. An unreadable map is reported on the
// users attribute, the same way wherever the state is read.
func stateUsers(m types.Map, diags *diag.Diagnostics) (map[string]reconcile.Entry, bool) {
	users, err := decodeUsers(m)
	if err != nil {
		diags.AddAttributeError(path.Root("users"), "Unreadable users in state", err.Error())
		return nil, false
	}
	return users, true
}

func decodeUsers(m types.Map) (map[string]reconcile.Entry, error) {
	if m.IsNull() || m.IsUnknown() {
		return map[string]reconcile.Entry{}, nil
	}
	elems := m.Elements() // copies the map once; never call per key
	values := make(map[string]string, len(elems))
	for name, v := range elems {
		s, ok := v.(types.String)
		if !ok || s.IsNull() || s.IsUnknown() {
			return nil, fmt.Errorf("user %q has no value", name)
		}
		values[name] = s.ValueString()
	}
	return reconcile.ParseUsers(values)
}

func encodeUsers(users map[string]reconcile.Entry) (types.Map, diag.Diagnostics) {
	elems := make(map[string]attr.Value, len(users))
	for name, e := range users {
		elems[name] = types.StringValue(e.JSON())
	}
	return types.MapValue(types.StringType, elems)
}

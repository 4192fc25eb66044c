package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/executor"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/sync"
)

var (
	_ resource.Resource                   = &ProvisioningConnectionResource{}
	_ resource.ResourceWithConfigure      = &ProvisioningConnectionResource{}
	_ resource.ResourceWithImportState    = &ProvisioningConnectionResource{}
	_ resource.ResourceWithModifyPlan     = &ProvisioningConnectionResource{}
	_ resource.ResourceWithValidateConfig = &ProvisioningConnectionResource{}
)

// noPartialRead ends every directory read error: the safety promise users need to hear.
const noPartialRead = "\n\nNo user is provisioned or deprovisioned while the source location cannot be read completely."

const (
	onDestroyRetain       = "retain"
	onDestroyDeprovision  = "deprovision"
	defaultMaxDeprovision = 10
)

// NewProvisioningConnectionResource is the factory for pingid_provisioning_connection.
func NewProvisioningConnectionResource() resource.Resource { return &ProvisioningConnectionResource{} }

// ProvisioningConnectionResource provisions a whole source location into PingID.
type ProvisioningConnectionResource struct {
	data *providerData
}

type connectionModel struct {
	ID                     types.String      `tfsdk:"id"`
	Name                   types.String      `tfsdk:"name"`
	SourceLocation         *sourceLocation   `tfsdk:"source_location"`
	AttributeMapping       *attributeMapping `tfsdk:"attribute_mapping"`
	UserCreate             types.Bool        `tfsdk:"user_create"`
	UserUpdate             types.Bool        `tfsdk:"user_update"`
	UserDisableDelete      types.Bool        `tfsdk:"user_disable_delete"`
	ProvisionDisabledUsers types.Bool        `tfsdk:"provision_disabled_users"`
	RemoveUserAction       types.String      `tfsdk:"remove_user_action"`
	MaxDeprovisions        types.Int64       `tfsdk:"max_deprovisions"`
	OnDestroy              types.String      `tfsdk:"on_destroy"`
	Users                  types.Map         `tfsdk:"users"`
}

type sourceLocation struct {
	BaseDN         types.String `tfsdk:"base_dn"`
	GroupDN        types.String `tfsdk:"group_dn"`
	Filter         types.String `tfsdk:"filter"`
	NestedGroups   types.Bool   `tfsdk:"nested_groups"`
	DisabledFilter types.String `tfsdk:"disabled_filter"`
}

type attributeMapping struct {
	Username  types.String `tfsdk:"username"`
	Email     types.String `tfsdk:"email"`
	FirstName types.String `tfsdk:"first_name"`
	LastName  types.String `tfsdk:"last_name"`
}

func (r *ProvisioningConnectionResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_provisioning_connection"
}

func (r *ProvisioningConnectionResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	flag := func(desc string) schema.BoolAttribute {
		return schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true), MarkdownDescription: desc + " Defaults to `true`, as in the PingID Provisioner."}
	}
	attrName := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, MarkdownDescription: desc, Validators: attributeNameValidators()}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Provisions every user of a source location (a group and/or an LDAP filter in the datastore) into PingID, " +
			"like the PingFederate PingID Provisioner, but reviewed in `terraform plan`. Every refresh reads the directory and PingID; " +
			"the plan lists, in `users`, each user to be provisioned, updated, disabled or deleted, and apply carries out exactly that plan.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Same as `name`.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Name of the connection; the import ID. Changing it replaces the connection (users stay in PingID unless `on_destroy = \"deprovision\"`).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{stringvalidator.LengthBetween(1, 128)},
			},
			"source_location": schema.SingleNestedAttribute{
				Required:            true,
				MarkdownDescription: "Which directory users are provisioned: those under `base_dn` that are members of `group_dn`, match `filter`, or both.",
				Attributes: map[string]schema.Attribute{
					"base_dn":  schema.StringAttribute{Required: true, MarkdownDescription: "Subtree searched for users (and for users who left the group, to tell \"left\" from \"deleted\").", Validators: dnValidators()},
					"group_dn": schema.StringAttribute{Optional: true, MarkdownDescription: "Targeted group. With `filter`, users must be in the group AND match the filter.", Validators: dnValidators()},
					"filter":   schema.StringAttribute{Optional: true, MarkdownDescription: "Targeted LDAP filter, e.g. `(objectClass=user)`.", Validators: []validator.String{ldapFilterValidator{}}},
					"nested_groups": schema.BoolAttribute{
						Optional: true, Computed: true, Default: booldefault.StaticBool(false),
						MarkdownDescription: "Include members of nested groups. Defaults to `false`.",
					},
					"disabled_filter": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Extra LDAP filter marking disabled accounts, for directories with their own scheme (the provider's `directory_type` rules always apply).",
						Validators:          []validator.String{ldapFilterValidator{}},
					},
				},
			},
			"attribute_mapping": schema.SingleNestedAttribute{
				Required:            true,
				MarkdownDescription: "Directory attributes mapped to PingID fields. Only mapped fields are ever written; unmapped ones keep PingID's values.",
				Attributes: map[string]schema.Attribute{
					"username":   schema.StringAttribute{Required: true, MarkdownDescription: "Attribute holding the PingID username, e.g. `sAMAccountName` or `uid`. Existing PingID users are linked by it, case-insensitively.", Validators: attributeNameValidators()},
					"email":      attrName("Attribute for the PingID `email`, e.g. `mail`. Unmapped when unset."),
					"first_name": attrName("Attribute for the PingID first name, e.g. `givenName`. Unmapped when unset."),
					"last_name":  attrName("Attribute for the PingID last name, e.g. `sn`. Unmapped when unset."),
				},
			},
			"user_create":              flag("Create PingID users for directory users who enter the source location (existing PingID users are linked, not created)."),
			"user_update":              flag("Update mapped attributes of managed users when they change in the directory, and re-enable users who come back."),
			"user_disable_delete":      flag("Deprovision users who leave the source location or are disabled or deleted in the directory, with `remove_user_action`."),
			"provision_disabled_users": flag("Create directory users who are disabled as disabled (suspended) PingID users; when `false` they are not created."),
			"remove_user_action": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(executor.RemoveDisable),
				MarkdownDescription: "How users are deprovisioned: `disable` (suspend; the record and devices are kept, and a returning user is re-enabled) or `delete`. Defaults to `disable`.",
				Validators:          []validator.String{stringvalidator.OneOf(executor.RemoveDisable, executor.RemoveDelete)},
			},
			"max_deprovisions": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(defaultMaxDeprovision),
				MarkdownDescription: fmt.Sprintf("Safety brake: a plan that would disable or delete more users than this fails, listing them. "+
					"Raise it for one run after checking the list. `-1` removes the limit. Defaults to `%d`.", defaultMaxDeprovision),
				Validators: []validator.Int64{int64validator.AtLeast(-1)},
			},
			"on_destroy": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(onDestroyRetain),
				MarkdownDescription: "What destroying the connection does: `retain` leaves every user in PingID as is; `deprovision` applies `remove_user_action` to every managed user except those the last refresh found to have the PingID `ADMIN` role (subject to `max_deprovisions`). Defaults to `retain`.",
				Validators:          []validator.String{stringvalidator.OneOf(onDestroyRetain, onDestroyDeprovision)},
			},
			"users": schema.MapAttribute{
				Computed:    true,
				ElementType: types.StringType,
				MarkdownDescription: "Managed users keyed by PingID username. Each value is one canonical JSON object (sorted keys): " +
					"`dn`, `email`, `first_name`, `last_name`, `enabled` (false = disabled by this connection), `status` (PingID status) and " +
					"`source_state` (`in_scope`, `disabled`, `out_of_scope` or `deleted`). Terraform shows a changed value as a structured " +
					"`jsonencode` diff. A map of strings keeps plans linear in the number of users.",
			},
		},
	}
}

func (r *ProvisioningConnectionResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m connectionModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.SourceLocation == nil {
		return
	}
	resp.Diagnostics.Append(validateSourceSelector(m.SourceLocation.GroupDN, m.SourceLocation.Filter, path.Root("source_location").AtName("group_dn"))...)
}

func (r *ProvisioningConnectionResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (m connectionModel) spec() sourceSpec {
	q := datastore.Query{
		BaseDN:            m.SourceLocation.BaseDN.ValueString(),
		GroupDN:           m.SourceLocation.GroupDN.ValueString(),
		Filter:            m.SourceLocation.Filter.ValueString(),
		Nested:            m.SourceLocation.NestedGroups.ValueBool(),
		UsernameAttribute: m.AttributeMapping.Username.ValueString(),
		DisabledFilter:    m.SourceLocation.DisabledFilter.ValueString(),
	}
	s := sourceSpec{
		Query:         q,
		UsernameAttr:  q.UsernameAttribute,
		EmailAttr:     m.AttributeMapping.Email.ValueString(),
		FirstNameAttr: m.AttributeMapping.FirstName.ValueString(),
		LastNameAttr:  m.AttributeMapping.LastName.ValueString(),
	}
	s.Query.Attributes = s.attributes()
	return s
}

func (m connectionModel) options() sync.Options {
	return sync.Options{
		UserCreate:             m.UserCreate.ValueBool(),
		UserUpdate:             m.UserUpdate.ValueBool(),
		UserDisableDelete:      m.UserDisableDelete.ValueBool(),
		ProvisionDisabledUsers: m.ProvisionDisabledUsers.ValueBool(),
		RemoveAction:           sync.RemoveAction(m.RemoveUserAction.ValueString()),
		MaxDeprovisions:        int(m.MaxDeprovisions.ValueInt64()),
		MapEmail:               m.AttributeMapping.Email.ValueString() != "",
		MapFirstName:           m.AttributeMapping.FirstName.ValueString() != "",
		MapLastName:            m.AttributeMapping.LastName.ValueString() != "",
	}
}

// hasSource reports whether the model carries a usable source location (not after import).
func (m connectionModel) hasSource() bool {
	return m.SourceLocation != nil && m.AttributeMapping != nil && known(m.SourceLocation.BaseDN) && known(m.AttributeMapping.Username)
}

func (r *ProvisioningConnectionResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		r.planDestroy(ctx, req, resp)
		return
	}
	var plan connectionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if r.data == nil || !req.Plan.Raw.IsFullyKnown() && !onlyUsersUnknown(plan) {
		// Provider or connection settings depend on values known only after apply: the user
		// list cannot be planned yet.
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("users"), types.MapUnknown(types.StringType))...)
		return
	}
	_, diags := requireDatastore(r.data)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	prior := map[string]sync.Entry{}
	if !req.State.Raw.IsNull() {
		var state connectionModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		var err error
		if prior, err = decodeUsers(state.Users); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("users"), "Unreadable users in state", err.Error())
			return
		}
	}

	spec := plan.spec()
	raw, d := req.Private.GetKey(ctx, privateSnapshotKey)
	resp.Diagnostics.Append(d...)
	snap, err := decodeSnapshot(raw)
	if err != nil {
		tflog.Warn(ctx, "ignoring unreadable source snapshot", map[string]any{"error": err.Error()})
		snap = nil
	}
	var admins map[string]bool
	if snap != nil {
		admins = snap.Admins
	}
	if snap == nil || snap.Fingerprint != spec.fingerprint() {
		// No refresh snapshot for this source location (new connection, import, changed
		// settings): read it now.
		snap, err = readSource(ctx, r.data, spec, prior, admins)
		if err != nil {
			addSourceError(&resp.Diagnostics, "Unable to read the source location", err, spec.Query,
				path.Root("source_location").AtName("base_dn"), path.Root("source_location").AtName("group_dn"), noPartialRead)
			return
		}
	}

	res, err := sync.Plan(sync.Input{
		Prior:       prior,
		PriorAdmins: snap.Admins,
		InScope:     snap.InScope,
		OutOfScope:  snap.OutOfScope,
		Existing:    snap.Existing,
		Options:     plan.options(),
	})
	var threshold *sync.ThresholdError
	if errors.As(err, &threshold) {
		resp.Diagnostics.AddAttributeError(path.Root("max_deprovisions"), "Too many users would be deprovisioned", threshold.Error())
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable to plan provisioning", err.Error())
		return
	}
	users, d := encodeUsers(res.Planned)
	resp.Diagnostics.Append(d...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("users"), users)...)
	resp.Diagnostics.Append(setLinkSet(ctx, resp.Private, res.LinkSet)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privatePlanKindKey, []byte(`"`+planKindApply+`"`))...)
	if resp.Diagnostics.HasError() {
		return
	}
	auditActions(ctx, plan.Name.ValueString(), res.Actions)
	if n := countChanges(res.Actions); n > 0 {
		resp.Diagnostics.AddWarning("PingID provisioning summary",
			fmt.Sprintf("Connection %q: %s.", plan.Name.ValueString(), res.SummaryLine()))
	}
	if len(res.Summary.SkippedAdmins) > 0 {
		resp.Diagnostics.AddWarning("PingID administrators left alone",
			fmt.Sprintf("Connection %q never edits, suspends or deletes users with the PingID ADMIN role: %s.",
				plan.Name.ValueString(), strings.Join(limitList(res.Summary.SkippedAdmins, 50), ", ")))
	}
}

// onlyUsersUnknown reports whether the only unknown value is the computed users map, which is
// what the framework proposes before ModifyPlan fills it.
func onlyUsersUnknown(m connectionModel) bool {
	if m.SourceLocation == nil || m.AttributeMapping == nil {
		return false
	}
	for _, v := range []attr.Value{
		m.Name, m.SourceLocation.BaseDN, m.SourceLocation.GroupDN, m.SourceLocation.Filter, m.SourceLocation.NestedGroups,
		m.SourceLocation.DisabledFilter, m.AttributeMapping.Username, m.AttributeMapping.Email, m.AttributeMapping.FirstName,
		m.AttributeMapping.LastName, m.UserCreate, m.UserUpdate, m.UserDisableDelete, m.ProvisionDisabledUsers,
		m.RemoveUserAction, m.MaxDeprovisions, m.OnDestroy,
	} {
		if v.IsUnknown() {
			return false
		}
	}
	return true
}

func (r *ProvisioningConnectionResource) planDestroy(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privatePlanKindKey, []byte(`"`+planKindDestroy+`"`))...)
	var state connectionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || state.OnDestroy.ValueString() != onDestroyDeprovision {
		return
	}
	prior, err := decodeUsers(state.Users)
	if err != nil {
		resp.Diagnostics.AddError("Unreadable users in state", err.Error())
		return
	}
	admins, d := snapshotAdmins(ctx, req.Private)
	resp.Diagnostics.Append(d...)
	actions, tooMany := destroyActions(state, prior, admins)
	if tooMany != nil {
		resp.Diagnostics.AddAttributeError(path.Root("max_deprovisions"), "Too many users would be deprovisioned", tooMany.Error())
		return
	}
	if len(actions) > 0 {
		resp.Diagnostics.AddWarning("PingID users will be deprovisioned",
			fmt.Sprintf("Destroying connection %q with on_destroy = \"deprovision\" will %s %d users.", state.Name.ValueString(), state.RemoveUserAction.ValueString(), len(actions)))
	}
}

// destroyActions lists the users on_destroy = "deprovision" acts on: every managed user for
// delete, the ones not yet disabled for disable, and the threshold error when they are more
// than max_deprovisions. Users the last refresh found to be PingID administrators are never touched.
func destroyActions(state connectionModel, prior map[string]sync.Entry, admins map[string]bool) ([]sync.Action, *sync.ThresholdError) {
	removeAction := state.RemoveUserAction.ValueString()
	var actions []sync.Action
	for name, e := range prior {
		if admins[sync.FoldUsername(name)] {
			continue
		}
		if removeAction == executor.RemoveDelete {
			actions = append(actions, sync.Action{Username: name, Kind: sync.KindDelete, Reason: "connection destroyed", Prior: &e})
		} else if e.Enabled {
			planned := e
			planned.Enabled = false
			actions = append(actions, sync.Action{Username: name, Kind: sync.KindDisable, Reason: "connection destroyed", Prior: &e, Planned: &planned})
		}
	}
	sort.Slice(actions, func(i, j int) bool { return actions[i].Username < actions[j].Username })
	if limit := int(state.MaxDeprovisions.ValueInt64()); limit >= 0 && len(actions) > limit {
		return actions, &sync.ThresholdError{Max: limit, Users: actions}
	}
	return actions, nil
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

func (r *ProvisioningConnectionResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan connectionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.ID = plan.Name
	// The framework does not hand the planned private state to Create, so new users the plan
	// found in PingID are recognised by their planned status (see linkCandidates).
	if r.apply(ctx, map[string]sync.Entry{}, nil, &plan, &resp.Diagnostics) {
		// Terraform taints a resource whose create reported errors and replaces it on the
		// next apply; Delete recognises a replacement and leaves the users alone.
		resp.Diagnostics.AddWarning("Connection created with failures",
			"Terraform marks this connection as tainted. Run `terraform untaint` on it so the next plan shows only the remaining users; "+
				"if it is replaced instead, its users are kept in PingID and linked again (on_destroy is not applied when a connection is replaced).")
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *ProvisioningConnectionResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state connectionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	prior, err := decodeUsers(state.Users)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("users"), "Unreadable users in state", err.Error())
		return
	}
	links, d := getLinkSet(ctx, req.Private)
	resp.Diagnostics.Append(d...)
	plan.ID = state.ID
	r.apply(ctx, prior, links, &plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// apply carries out exactly the difference between the prior and the planned users; nothing
// is re-read that could change the outcome. On partial failure plan.Users is set to what was
// actually done, and the failures are reported, so the next plan shows only the rest.
func (r *ProvisioningConnectionResource) apply(ctx context.Context, prior map[string]sync.Entry, links map[string]bool, plan *connectionModel, diags *diag.Diagnostics) (partial bool) {
	if !requireConfigured(r.data != nil, diags) {
		return false
	}
	planned, err := decodeUsers(plan.Users)
	if err != nil {
		diags.AddAttributeError(path.Root("users"), "Unreadable planned users", err.Error())
		return false
	}
	if links == nil {
		links = linkCandidates(prior, planned)
	}
	actions := sync.Diff(prior, planned, links)
	opts := plan.options()
	results := executor.Run(ctx, r.data.client, actions, executor.Options{
		Concurrency: r.data.concurrency, MapEmail: opts.MapEmail, MapFirstName: opts.MapFirstName, MapLastName: opts.MapLastName,
	})
	done := make(map[string]sync.Entry, len(planned))
	for k, v := range prior {
		done[k] = v
	}
	var failures []string
	for _, res := range results {
		auditResult(ctx, plan.Name.ValueString(), res)
		if res.Err != nil {
			failures = append(failures, fmt.Sprintf("%s (%s): %s", res.Action.Username, res.Action.Kind, res.Err))
			continue
		}
		if res.Action.Planned == nil {
			delete(done, res.Action.Username)
		} else {
			done[res.Action.Username] = *res.Action.Planned
		}
	}
	if len(failures) == 0 {
		return false // plan.Users already equals what was done
	}
	users, d := encodeUsers(done)
	diags.Append(d...)
	plan.Users = users
	diags.AddError("Some PingID user changes failed",
		fmt.Sprintf("%d of %d user changes failed; the state records the %d that succeeded, so the next plan shows only what is left.\n\n%s",
			len(failures), len(actions), len(actions)-len(failures), strings.Join(limitList(failures, 50), "\n")))
	return true
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
// while a user to be created is planned as NOT_ACTIVE. The executor falls back either way
// (add on "not found", link on "already exists"), so this only saves calls.
func linkCandidates(prior, planned map[string]sync.Entry) map[string]bool {
	links := map[string]bool{}
	for name, e := range planned {
		if _, ok := prior[name]; !ok && e.Status != sync.StatusNotActive {
			links[name] = true
		}
	}
	return links
}

func (r *ProvisioningConnectionResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state connectionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !requireConfigured(r.data != nil, &resp.Diagnostics) {
		return
	}
	prior, err := decodeUsers(state.Users)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("users"), "Unreadable users in state", err.Error())
		return
	}
	refreshed, admins, err := refreshUsers(ctx, r.data, prior)
	if err != nil {
		resp.Diagnostics.AddError("Unable to refresh PingID users", err.Error())
		return
	}
	users, d := encodeUsers(refreshed)
	resp.Diagnostics.Append(d...)
	state.Users = users
	if state.ID.IsNull() {
		state.ID = state.Name
	}

	if state.hasSource() && r.data.datastore != nil {
		spec := state.spec()
		snap, err := readSource(ctx, r.data, spec, refreshed, admins)
		if err != nil {
			addSourceError(&resp.Diagnostics, "Unable to read the source location", err, spec.Query,
				path.Root("source_location").AtName("base_dn"), path.Root("source_location").AtName("group_dn"), noPartialRead)
			return
		}
		raw, err := encodeSnapshot(snap)
		if err != nil {
			resp.Diagnostics.AddError("Unable to store the source snapshot", err.Error())
			return
		}
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateSnapshotKey, raw)...)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// refreshUsers reads every managed user from PingID: changed attributes and status are
// recorded (drift), users deleted in PingID leave the map so the plan re-creates them if
// they are still in scope.
func refreshUsers(ctx context.Context, data *providerData, prior map[string]sync.Entry) (map[string]sync.Entry, map[string]bool, error) {
	names := make([]string, 0, len(prior))
	for name := range prior {
		names = append(names, name)
	}
	sort.Strings(names)
	found, err := lookupPingIDUsers(ctx, data.client, names, data.concurrency)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]sync.Entry, len(found))
	admins := map[string]bool{}
	for name, e := range prior {
		u, ok := found[name]
		if !ok {
			tflog.Info(ctx, "managed user no longer exists in PingID", map[string]any{"username": name})
			continue
		}
		out[name] = sync.Refreshed(e, pingIDUser(u))
		if u.Role == sync.RoleAdmin {
			admins[sync.FoldUsername(name)] = true
		}
	}
	return out, admins, nil
}

func (r *ProvisioningConnectionResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state connectionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || state.OnDestroy.ValueString() != onDestroyDeprovision {
		return
	}
	if !requireConfigured(r.data != nil, &resp.Diagnostics) {
		return
	}
	prior, err := decodeUsers(state.Users)
	if err != nil {
		resp.Diagnostics.AddError("Unreadable users in state", err.Error())
		return
	}
	kind, d := req.Private.GetKey(ctx, privatePlanKindKey)
	resp.Diagnostics.Append(d...)
	if string(kind) != `"`+planKindDestroy+`"` {
		// The destroy half of a replacement (a changed name, or a connection tainted by a
		// partially failed create): the new connection takes the same users over, so
		// deprovisioning them first would only lock people out (and lose their devices with
		// "delete"). Terraform does not plan this half, so the planned private state of the
		// create half is what arrives here.
		resp.Diagnostics.AddWarning("Users retained",
			fmt.Sprintf("Connection %q is being replaced, not destroyed: its users stay in PingID for the new connection, and on_destroy = \"deprovision\" is not applied.", state.Name.ValueString()))
		return
	}
	admins, d := snapshotAdmins(ctx, req.Private)
	resp.Diagnostics.Append(d...)
	actions, tooMany := destroyActions(state, prior, admins)
	// Checked here too, not only in the destroy plan: Terraform does not plan the destroy
	// half of a replacement.
	if tooMany != nil {
		resp.Diagnostics.AddError("Too many users would be deprovisioned", tooMany.Error())
		return
	}
	results := executor.Run(ctx, r.data.client, actions, executor.Options{Concurrency: r.data.concurrency})
	var failures []string
	for _, res := range results {
		auditResult(ctx, state.Name.ValueString(), res)
		if res.Err != nil {
			failures = append(failures, fmt.Sprintf("%s: %s", res.Action.Username, res.Err))
		}
	}
	if len(failures) > 0 {
		resp.Diagnostics.AddError("Some users could not be deprovisioned",
			fmt.Sprintf("%d of %d failed; the connection stays in state so destroy can be retried.\n\n%s",
				len(failures), len(actions), strings.Join(limitList(failures, 50), "\n")))
	}
}

func (r *ProvisioningConnectionResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if strings.TrimSpace(req.ID) == "" {
		resp.Diagnostics.AddError("Invalid import ID", "Expected the connection name, e.g. terraform import pingid_provisioning_connection.corp corp-ad.")
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("users"), types.MapValueMust(types.StringType, map[string]attr.Value{}))...)
}

func decodeUsers(m types.Map) (map[string]sync.Entry, error) {
	if m.IsNull() || m.IsUnknown() {
		return map[string]sync.Entry{}, nil
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
	return sync.ParseUsers(values)
}

func encodeUsers(users map[string]sync.Entry) (types.Map, diag.Diagnostics) {
	elems := make(map[string]attr.Value, len(users))
	for name, e := range users {
		elems[name] = types.StringValue(e.JSON())
	}
	return types.MapValue(types.StringType, elems)
}

func countChanges(actions []sync.Action) int {
	n := 0
	for _, a := range actions {
		if a.Kind != sync.KindStateOnly {
			n++
		}
	}
	return n
}

// auditActions writes one structured line per planned user action: the audit trail of what
// a plan proposes, at INFO so TF_LOG=INFO captures it.
func auditActions(ctx context.Context, connection string, actions []sync.Action) {
	for _, a := range actions {
		tflog.Info(ctx, "planned user action", map[string]any{
			"connection": connection, "username": a.Username, "action": string(a.Kind), "reason": a.Reason,
		})
	}
}

func auditResult(ctx context.Context, connection string, res executor.Result) {
	fields := map[string]any{
		"connection": connection, "username": res.Action.Username, "action": string(res.Action.Kind), "reason": res.Action.Reason,
		"success": res.Err == nil,
	}
	if res.Err != nil {
		fields["error"] = res.Err.Error()
		tflog.Warn(ctx, "user action failed", fields)
		return
	}
	tflog.Info(ctx, "user action applied", fields)
}

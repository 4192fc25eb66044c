package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

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
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/progress"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/source"
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
	// defaultMaxDeprovisionPercent is the share Okta's import safeguard uses.
	defaultMaxDeprovisionPercent = 20

	driftFull          = "full"
	driftRolling       = "rolling"
	defaultDriftWindow = 24 * time.Hour
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
	// Null (unset, and in state written before these settings existed) means the default:
	// giving them a schema Default would plan a change on every existing connection.
	MaxDeprovisionsPercent   types.Float64 `tfsdk:"max_deprovisions_percent"`
	ReactivateSuspendedUsers types.Bool    `tfsdk:"reactivate_suspended_users"`
	OnDestroy                types.String  `tfsdk:"on_destroy"`
	ManageDevices            types.String  `tfsdk:"manage_devices"`
	PrimaryDeviceOnCreate    types.String  `tfsdk:"primary_device_on_create"`
	DriftDetection           types.String  `tfsdk:"drift_detection"`
	DriftDetectionWindow     types.String  `tfsdk:"drift_detection_window"`
	Users                    types.Map     `tfsdk:"users"`
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
	MFAEmail1 types.String `tfsdk:"mfa_email_1"`
	MFAEmail2 types.String `tfsdk:"mfa_email_2"`
	MFAEmail3 types.String `tfsdk:"mfa_email_3"`
	MFASMS1   types.String `tfsdk:"mfa_sms_1"`
	MFASMS2   types.String `tfsdk:"mfa_sms_2"`
	MFASMS3   types.String `tfsdk:"mfa_sms_3"`
	MFAVoice1 types.String `tfsdk:"mfa_voice_1"`
	MFAVoice2 types.String `tfsdk:"mfa_voice_2"`
	MFAVoice3 types.String `tfsdk:"mfa_voice_3"`
}

// directoryAttributes are the mapped directory attribute names and their settings.
func (m *attributeMapping) directoryAttributes() []directoryAttribute {
	if m == nil {
		return nil
	}
	at := path.Root("attribute_mapping")
	attrs := []directoryAttribute{
		{at.AtName("username"), m.Username.ValueString()},
		{at.AtName("email"), m.Email.ValueString()},
		{at.AtName("first_name"), m.FirstName.ValueString()},
		{at.AtName("last_name"), m.LastName.ValueString()},
	}
	// A misspelt device attribute would read as empty for every user, and a removed value
	// unpairs the slot's device: these are checked like the rest.
	for i, a := range m.deviceAttrs() {
		attrs = append(attrs, directoryAttribute{at.AtName(reconcile.Slot(i).Name()), a})
	}
	return attrs
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
				MarkdownDescription: "Name of the connection; the import ID. Changing it replaces the connection: the new one links the same users and the old one's `on_destroy` is not applied.",
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
			"max_deprovisions_percent": schema.Float64Attribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("Second safety brake, for small tenants where `max_deprovisions` is a large share: a plan that would disable or delete more than "+
					"this percentage of the users the connection manages (its users plus the existing PingID users it is about to link) fails, listing them. "+
					"The share is rounded down (20 %% of 12 users allows 2), but allows at least one user unless it is `0`. Both brakes apply, also to `on_destroy = \"deprovision\"`. "+
					"`-1` removes the limit; otherwise between `0` and `100`. Defaults to `%d` (the share Okta's import safeguard uses).", defaultMaxDeprovisionPercent),
				Validators: []validator.Float64{percentValidator{}},
			},
			"reactivate_suspended_users": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "What happens to a user this connection manages as enabled (or is about to link) whom PingID reports `SUSPENDED`, i.e. who was suspended outside Terraform " +
					"(by a PingID administrator, for a lost phone or a suspicious login): `false` leaves the user suspended and lists such users in one plan warning; " +
					"`true` re-activates them as the directory says, each counted as an enable with the reason \"suspended outside Terraform\". " +
					"Users this connection suspended itself (it records them with `enabled = false`) are re-enabled when they return either way. Defaults to `false`.",
			},
			"on_destroy": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(onDestroyRetain),
				MarkdownDescription: "What destroying the connection does: `retain` leaves every user in PingID as is; `deprovision` applies `remove_user_action` to every managed user except those the last refresh found to have the PingID `ADMIN` role (subject to `max_deprovisions` and `max_deprovisions_percent`). Defaults to `retain`.",
				Validators:          []validator.String{stringvalidator.OneOf(onDestroyRetain, onDestroyDeprovision)},
			},
			"drift_detection": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "How a refresh looks for changes made directly in PingID (drift). `full` (the default when unset) reads every " +
					"managed user on every refresh. `rolling` reads only the users the plan may act on (new in scope, changed in the directory, " +
					"leaving, to be deprovisioned or re-enabled) plus a rotating share of the others, so that each managed user is read at " +
					"least once per `drift_detection_window`; the others keep the values of their last read. A change made directly in " +
					"PingID then shows up within the window instead of on the next plan. Writes stay exact either way: an update reads the " +
					"user before writing it, and a saved plan applies what was reviewed.",
				Validators: []validator.String{stringvalidator.OneOf(driftFull, driftRolling)},
			},
			"drift_detection_window": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "With `drift_detection = \"rolling\"`: the longest time a managed user goes without being read from " +
					"PingID, as a Go duration (`24h`, `90m`). Defaults to `24h`. Only valid with `drift_detection = \"rolling\"`.",
				Validators: []validator.String{durationValidator{}},
			},
			"users": schema.MapAttribute{
				Computed:    true,
				ElementType: types.StringType,
				MarkdownDescription: "Managed users keyed by PingID username. Each value is one canonical JSON object (sorted keys): " +
					"`dn`, `email` (absent when the user has none), `first_name`, `last_name`, `enabled` (false = disabled: by this connection, or, when `source_state` is `in_scope` " +
					"and `status` is `SUSPENDED`, by someone in PingID), `status` (PingID status: what the last read returned, and `SUSPENDED` for a planned suspension) and " +
					"`source_state` (`in_scope`, `disabled`, `out_of_scope` or `deleted`); with `manage_devices` other than `none` also " +
					"`devices`, an object from slot to value (`{\"mfa_sms_1\":\"+15550102030\"}`, the devices PingID has under the " +
					"managed nicknames), and with `overwrite` `other_devices`, the sorted list of the user's other devices " +
					"(`\"iPhone: iPhone of eva\"`), planned as `[]` where they will be unpaired. Terraform shows a changed value as a " +
					"structured `jsonencode` diff. A map of strings keeps plans linear in the number of users.",
			},
		},
	}
	for name, a := range deviceSettingAttributes() {
		resp.Schema.Attributes[name] = a
	}
	if mapping, ok := resp.Schema.Attributes["attribute_mapping"].(schema.SingleNestedAttribute); ok {
		for name, a := range deviceMappingAttributes() {
			mapping.Attributes[name] = a
		}
	}
}

func (r *ProvisioningConnectionResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m connectionModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.SourceLocation == nil {
		return
	}
	resp.Diagnostics.Append(validateSourceSelector(m.SourceLocation.GroupDN, m.SourceLocation.Filter, path.Root("source_location").AtName("group_dn"))...)
	validateDeviceSettings(m, &resp.Diagnostics)
	if !m.DriftDetectionWindow.IsNull() && !m.DriftDetection.IsUnknown() && m.DriftDetection.ValueString() != driftRolling {
		resp.Diagnostics.AddAttributeError(path.Root("drift_detection_window"), "drift_detection_window needs rolling drift detection",
			"drift_detection_window only applies with drift_detection = \"rolling\"; with full drift detection (the default) every refresh "+
				"reads every managed user. Set drift_detection = \"rolling\" or remove drift_detection_window.")
	}
}

func (r *ProvisioningConnectionResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (m connectionModel) spec() source.Spec {
	q := datastore.Query{
		BaseDN:            m.SourceLocation.BaseDN.ValueString(),
		GroupDN:           m.SourceLocation.GroupDN.ValueString(),
		Filter:            m.SourceLocation.Filter.ValueString(),
		Nested:            m.SourceLocation.NestedGroups.ValueBool(),
		UsernameAttribute: m.AttributeMapping.Username.ValueString(),
		DisabledFilter:    m.SourceLocation.DisabledFilter.ValueString(),
	}
	s := source.Spec{
		Query:         q,
		UsernameAttr:  q.UsernameAttribute,
		EmailAttr:     m.AttributeMapping.Email.ValueString(),
		FirstNameAttr: m.AttributeMapping.FirstName.ValueString(),
		LastNameAttr:  m.AttributeMapping.LastName.ValueString(),
	}
	if m.deviceMode() != reconcile.DevicesNone {
		s.DeviceAttrs = m.AttributeMapping.deviceAttrs()
	}
	s.Query.Attributes = s.MappedAttributes()
	return s
}

// gatherer reads this provider's directory and PingID (Refresh needs no datastore; Read does).
func (r *ProvisioningConnectionResource) gatherer(name string) source.Gatherer {
	g := source.Gatherer{PingID: r.data.client, Concurrency: r.data.fanoutWorkers(), Progress: r.progress(name)}
	if r.data.datastore != nil {
		g.Datastore = *r.data.datastore
	}
	return g
}

// progress reports this connection's long PingID work in the log.
func (r *ProvisioningConnectionResource) progress(name string) progress.Reporter {
	return progress.Reporter{Client: r.data.client, Label: fmt.Sprintf("pingid_provisioning_connection %q", name)}
}

func (m connectionModel) options() reconcile.Options {
	o := reconcile.Options{
		UserCreate:               m.UserCreate.ValueBool(),
		UserUpdate:               m.UserUpdate.ValueBool(),
		UserDisableDelete:        m.UserDisableDelete.ValueBool(),
		ProvisionDisabledUsers:   m.ProvisionDisabledUsers.ValueBool(),
		RemoveAction:             reconcile.RemoveAction(m.RemoveUserAction.ValueString()),
		MaxDeprovisions:          int(m.MaxDeprovisions.ValueInt64()),
		MaxDeprovisionsPercent:   m.maxDeprovisionsPercent(),
		ReactivateSuspendedUsers: m.ReactivateSuspendedUsers.ValueBool(),
		Mapping: reconcile.Mapping{
			MapEmail:     m.AttributeMapping.Email.ValueString() != "",
			MapFirstName: m.AttributeMapping.FirstName.ValueString() != "",
			MapLastName:  m.AttributeMapping.LastName.ValueString() != "",
		},
	}
	m.deviceOptions(&o.Mapping)
	return o
}

// maxDeprovisionsPercent is the setting, or its default when unset.
func (m connectionModel) maxDeprovisionsPercent() float64 {
	if m.MaxDeprovisionsPercent.IsNull() || m.MaxDeprovisionsPercent.IsUnknown() {
		return defaultMaxDeprovisionPercent
	}
	return m.MaxDeprovisionsPercent.ValueFloat64()
}

// rolling reports whether the connection uses rolling drift detection (unset means full).
func (m connectionModel) rolling() bool { return m.DriftDetection.ValueString() == driftRolling }

// driftWindow is drift_detection_window, or its default.
func (m connectionModel) driftWindow() time.Duration {
	if d, err := time.ParseDuration(m.DriftDetectionWindow.ValueString()); err == nil && d > 0 {
		return d
	}
	return defaultDriftWindow
}

// hasSource reports whether the model carries a usable source location (not after import).
func (m connectionModel) hasSource() bool {
	return m.SourceLocation != nil && m.AttributeMapping != nil && known(m.SourceLocation.BaseDN) && known(m.AttributeMapping.Username)
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
	partial, written := r.apply(ctx, map[string]reconcile.Entry{}, nil, &plan, &resp.Diagnostics)
	r.recordApply(ctx, &plan, written, true, resp.Private, &resp.Diagnostics)
	if partial {
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
	prior, ok := stateUsers(state.Users, &resp.Diagnostics)
	if !ok {
		return
	}
	links, d := getLinkSet(ctx, req.Private)
	resp.Diagnostics.Append(d...)
	baseline, d := getDeviceBaseline(ctx, req.Private)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	prior = withDeviceBaseline(prior, baseline, plan.deviceMode())
	plan.ID = state.ID
	_, written := r.apply(ctx, prior, links, &plan, &resp.Diagnostics)
	r.recordApply(ctx, &plan, written, false, resp.Private, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// apply carries out exactly the difference between the prior and the planned users; nothing
// is re-read that could change the outcome. On partial failure plan.Users is set to what was
// actually done, and the failures are reported, so the next plan shows only the rest. written
// lists the users whose PingID record the apply changed.
func (r *ProvisioningConnectionResource) apply(ctx context.Context, prior map[string]reconcile.Entry, links map[string]bool, plan *connectionModel, diags *diag.Diagnostics) (partial bool, written []string) {
	if !requireConfigured(r.data != nil, diags) {
		return false, nil
	}
	planned, err := decodeUsers(plan.Users)
	if err != nil {
		diags.AddAttributeError(path.Root("users"), "Unreadable planned users", err.Error())
		return false, nil
	}
	if links == nil {
		links = linkCandidates(prior, planned)
	}
	actions := reconcile.Diff(prior, planned, links)
	results := executor.Run(ctx, r.data.client, actions, executor.Options{
		Concurrency: r.data.fanoutWorkers(), Mapping: plan.options().Mapping, Progress: r.progress(plan.Name.ValueString()),
	})
	done := make(map[string]reconcile.Entry, len(planned))
	for k, v := range prior {
		done[k] = v
	}
	var failures []string
	var outcome reconcile.Outcome
	partlyDone := 0
	for _, res := range results {
		auditResult(ctx, plan.Name.ValueString(), res)
		outcome.Record(res.Action.Kind, res.Err != nil)
		if res.Err != nil {
			failures = append(failures, fmt.Sprintf("%s (%s): %s", res.Action.Username, res.Action.Kind, res.Err))
			if res.Done != nil {
				done[res.Action.Username] = *res.Done // e.g. created, with the devices that did pair
				partlyDone++
				written = append(written, res.Action.Username)
			}
			continue
		}
		if res.Action.Kind != reconcile.KindStateOnly {
			written = append(written, res.Action.Username)
		}
		if res.Action.Planned == nil {
			delete(done, res.Action.Username)
		} else {
			done[res.Action.Username] = *res.Action.Planned
		}
	}
	if len(failures) == 0 {
		return false, written // plan.Users already equals what was done
	}
	users, d := encodeUsers(done)
	diags.Append(d...)
	plan.Users = users
	partly := ""
	if partlyDone > 0 {
		partly = fmt.Sprintf(" and what was done of %d that failed part-way (a user created or updated, and every device that did pair)", partlyDone)
	}
	// The plan's summary counted what was to be done; this is what was done and what was not.
	diags.AddError("Some PingID user changes failed",
		fmt.Sprintf("Connection %q: %s.\n\n%d of %d user changes failed; the state records the %d that succeeded%s, so the next plan shows only what is left.\n\n%s",
			plan.Name.ValueString(), outcome, len(failures), len(actions), len(actions)-len(failures), partly, strings.Join(limitList(failures), "\n")))
	return true, written
}

// privatePlanKindKey records which kind of plan produced the planned private state: Delete
// applies on_destroy only for a planned destroy, never for the destroy half of a replacement.
func (r *ProvisioningConnectionResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state connectionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !requireConfigured(r.data != nil, &resp.Diagnostics) {
		return
	}
	prior, ok := stateUsers(state.Users, &resp.Diagnostics)
	if !ok {
		return
	}
	if state.ID.IsNull() {
		state.ID = state.Name
	}
	r.data.refreshes.record(state.Name.ValueString())
	if state.rolling() && state.hasSource() && r.data.datastore != nil {
		r.readRolling(ctx, &state, prior, req, resp)
		return
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateReadTimesKey, nil)...) // full: no bookkeeping
	refreshed, err := r.gatherer(state.Name.ValueString()).Refresh(ctx, prior)
	if err != nil {
		addPingIDError(&resp.Diagnostics, "Unable to refresh PingID users", err)
		return
	}
	for _, name := range refreshed.Gone {
		tflog.Info(ctx, "managed user no longer exists in PingID", map[string]any{"username": name})
	}
	users, d := encodeUsers(refreshed.Users)
	resp.Diagnostics.Append(d...)
	state.Users = users

	if state.hasSource() && r.data.datastore != nil {
		spec := state.spec()
		snap, err := r.gatherer(state.Name.ValueString()).Read(ctx, spec, refreshed.Users, refreshed.Admins)
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

func (r *ProvisioningConnectionResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state connectionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || state.OnDestroy.ValueString() != onDestroyDeprovision {
		return
	}
	if !requireConfigured(r.data != nil, &resp.Diagnostics) {
		return
	}
	prior, ok := stateUsers(state.Users, &resp.Diagnostics)
	if !ok {
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
	actions, tooMany := state.destroyActions(prior, admins)
	// Checked here too, not only in the destroy plan: Terraform does not plan the destroy
	// half of a replacement.
	if tooMany != nil {
		resp.Diagnostics.AddAttributeError(path.Root(tooMany.Brake), "Too many users would be deprovisioned", tooMany.Error())
		return
	}
	results := executor.Run(ctx, r.data.client, actions, executor.Options{
		Concurrency: r.data.fanoutWorkers(), Progress: r.progress(state.Name.ValueString()),
	})
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
				len(failures), len(actions), strings.Join(limitList(failures), "\n")))
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

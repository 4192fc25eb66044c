package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/executor"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
)

var (
	_ resource.Resource                   = &MappedUserResource{}
	_ resource.ResourceWithConfigure      = &MappedUserResource{}
	_ resource.ResourceWithImportState    = &MappedUserResource{}
	_ resource.ResourceWithModifyPlan     = &MappedUserResource{}
	_ resource.ResourceWithValidateConfig = &MappedUserResource{}
)

// NewMappedUserResource is the factory for pingid_mapped_user.
func NewMappedUserResource() resource.Resource { return &MappedUserResource{} }

// MappedUserResource is one PingID user whose attributes come from the datastore.
type MappedUserResource struct {
	client *pingid.Client
	claims *claimRegistry
}

type mappedUserModel struct {
	ID               types.String `tfsdk:"id"`
	Username         types.String `tfsdk:"username"`
	Email            types.String `tfsdk:"email"`
	FirstName        types.String `tfsdk:"first_name"`
	LastName         types.String `tfsdk:"last_name"`
	Enabled          types.Bool   `tfsdk:"enabled"`
	RemoveUserAction types.String `tfsdk:"remove_user_action"`
	AllowAdmin       types.Bool   `tfsdk:"allow_admin"`
	Status           types.String `tfsdk:"status"`
	Role             types.String `tfsdk:"role"`

	Devices            types.Map    `tfsdk:"devices"`
	RemoveOtherDevices types.Bool   `tfsdk:"remove_other_devices"`
	PrimaryDevice      types.String `tfsdk:"primary_device"`
	OtherDevices       types.List   `tfsdk:"other_devices"`
}

func (r *MappedUserResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_mapped_user"
}

func (r *MappedUserResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	mapped := func(what, target string) schema.StringAttribute {
		return schema.StringAttribute{
			Optional: true,
			Computed: true,
			MarkdownDescription: fmt.Sprintf("The user's %s (PingID `%s`). When set, Terraform keeps PingID's value equal to it and "+
				"shows drift; when unset, PingID's current value is recorded and left alone.", what, target),
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "One PingID user whose attributes come from the datastore, typically with `for_each` over " +
			"`data.pingid_datastore_group.<name>.members`, so members joining, changing and leaving show in `terraform plan` as " +
			"create, update and destroy. Create links an existing PingID user with the same username (case-insensitively) " +
			"instead of failing, then sets the configured attributes. Users with the PingID `ADMIN` role are never changed " +
			"unless `allow_admin = true`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The PingID username, in PingID's spelling.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"username": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "PingID username (e.g. from `sAMAccountName`). At most 250 characters. Changing it replaces the user: PingID usernames cannot be renamed.",
				PlanModifiers:       []planmodifier.String{caseInsensitiveRequiresReplace{}},
				Validators:          []validator.String{usernameValidator{}},
			},
			"email":      mapped("email address", "email"),
			"first_name": mapped("first name", "fname"),
			"last_name":  mapped("last name", "lname"),
			"enabled": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(true),
				MarkdownDescription: "Whether the user may authenticate. `false` suspends the user (a user who never activated is first moved to PENDING_ACTIVATION, since PingID cannot suspend NOT_ACTIVE users). Defaults to `true`.",
			},
			"remove_user_action": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(executor.RemoveDisable),
				MarkdownDescription: "What destroying this resource does in PingID: `disable` (suspend, keep the record and devices) or `delete`. Defaults to `disable`.",
				Validators:          []validator.String{stringvalidator.OneOf(executor.RemoveDisable, executor.RemoveDelete)},
			},
			"allow_admin": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
				MarkdownDescription: "Allow this resource to edit, suspend or delete a PingID user with the `ADMIN` role. Defaults to `false`: such a change fails instead.",
			},
			"status": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "PingID status: ACTIVE, PENDING, NOT_ACTIVE, PENDING_ACTIVATION, SUSPENDED or PENDING_CHANGE_DEVICE.",
			},
			"role": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "PingID role: REGULAR or ADMIN.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
	for name, a := range mappedUserDeviceAttributes() {
		resp.Schema.Attributes[name] = a
	}
}

func (r *MappedUserResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var config mappedUserModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	validateMappedUserDevices(ctx, config, &resp.Diagnostics)
}

func (r *MappedUserResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if data := configuredData(req.ProviderData, &resp.Diagnostics); data != nil {
		r.client = data.client
		r.claims = data.claims
	}
}

// ModifyPlan keeps status known when nothing changes it, and unknown when enabled changes.
// On create it also refuses, at plan time, to take over an existing PingID administrator.
// Every plan, destroy included (destroy disables or deletes the user), claims the username, so
// that another resource of this provider configuration managing it fails the plan.
func (r *MappedUserResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if !r.claimUser(ctx, req, resp) {
		return
	}
	if req.Plan.Raw.IsNull() {
		return
	}
	if req.State.Raw.IsNull() {
		r.refuseAdminTakeover(ctx, req, resp)
		var plan mappedUserModel
		resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
		if !resp.Diagnostics.HasError() {
			planMappedUserDevices(ctx, &plan, nil, resp)
		}
		return
	}
	var state, plan mappedUserModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.Enabled.Equal(state.Enabled) {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("status"), state.Status)...)
	}
	planMappedUserDevices(ctx, &plan, &state, resp)
}

// claimUser registers the planned username (the prior one for a destroy).
func (r *MappedUserResource) claimUser(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) bool {
	raw, attribute := req.Plan, path.Root("username")
	if raw.Raw.IsNull() {
		raw.Raw, raw.Schema = req.State.Raw, req.State.Schema
	}
	if raw.Raw.IsNull() || r.claims == nil {
		return true
	}
	var username types.String
	resp.Diagnostics.Append(raw.GetAttribute(ctx, attribute, &username)...)
	if resp.Diagnostics.HasError() || !known(username) {
		return !resp.Diagnostics.HasError()
	}
	claimant, d := r.claims.claimant(ctx, req.Private, resp.Private)
	resp.Diagnostics.Append(d...)
	owner := mappedUserOwner(username.ValueString())
	if conflicts := r.claims.claim(claimant, owner, []string{username.ValueString()}); len(conflicts) > 0 {
		resp.Diagnostics.AddAttributeError(attribute, "PingID user managed by two resources", conflictDetail(owner, conflicts))
		return false
	}
	return true
}

func (r *MappedUserResource) refuseAdminTakeover(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.client == nil {
		return
	}
	var plan mappedUserModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !known(plan.Username) || !known(plan.AllowAdmin) || plan.AllowAdmin.ValueBool() {
		return
	}
	u, err := r.client.GetUser(ctx, plan.Username.ValueString())
	switch {
	case errors.Is(err, pingid.ErrUserNotFound):
	case err != nil:
		resp.Diagnostics.AddError("Unable to look up PingID user", err.Error())
	case u.Role == pingid.RoleAdmin:
		resp.Diagnostics.AddAttributeError(path.Root("username"), "Refusing to manage a PingID administrator",
			fmt.Sprintf("PingID user %q has the ADMIN role. Set allow_admin = true to let Terraform manage it.", u.UserName))
	}
}

func (r *MappedUserResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan mappedUserModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !requireConfigured(r.client != nil, &resp.Diagnostics) {
		return
	}
	username := plan.Username.ValueString()
	fields := mappedFields(plan)

	existing, err := r.client.GetUser(ctx, username)
	switch {
	case errors.Is(err, pingid.ErrUserNotFound):
		existing = nil
	case err != nil:
		resp.Diagnostics.AddError("Unable to look up PingID user", err.Error())
		return
	}

	var current *pingid.User // the user as PingID returned it after the link or the create
	if existing != nil {
		if existing.Role == pingid.RoleAdmin && !plan.AllowAdmin.ValueBool() {
			resp.Diagnostics.AddAttributeError(path.Root("username"), "Refusing to manage a PingID administrator",
				fmt.Sprintf("PingID user %q has the ADMIN role. Set allow_admin = true to let Terraform manage it.", existing.UserName))
			return
		}
		tflog.Info(ctx, "linking existing PingID user", map[string]any{"username": existing.UserName, "action": "link"})
		if current, _, err = r.client.UpdateUser(ctx, existing.UserName, fields); err != nil {
			resp.Diagnostics.AddError("Unable to link existing PingID user", err.Error())
			return
		}
	} else {
		tflog.Info(ctx, "creating PingID user", map[string]any{"username": username, "action": "create"})
		if current, err = r.client.AddUser(ctx, pingid.NewUser{
			UserName: username, Email: plan.Email.ValueString(), FirstName: plan.FirstName.ValueString(),
			LastName: plan.LastName.ValueString(), Role: pingid.RoleRegular,
		}); err != nil {
			resp.Diagnostics.AddError("Unable to create PingID user", err.Error())
			return
		}
	}
	// Record the user as soon as it exists, so a failure below leaves it in state (tainted)
	// instead of orphaned in PingID.
	plan.ID = types.StringValue(current.UserName)
	if err := r.applyEnabled(ctx, current, plan.Enabled.ValueBool()); err != nil {
		resp.Diagnostics.AddError("Unable to set PingID user status", err.Error())
	}
	resp.Diagnostics.Append(r.applyMappedUserDevices(ctx, &plan, current, existing == nil, true, nil)...)
	r.refresh(ctx, &plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *MappedUserResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state mappedUserModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !requireConfigured(r.client != nil, &resp.Diagnostics) {
		return
	}
	u, err := r.client.GetUser(ctx, state.ID.ValueString())
	if errors.Is(err, pingid.ErrUserNotFound) {
		tflog.Info(ctx, "PingID user is gone; removing it from state", map[string]any{"username": state.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable to read PingID user", err.Error())
		return
	}
	setFromPingID(&state, u)
	imported, d := req.Private.GetKey(ctx, privateImportedKey)
	resp.Diagnostics.Append(d...)
	devices, d := deviceValuesFromPingID(ctx, state.Devices, u.Devices, len(imported) > 0)
	resp.Diagnostics.Append(d...)
	state.Devices = devices
	others, d := otherDevicesValue(ctx, state.RemoveOtherDevices, u.Devices)
	resp.Diagnostics.Append(d...)
	state.OtherDevices = others
	if len(imported) > 0 {
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateImportedKey, nil)...)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *MappedUserResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state, config mappedUserModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() || !requireConfigured(r.client != nil, &resp.Diagnostics) {
		return
	}
	username := state.ID.ValueString()
	if state.Role.ValueString() == pingid.RoleAdmin && !plan.AllowAdmin.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("allow_admin"), "Refusing to change a PingID administrator",
			fmt.Sprintf("PingID user %q has the ADMIN role. Set allow_admin = true to let Terraform change it.", username))
		return
	}
	// Only attributes set in the configuration are written; edituser replaces the whole
	// record, so UpdateUser reads, merges and writes every field.
	current, _, err := r.client.UpdateUser(ctx, username, mappedFields(config))
	if err != nil {
		resp.Diagnostics.AddError("Unable to update PingID user", err.Error())
		return
	}
	if !plan.Enabled.Equal(state.Enabled) {
		if err := r.applyEnabled(ctx, current, plan.Enabled.ValueBool()); err != nil {
			resp.Diagnostics.AddError("Unable to set PingID user status", err.Error())
			return
		}
	}
	plan.ID = state.ID
	resp.Diagnostics.Append(r.applyMappedUserDevices(ctx, &plan, current, false, false, listStrings(ctx, state.OtherDevices))...)
	r.refresh(ctx, &plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *MappedUserResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state mappedUserModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !requireConfigured(r.client != nil, &resp.Diagnostics) {
		return
	}
	username := state.ID.ValueString()
	if state.Role.ValueString() == pingid.RoleAdmin && !state.AllowAdmin.ValueBool() {
		resp.Diagnostics.AddError("Refusing to remove a PingID administrator",
			fmt.Sprintf("PingID user %q has the ADMIN role. Set allow_admin = true and apply before destroying, or remove it from state with terraform state rm.", username))
		return
	}
	action := state.RemoveUserAction.ValueString()
	tflog.Info(ctx, "removing PingID user", map[string]any{"username": username, "action": action})
	if err := executor.Remove(ctx, r.client, username, action); err != nil {
		resp.Diagnostics.AddError("Unable to remove PingID user", err.Error())
	}
}

// ImportState takes a PingID username; Read then fills every attribute from PingID, so the
// next plan shows only real differences from the configuration.
func (r *MappedUserResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := pingid.CheckUsername(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("Expected a PingID username: %s.", err))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("username"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("remove_user_action"), executor.RemoveDisable)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("allow_admin"), false)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateImportedKey, []byte("true"))...)
}

// applyEnabled suspends or re-enables u, as PingID just returned it.
func (r *MappedUserResource) applyEnabled(ctx context.Context, u *pingid.User, enabled bool) error {
	if enabled {
		if u.Status != pingid.StatusSuspended {
			return nil
		}
		return executor.Enable(ctx, r.client, u.UserName)
	}
	return executor.Disable(ctx, r.client, u.UserName)
}

// refresh reads the user back and fills the values that were unknown in the plan. Planned
// values are kept as they are: Terraform requires applied values to equal planned ones, and
// anything PingID reports differently is caught by the next refresh.
func (r *MappedUserResource) refresh(ctx context.Context, m *mappedUserModel, diags interface{ AddError(string, string) }) {
	u, err := r.client.GetUser(ctx, m.ID.ValueString())
	if err != nil {
		diags.AddError("Unable to read PingID user after the change", err.Error())
		return
	}
	fresh := mappedUserModel{Username: m.Username}
	setFromPingID(&fresh, u)
	for _, f := range []struct{ planned, read *types.String }{
		{&m.Email, &fresh.Email}, {&m.FirstName, &fresh.FirstName}, {&m.LastName, &fresh.LastName},
		{&m.Status, &fresh.Status}, {&m.Role, &fresh.Role},
	} {
		if f.planned.IsUnknown() {
			*f.planned = *f.read
		}
	}
	if m.OtherDevices.IsUnknown() {
		others, _ := otherDevicesValue(ctx, m.RemoveOtherDevices, u.Devices)
		m.OtherDevices = others
	}
}

func setFromPingID(m *mappedUserModel, u *pingid.User) {
	m.ID = types.StringValue(u.UserName)
	m.Email = optionalString(u.Email)
	m.FirstName = optionalString(u.FirstName)
	m.LastName = optionalString(u.LastName)
	m.Enabled = types.BoolValue(u.Status != pingid.StatusSuspended)
	m.Status = types.StringValue(u.Status)
	m.Role = types.StringValue(u.Role)
	if m.Username.IsNull() || m.Username.IsUnknown() || !strings.EqualFold(m.Username.ValueString(), u.UserName) {
		m.Username = types.StringValue(u.UserName)
	}
}

func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// mappedFields returns the attributes the configuration manages; unset ones stay untouched.
func mappedFields(m mappedUserModel) pingid.UserFields {
	var f pingid.UserFields
	if known(m.Email) {
		v := m.Email.ValueString()
		f.Email = &v
	}
	if known(m.FirstName) {
		v := m.FirstName.ValueString()
		f.FirstName = &v
	}
	if known(m.LastName) {
		v := m.LastName.ValueString()
		f.LastName = &v
	}
	return f
}

// caseInsensitiveRequiresReplace replaces the user only when the username really changes:
// PingID matches usernames case-insensitively, so JSmith -> jsmith is the same user.
type caseInsensitiveRequiresReplace struct{}

func (caseInsensitiveRequiresReplace) Description(context.Context) string {
	return "changing the username (other than its letter case) replaces the user"
}

func (m caseInsensitiveRequiresReplace) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

func (caseInsensitiveRequiresReplace) PlanModifyString(_ context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() || !known(req.PlanValue) || !known(req.StateValue) {
		return
	}
	if !strings.EqualFold(req.PlanValue.ValueString(), req.StateValue.ValueString()) {
		resp.RequiresReplace = true
	}
}

package provider

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/executor"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

// privateImportedKey marks a state that ImportState just created: the first Read then records
// the user's managed devices, so an imported user shows its devices instead of planning them anew.
const privateImportedKey = "imported"

// slotList is the nine slot names for descriptions, e.g. "`mfa_email_1`, …".
func slotList() string {
	out := ""
	for i, n := range reconcile.SlotNames() {
		if i > 0 {
			out += ", "
		}
		out += "`" + n + "`"
	}
	return out
}

func mappedUserDeviceAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"devices": schema.MapAttribute{
			ElementType: types.StringType,
			Optional:    true,
			MarkdownDescription: "The MFA devices to keep paired, by managed slot: keys among " + slotList() + " (slot `mfa_sms_2` is the " +
				"PingID device nicknamed `SMS Number 2`, and so on); values are email addresses or phone numbers (separators such as " +
				"blanks, dashes and parentheses do not matter; an extension follows a comma). A changed value unpairs the old device " +
				"and pairs the new one under the same nickname; a null or empty value unpairs the slot's device; a device under a " +
				"listed slot's nickname with another value is replaced (the configuration wins). Slots not listed are left alone. " +
				"Unset (the default): devices are not managed. PingID's \"Maximum Allowed Devices\" setting limits how many devices a user may have.",
			Validators: []validator.Map{mapvalidator.KeysAre(stringvalidator.OneOf(reconcile.SlotNames()...))},
		},
		// No Default (unset = false): a default would change every state written before the
		// attribute existed, which a -refresh=false plan would show.
		"remove_other_devices": schema.BoolAttribute{
			Optional: true,
			MarkdownDescription: "Unpair the user's devices outside the nine managed slots (phone apps, YubiKeys, devices the user or an " +
				"administrator added), like the Provisioner's *Overwrite devices*; they are listed in `other_devices`. Unset means `false`, the default.",
		},
		"primary_device": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "A slot of `devices` whose device is made the user's primary device when this resource creates the user. " +
				"A user that existed in PingID (linked) keeps its primary device. Unset by default.",
			Validators: []validator.String{stringvalidator.OneOf(reconcile.SlotNames()...)},
		},
		"other_devices": schema.ListAttribute{
			ElementType: types.StringType,
			Computed:    true,
			MarkdownDescription: "With `remove_other_devices = true`: the user's devices outside the managed slots as `Type: nickname` " +
				"(e.g. `iPhone: iPhone of eva`), planned as `[]` where they will be unpaired. Null otherwise.",
		},
	}
}

// validateMappedUserDevices checks that primary_device names a configured slot.
func validateMappedUserDevices(ctx context.Context, m mappedUserModel, diags *diag.Diagnostics) {
	if !known(m.PrimaryDevice) {
		return
	}
	if m.Devices.IsNull() {
		diags.AddAttributeError(path.Root("primary_device"), "primary_device needs devices",
			fmt.Sprintf("primary_device = %q names a device slot, but devices is not set: add %s to devices.", m.PrimaryDevice.ValueString(), m.PrimaryDevice.ValueString()))
		return
	}
	if m.Devices.IsUnknown() {
		return
	}
	var values map[string]types.String
	diags.Append(m.Devices.ElementsAs(ctx, &values, false)...)
	if _, ok := values[m.PrimaryDevice.ValueString()]; !ok && !diags.HasError() {
		diags.AddAttributeError(path.Root("primary_device"), "primary_device is not among devices",
			fmt.Sprintf("primary_device = %q, but devices has no %s entry.", m.PrimaryDevice.ValueString(), m.PrimaryDevice.ValueString()))
	}
}

// configuredDevices reads the devices map: slot -> normalised value ("" for null or empty).
func configuredDevices(ctx context.Context, m types.Map) (map[reconcile.Slot]string, diag.Diagnostics) {
	if m.IsNull() || m.IsUnknown() {
		return nil, nil
	}
	var values map[string]types.String
	diags := m.ElementsAs(ctx, &values, false)
	out := make(map[reconcile.Slot]string, len(values))
	for name, v := range values {
		s, ok := reconcile.ParseSlot(name)
		if !ok {
			continue // rejected by the validator
		}
		out[s] = pingid.NormalizeDeviceValue(string(s.Kind()), v.ValueString())
	}
	return out, diags
}

// deviceValuesFromPingID returns the devices map as PingID has it: for each slot key of planned
// (or, when importing, every managed slot with a device), PingID's value, in planned's spelling
// where it is the same address, and null where the slot has no device.
func deviceValuesFromPingID(ctx context.Context, planned types.Map, devices []pingid.Device, importing bool) (types.Map, diag.Diagnostics) {
	slots, _ := reconcile.ObservedDevices(executor.SyncDevices(devices))
	elems := map[string]types.String{}
	if importing {
		for _, s := range reconcile.Slots() {
			if v := slots.Get(s); v != "" {
				elems[s.Name()] = types.StringValue(v)
			}
		}
		if len(elems) == 0 {
			return types.MapNull(types.StringType), nil
		}
		return types.MapValueFrom(ctx, types.StringType, elems)
	}
	if planned.IsNull() || planned.IsUnknown() {
		return planned, nil
	}
	var current map[string]types.String
	diags := planned.ElementsAs(ctx, &current, false)
	for name, v := range current {
		s, ok := reconcile.ParseSlot(name)
		if !ok {
			continue
		}
		observed := slots.Get(s)
		switch {
		case observed == "" && (v.IsNull() || v.ValueString() == ""):
			elems[name] = v
		case observed == "":
			elems[name] = types.StringNull()
		case !v.IsNull() && pingid.NormalizeDeviceValue(string(s.Kind()), v.ValueString()) == observed:
			elems[name] = v
		default:
			elems[name] = types.StringValue(observed)
		}
	}
	out, d := types.MapValueFrom(ctx, types.StringType, elems)
	diags.Append(d...)
	return out, diags
}

// otherDevicesValue is other_devices: the labels of the devices outside the managed slots when
// remove_other_devices is on, null otherwise.
func otherDevicesValue(ctx context.Context, remove types.Bool, devices []pingid.Device) (types.List, diag.Diagnostics) {
	if !remove.ValueBool() {
		return types.ListNull(types.StringType), nil
	}
	_, others := reconcile.ObservedDevices(executor.SyncDevices(devices))
	labels := others.Labels()
	if labels == nil {
		labels = []string{}
	}
	return types.ListValueFrom(ctx, types.StringType, labels)
}

// planMappedUserDevices plans other_devices: [] where remove_other_devices will unpair them.
func planMappedUserDevices(ctx context.Context, plan, state *mappedUserModel, resp *resource.ModifyPlanResponse) {
	var planned types.List
	switch {
	case plan.RemoveOtherDevices.IsUnknown():
		planned = types.ListUnknown(types.StringType)
	case plan.RemoveOtherDevices.ValueBool():
		planned = types.ListValueMust(types.StringType, []attr.Value{})
	default:
		planned = types.ListNull(types.StringType)
	}
	if state != nil && planned.IsNull() && state.OtherDevices.IsNull() {
		planned = state.OtherDevices
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("other_devices"), planned)...)
}

// applyMappedUserDevices brings the user's devices to the plan. current is the user as PingID
// returned it just before; created says whether this apply created it (primary_device then
// applies); reviewedOthers are the other devices the plan showed (nil: all current ones). It
// records in m what PingID has afterwards, so a refused device leaves the rest in state.
//
// A refusal is an error, except during Create (onCreate): an error there would taint the user and
// the next apply would replace it (suspend or even delete, then create again) over a device. It
// is a warning instead; Terraform requires a successful create to store the planned devices, and
// the refresh of the next plan reads what PingID has, so that plan shows the devices that are left.
func (r *MappedUserResource) applyMappedUserDevices(ctx context.Context, m *mappedUserModel, current *pingid.User, created, onCreate bool, reviewedOthers []string) diag.Diagnostics {
	want, diags := configuredDevices(ctx, m.Devices)
	if diags.HasError() {
		return diags
	}
	remove := m.RemoveOtherDevices.ValueBool()
	if want == nil && !remove {
		return diags
	}
	w := executor.DeviceWork{Username: current.UserName}
	slots, others := reconcile.ObservedDevices(executor.SyncDevices(current.Devices))
	for s, v := range want {
		w.Want[s] = v
		if slots.Get(s) != v {
			w.Slots = append(w.Slots, s)
		}
	}
	slices.Sort(w.Slots)
	if remove {
		w.RemoveOthers = others.Labels()
		if reviewedOthers != nil {
			w.RemoveOthers = intersect(w.RemoveOthers, reviewedOthers)
		}
	}
	if created && known(m.PrimaryDevice) {
		if s, ok := reconcile.ParseSlot(m.PrimaryDevice.ValueString()); ok {
			w.Primary, w.SetPrimary = s, true
		}
	}
	if w.Empty() {
		return diags
	}
	after, err := executor.ApplyDevices(ctx, r.client, w, current.Devices)
	if err == nil {
		// Recorded as planned; the next refresh reads PingID's spelling where it differs.
		if remove {
			empty, d := types.ListValueFrom(ctx, types.StringType, []string{})
			diags.Append(d...)
			m.OtherDevices = empty
		}
		return diags
	}
	summary := "Some MFA device changes failed"
	if onCreate {
		diags.AddWarning(summary, fmt.Sprintf("%s\n\nThe user was created (or linked) and the other devices paired; the next plan "+
			"reads the user's devices from PingID and shows what is left.", err))
		return diags
	}
	devicesNow, d := deviceValuesFromPingID(ctx, m.Devices, after, false)
	diags.Append(d...)
	m.Devices = devicesNow
	othersNow, d := otherDevicesValue(ctx, m.RemoveOtherDevices, after)
	diags.Append(d...)
	m.OtherDevices = othersNow
	diags.AddError(summary, fmt.Sprintf("%s\n\nThe user and every device that did pair are recorded in state, so the next plan shows what is left.", err))
	return diags
}

// intersect keeps the labels of a that are in b (with multiplicity).
func intersect(a, b []string) []string {
	left := map[string]int{}
	for _, l := range b {
		left[l]++
	}
	var out []string
	for _, l := range a {
		if left[l] > 0 {
			left[l]--
			out = append(out, l)
		}
	}
	return out
}

// listStrings returns the elements of a known list, nil otherwise.
func listStrings(ctx context.Context, l types.List) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var out []string
	if diags := l.ElementsAs(ctx, &out, false); diags.HasError() {
		return nil
	}
	if out == nil {
		out = []string{}
	}
	return out
}

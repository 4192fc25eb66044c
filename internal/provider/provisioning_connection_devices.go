// Device management of a provisioning connection: the Provisioner's Manage Devices and Primary
// Device on Create settings and the nine MFA attribute mapping targets.

package provider

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/reconcile"
)

const primaryNone = "none"

// deviceMappingAttributes are attribute_mapping's nine MFA targets.
func deviceMappingAttributes() map[string]schema.Attribute {
	out := make(map[string]schema.Attribute, reconcile.NumSlots)
	for _, s := range reconcile.Slots() {
		what := "phone number"
		if s.Kind() == reconcile.KindEmail {
			what = "email address"
		}
		out[s.Name()] = schema.StringAttribute{
			Optional: true,
			MarkdownDescription: fmt.Sprintf("Attribute holding the %s paired as the PingID device nicknamed `%s` (the Provisioner's "+
				"*MFA %s*), when `manage_devices` is not `none`. Unmapped when unset.", what, s.Nickname(), provisionerSlotLabel(s)),
			Validators: attributeNameValidators(),
		}
	}
	return out
}

// provisionerSlotLabel is the Provisioner's name of a mapping target: "Email 1", "SMS Number 2".
func provisionerSlotLabel(s reconcile.Slot) string { return s.Nickname() }

// deviceSettingAttributes are manage_devices and primary_device_on_create.
func deviceSettingAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		// No Default on these (unset = the default): a default would put a value into every
		// state written before they existed, and Terraform would plan that change for a
		// -refresh=false plan on such a state.
		"manage_devices": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "The Provisioner's *Manage Devices*. `none`: devices are left to the users and PingID. `merge`: the mapped " +
				"`mfa_*` attributes are paired under the nicknames `Email 1..3`, `SMS Number 1..3`, `Voice Number 1..3`; a changed value " +
				"unpairs the old device and pairs the new one, a removed value unpairs its device, a managed nickname with another value " +
				"is replaced (the directory wins); other devices stay. `overwrite`: as `merge`, and devices with other nicknames are " +
				"unpaired. Devices are changed only for enabled, in-scope users; users disabled in the directory, out of scope or " +
				"suspended keep their devices until they are enabled again. PingID `ADMIN` users are never touched. Unset means `none`, the default.",
			Validators: []validator.String{stringvalidator.OneOf(string(reconcile.DevicesNone), string(reconcile.DevicesMerge), string(reconcile.DevicesOverwrite))},
		},
		"primary_device_on_create": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "The Provisioner's *Primary Device on Create*: `mfa_email_1`, `mfa_sms_1` or `mfa_voice_1` is made the " +
				"primary device of users this connection creates (linked users keep theirs); `none` leaves it to PingID. Unset means `none`, the default.",
			Validators: []validator.String{stringvalidator.OneOf(primaryNone, "mfa_email_1", "mfa_sms_1", "mfa_voice_1")},
		},
	}
}

// deviceAttrs returns the mapped attribute of each slot.
func (a *attributeMapping) deviceAttrs() [reconcile.NumSlots]string {
	var out [reconcile.NumSlots]string
	for i, v := range []types.String{a.MFAEmail1, a.MFAEmail2, a.MFAEmail3, a.MFASMS1, a.MFASMS2, a.MFASMS3, a.MFAVoice1, a.MFAVoice2, a.MFAVoice3} {
		out[i] = v.ValueString()
	}
	return out
}

func (a *attributeMapping) deviceValues() []attr.Value {
	return []attr.Value{a.MFAEmail1, a.MFAEmail2, a.MFAEmail3, a.MFASMS1, a.MFASMS2, a.MFASMS3, a.MFAVoice1, a.MFAVoice2, a.MFAVoice3}
}

// deviceMode is manage_devices (none when unset).
func (m connectionModel) deviceMode() reconcile.DeviceMode {
	if v := m.ManageDevices.ValueString(); v != "" {
		return reconcile.DeviceMode(v)
	}
	return reconcile.DevicesNone
}

// deviceOptions fills the device part of the mapping.
func (m connectionModel) deviceOptions(o *reconcile.Mapping) {
	o.ManageDevices = m.deviceMode()
	if o.ManageDevices == reconcile.DevicesNone || m.AttributeMapping == nil {
		return
	}
	for i, a := range m.AttributeMapping.deviceAttrs() {
		o.MapSlots[i] = a != ""
	}
	if s, ok := reconcile.ParseSlot(m.PrimaryDeviceOnCreate.ValueString()); ok {
		o.PrimaryOnCreate, o.SetPrimaryOnCreate = s, true
	}
}

// validateDeviceSettings points at settings that cannot take effect.
func validateDeviceSettings(m connectionModel, diags *diag.Diagnostics) {
	primary := m.PrimaryDeviceOnCreate.ValueString()
	if !known(m.PrimaryDeviceOnCreate) || primary == primaryNone || primary == "" || m.ManageDevices.IsUnknown() {
		return
	}
	if m.deviceMode() == reconcile.DevicesNone {
		diags.AddAttributeError(path.Root("primary_device_on_create"), "primary_device_on_create needs manage_devices",
			fmt.Sprintf("primary_device_on_create = %q has no effect while manage_devices = \"none\": set manage_devices to \"merge\" or \"overwrite\".", primary))
		return
	}
	s, _ := reconcile.ParseSlot(primary)
	if m.AttributeMapping != nil && known(m.AttributeMapping.deviceValues()[s]) && m.AttributeMapping.deviceAttrs()[s] == "" {
		diags.AddAttributeError(path.Root("primary_device_on_create"), "primary_device_on_create names an unmapped slot",
			fmt.Sprintf("primary_device_on_create = %q, but attribute_mapping.%s is not set.", primary, primary))
	}
}

// privateDeviceBaselineKey carries, from plan to apply, the PingID devices the plan read for
// users whose state did not record them yet (the first plan after manage_devices was turned on,
// or set to "overwrite"): apply compares against the same devices the plan did.
const privateDeviceBaselineKey = "device_baseline"

func setDeviceBaseline(ctx context.Context, private interface {
	SetKey(context.Context, string, []byte) diag.Diagnostics
}, baseline map[string][]reconcile.Device) diag.Diagnostics {
	if len(baseline) == 0 {
		return private.SetKey(ctx, privateDeviceBaselineKey, nil)
	}
	raw, err := json.Marshal(baseline)
	if err != nil {
		var diags diag.Diagnostics
		diags.AddError("Unable to record the users' devices", err.Error())
		return diags
	}
	return private.SetKey(ctx, privateDeviceBaselineKey, raw)
}

func getDeviceBaseline(ctx context.Context, private interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}) (map[string][]reconcile.Device, diag.Diagnostics) {
	raw, diags := private.GetKey(ctx, privateDeviceBaselineKey)
	if len(raw) == 0 || diags.HasError() {
		return nil, diags
	}
	var baseline map[string][]reconcile.Device
	if err := json.Unmarshal(raw, &baseline); err != nil {
		diags.AddError("Unreadable device baseline in the plan", err.Error())
		return nil, diags
	}
	return baseline, diags
}

// withDeviceBaseline gives the prior entries that lack the device members mode manages the
// devices read for them.
func withDeviceBaseline(prior map[string]reconcile.Entry, baseline map[string][]reconcile.Device, mode reconcile.DeviceMode) map[string]reconcile.Entry {
	if len(baseline) == 0 {
		return prior
	}
	out := make(map[string]reconcile.Entry, len(prior))
	for name, e := range prior {
		if devices, ok := baseline[name]; ok {
			e = reconcile.WithDeviceBaseline(e, devices, mode)
		}
		out[name] = e
	}
	return out
}

// readDeviceBaseline reads the devices of the prior users whose entries lack what mode manages.
func (r *ProvisioningConnectionResource) readDeviceBaseline(ctx context.Context, prior map[string]reconcile.Entry, mode reconcile.DeviceMode) (map[string][]reconcile.Device, error) {
	names := reconcile.NeedsDeviceBaseline(prior, mode)
	if len(names) == 0 {
		return nil, nil
	}
	baseline, err := r.gatherer("").Devices(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("read the devices of %d managed users (once, as manage_devices changed): %w", len(names), err)
	}
	return baseline, nil
}

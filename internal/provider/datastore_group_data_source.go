package provider

import (
	"context"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
)

var (
	_ datasource.DataSource                   = &DatastoreGroupDataSource{}
	_ datasource.DataSourceWithConfigure      = &DatastoreGroupDataSource{}
	_ datasource.DataSourceWithValidateConfig = &DatastoreGroupDataSource{}
)

// NewDatastoreGroupDataSource is the factory for pingid_datastore_group.
func NewDatastoreGroupDataSource() datasource.DataSource { return &DatastoreGroupDataSource{} }

// DatastoreGroupDataSource reads the users a source location targets.
type DatastoreGroupDataSource struct {
	data *providerData
}

type datastoreGroupModel struct {
	ID                types.String `tfsdk:"id"`
	BaseDN            types.String `tfsdk:"base_dn"`
	GroupDN           types.String `tfsdk:"group_dn"`
	Filter            types.String `tfsdk:"filter"`
	Nested            types.Bool   `tfsdk:"nested"`
	UsernameAttribute types.String `tfsdk:"username_attribute"`
	Attributes        types.List   `tfsdk:"attributes"`
	DisabledFilter    types.String `tfsdk:"disabled_filter"`
	Members           types.Map    `tfsdk:"members"`
	MemberCount       types.Int64  `tfsdk:"member_count"`
}

var memberAttrTypes = map[string]attr.Type{
	"dn":         types.StringType,
	"username":   types.StringType,
	"enabled":    types.BoolType,
	"id":         types.StringType,
	"attributes": types.MapType{ElemType: types.StringType},
}

func (d *DatastoreGroupDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_datastore_group"
}

func (d *DatastoreGroupDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads the users that a source location (a base DN with a group and/or an LDAP filter) targets in the " +
			"provider's datastore. Fails, and never returns a partial list, when the directory is unreachable, a bind fails, " +
			"a search hits a size or time limit, a referral is returned, or the base DN or group does not exist.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The source location, for reference: base DN, group DN and filter.",
			},
			"base_dn": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Subtree to search for users.",
				Validators:          dnValidators(),
			},
			"group_dn": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Group whose members are targeted (`member`, `uniqueMember` or `memberUid`). With `filter`, users must be in the group AND match the filter. At least one of `group_dn` and `filter` is required.",
				Validators:          dnValidators(),
			},
			"filter": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "LDAP filter that targeted users match, e.g. `(department=Engineering)`.",
				Validators:          []validatorString{ldapFilterValidator{}},
			},
			"nested": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "Include members of nested groups (the in-chain rule on Active Directory, recursive expansion with cycle detection elsewhere). Defaults to `false`.",
			},
			"username_attribute": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Attribute holding the PingID username. Defaults to `sAMAccountName` for `active_directory` and `uid` otherwise.",
				Validators:          attributeNameValidators(),
			},
			"attributes": schema.ListAttribute{
				Optional:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "Extra attributes to return in each member's `attributes` map, e.g. `[\"mail\", \"givenName\", \"sn\"]`. Every requested attribute is a key of the map; its value is null when the entry lacks it.",
				Validators:          []validator.List{listvalidator.ValueStringsAre(attributeNameValidators()...), listvalidator.UniqueValues()},
			},
			"disabled_filter": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Extra LDAP filter: matching entries are reported as disabled, for directories that mark disabled accounts in their own way.",
				Validators:          []validatorString{ldapFilterValidator{}},
			},
			"members": schema.MapNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Targeted users keyed by username.",
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"dn":       schema.StringAttribute{Computed: true, MarkdownDescription: "Entry DN."},
						"username": schema.StringAttribute{Computed: true, MarkdownDescription: "Value of the username attribute."},
						"enabled": schema.BoolAttribute{Computed: true, MarkdownDescription: "False when the directory marks the account disabled " +
							"(AD userAccountControl 0x2, OpenLDAP ppolicy `pwdAccountLockedTime` = `000001010000Z`, `nsAccountLock` = true, or `disabled_filter`)."},
						"id":         schema.StringAttribute{Computed: true, MarkdownDescription: "Stable directory id: AD objectGUID, OpenLDAP entryUUID."},
						"attributes": schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Requested attributes (first value)."},
					},
				},
			},
			"member_count": schema.Int64Attribute{Computed: true, MarkdownDescription: "Number of targeted users."},
		},
	}
}

func (d *DatastoreGroupDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var m datastoreGroupModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(validateSourceSelector(m.GroupDN, m.Filter, path.Root("group_dn"))...)
}

func (d *DatastoreGroupDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (d *DatastoreGroupDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m datastoreGroupModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, diags := requireDatastore(d.data)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	var extra []string
	resp.Diagnostics.Append(m.Attributes.ElementsAs(ctx, &extra, false)...)
	if resp.Diagnostics.HasError() {
		return
	}
	names := []directoryAttribute{{path.Root("username_attribute"), m.UsernameAttribute.ValueString()}}
	for i, a := range extra {
		names = append(names, directoryAttribute{path.Root("attributes").AtListIndex(i), a})
	}
	d.data.checkDirectoryAttributes(ctx, names, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	q := datastore.Query{
		BaseDN:            m.BaseDN.ValueString(),
		GroupDN:           m.GroupDN.ValueString(),
		Filter:            m.Filter.ValueString(),
		Nested:            m.Nested.ValueBool(),
		UsernameAttribute: m.UsernameAttribute.ValueString(),
		Attributes:        extra,
		DisabledFilter:    m.DisabledFilter.ValueString(),
	}
	entries, err := readDirectory(ctx, *cfg, q)
	if err != nil {
		addSourceError(&resp.Diagnostics, "Unable to read the datastore", err, q, path.Root("base_dn"), path.Root("group_dn"), "")
		return
	}
	members, diags := membersValue(entries, extra)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.Members = members
	m.MemberCount = types.Int64Value(int64(len(entries)))
	m.ID = types.StringValue(sourceID(q))
	tflog.Info(ctx, "read datastore group", map[string]any{"base_dn": q.BaseDN, "group_dn": q.GroupDN, "members": len(entries)})
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// readDirectory opens a connection, searches once and closes it.
func readDirectory(ctx context.Context, cfg datastore.Config, q datastore.Query) ([]datastore.Entry, error) {
	dir, err := datastore.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer func() { _ = dir.Close() }()
	return dir.Search(ctx, q)
}

func membersValue(entries []datastore.Entry, requested []string) (types.Map, diag.Diagnostics) {
	var diags diag.Diagnostics
	objType := types.ObjectType{AttrTypes: memberAttrTypes}
	elems := make(map[string]attr.Value, len(entries))
	for _, e := range entries {
		attrs := make(map[string]attr.Value, len(requested))
		for _, name := range requested {
			if v, ok := e.Attributes[name]; ok {
				attrs[name] = types.StringValue(v)
			} else {
				attrs[name] = types.StringNull()
			}
		}
		attrMap, d := types.MapValue(types.StringType, attrs)
		diags.Append(d...)
		obj, d := types.ObjectValue(memberAttrTypes, map[string]attr.Value{
			"dn":         types.StringValue(e.DN),
			"username":   types.StringValue(e.Username),
			"enabled":    types.BoolValue(e.Enabled),
			"id":         types.StringValue(e.ID),
			"attributes": attrMap,
		})
		diags.Append(d...)
		elems[e.Username] = obj
	}
	m, d := types.MapValue(objType, elems)
	diags.Append(d...)
	return m, diags
}

func sourceID(q datastore.Query) string {
	parts := []string{"base_dn=" + q.BaseDN}
	if q.GroupDN != "" {
		parts = append(parts, "group_dn="+q.GroupDN)
	}
	if q.Filter != "" {
		parts = append(parts, "filter="+q.Filter)
	}
	sort.Strings(parts[1:])
	return strings.Join(parts, ";")
}

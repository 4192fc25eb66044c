// Package provider implements the pingid Terraform provider: schemas and CRUD glue over the
// pipeline's steps: gather (internal/source), decide (internal/reconcile) and execute
// (internal/executor).
package provider

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
)

var (
	_ provider.Provider                   = &PingIDProvider{}
	_ provider.ProviderWithValidateConfig = &PingIDProvider{}
)

// PingIDProvider is the provider implementation.
type PingIDProvider struct {
	// version is "dev" for local builds, the release version when built by goreleaser and
	// "test" in acceptance tests.
	version string
	// getenv and readFile are injectable so configuration resolution is unit-testable.
	getenv   func(string) string
	readFile func(string) ([]byte, error)
	// now is the clock of rolling drift detection; injectable so tests can let a window pass.
	now func() time.Time
}

// New returns a provider factory, as the framework's providerserver expects.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &PingIDProvider{version: version, getenv: os.Getenv, readFile: os.ReadFile, now: time.Now}
	}
}

// providerModel mirrors the provider block.
type providerModel struct {
	PropertiesFile types.String    `tfsdk:"properties_file"`
	Properties     types.String    `tfsdk:"properties"`
	OrgAlias       types.String    `tfsdk:"org_alias"`
	Token          types.String    `tfsdk:"token"`
	UseBase64Key   types.String    `tfsdk:"use_base64_key"`
	IDPURL         types.String    `tfsdk:"idp_url"`
	MaxConcurrency types.Int64     `tfsdk:"max_concurrency"`
	MaxRetries     types.Int64     `tfsdk:"max_retries"`
	RequestTimeout types.String    `tfsdk:"request_timeout"`
	Datastore      *datastoreModel `tfsdk:"datastore"`
}

type datastoreModel struct {
	URL                types.String `tfsdk:"url"`
	BindDN             types.String `tfsdk:"bind_dn"`
	BindPassword       types.String `tfsdk:"bind_password"`
	DirectoryType      types.String `tfsdk:"directory_type"`
	StartTLS           types.Bool   `tfsdk:"start_tls"`
	CACertificate      types.String `tfsdk:"ca_certificate"`
	InsecureSkipVerify types.Bool   `tfsdk:"insecure_skip_verify"`
	AllowInsecureBind  types.Bool   `tfsdk:"allow_insecure_bind"`
	PageSize           types.Int64  `tfsdk:"page_size"`
	Timeout            types.String `tfsdk:"timeout"`
}

// providerData is what resources and data sources receive from Configure.
type providerData struct {
	client *pingid.Client
	// datastore is nil when neither the datastore block nor PINGID_LDAP_URL is set; objects that
	// read the directory report that as an error pointing at the provider block.
	datastore *datastore.Config
	// schemas is the directory's schema, read once per run for the attribute-name checks.
	schemas *schemaCache
	// claims detects two resources managing one PingID user; it is new with every Configure,
	// i.e. with every Terraform run (see claimRegistry).
	claims *claimRegistry
	// refreshes are the connections refreshed in this run (see refreshLog).
	refreshes *refreshLog
	// now is the clock of rolling drift detection's bookkeeping.
	now func() time.Time
}

// fanoutWorkers is how many per-user workers a fan-out starts: the cap of the client's
// adaptive limit, so the pool never holds the limit back; the client decides how many of
// them call PingID at once.
func (d *providerData) fanoutWorkers() int { return d.client.MaxConcurrency() }

func (p *PingIDProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "pingid"
	resp.Version = p.version
}

func (p *PingIDProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Provisions users from an LDAP / Active Directory datastore into PingID (PingOne for Enterprise, PingID API 4.9). " +
			"PingID credentials come from exactly one source, in this order of precedence: the four discrete attributes " +
			"(`org_alias`, `token`, `use_base64_key`, `idp_url`, all four together), then `properties`, then `properties_file`. " +
			"Every attribute can also be set through its environment variable, so a Terraform Cloud workspace needs no files. " +
			"The configuration wins over the environment: when the provider block sets a credential attribute, the source is chosen " +
			"among the ones it sets, and the environment decides only when it sets none.",
		Attributes: map[string]schema.Attribute{
			"properties_file": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Path to the `pingid.properties` file exported from the PingOne admin portal " +
					"(Setup → PingID → Client Integration). Used when neither the discrete attributes nor `properties` are set. " +
					"Environment variable: `" + envPropertiesFile + "`.",
			},
			"properties": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "The *content* of a `pingid.properties` file, e.g. `file(\"pingid.properties\")` or a sensitive " +
					"Terraform Cloud variable. Takes precedence over `properties_file`. Environment variable: `" + envProperties + "`.",
			},
			"org_alias": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "PingID organization alias (`org_alias` in `pingid.properties`). Environment variable: `" + envOrgAlias + "`.",
			},
			"token": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "PingID API client token (`token` in `pingid.properties`). Environment variable: `" + envToken + "`.",
			},
			"use_base64_key": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "Base64-encoded HS256 signing key (`use_base64_key` in `pingid.properties`, without the `\\` " +
					"escape before `=`). Must decode to at least 32 bytes. Environment variable: `" + envUseBase64Key + "`.",
			},
			"idp_url": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "PingID API base URL (`idp_url` in `pingid.properties`), e.g. `https://idpxnyl3m.pingidentity.com/pingid`. " +
					"Must be an absolute `https://` URL; `http://` is accepted only for loopback hosts (local emulators). " +
					"Environment variable: `" + envIDPURL + "`.",
				Validators: []validator.String{httpURLValidator{}},
			},
			"max_concurrency": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("Cap of the adaptive number of PingID API calls in flight, shared by every resource and data source "+
					"of this provider configuration (reads, plan-time look-ups and apply). PingID publishes no rate limit, so the provider starts at "+
					"%d calls in flight, doubles while PingID answers at a steady latency, then grows one call at a time, and cuts back when PingID "+
					"answers 429 or 503 (waiting out `Retry-After`) or when latency climbs; it never exceeds this cap. Defaults to `%d`: at the "+
					"~100 ms a call takes from a customer network that allows ~640 calls/s, enough for a tenant serving 500 calls/s (50 in flight), "+
					"where 32 would stop at ~320. Lower it to leave capacity to other PingID clients of the same tenant. Environment variable: `%s`.",
					pingid.InitialConcurrency, pingid.DefaultMaxConcurrency, envMaxConcurrency),
				Validators: []validator.Int64{int64validator.Between(1, maxMaxConcurrency)},
			},
			"max_retries": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("Retries of a PingID API call after HTTP 429, 5xx or a network error, with exponential "+
					"backoff and jitter, honouring `Retry-After`. Defaults to `%d`. Environment variable: `%s`.", pingid.DefaultMaxRetries, envMaxRetries),
				Validators: []validator.Int64{int64validator.Between(0, maxMaxRetries)},
			},
			"request_timeout": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("Timeout of one PingID API request attempt, as a Go duration (`30s`, `1m`). Defaults to `%s`. "+
					"Environment variable: `%s`.", pingid.DefaultRequestTimeout, envRequestTimeout),
				Validators: []validator.String{durationValidator{}},
			},
			"datastore": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "The LDAP / Active Directory user store that data sources and provisioning connections read. " +
					"When omitted, it is built from the `PINGID_LDAP_*` environment variables (at least `" + envLDAPURL + "`).",
				Attributes: map[string]schema.Attribute{
					"url": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "Directory URL, `ldap://host:389` or `ldaps://host:636`. Required (here or in `" + envLDAPURL +
							"`) when the datastore is used.",
						Validators: []validator.String{ldapURLValidator{}},
					},
					"bind_dn": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "DN (or AD `DOMAIN\\user` / UPN) to bind as. Anonymous bind when unset. Environment variable: `" + envLDAPBindDN + "`.",
					},
					"bind_password": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "Password for `bind_dn`. Environment variable: `" + envLDAPBindPassword + "`.",
					},
					"directory_type": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "How to detect disabled accounts and nested groups: `active_directory` (userAccountControl bit 0x2, " +
							"in-chain matching rule), or `openldap` and `generic`, which read the same markers (ppolicy `pwdAccountLockedTime` = " +
							"`000001010000Z`, an administrator's lock, or 389 DS `nsAccountLock` = true) and expand nested groups recursively. " +
							"Defaults to `" + datastore.DefaultDirectoryType + "`. Environment variable: `" + envLDAPDirectoryType + "`.",
						Validators: []validator.String{stringvalidator.OneOf(datastore.DirectoryTypes()...)},
					},
					"start_tls": schema.BoolAttribute{
						Optional:            true,
						MarkdownDescription: "Upgrade an `ldap://` connection with StartTLS. Cannot be combined with `ldaps://`. Defaults to `false`. Environment variable: `" + envLDAPStartTLS + "`.",
					},
					"ca_certificate": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "PEM CA certificate(s) that sign the directory's TLS certificate. System roots when unset. Environment variable: `" + envLDAPCACertificate + "`.",
					},
					"insecure_skip_verify": schema.BoolAttribute{
						Optional:            true,
						MarkdownDescription: "Skip TLS certificate verification (testing only). Defaults to `false`. Environment variable: `" + envLDAPInsecureSkipVerify + "`.",
					},
					"allow_insecure_bind": schema.BoolAttribute{
						Optional: true,
						MarkdownDescription: "Allow a simple bind with a password over a plain `ldap://` connection without StartTLS, which sends " +
							"the password in clear text. Defaults to `false`. Environment variable: `" + envLDAPAllowInsecureBind + "`.",
					},
					"page_size": schema.Int64Attribute{
						Optional: true,
						MarkdownDescription: fmt.Sprintf("Paged-results page size (Active Directory caps pages at 1000). Defaults to `%d`. "+
							"A size the directory refuses for the bind account (OpenLDAP `size.pr`, 389 DS `nsslapd-pagedsizelimit`) is stepped down "+
							"automatically, to %d at the least, and the size that worked is logged. Environment variable: `%s`.",
							datastore.DefaultPageSize, datastore.PageSizeFloor, envLDAPPageSize),
						Validators: []validator.Int64{int64validator.Between(1, maxPageSize)},
					},
					"timeout": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: fmt.Sprintf("Timeout for connecting and for each LDAP operation, as a Go duration. Defaults to `%s`. Environment variable: `%s`.",
							datastore.DefaultTimeout, envLDAPTimeout),
						Validators: []validator.String{durationValidator{}},
					},
				},
			},
		},
	}
}

// ValidateConfig reports problems that are visible in the configuration alone, so
// `terraform validate` catches them; anything that depends on environment variables or
// files is checked again in Configure.
func (p *PingIDProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if known(cfg.UseBase64Key) && cfg.UseBase64Key.ValueString() != "" {
		if _, err := pingid.DecodeKey(cfg.UseBase64Key.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("use_base64_key"), "Invalid use_base64_key", err.Error())
		}
	}
	if known(cfg.Properties) && cfg.Properties.ValueString() != "" {
		if _, err := pingid.ParseProperties(cfg.Properties.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("properties"), "Invalid properties content", err.Error())
		}
	}
	if ds := cfg.Datastore; ds != nil {
		if known(ds.URL) && known(ds.StartTLS) && ds.StartTLS.ValueBool() && hasScheme(ds.URL.ValueString(), "ldaps") {
			resp.Diagnostics.AddAttributeError(path.Root("datastore").AtName("start_tls"), "Conflicting TLS settings",
				"start_tls = true cannot be combined with an ldaps:// url: ldaps is already TLS. Use ldap:// with StartTLS, or ldaps:// without it.")
		}
	}
}

func (p *PingIDProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resolved, diags := resolveConfig(cfg, p.getenv, p.readFile)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx = maskSecrets(ctx, resolved.secrets()...)
	client, err := pingid.NewClient(resolved.pingid)
	if err != nil {
		resp.Diagnostics.AddError("Unable to create the PingID client", err.Error())
		return
	}
	tflog.Debug(ctx, "configured PingID provider", map[string]any{
		"credential_source": resolved.credentialSource,
		"idp_url":           resolved.pingid.IDPURL,
		"max_concurrency":   resolved.pingid.MaxConcurrency,
		"datastore":         resolved.datastore != nil,
	})
	data := &providerData{client: client, datastore: resolved.datastore, schemas: &schemaCache{}, claims: newClaimRegistry(), refreshes: newRefreshLog(), now: p.now}
	if data.now == nil {
		data.now = time.Now
	}
	resp.DataSourceData = data
	resp.ResourceData = data
}

func (p *PingIDProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewMappedUserResource,
		NewProvisioningConnectionResource,
	}
}

func (p *PingIDProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewDatastoreGroupDataSource,
	}
}

// configuredData is the shared Configure step of resources and data sources. ProviderData is
// nil until the provider is configured (e.g. during validate); that is not an error.
func configuredData(raw any, diags *diag.Diagnostics) *providerData {
	if raw == nil {
		return nil
	}
	data, ok := raw.(*providerData)
	if !ok {
		diags.AddError("Unexpected Configure Type",
			fmt.Sprintf("Expected *providerData, got: %T. Please report this issue to the provider developers.", raw))
		return nil
	}
	return data
}

// known reports whether a value is set to a concrete value (neither null nor unknown).
func known(v interface {
	IsNull() bool
	IsUnknown() bool
},
) bool {
	return !v.IsNull() && !v.IsUnknown()
}

// maskSecrets keeps secret strings out of every log line written with this context.
func maskSecrets(ctx context.Context, secrets ...string) context.Context {
	var nonEmpty []string
	for _, s := range secrets {
		if s != "" {
			nonEmpty = append(nonEmpty, s)
		}
	}
	if len(nonEmpty) == 0 {
		return ctx
	}
	ctx = tflog.MaskMessageStrings(ctx, nonEmpty...)
	ctx = tflog.MaskAllFieldValuesStrings(ctx, nonEmpty...)
	return ctx
}

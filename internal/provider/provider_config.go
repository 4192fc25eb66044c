package provider

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/datastore"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/pingid"
)

// Environment variables, one per provider attribute, so a Terraform Cloud workspace needs no files.
const (
	envPropertiesFile         = "PINGID_PROPERTIES_FILE"
	envProperties             = "PINGID_PROPERTIES"
	envOrgAlias               = "PINGID_ORG_ALIAS"
	envToken                  = "PINGID_TOKEN"
	envUseBase64Key           = "PINGID_USE_BASE64_KEY"
	envIDPURL                 = "PINGID_IDP_URL"
	envMaxConcurrency         = "PINGID_MAX_CONCURRENCY"
	envMaxRetries             = "PINGID_MAX_RETRIES"
	envRequestTimeout         = "PINGID_REQUEST_TIMEOUT"
	envLDAPURL                = "PINGID_LDAP_URL"
	envLDAPBindDN             = "PINGID_LDAP_BIND_DN"
	envLDAPBindPassword       = "PINGID_LDAP_BIND_PASSWORD"
	envLDAPDirectoryType      = "PINGID_LDAP_DIRECTORY_TYPE"
	envLDAPStartTLS           = "PINGID_LDAP_START_TLS"
	envLDAPCACertificate      = "PINGID_LDAP_CA_CERTIFICATE"
	envLDAPInsecureSkipVerify = "PINGID_LDAP_INSECURE_SKIP_VERIFY"
	envLDAPAllowInsecureBind  = "PINGID_LDAP_ALLOW_INSECURE_BIND"
	envLDAPPageSize           = "PINGID_LDAP_PAGE_SIZE"
	envLDAPTimeout            = "PINGID_LDAP_TIMEOUT"
)

const (
	// Upper bounds, the same for attributes and environment variables; the defaults are the
	// pingid and datastore packages' own.
	maxMaxConcurrency = 256
	maxMaxRetries     = 20
	maxPageSize       = 100000
)

// resolvedConfig is the provider configuration after attributes, environment variables and
// files have been merged and validated.
type resolvedConfig struct {
	pingid           pingid.Config
	datastore        *datastore.Config
	credentialSource string
}

func (r resolvedConfig) secrets() []string {
	s := []string{r.pingid.Token, r.pingid.Base64Key}
	if r.datastore != nil {
		s = append(s, r.datastore.BindPassword)
	}
	return s
}

// setting reads one attribute with its environment-variable fallback and remembers where
// the value came from, so errors can say which sources were tried.
type setting struct {
	value  string
	path   path.Path
	env    string
	source string // "attribute", "environment" or ""
}

func (s setting) set() bool { return s.value != "" }

func (s setting) describe() string {
	return fmt.Sprintf("%s (attribute %s or environment variable %s)", s.path, s.path, s.env)
}

type configReader struct {
	getenv func(string) string
	diags  diag.Diagnostics
}

func (r *configReader) str(v types.String, p path.Path, env string) setting {
	s := setting{path: p, env: env}
	switch {
	case v.IsUnknown():
		r.diags.AddAttributeError(p, "Value unknown during plan",
			fmt.Sprintf("%s depends on a value that is only known after apply; provider configuration must be known at plan time. "+
				"Set it from a variable, a file or the environment variable %s.", p, env))
	case !v.IsNull() && v.ValueString() != "":
		s.value, s.source = v.ValueString(), "attribute"
	case r.getenv(env) != "":
		s.value, s.source = r.getenv(env), "environment"
	}
	return s
}

func (r *configReader) int(v types.Int64, p path.Path, env string, def, minimum, maximum int64) int64 {
	switch {
	case v.IsUnknown():
		r.diags.AddAttributeError(p, "Value unknown during plan", fmt.Sprintf("%s must be known at plan time.", p))
	case !v.IsNull():
		return v.ValueInt64()
	case r.getenv(env) != "":
		n, err := strconv.ParseInt(strings.TrimSpace(r.getenv(env)), 10, 64)
		if err != nil || n < minimum || n > maximum {
			r.diags.AddAttributeError(p, "Invalid environment variable",
				fmt.Sprintf("%s must be an integer from %d to %d, got %q.", env, minimum, maximum, r.getenv(env)))
			return def
		}
		return n
	}
	return def
}

func (r *configReader) bool(v types.Bool, p path.Path, env string) bool {
	switch {
	case v.IsUnknown():
		r.diags.AddAttributeError(p, "Value unknown during plan", fmt.Sprintf("%s must be known at plan time.", p))
	case !v.IsNull():
		return v.ValueBool()
	case r.getenv(env) != "":
		b, err := strconv.ParseBool(strings.TrimSpace(r.getenv(env)))
		if err != nil {
			r.diags.AddAttributeError(p, "Invalid environment variable",
				fmt.Sprintf("%s must be true or false, got %q.", env, r.getenv(env)))
		}
		return b
	}
	return false
}

func (r *configReader) duration(v types.String, p path.Path, env string, def time.Duration) time.Duration {
	s := r.str(v, p, env)
	if !s.set() {
		return def
	}
	d, err := time.ParseDuration(s.value)
	if err != nil || d <= 0 {
		where := "Invalid duration"
		if s.source == "environment" {
			where = "Invalid environment variable " + env
		}
		r.diags.AddAttributeError(p, where, fmt.Sprintf("%q is not a positive Go duration such as \"30s\" or \"2m\".", s.value))
		return def
	}
	return d
}

// resolveConfig merges attributes, environment variables and files into the client and
// datastore configurations. Credentials come from exactly one source: the four discrete
// settings (all together), else properties content, else a properties file.
func resolveConfig(cfg providerModel, getenv func(string) string, readFile func(string) ([]byte, error)) (resolvedConfig, diag.Diagnostics) {
	r := &configReader{getenv: getenv}
	var out resolvedConfig

	creds, source, credPath := r.credentials(cfg, readFile)
	out.credentialSource = source
	if source != "" {
		if err := creds.Validate(); err != nil {
			p := credPath
			var verr *pingid.ValidationError
			if errors.As(err, &verr) && source == "attributes" {
				p = path.Root(verr.Field)
			}
			r.diags.AddAttributeError(p, "Invalid PingID credentials", fmt.Sprintf("From %s: %s", source, err))
		}
	}
	out.pingid = pingid.Config{
		Credentials:    creds,
		MaxConcurrency: int(r.int(cfg.MaxConcurrency, path.Root("max_concurrency"), envMaxConcurrency, pingid.DefaultMaxConcurrency, 1, maxMaxConcurrency)),
		MaxRetries:     int(r.int(cfg.MaxRetries, path.Root("max_retries"), envMaxRetries, pingid.DefaultMaxRetries, 0, maxMaxRetries)),
		RequestTimeout: r.duration(cfg.RequestTimeout, path.Root("request_timeout"), envRequestTimeout, pingid.DefaultRequestTimeout),
	}
	if out.pingid.MaxRetries == 0 {
		out.pingid.MaxRetries = pingid.NoRetries // the client reads 0 as "use the default"
	}
	out.datastore = r.datastore(cfg.Datastore)
	return out, r.diags
}

// configured reports an attribute the configuration sets (to a value, or to one only known
// after apply, which str reports).
func configured(v types.String) bool {
	return v.IsUnknown() || (!v.IsNull() && v.ValueString() != "")
}

// credentials picks the one credential source and reads it. The configuration decides first:
// when it sets any credential attribute, the source is chosen among the configured ones (the
// four discrete settings > properties > properties_file), and the environment only completes
// the discrete settings the configuration leaves out. Only a configuration that sets no
// credential attribute is read from the environment, in the same order. So a stray
// PINGID_TOKEN cannot override properties_file, as in HashiCorp's providers.
func (r *configReader) credentials(cfg providerModel, readFile func(string) ([]byte, error)) (pingid.Credentials, string, path.Path) {
	discreteAttrs := []types.String{cfg.OrgAlias, cfg.Token, cfg.UseBase64Key, cfg.IDPURL}
	switch {
	case slices.ContainsFunc(discreteAttrs, configured):
		return r.discreteCredentials(cfg)
	case configured(cfg.Properties):
		return r.propertiesCredentials(cfg)
	case configured(cfg.PropertiesFile):
		return r.fileCredentials(cfg, readFile)
	}
	for _, env := range []string{envOrgAlias, envToken, envUseBase64Key, envIDPURL} {
		if r.getenv(env) != "" {
			return r.discreteCredentials(cfg)
		}
	}
	if r.getenv(envProperties) != "" {
		return r.propertiesCredentials(cfg)
	}
	if r.getenv(envPropertiesFile) != "" {
		return r.fileCredentials(cfg, readFile)
	}
	if !r.diags.HasError() {
		r.diags.AddError("Missing PingID credentials", fmt.Sprintf(
			"No PingID credentials were found. Tried, in order: the four discrete settings %s; properties (attribute properties or %s); "+
				"properties_file (attribute properties_file or %s). Set one of them.",
			strings.Join(r.describeAll(r.discreteSettings(cfg)), ", "), envProperties, envPropertiesFile))
	}
	return pingid.Credentials{}, "", path.Empty()
}

func (r *configReader) discreteSettings(cfg providerModel) []setting {
	return []setting{
		r.str(cfg.OrgAlias, path.Root("org_alias"), envOrgAlias),
		r.str(cfg.Token, path.Root("token"), envToken),
		r.str(cfg.UseBase64Key, path.Root("use_base64_key"), envUseBase64Key),
		r.str(cfg.IDPURL, path.Root("idp_url"), envIDPURL),
	}
}

func (r *configReader) describeAll(settings []setting) []string {
	out := make([]string, 0, len(settings))
	for _, s := range settings {
		out = append(out, s.describe())
	}
	return out
}

// discreteCredentials reads org_alias, token, use_base64_key and idp_url, each from its
// attribute or else its environment variable; all four are required together.
func (r *configReader) discreteCredentials(cfg providerModel) (pingid.Credentials, string, path.Path) {
	discrete := r.discreteSettings(cfg)
	var present, missing []string
	for _, s := range discrete {
		if s.set() {
			present = append(present, fmt.Sprintf("%s (from %s)", s.path, s.source))
		} else {
			missing = append(missing, s.describe())
		}
	}
	if len(present) == len(discrete) {
		return pingid.Credentials{
			OrgAlias: discrete[0].value, Token: discrete[1].value, Base64Key: discrete[2].value, IDPURL: discrete[3].value,
		}, "attributes", path.Root("org_alias")
	}
	for _, s := range discrete {
		if !s.set() && !r.diags.HasError() {
			r.diags.AddAttributeError(s.path, "Incomplete PingID credentials", fmt.Sprintf(
				"The discrete PingID credentials must be set all four together. Set: %s. Missing: %s. "+
					"Alternatively unset them all and use properties or properties_file.",
				strings.Join(present, ", "), strings.Join(missing, ", ")))
			break
		}
	}
	return pingid.Credentials{}, "", path.Empty()
}

// propertiesCredentials parses properties (attribute, else PINGID_PROPERTIES).
func (r *configReader) propertiesCredentials(cfg providerModel) (pingid.Credentials, string, path.Path) {
	props := r.str(cfg.Properties, path.Root("properties"), envProperties)
	if !props.set() {
		return pingid.Credentials{}, "", path.Empty() // unknown: str reported it
	}
	creds, err := pingid.ParseProperties(props.value)
	if err != nil {
		r.diags.AddAttributeError(props.path, "Invalid PingID properties", fmt.Sprintf("From %s: %s", props.source, err))
		return pingid.Credentials{}, "", path.Empty()
	}
	return creds, "properties (" + props.source + ")", props.path
}

// fileCredentials reads the file properties_file (attribute, else PINGID_PROPERTIES_FILE) names.
func (r *configReader) fileCredentials(cfg providerModel, readFile func(string) ([]byte, error)) (pingid.Credentials, string, path.Path) {
	file := r.str(cfg.PropertiesFile, path.Root("properties_file"), envPropertiesFile)
	if !file.set() {
		return pingid.Credentials{}, "", path.Empty() // unknown: str reported it
	}
	content, err := readFile(file.value)
	if err != nil {
		r.diags.AddAttributeError(file.path, "Unreadable PingID properties file",
			fmt.Sprintf("Reading %q (from %s): %s", file.value, file.source, err))
		return pingid.Credentials{}, "", path.Empty()
	}
	creds, err := pingid.ParseProperties(string(content))
	if err != nil {
		r.diags.AddAttributeError(file.path, "Invalid PingID properties file", fmt.Sprintf("%q: %s", file.value, err))
		return pingid.Credentials{}, "", path.Empty()
	}
	return creds, "properties_file " + file.value, file.path
}

func (r *configReader) datastore(m *datastoreModel) *datastore.Config {
	if m == nil {
		m = &datastoreModel{}
		if r.getenv(envLDAPURL) == "" {
			return nil
		}
	}
	root := path.Root("datastore")
	urlSetting := r.str(m.URL, root.AtName("url"), envLDAPURL)
	if !urlSetting.set() {
		r.diags.AddAttributeError(root.AtName("url"), "Missing datastore url",
			"The datastore block needs url (attribute datastore.url or environment variable "+envLDAPURL+"), e.g. ldaps://dc1.corp.example.com:636.")
		return nil
	}
	dirType := r.str(m.DirectoryType, root.AtName("directory_type"), envLDAPDirectoryType)
	cfg := &datastore.Config{
		URL:                urlSetting.value,
		BindDN:             r.str(m.BindDN, root.AtName("bind_dn"), envLDAPBindDN).value,
		BindPassword:       r.str(m.BindPassword, root.AtName("bind_password"), envLDAPBindPassword).value,
		DirectoryType:      dirType.value,
		StartTLS:           r.bool(m.StartTLS, root.AtName("start_tls"), envLDAPStartTLS),
		CACertificate:      r.str(m.CACertificate, root.AtName("ca_certificate"), envLDAPCACertificate).value,
		InsecureSkipVerify: r.bool(m.InsecureSkipVerify, root.AtName("insecure_skip_verify"), envLDAPInsecureSkipVerify),
		AllowInsecureBind:  r.bool(m.AllowInsecureBind, root.AtName("allow_insecure_bind"), envLDAPAllowInsecureBind),
		PageSize:           int(r.int(m.PageSize, root.AtName("page_size"), envLDAPPageSize, datastore.DefaultPageSize, 1, maxPageSize)),
		Timeout:            r.duration(m.Timeout, root.AtName("timeout"), envLDAPTimeout, datastore.DefaultTimeout),
		// One memory per provider process: a page size the directory refuses is stepped down
		// once per run, not once per read.
		PageSizes: &datastore.PageSizeMemory{},
		Log:       func(ctx context.Context, msg string, fields map[string]any) { tflog.Warn(ctx, msg, fields) },
	}
	if cfg.DirectoryType == "" {
		cfg.DirectoryType = datastore.DefaultDirectoryType
	}
	if err := cfg.Validate(); err != nil {
		var cerr *datastore.ConfigError
		p := root
		if errors.As(err, &cerr) {
			p = root.AtName(cerr.Field)
		}
		detail := err.Error() + "."
		if cerr != nil && datastoreEnv(cerr.Field) != "" {
			detail += fmt.Sprintf(" The setting is attribute datastore.%s or environment variable %s.", cerr.Field, datastoreEnv(cerr.Field))
		}
		r.diags.AddAttributeError(p, "Invalid datastore configuration", detail)
		return nil
	}
	return cfg
}

// datastoreEnv names the environment variable of a datastore attribute, for errors.
func datastoreEnv(field string) string {
	for _, v := range []struct{ field, env string }{
		{"url", envLDAPURL}, {"bind_dn", envLDAPBindDN}, {"bind_password", envLDAPBindPassword},
		{"directory_type", envLDAPDirectoryType}, {"start_tls", envLDAPStartTLS}, {"ca_certificate", envLDAPCACertificate},
		{"insecure_skip_verify", envLDAPInsecureSkipVerify}, {"allow_insecure_bind", envLDAPAllowInsecureBind},
		{"page_size", envLDAPPageSize}, {"timeout", envLDAPTimeout},
	} {
		if v.field == field {
			return v.env
		}
	}
	return ""
}

func hasScheme(raw, scheme string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.EqualFold(u.Scheme, scheme)
}

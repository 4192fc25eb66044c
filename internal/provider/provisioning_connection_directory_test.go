package provider

// Acceptance tests of how a connection meets a directory as its administrators configured it:
// the attribute names are checked against the directory's schema, and a service account whose
// page size the directory caps still reads everything. Each refused plan is shown to make no
// PingID call at all.

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/slapd"
)

// asService binds cfg's provider as the directory's provisioning service account
// (cn=svc-pingid, with its own limits) instead of the reader, adding datastoreExtra lines to
// the datastore block.
func (e *accEnv) asService(t *testing.T, cfg, datastoreExtra string) string {
	t.Helper()
	if !strings.Contains(cfg, `"`+e.LDAP.ReaderDN+`"`) || !strings.Contains(cfg, "allow_insecure_bind = true") {
		t.Fatalf("asService: the configuration does not bind as the reader:\n%s", cfg)
	}
	cfg = strings.NewReplacer(`"`+e.LDAP.ReaderDN+`"`, `"`+e.LDAP.ServiceDN+`"`,
		`"`+e.LDAP.ReaderPassword+`"`, `"`+e.LDAP.ServicePassword+`"`).Replace(cfg)
	return strings.Replace(cfg, "allow_insecure_bind = true", "allow_insecure_bind = true\n    "+datastoreExtra, 1)
}

// wantNoCalls fails the test when PingID was called at all since the last ResetCalls: a plan
// refused before the directory was read must not even look PingID up.
func (e *accEnv) wantNoCalls(t *testing.T, what string) {
	t.Helper()
	if calls := e.PingID.Calls(); len(calls) != 0 {
		t.Errorf("%s called PingID: %v", what, calls)
	}
}

// mapping replaces the connection's default attribute_mapping value of key.
func mapping(cfg, key, value string) string {
	defaults := map[string]string{"username": "uid", "email": "mail", "first_name": "givenName", "last_name": "sn"}
	re := regexp.MustCompile(`(?m)^(\s+` + key + `\s+= )"` + defaults[key] + `"$`)
	return re.ReplaceAllString(cfg, `${1}"`+value+`"`)
}

// TestAccProvisioningConnection_attributeNamesChecked: an attribute_mapping name the
// directory's schema does not define fails the plan, pointing at the attribute and suggesting
// the close one, and writes nothing, both for a new and an existing connection.
func TestAccProvisioningConnection_attributeNamesChecked(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	good := env.connectionConfig("")
	typos := mapping(mapping(good, "email", "mial"), "last_name", "surnme")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig:   env.pre(t),
				Config:      typos,
				ExpectError: regexp.MustCompile(`(?s)Unknown directory attribute in attribute_mapping\.email.*"mial" is not an attribute type in the\s+directory's\s+schema\s+\(did\s+you\s+mean\s+"mail"\?\)`),
			},
			{
				PreConfig:   func() { env.wantNoCalls(t, "the plan refused for attribute_mapping.email") },
				Config:      typos,
				ExpectError: regexp.MustCompile(`(?s)Unknown directory attribute in attribute_mapping\.last_name.*"surnme" is not an attribute type.*\(did\s+you\s+mean\s+"surname"\?\)`),
			},
			{
				PreConfig: func() { env.wantNoCalls(t, "the plan refused for attribute_mapping.last_name"); env.pre(t)() },
				Config:    good,
				Check:     checks(env.wantProfile("jsmith", pJSmith.mail, "John", "Smith", stNotActive, 0)),
			},
			{
				// A typo introduced into an existing connection fails the same way.
				PreConfig:   env.pre(t),
				Config:      mapping(good, "first_name", "givenNmae"),
				ExpectError: regexp.MustCompile(`(?s)Unknown directory attribute in attribute_mapping\.first_name.*"givenNmae" is not an attribute type.*\(did\s+you\s+mean\s+"givenName"\?\)`),
			},
			{
				PreConfig: func() {
					if err := env.wantWrites(nil)(); err != nil {
						t.Errorf("the refused plan changed PingID: %v", err)
					}
				},
				Config:           good,
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
			},
		},
	})
}

// TestAccProvisioningConnection_schemaNotReadable: when the bind account may not read the
// schema, names are not checked (a warning says so) and the plan goes on, as before the check.
func TestAccProvisioningConnection_schemaNotReadable(t *testing.T) {
	t.Parallel()
	env := newAccEnvWith(t, slapd.Options{HideSchema: true})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig: env.pre(t),
			Config:    mapping(env.connectionConfig(""), "email", "mial"),
			// Unchecked, the typo maps nothing: the users get no email.
			Check: checks(env.wantProfile("jsmith", "", "John", "Smith", stNotActive, 0),
				env.wantUsernames("adoe", "bwayne", "cdisabled", "jsmith")),
		}},
	})
}

// TestAccProvisioningConnection_pageSizeCappedForServiceAccount: the service account may page
// by at most 10 entries (OpenLDAP limits size.pr); the default page size of 1000 is refused,
// and the provider steps down and reads everything, in plan, apply and refresh alike.
func TestAccProvisioningConnection_pageSizeCappedForServiceAccount(t *testing.T) {
	t.Parallel()
	env := newAccEnvWith(t, slapd.Options{ServicePageLimit: 10})
	cfg := env.asService(t, env.connectionConfig(`source_location = {
    base_dn = "ou=people,dc=example,dc=com"
    filter  = "(objectClass=inetOrgPerson)"
  }`), "")
	// connectionConfig already has a source_location: keep only the filter one.
	cfg = regexp.MustCompile(`(?s)  source_location = \{\n    base_dn       = [^\n]*\n    group_dn[^\n]*\n    nested_groups = true\n  \}\n`).ReplaceAllString(cfg, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: env.pre(t),
				Config:    cfg,
				Check:     checks(env.wantUsernames("adoe", "bwayne", "cdisabled", "jsmith", "outsider")),
			},
			{PreConfig: env.pre(t), Config: cfg, ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()), Check: checks(env.wantWrites(nil))},
		},
	})
}

// TestAccProvisioningConnection_pageSizeBelowFloor: a service account capped below the
// fallback's floor (5 entries per page) fails the plan with an error naming
// datastore.page_size, calling PingID not at all; setting page_size = 5 then works.
func TestAccProvisioningConnection_pageSizeBelowFloor(t *testing.T) {
	t.Parallel()
	env := newAccEnvWith(t, slapd.Options{ServicePageLimit: 5})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: env.pre(t),
				Config:    env.asService(t, env.connectionConfig(""), ""),
				ExpectError: regexp.MustCompile(`(?s)Unable to read the source location.*pages of 1000 down to\s+10.*illegal\s+pagedResults\s+page\s+size.*` +
					`datastore\.page_size.*No user is provisioned or\s+deprovisioned`),
			},
			{
				PreConfig: func() { env.wantNoCalls(t, "the plan refused for its page size"); env.pre(t)() },
				Config:    env.asService(t, env.connectionConfig(""), "page_size = 5"),
				Check:     checks(env.wantUsernames("adoe", "bwayne", "cdisabled", "jsmith")),
			},
		},
	})
}

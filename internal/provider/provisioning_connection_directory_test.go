package provider

// Acceptance tests of how a connection meets a directory as its administrators configured it:
// the attribute names are checked against the directory's schema, and a service account whose
// page size the directory caps still reads everything. Each refused plan is shown to make no
// PingID call at all.

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/testutil/dirsrv"
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

// TestAccProvisioningConnection_389DirectoryServer runs a connection against 389 Directory
// Server, bound as its service account whose nsPagedSizeLimit (12) is below the default page
// size: its transitive memberOf selects the nested members of engineering, nsAccountLock
// (bob's own, gina's from the disabled role) suspends them, and 23 users read through the
// limit in smaller pages. The next plan is empty and writes nothing.
func TestAccProvisioningConnection_389DirectoryServer(t *testing.T) {
	t.Parallel()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	ds := dirsrv.StartT(t, dirsrv.Options{ServicePagedSizeLimit: 12})
	ctx := context.Background()
	if err := ds.LoadFixture(ctx); err != nil {
		t.Fatal(err)
	}
	var extra strings.Builder
	var names []string
	for i := range 18 {
		name := slapd.UserName("u", i)
		names = append(names, name)
		fmt.Fprintf(&extra, "dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: User %[2]s\ngivenName: User\nsn: %[2]s\nmail: %[2]s@example.com\n\n"+
			"dn: cn=backend,ou=groups,%s\nchangetype: modify\nadd: member\nmember: %[1]s\n-\n\n", slapd.UserDN(ds.Suffix, "u", i), name, ds.Suffix)
	}
	if err := ds.Apply(ctx, extra.String()); err != nil {
		t.Fatal(err)
	}
	env := newPingIDEnv(t)
	cfg := fmt.Sprintf(`
provider "pingid" {
  properties_file = %q
  datastore = {
    url                 = %q
    bind_dn             = %q
    bind_password       = %q
    directory_type      = "generic"
    allow_insecure_bind = true
  }
}

resource "pingid_provisioning_connection" "corp" {
  name = "corp"
  source_location = {
    base_dn = "ou=people,%[5]s"
    filter  = "(memberOf=cn=engineering,ou=groups,%[5]s)"
  }
  attribute_mapping = {
    username   = "uid"
    email      = "mail"
    first_name = "givenName"
    last_name  = "sn"
  }
}
`, env.PropertiesFile, ds.URL, ds.ServiceDN, ds.ServicePassword, ds.Suffix)
	want := append([]string{"alice", "bob", "carol", "dave", "gina"}, names...) // frank is outside base_dn
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: env.pre(t),
				Config:    cfg,
				Check: checks(env.wantUsernames(want...), env.wantStatus("bob", stSuspended), env.wantStatus("gina", stSuspended),
					env.wantProfile("carol", "carol@example.com", "", "Clark", stNotActive, 0)),
			},
			{PreConfig: env.pre(t), Config: cfg, ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()), Check: checks(env.wantWrites(nil))},
		},
	})
}

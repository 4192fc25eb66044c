package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// entryUUID is how OpenLDAP's stable id looks.
var entryUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func dataAddr(name string) string { return "data.pingid_datastore_group." + name }

// groupSources are data sources over companyLDIF: the nested group, its direct members, a
// filter alone, and a group and a filter together.
func (e *accEnv) groupSources() string {
	return e.providerConfig() + fmt.Sprintf(`
data "pingid_datastore_group" "nested" {
  base_dn    = %[1]q
  group_dn   = %[2]q
  nested     = true
  attributes = ["mail", "telephoneNumber"]
}

data "pingid_datastore_group" "direct" {
  base_dn  = %[1]q
  group_dn = %[2]q
}

data "pingid_datastore_group" "filter" {
  base_dn = %[1]q
  filter  = "(sn=Outsider)"
}

data "pingid_datastore_group" "both" {
  base_dn  = %[1]q
  group_dn = %[2]q
  nested   = true
  filter   = "(|(givenName=B*)(givenName=C*))"
}
`, testBaseDN, testGroupDN)
}

// member is the expected value of one members entry.
func member(p person, enabled bool, attributes map[string]knownvalue.Check) knownvalue.Check {
	if attributes == nil {
		attributes = map[string]knownvalue.Check{}
	}
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"dn":         knownvalue.StringExact(p.dn()),
		"username":   knownvalue.StringExact(p.uid),
		"enabled":    knownvalue.Bool(enabled),
		"id":         knownvalue.StringRegexp(entryUUID),
		"attributes": knownvalue.MapExact(attributes),
	})
}

func mailAndPhone(p person, phone knownvalue.Check) map[string]knownvalue.Check {
	return map[string]knownvalue.Check{"mail": knownvalue.StringExact(p.mail), "telephoneNumber": phone}
}

func membersAre(addr string, members map[string]knownvalue.Check) []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("members"), knownvalue.MapExact(members)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("member_count"), knownvalue.Int64Exact(int64(len(members)))),
	}
}

// TestAccDatastoreGroupDataSource_members: group (direct and nested), filter, and both; each
// member with dn, username, enabled, the entryUUID and the requested attributes (null when
// the entry lacks one); a directory change shows on the next read.
func TestAccDatastoreGroupDataSource_members(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	env.apply(t, modifyLDIF(pJSmith.dn(), "add", "telephoneNumber", "+1 555 0100"))
	pDNew := person{"dnew", "Dan", "New", "dan.new@example.com"}
	noPhone := knownvalue.Null()

	var first []statecheck.StateCheck
	first = append(first, membersAre(dataAddr("nested"), map[string]knownvalue.Check{
		"jsmith":    member(pJSmith, true, mailAndPhone(pJSmith, knownvalue.StringExact("+1 555 0100"))),
		"adoe":      member(pADoe, true, mailAndPhone(pADoe, noPhone)),
		"bwayne":    member(pBWayne, true, mailAndPhone(pBWayne, noPhone)),
		"cdisabled": member(pCDisabled, false, mailAndPhone(pCDisabled, noPhone)),
	})...)
	first = append(first, membersAre(dataAddr("direct"), map[string]knownvalue.Check{
		"jsmith": member(pJSmith, true, nil), "adoe": member(pADoe, true, nil), "cdisabled": member(pCDisabled, false, nil),
	})...)
	first = append(first, membersAre(dataAddr("filter"), map[string]knownvalue.Check{"outsider": member(pOutsider, true, nil)})...)
	first = append(first, membersAre(dataAddr("both"), map[string]knownvalue.Check{
		"bwayne": member(pBWayne, true, nil), "cdisabled": member(pCDisabled, false, nil),
	})...)
	// The id is stable: the same entry keeps it across reads.
	sameID := statecheck.CompareValue(compare.ValuesSame())

	var second []statecheck.StateCheck
	second = append(second, membersAre(dataAddr("nested"), map[string]knownvalue.Check{
		"jsmith":    member(pJSmith, true, mailAndPhone(pJSmith, knownvalue.StringExact("+1 555 0100"))),
		"adoe":      member(pADoe, false, mailAndPhone(pADoe, noPhone)),
		"bwayne":    member(pBWayne, true, mailAndPhone(pBWayne, noPhone)),
		"cdisabled": member(pCDisabled, true, mailAndPhone(pCDisabled, noPhone)),
		"dnew":      member(pDNew, true, mailAndPhone(pDNew, noPhone)),
	})...)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:            env.groupSources(),
				ConfigStateChecks: append(first, sameID.AddStateValue(dataAddr("nested"), tfjsonpath.New("members").AtMapKey("jsmith").AtMapKey("id"))),
			},
			{
				// dnew joins, adoe is disabled, cdisabled is enabled.
				PreConfig: env.pre(t, pDNew.ldif(), join(pDNew.dn()), disableLDIF(pADoe.dn()), enableLDIF(pCDisabled.dn())),
				Config:    env.groupSources(),
				ConfigStateChecks: append(second,
					sameID.AddStateValue(dataAddr("nested"), tfjsonpath.New("members").AtMapKey("jsmith").AtMapKey("id")),
					statecheck.ExpectKnownValue(dataAddr("direct"), tfjsonpath.New("member_count"), knownvalue.Int64Exact(4))),
			},
		},
	})
}

// TestAccDatastoreGroupDataSource_errors: a wrong base DN, a group that does not exist or is
// not a group, and an unreachable directory are errors, never an empty member list.
func TestAccDatastoreGroupDataSource_errors(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	source := func(provider, baseDN, groupDN string) string {
		return provider + fmt.Sprintf(`
data "pingid_datastore_group" "x" {
  base_dn  = %q
  group_dn = %q
}
`, baseDN, groupDN)
	}
	unreachable := strings.Replace(env.providerConfig(), env.LDAP.URL, "ldap://127.0.0.1:1", 1)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      source(env.providerConfig(), "ou=nowhere,dc=example,dc=com", testGroupDN),
				ExpectError: regexp.MustCompile(`(?s)Unable to read the datastore.*base_dn\s+=.*ou=nowhere,dc=example,dc=com.*no\s+such\s+entry`),
			},
			{
				Config:      source(env.providerConfig(), testBaseDN, "cn=nope,ou=groups,dc=example,dc=com"),
				ExpectError: regexp.MustCompile(`(?s)Unable to read the datastore.*group_dn\s+=.*cn=nope,ou=groups,dc=example,dc=com.*no\s+such\s+entry`),
			},
			{
				Config:      source(env.providerConfig(), testBaseDN, pJSmith.dn()),
				ExpectError: regexp.MustCompile(`(?s)Unable to read the datastore.*group_dn\s+=.*uid=jsmith,ou=people,dc=example,dc=com.*not\s+a\s+group`),
			},
			{
				Config:      source(unreachable, testBaseDN, testGroupDN),
				ExpectError: regexp.MustCompile(`(?s)Unable to read the datastore.*127\.0\.0\.1:1`),
			},
		},
	})
}

// TestAccDatastoreGroupDataSource_attributeNamesChecked: attributes and username_attribute
// that the directory's schema does not define fail the read, each pointing at its setting with
// the close name; nothing reaches PingID.
func TestAccDatastoreGroupDataSource_attributeNamesChecked(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	cfg := func(usernameAttr, attrs string) string {
		return env.providerConfig() + fmt.Sprintf(`
data "pingid_datastore_group" "g" {
  base_dn            = %q
  group_dn           = %q
  username_attribute = %q
  attributes         = [%s]
}
`, testBaseDN, testGroupDN, usernameAttr, attrs)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig:   env.pre(t),
				Config:      cfg("uid", `"mail", "givnName", "telephoneNumber"`),
				ExpectError: regexp.MustCompile(`(?s)Unknown directory attribute in attributes\[1\].*"givnName" is not an attribute type.*did\s+you\s+mean\s+"givenName"`),
			},
			{
				PreConfig:   func() { env.wantNoCalls(t, "the refused data source read") },
				Config:      cfg("uidd", `"mail"`),
				ExpectError: regexp.MustCompile(`(?s)Unknown directory attribute in username_attribute.*"uidd" is not an attribute type.*did\s+you\s+mean\s+"uid"`),
			},
			{
				Config:            cfg("UID", `"MAIL", "GivenName"`),                                                                                             // names in any case
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(dataAddr("g"), tfjsonpath.New("member_count"), knownvalue.Int64Exact(3))}, // jsmith, adoe, cdisabled (direct members)
			},
		},
	})
}

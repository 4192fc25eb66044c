package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/emulator"
	"github.com/pingid-provisioner/terraform-provider-pingid/internal/sync"
)

const connAddr = "pingid_provisioning_connection.corp"

// connectionConfig renders a connection over the pingid-users group; extra is added inside
// the resource block.
func (e *accEnv) connectionConfig(extra string) string {
	return e.providerConfig() + fmt.Sprintf(`
resource "pingid_provisioning_connection" "corp" {
  name = "corp"
  source_location = {
    base_dn       = %q
    group_dn      = %q
    nested_groups = true
  }
  attribute_mapping = {
    username   = "uid"
    email      = "mail"
    first_name = "givenName"
    last_name  = "sn"
  }
%s
}
`, testBaseDN, testGroupDN, extra)
}

func userJSON(dn, email, first, last string, enabled bool, status string, source sync.SourceState) knownvalue.Check {
	return knownvalue.StringExact(sync.Entry{
		DN: dn, Email: email, FirstName: first, LastName: last, Enabled: enabled, Status: status, SourceState: source,
	}.JSON())
}

func usersKey(name string) tfjsonpath.Path { return tfjsonpath.New("users").AtMapKey(name) }

// TestAccProvisioningConnection_existingUsersLinked is behaviour 1: an existing PingID user is
// linked by username, never duplicated, and keeps its status, devices and role.
func TestAccProvisioningConnection_existingUsersLinked(t *testing.T) {
	env := newAccEnv(t)
	if err := env.PingID.SeedUser(emulator.User{
		UserName: "jsmith", FirstName: "Johnny", LastName: "Smith", Email: "old@example.com", Role: "REGULAR", Status: "ACTIVE",
		Devices: []emulator.Device{{ID: 1, Type: "iPhone", Nickname: "phone", Role: "PRIMARY"}},
	}); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: env.connectionConfig(""),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(connAddr, plancheck.ResourceActionCreate),
				plancheck.ExpectKnownValue(connAddr, usersKey("jsmith"), userJSON("uid=jsmith,ou=people,dc=example,dc=com",
					"john.smith@example.com", "John", "Smith", true, "ACTIVE", sync.SourceInScope)),
				plancheck.ExpectKnownValue(connAddr, usersKey("adoe"), userJSON("uid=adoe,ou=people,dc=example,dc=com",
					"ann.doe@example.com", "Ann", "Doe", true, "NOT_ACTIVE", sync.SourceInScope)),
			}},
			Check: func(_ *terraform.State) error {
				u := env.user(t, "jsmith")
				if u.Status != "ACTIVE" || len(u.Devices) != 1 || u.Role != "REGULAR" || u.FirstName != "John" || u.Email != "john.smith@example.com" {
					return fmt.Errorf("jsmith after link: %+v", u)
				}
				if n := len(env.PingID.Users()); n != 4 {
					return fmt.Errorf("want 4 PingID users (jsmith, adoe, bwayne, cdisabled), got %v", env.usernames())
				}
				return nil
			},
		}},
	})
}

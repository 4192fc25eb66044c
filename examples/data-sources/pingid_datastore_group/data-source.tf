# Members of a group, limited by a filter (both must match), including nested groups.
data "pingid_datastore_group" "engineering" {
  base_dn    = "OU=People,DC=corp,DC=example,DC=com"
  group_dn   = "CN=Engineering,OU=Groups,DC=corp,DC=example,DC=com"
  filter     = "(objectClass=user)"
  nested     = true
  attributes = ["mail", "givenName", "sn"]
}

# The for_each pattern: one PingID user per member.
resource "pingid_mapped_user" "engineering" {
  for_each = data.pingid_datastore_group.engineering.members

  username   = each.key
  email      = each.value.attributes.mail
  first_name = each.value.attributes.givenName
  last_name  = each.value.attributes.sn
  enabled    = each.value.enabled
}

# The connection pattern: the connection reads the directory itself. The data source can
# preview the same source location, here as an extra guard that stops the plan when the
# group looks implausibly small (for example after a mistaken change to the group).
data "pingid_datastore_group" "pingid_users" {
  base_dn  = "OU=People,DC=corp,DC=example,DC=com"
  group_dn = "CN=PingID Users,OU=Groups,DC=corp,DC=example,DC=com"
  nested   = true
}

resource "pingid_provisioning_connection" "corp" {
  name = "corp-ad"

  source_location = {
    base_dn       = "OU=People,DC=corp,DC=example,DC=com"
    group_dn      = "CN=PingID Users,OU=Groups,DC=corp,DC=example,DC=com"
    nested_groups = true
  }

  attribute_mapping = {
    username   = "sAMAccountName"
    email      = "mail"
    first_name = "givenName"
    last_name  = "sn"
  }

  lifecycle {
    precondition {
      condition     = data.pingid_datastore_group.pingid_users.member_count >= 100
      error_message = "The PingID Users group has fewer than 100 members; check the directory before provisioning."
    }
  }
}

output "engineering_member_count" {
  value = data.pingid_datastore_group.engineering.member_count
}

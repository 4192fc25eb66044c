# The for_each pattern: one pingid_mapped_user per member of a directory group. A member who
# joins, changes or leaves the group shows up in `terraform plan` as a create, an update or a
# destroy of one resource.
data "pingid_datastore_group" "engineering" {
  base_dn    = "OU=People,DC=corp,DC=example,DC=com"
  group_dn   = "CN=Engineering,OU=Groups,DC=corp,DC=example,DC=com"
  nested     = true
  attributes = ["mail", "givenName", "sn", "mobile"]
}

resource "pingid_mapped_user" "engineering" {
  for_each = data.pingid_datastore_group.engineering.members

  username   = each.key
  email      = each.value.attributes.mail
  first_name = each.value.attributes.givenName
  last_name  = each.value.attributes.sn

  # A member disabled in the directory is suspended in PingID (and re-enabled when the
  # directory account is enabled again).
  enabled = each.value.enabled

  # MFA devices to keep paired, by slot: here the directory's mobile number as the PingID
  # device "SMS Number 1" (a member without one has the slot's device unpaired), made primary
  # when this resource creates the user. See the "Managing MFA devices" guide.
  devices        = { mfa_sms_1 = try(each.value.attributes.mobile, null) }
  primary_device = "mfa_sms_1"

  # What happens when a member leaves the group (or is deleted from the directory):
  # "disable" suspends the PingID user and keeps its devices; "delete" removes it.
  remove_user_action = "disable"
}

# A single user managed by hand. If PingID already has "svc-breakglass", it is linked and
# updated, not created a second time.
resource "pingid_mapped_user" "break_glass" {
  username   = "svc-breakglass"
  email      = "secops@corp.example.com"
  first_name = "Break"
  last_name  = "Glass"
}

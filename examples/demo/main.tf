# The `make demo` configuration: a small company directory provisioned into PingID two ways.
#
# - pingid_provisioning_connection.staff: everyone in the "pingid-users" group (and its nested
#   groups) is provisioned by one resource, like a PingID Provisioner channel. Each plan lists
#   the per-user changes in its `users` map.
# - pingid_mapped_user.contractor: one resource per member of the "contractors" group, so a
#   contractor who joins or leaves shows up as a create or a destroy.
#
# scripts/demo.sh writes terraform.tfvars (directory URL and bind DN) and passes the bind
# password in PINGID_LDAP_BIND_PASSWORD, so no secret is written in the configuration.

terraform {
  required_providers {
    pingid = {
      source = "pingid-provisioner/pingid"
    }
  }
}

variable "pingid_properties_file" {
  description = "Path of the pingid.properties file exported from PingOne (the demo's points at the local emulator)."
  type        = string
  default     = "pingid.properties"
}

variable "ldap_url" {
  description = "Directory URL, e.g. ldaps://dc1.corp.example.com:636."
  type        = string
}

variable "ldap_bind_dn" {
  description = "Service account the provider binds as. Its password comes from PINGID_LDAP_BIND_PASSWORD."
  type        = string
}

variable "ldap_allow_insecure_bind" {
  description = "Allow a password bind over plain ldap:// (the demo's throwaway directory on loopback only)."
  type        = bool
  default     = false
}

variable "base_dn" {
  description = "Where the people are."
  type        = string
  default     = "ou=people,dc=example,dc=com"
}

variable "groups_dn" {
  description = "Where the groups are."
  type        = string
  default     = "ou=groups,dc=example,dc=com"
}

provider "pingid" {
  properties_file = var.pingid_properties_file

  datastore = {
    url                 = var.ldap_url
    bind_dn             = var.ldap_bind_dn
    directory_type      = "openldap" # disabled = ppolicy pwdAccountLockedTime 000001010000Z
    allow_insecure_bind = var.ldap_allow_insecure_bind
  }
}

# Staff: the pingid-users group contains engineering (which contains backend and frontend),
# sales, it and two executives directly.
resource "pingid_provisioning_connection" "staff" {
  name = "staff"

  source_location = {
    base_dn       = var.base_dn
    group_dn      = "cn=pingid-users,${var.groups_dn}"
    nested_groups = true
  }

  attribute_mapping = {
    username   = "uid"
    email      = "mail"
    first_name = "givenName"
    last_name  = "sn"
    mfa_sms_1  = "mobile" # paired as the PingID device "SMS Number 1"
  }

  # MFA devices, like the Provisioner's "Merge devices": the directory's mobile number is
  # paired (and replaced when it changes); devices users paired themselves stay. A user this
  # connection creates gets the SMS device as primary; a linked user keeps its own.
  manage_devices           = "merge"
  primary_device_on_create = "mfa_sms_1"

  # Leavers, disabled and deleted accounts are suspended in PingID (devices are kept, and a
  # returning user is re-enabled). A plan that would suspend more than 5 users fails instead.
  remove_user_action = "disable"
  max_deprovisions   = 5
}

# Contractors: the for_each pattern over a directory group.
data "pingid_datastore_group" "contractors" {
  base_dn    = var.base_dn
  group_dn   = "cn=contractors,${var.groups_dn}"
  attributes = ["mail", "givenName", "sn"]
}

resource "pingid_mapped_user" "contractor" {
  for_each = data.pingid_datastore_group.contractors.members

  username           = each.key
  email              = each.value.attributes.mail
  first_name         = each.value.attributes.givenName
  last_name          = each.value.attributes.sn
  enabled            = each.value.enabled
  remove_user_action = "disable" # a contractor who leaves the group is suspended, not deleted
}

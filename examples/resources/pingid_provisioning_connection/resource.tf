# The connection pattern: one resource provisions a whole source location, like a PingID
# Provisioner channel. Every plan reads the directory and PingID and lists, in `users`, each
# user to be provisioned, updated, disabled or deleted.
resource "pingid_provisioning_connection" "corp" {
  name = "corp-ad"

  source_location = {
    base_dn       = "OU=People,DC=corp,DC=example,DC=com"
    group_dn      = "CN=PingID Users,OU=Groups,DC=corp,DC=example,DC=com"
    filter        = "(objectClass=user)"
    nested_groups = true
  }

  attribute_mapping = {
    username   = "sAMAccountName"
    email      = "mail"
    first_name = "givenName"
    last_name  = "sn"

    # MFA devices, paired under the nicknames "Email 1", "SMS Number 1", "Voice Number 1"
    # when manage_devices is "merge" or "overwrite" (see the "Managing MFA devices" guide).
    mfa_email_1 = "mail"
    mfa_sms_1   = "mobile"
    mfa_voice_1 = "telephoneNumber"
  }

  # The PingID Provisioner's settings, at their defaults.
  user_create              = true
  user_update              = true
  user_disable_delete      = true
  provision_disabled_users = true
  remove_user_action       = "disable"
  manage_devices           = "none" # "merge" / "overwrite": pair the mfa_* attributes
  primary_device_on_create = "none" # or "mfa_email_1", "mfa_sms_1", "mfa_voice_1"

  # A plan that would disable or delete more than 10 users, or more than 20 % of the
  # managed users, fails and lists them.
  max_deprovisions         = 10
  max_deprovisions_percent = 20

  # Users suspended in PingID outside Terraform (a lost phone, a suspicious login) stay
  # suspended and are listed in a plan warning.
  reactivate_suspended_users = false

  # Destroying the connection leaves every user in PingID as it is.
  on_destroy = "retain"
}

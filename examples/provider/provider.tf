terraform {
  required_providers {
    pingid = {
      source = "pingid-provisioner/pingid"
    }
  }
}

# PingID credentials come from the pingid.properties file exported from the PingOne admin
# portal (Setup > PingID > Client Integration). The directory bind password comes from the
# PINGID_LDAP_BIND_PASSWORD environment variable, so no secret is written in the configuration.
provider "pingid" {
  properties_file = "pingid.properties"

  datastore = {
    url            = "ldaps://dc1.corp.example.com:636"
    bind_dn        = "CN=svc-pingid,OU=Service,DC=corp,DC=example,DC=com"
    directory_type = "active_directory"
  }
}

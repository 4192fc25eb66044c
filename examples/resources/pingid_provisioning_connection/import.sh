# A provisioning connection is imported by its name. The connection itself lives only in
# Terraform, so the first plan after an import lists every in-scope user: users PingID already
# has are linked (never created twice), the others are created.
terraform import pingid_provisioning_connection.corp corp-ad

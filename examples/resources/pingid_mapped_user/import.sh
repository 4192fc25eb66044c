# A PingID user is imported by its username. The next plan shows only the attributes that
# differ from the configuration.
terraform import pingid_mapped_user.break_glass svc-breakglass

# A member of a for_each set: quote the address for the shell.
terraform import 'pingid_mapped_user.engineering["jsmith"]' jsmith

// Package reliability holds no code, only tests: the provider as Terraform sees it (through the
// plugin protocol, and through Terraform 1.5.7 with terraform-plugin-testing when TF_ACC=1)
// against a real slapd and the PingID emulator, under faults (PingID 429/5xx bursts, slow
// responses, drops, forged and lost responses, interrupted applies, directory outages and
// limits), bad input (every attribute that can be wrong, pointed at by its diagnostic) and
// security properties (no secret in any diagnostic or log, TLS verification by default,
// plaintext binds and http idp_url refused, no LDAP injection).
package reliability

// Package e2e holds end-to-end tests: the provider binary built from this repository, driven by
// the real CLI (bin/terraform or bin/tofu, through a dev_overrides CLI configuration) against a
// throwaway slapd and the PingID emulator. Unlike the in-process acceptance tests in
// internal/provider, they see what a user sees: the CLI's output, TF_LOG files (which include the
// provider's own logs), saved plan files and the state file.
//
// The tests run only with TF_ACC=1 and need TF_ACC_TERRAFORM_PATH: Terraform 1.5.7 (`make
// testacc` points it at bin/terraform) or OpenTofu 1.12.6 (`make test-tofu`, bin/tofu). This file exists so the package has a non-test file; the package has no API.
package e2e

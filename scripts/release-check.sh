#!/usr/bin/env bash
# Validates .goreleaser.yml and the registry manifest without publishing anything.
#
# `goreleaser check` refuses to run outside a git repository with a GitHub-like remote, so it runs
# in a throwaway repository holding copies of the release files; this clone's remotes are never
# touched and no network is used.
#
# Usage: scripts/release-check.sh   (GORELEASER=/path/to/goreleaser to use another binary)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
goreleaser=${GORELEASER:-$root/bin/goreleaser}
if [[ ! -x $goreleaser ]]; then
	echo "release-check: $goreleaser not found; run 'make tools' first" >&2
	exit 1
fi

manifest=$root/terraform-registry-manifest.json
# The registry reads protocol_versions to pick the plugin protocol; the provider serves protocol 6.
if ! tr -d ' \t\n' <"$manifest" | grep -q '"protocol_versions":\["6.0"\]'; then
	echo "release-check: $manifest must declare \"protocol_versions\": [\"6.0\"]" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/release-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$root/.goreleaser.yml" "$manifest" "$work/"
cd "$work"
git init -q .
git remote add origin https://github.com/pingid-provisioner/terraform-provider-pingid.git
echo "release-check: $goreleaser check (in a throwaway repository)"
"$goreleaser" check

#!/usr/bin/env bash
# make demo: the whole product end to end, with real parts, on this machine.
#
#   1. builds the provider, the PingID emulator and a small table printer into a working dir
#   2. starts a throwaway OpenLDAP slapd on a free loopback port with a 25-person company
#      (examples/demo/directory/*.ldif) and the PingID emulator on loopback, which already
#      knows one of them (examples/demo/pingid-seed.json)
#   3. runs terraform plan/apply on examples/demo/main.tf with bin/terraform (1.5.7) and a CLI
#      config whose dev_overrides load the provider from the working dir: no init, no registry
#   4. changes the directory (examples/demo/directory/changes.ldif): a new hire, a leaver, a
#      disabled account, a changed email, a deleted account, a contractor in and one out
#   5. shows that plan and its pingid-plan-report review, applies it, and prints the PingID
#      users as a table
#   6. suspends a user in PingID, as a PingID administrator would: the next plan is empty and
#      warns that the user is left suspended
#
# Expected outcomes are asserted at each step, so a broken demo fails loudly (make test runs
# it). Every process started here is stopped on exit; what remains is the working directory,
# named at the end.
#
# Env: DEMO_DIR   working directory (default .cache/demo; wiped if it holds a previous demo)
#      NO_COLOR   set to disable colours (also off when stdout is not a terminal)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXAMPLE="$REPO/examples/demo"
TERRAFORM="$REPO/bin/terraform"
TERRAFORM_VERSION=1.5.7
PROVIDER_ADDRESS=registry.terraform.io/pingid-provisioner/pingid
DEMO_DIR=${DEMO_DIR:-$REPO/.cache/demo}
MARKER=.pingid-provider-demo
# Debian installs slapd and slapadd in /usr/sbin, which non-root PATHs often lack.
export PATH="$PATH:/usr/sbin:/sbin"

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  BOLD=$'\e[1m' GREEN=$'\e[32m' RED=$'\e[31m' RESET=$'\e[0m' TF_COLOR=()
else
  BOLD='' GREEN='' RED='' RESET='' TF_COLOR=(-no-color)
fi

START=$SECONDS
STEP=0
STEPS=12
CURRENT="starting"
heading() {
  STEP=$((STEP + 1))
  CURRENT="[$STEP/$STEPS] $1"
  printf '\n%s==> %s%s  (%ss)\n' "$BOLD" "$CURRENT" "$RESET" "$((SECONDS - START))"
}
note() { printf '    %s\n' "$@"; }
ok() { printf '    %s✓%s %s\n' "$GREEN" "$RESET" "$*"; }
die() {
  printf '%serror:%s %s\n' "$RED" "$RESET" "$*" >&2
  exit 1
}

# --- working directory and cleanup -----------------------------------------------------------

# Stop a process recorded in a pid file, but only if it is still the one this demo started
# (its command line names the working dir): pids are reused.
stop_pidfile() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$DEMO_DIR" || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pidfile "$DEMO_DIR/emulator/emulator.pid"
  if [ -n "${EMULATOR_PID:-}" ]; then
    kill "$EMULATOR_PID" 2>/dev/null || true
    wait "$EMULATOR_PID" 2>/dev/null || true
  fi
  stop_pidfile "$DEMO_DIR/slapd/slapd.pid"
  if [ "$rc" -ne 0 ]; then
    printf '\n%sdemo FAILED%s (exit %s) during: %s\n' "$RED" "$RESET" "$rc" "$CURRENT" >&2
    if [ -d "$DEMO_DIR/logs" ]; then
      printf 'Logs: %s\n' "$DEMO_DIR/logs" >&2
    fi
  fi
  exit "$rc"
}

mkdir -p "$(dirname "$DEMO_DIR")"
DEMO_DIR=$(cd "$(dirname "$DEMO_DIR")" && pwd)/$(basename "$DEMO_DIR")
if [ -e "$DEMO_DIR" ]; then
  if [ ! -f "$DEMO_DIR/$MARKER" ] && [ -n "$(ls -A "$DEMO_DIR")" ]; then
    die "DEMO_DIR=$DEMO_DIR exists and is not a previous demo directory; choose another DEMO_DIR"
  fi
  # A previous demo killed before its cleanup could still run its servers.
  stop_pidfile "$DEMO_DIR/emulator/emulator.pid"
  stop_pidfile "$DEMO_DIR/slapd/slapd.pid"
  rm -rf "$DEMO_DIR"
fi
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
BIN="$DEMO_DIR/bin"
TFDIR="$DEMO_DIR/terraform"
LOGS="$DEMO_DIR/logs"
mkdir -p "$BIN" "$TFDIR" "$LOGS" "$DEMO_DIR/emulator"
touch "$DEMO_DIR/$MARKER"

# The demo must see only its own settings: a PINGID_TOKEN (or TF_CLI_ARGS, TF_VAR_…) in the
# caller's shell would change which credentials or options Terraform uses.
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(PINGID_|TF_VAR_|TF_CLI_ARGS)' || true)
unset TF_DATA_DIR TF_WORKSPACE TF_INPUT
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
export TF_CLI_CONFIG_FILE="$DEMO_DIR/terraform.tfrc"

# terraform runs bin/terraform in the demo's Terraform directory. After the first command it
# hides the warning about development overrides: expected, and the same every time.
DEV_OVERRIDES_SHOWN=0
terraform() {
  local filter=$DEV_OVERRIDES_SHOWN
  DEV_OVERRIDES_SHOWN=1
  printf '%s$ terraform %s%s\n' "$BOLD" "$*" "$RESET"
  # The warning is a box (colour) or a blank line plus text (-no-color); it ends with the
  # line "releases." (and the box's bottom).
  "$TERRAFORM" -chdir="$TFDIR" "$@" 2>&1 | awk -v filter="$filter" '
    skip == 1 { if (/releases\./) skip = 2; next }
    skip == 2 { skip = 0; if (/╵/) next }
    filter && /Provider development overrides are in effect/ {
      if (held && (prev ~ /╷/ || prev ~ /^[[:space:]]*$/)) held = 0
      skip = 1; next
    }
    { if (held) print prev; prev = $0; held = 1 }
    END { if (held) print prev }'
}

# users prints the PingID users table and checks expectations: NAME.FIELD=VALUE for PingID,
# state:NAME.FIELD=VALUE for the staff connection's users map (examples/demo/pingid-users).
users() { "$BIN/pingid-users" -url "$EMULATOR_URL" "$@" | sed 's/^/    /'; }

# --- 1. prerequisites ------------------------------------------------------------------------

heading "Check prerequisites: Go, Terraform $TERRAFORM_VERSION, OpenLDAP"
command -v go >/dev/null || die "go is not on PATH (Go $(sed -n 's/^go //p' "$REPO/go.mod") is required)"
note "$(go version)"
if [ ! -x "$TERRAFORM" ]; then
  die "$TERRAFORM is missing: run 'make demo' (it builds Terraform $TERRAFORM_VERSION from the Go module proxy)"
fi
tf_version=$("$TERRAFORM" version 2>/dev/null | sed -n 1p) # sed, not head: no SIGPIPE under pipefail
[ "$tf_version" = "Terraform v$TERRAFORM_VERSION" ] ||
  die "$TERRAFORM reports '$tf_version', expected Terraform v$TERRAFORM_VERSION; delete it and run 'make demo'"
note "$tf_version ($TERRAFORM)"
LDAP_TOOLS=(slapd slapadd slaptest slappasswd ldapsearch ldapadd ldapmodify)
missing_ldap_tools() {
  local tool
  for tool in "${LDAP_TOOLS[@]}"; do command -v "$tool" >/dev/null || printf '%s ' "$tool"; done
}
missing=$(missing_ldap_tools | sed "s/ $//")
if [ -n "$missing" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    note "installing slapd and ldap-utils with apt-get (missing: $missing)"
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slapd ldap-utils; } \
      >"$LOGS/apt.log" 2>&1 || { cat "$LOGS/apt.log" >&2; die "apt-get install slapd ldap-utils failed"; }
    missing=$(missing_ldap_tools | sed "s/ $//")
  fi
  [ -z "$missing" ] || die "the demo needs OpenLDAP's server and client tools; missing: $missing
  On Debian/Ubuntu, as root:  apt-get install --no-install-recommends slapd ldap-utils
  Elsewhere: put OpenLDAP's ${LDAP_TOOLS[*]} on PATH."
fi
note "$(slapd -VV 2>&1 | sed -n 's/.*\(slapd [0-9.]*\).*/\1/p' | sed -n 1p) ($(command -v slapd))"

# --- 2. build --------------------------------------------------------------------------------

heading "Build the provider, the PingID emulator and the table printer into $BIN"
(cd "$REPO" && go build -ldflags "-X main.version=demo" -o "$BIN/" . ./cmd/pingid-emulator ./cmd/pingid-plan-report ./examples/demo/pingid-users)
cat >"$TF_CLI_CONFIG_FILE" <<EOF
# Terraform loads the provider from the demo's bin directory: nothing is fetched from a
# registry, and 'terraform init' is not needed.
provider_installation {
  dev_overrides {
    "$PROVIDER_ADDRESS" = "$BIN"
  }
  direct {}
}
EOF
ls -1 "$BIN" | sed 's/^/    /'

# --- 3. directory ----------------------------------------------------------------------------

heading "Start OpenLDAP with the company directory (examples/demo/directory)"
SLAPD_DIR="$DEMO_DIR/slapd"
LDAP_ADMIN_PW="admin-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
LDAP_READER_PW="reader-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
export LDAP_ADMIN_PW LDAP_READER_PW
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
LDAP_PORT=
attempts=0
while [ -z "$LDAP_PORT" ] && [ "$attempts" -lt 3 ]; do
  port=$((20000 + RANDOM % 40000))
  port_in_use "$port" && continue
  attempts=$((attempts + 1))
  # The port can still be taken before slapd binds it: then slapd fails and we try another.
  if LDAP_PORT=$port "$REPO/scripts/start-slapd.sh" "$SLAPD_DIR" "$EXAMPLE/directory/people.ldif" >"$LOGS/slapd-start.log" 2>&1; then
    LDAP_PORT=$port
  else
    stop_pidfile "$SLAPD_DIR/slapd.pid"
  fi
done
[ -n "$LDAP_PORT" ] || { cat "$LOGS/slapd-start.log" >&2; die "could not start slapd on a free loopback port"; }
LDAP_URL="ldap://127.0.0.1:$LDAP_PORT"
ldapadd -x -H "$LDAP_URL" -D "cn=admin,dc=example,dc=com" -w "$LDAP_ADMIN_PW" -f "$EXAMPLE/directory/groups.ldif" >"$LOGS/ldapadd-groups.log"
note "slapd pid $(cat "$SLAPD_DIR/slapd.pid") on $LDAP_URL (state in $SLAPD_DIR)"
people=$(ldapsearch -LLL -x -H "$LDAP_URL" -D "cn=admin,dc=example,dc=com" -w "$LDAP_ADMIN_PW" \
  -b ou=people,dc=example,dc=com '(objectClass=inetOrgPerson)' uid | grep -c '^uid:')
[ "$people" = 25 ] || die "expected 25 people in the directory, found $people"
note "25 people in ou=people; groups: pingid-users > engineering > backend, frontend; pingid-users > sales, it;"
note "contractors (separate); jwilson is disabled (ppolicy lock); 3 people are in no PingID group"

# --- 4. PingID emulator ----------------------------------------------------------------------

heading "Start the PingID emulator (one user, jsmith, already exists in PingID)"
"$BIN/pingid-emulator" -listen 127.0.0.1:0 \
  -properties-out "$TFDIR/pingid.properties" -url-out "$DEMO_DIR/emulator/url" \
  -pid-file "$DEMO_DIR/emulator/emulator.pid" -state "$DEMO_DIR/emulator/tenant.json" -max-allowed-devices 3 \
  -seed "$EXAMPLE/pingid-seed.json" >"$LOGS/emulator.log" 2>&1 &
EMULATOR_PID=$!
for _ in $(seq 1 200); do
  [ -s "$DEMO_DIR/emulator/url" ] && break
  kill -0 "$EMULATOR_PID" 2>/dev/null || { cat "$LOGS/emulator.log" >&2; die "the PingID emulator exited"; }
  sleep 0.05
done
[ -s "$DEMO_DIR/emulator/url" ] || die "the PingID emulator did not start within 10s"
EMULATOR_URL=$(cat "$DEMO_DIR/emulator/url")
note "emulator pid $EMULATOR_PID on $EMULATOR_URL; pingid.properties written to $TFDIR"
note "the tenant allows 3 devices per user (PingID's Maximum Allowed Devices; its default is 1)"
users count=1 jsmith.status=ACTIVE jsmith.devices=1

# --- 5. Terraform configuration --------------------------------------------------------------

heading "Write the Terraform configuration (examples/demo/main.tf) and validate it"
cp "$EXAMPLE"/*.tf "$TFDIR"/
cat >"$TFDIR/terraform.tfvars" <<EOF
ldap_url                 = "$LDAP_URL"
ldap_bind_dn             = "cn=reader,dc=example,dc=com"
ldap_allow_insecure_bind = true # plain ldap:// to the throwaway directory on loopback
EOF
# The bind password reaches the provider through the environment, as in a CI or Terraform
# Cloud workspace; pingid.properties holds the PingID credentials (pointing at the emulator).
export PINGID_LDAP_BIND_PASSWORD="$LDAP_READER_PW"
note "CLI config: $TF_CLI_CONFIG_FILE (dev_overrides -> $BIN; no terraform init)"
terraform validate "${TF_COLOR[@]}"

# --- 6. first plan ---------------------------------------------------------------------------

heading "terraform plan: provision the staff connection and the contractors"
terraform plan "${TF_COLOR[@]}" -out=tfplan

# --- 7. first apply --------------------------------------------------------------------------

heading "terraform apply tfplan, then the PingID users"
terraform apply "${TF_COLOR[@]}" tfplan
echo
users -state "$TFDIR/terraform.tfstate" count=22 \
  jsmith.status=ACTIVE jsmith.devices=2 jsmith.email=john.smith@example.com jsmith.first_name=John \
  "jsmith.device:SMS Number 1=+15550102030" "pnair.device:SMS Number 1=+15550104455" pnair.status=ACTIVE \
  jwilson.status=SUSPENDED mgarcia.status=NOT_ACTIVE tbrown.status=NOT_ACTIVE vivanova.status=NOT_ACTIVE \
  rcooper=absent ywang=absent ebrooks=absent \
  state:jsmith.source_state=in_scope state:jwilson.source_state=disabled state:jwilson.enabled=false
ok "19 staff users provisioned (jsmith linked with his device, jwilson suspended), 3 contractors, 3 people left out"
ok "mobile numbers paired as \"SMS Number 1\" (jsmith's written '+1 (555) 010-2030' in the directory; PingID stores +15550102030)"

# --- 8. directory changes --------------------------------------------------------------------

heading "Change the directory, the way real life does (examples/demo/directory/changes.ldif)"
ldapmodify -x -H "$LDAP_URL" -D "cn=admin,dc=example,dc=com" -w "$LDAP_ADMIN_PW" -f "$EXAMPLE/directory/changes.ldif" >"$LOGS/ldapmodify-changes.log"
note "new hire:  zahmed joins backend (nested in engineering, in pingid-users)"
note "leaver:    lrossi is removed from frontend (his account stays)"
note "disabled:  akowalski is locked (pwdAccountLockedTime 000001010000Z)"
note "email:     wchen@example.com -> wei.chen@example.com"
note "phone:     pnair's mobile +1 555 010 4455 -> +1 555 010 7788"
note "deleted:   cjohnson's entry is deleted"
note "contractors: tmoreau joins, gbaker leaves"

# --- 9. second plan --------------------------------------------------------------------------

heading "terraform plan: each directory change is one readable change"
terraform plan "${TF_COLOR[@]}" -out=tfplan | tee "$LOGS/plan-changes.txt"
# The plan must show each change (checked on the rendered plan, as a reader sees it).
plan_text=$(sed 's/\x1b\[[0-9;]*m//g' "$LOGS/plan-changes.txt")
# jwilson, created disabled by the first apply, was recorded SUSPENDED, as PingID reports him:
# the refresh finds nothing changed outside Terraform.
if grep -qF -- 'changed outside of Terraform' <<<"$plan_text"; then
  die "the plan reports changes outside Terraform after the first apply (a status recorded stale?)"
fi
for expected in '+ "zahmed"' '~ "lrossi"' '~ "akowalski"' '~ "wchen"' '~ "cjohnson"' '~ "pnair"' \
  'mfa_sms_1 = "+15550104455" -> "+15550107788"' \
  'wei.chen@example.com' '"out_of_scope"' '"disabled"' '"deleted"' \
  'pingid_mapped_user.contractor["tmoreau"] will be created' \
  'pingid_mapped_user.contractor["gbaker"] will be destroyed' \
  'Plan: 1 to add, 1 to change, 1 to destroy.'; do
  grep -qF -- "$expected" <<<"$plan_text" || die "the plan does not show: $expected"
done

heading "pingid-plan-report: the same saved plan as a review (who gains access, who loses it, why)"
note "terraform show -json tfplan | pingid-plan-report   (Markdown for a pull request; --format html for a page)"
# Straight to the file: the terraform() wrapper above adds the command line and the
# dev_overrides warning to its output.
"$TERRAFORM" -chdir="$TFDIR" show -json tfplan >"$LOGS/plan-changes.json" 2>"$LOGS/show-json.stderr" ||
  die "terraform show -json tfplan failed: $(cat "$LOGS/show-json.stderr")"
"$BIN/pingid-plan-report" "$LOGS/plan-changes.json" | tee "$LOGS/plan-report.md"
"$BIN/pingid-plan-report" --format html -o "$LOGS/plan-report.html" "$LOGS/plan-changes.json"
for expected in '### Access removing' '`akowalski`' '`lrossi`' '`cjohnson`' '`gbaker`' '`zahmed`' '`tmoreau`' \
  'wei.chen@example.com' '### Brakes'; do
  grep -qF -- "$expected" "$LOGS/plan-report.md" || die "the plan report does not show: $expected"
done
ok "HTML review written to $LOGS/plan-report.html"

# --- 10. second apply ------------------------------------------------------------------------

heading "terraform apply tfplan, then the PingID users"
terraform apply "${TF_COLOR[@]}" tfplan | tee "$LOGS/apply-changes.txt"
# Terraform plans the change again while applying; that plan does not repeat the summary the
# reader reviewed above.
if grep -qF -- 'PingID provisioning summary' "$LOGS/apply-changes.txt"; then
  die "the apply repeated the plan's provisioning summary"
fi
echo
users -state "$TFDIR/terraform.tfstate" count=24 zahmed.status=NOT_ACTIVE zahmed.email=zara.ahmed@example.com \
  lrossi.status=SUSPENDED akowalski.status=SUSPENDED cjohnson.status=SUSPENDED \
  wchen.email=wei.chen@example.com jsmith.status=ACTIVE jsmith.devices=2 \
  "pnair.device:SMS Number 1=+15550107788" pnair.devices=1 \
  tmoreau.status=NOT_ACTIVE gbaker.status=SUSPENDED vivanova.status=NOT_ACTIVE \
  state:zahmed.source_state=in_scope state:lrossi.source_state=out_of_scope state:lrossi.enabled=false \
  state:akowalski.source_state=disabled state:cjohnson.source_state=deleted state:cjohnson.enabled=false \
  state:wchen.email=wei.chen@example.com
ok "new hire provisioned; leaver, disabled and deleted accounts suspended (devices kept); email updated; pnair's SMS device replaced"

# --- 11. converged ---------------------------------------------------------------------------

heading "terraform plan again: PingID matches the directory"
set +e
terraform plan "${TF_COLOR[@]}" -detailed-exitcode | tee "$LOGS/plan-final.txt"
rc=${PIPESTATUS[0]}
set -e
# The suspensions were recorded as PingID reports them (SUSPENDED), so the refresh finds no
# change outside Terraform, and nothing is left to do: exit code 0, not 2.
[ "$rc" = 0 ] || die "terraform plan -detailed-exitcode exited $rc: the plan after apply is not empty"
if grep -qF -- 'changed outside of Terraform' "$LOGS/plan-final.txt"; then
  die "the plan after apply reports changes outside Terraform (a status recorded stale?)"
fi
ok "no changes"

# --- 12. a suspension made in PingID ---------------------------------------------------------

heading "A PingID administrator suspends jsmith (lost phone): the connection leaves him suspended"
users -suspend jsmith -quiet jsmith.status=SUSPENDED
note "jsmith is suspended in PingID; nothing changed in the directory"
set +e
terraform plan "${TF_COLOR[@]}" -detailed-exitcode | tee "$LOGS/plan-suspended.txt"
rc=${PIPESTATUS[0]}
set -e
# The refresh records the suspension (a change outside Terraform), the plan keeps it: no
# change is planned, and one warning lists the user.
[ "$rc" = 0 ] || die "terraform plan -detailed-exitcode exited $rc: the plan would undo the suspension"
plan_text=$(sed 's/\x1b\[[0-9;]*m//g' "$LOGS/plan-suspended.txt" | tr -s ' \n' ' ')
grep -qF -- 'suspended in PingID; left suspended: jsmith.' <<<"$plan_text" ||
  die "the plan does not list jsmith as suspended in PingID and left suspended"
terraform apply "${TF_COLOR[@]}" -auto-approve >"$LOGS/apply-suspended.txt"
users -state "$TFDIR/terraform.tfstate" jsmith.status=SUSPENDED \
  state:jsmith.enabled=false state:jsmith.status=SUSPENDED state:jsmith.source_state=in_scope
ok "jsmith stays suspended (reactivate_suspended_users = true would restore him); the state says so"

printf '\n%sDemo finished in %ss.%s Servers stopped. Everything is in %s:\n' "$BOLD" "$((SECONDS - START))" "$RESET" "$DEMO_DIR"
note "terraform/  the configuration, terraform.tfstate and pingid.properties (the emulator's throwaway credentials)" \
  "logs/       plans and server logs" \
  "bin/        the provider, emulator and table printer built for this run" \
  "slapd/, emulator/  the directory's and PingID's data"

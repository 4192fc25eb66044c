#!/usr/bin/env bash
# Throwaway OpenLDAP for the demo and benchmarks, configured like the Go test
# harness (internal/testutil/slapd: same slapd.conf, same base entries; a test
# keeps them in step): memberof, refint and ppolicy overlays, nsAccountLock
# schema, AD-like limits (unpaged searches and pages capped at LDAP_SIZE_LIMIT).
#
# Usage: start-slapd.sh DIR [BULK.ldif...]   -> prints the slapd PID
#   Stop:  kill "$(cat DIR/slapd.pid)"
#   DIR is wiped and recreated (it must be empty, absent, or a previous state dir).
#   BULK.ldif files (users) are slapadd-ed offline before start: fast, but no
#   overlays run, so add GROUPS online afterwards (ldapadd) to get memberOf.
# Env: LDAP_PORT (3389), LDAP_SUFFIX (dc=example,dc=com), LDAP_ADMIN_PW (admin123),
#      LDAP_READER_PW (reader123), LDAP_SIZE_LIMIT (1000), LDAP_ANON_READ (0|1)
# Accounts: rootdn cn=admin,SUFFIX (no limits); cn=reader,SUFFIX (subject to limits).
# Plain ldap:// on 127.0.0.1 only; the Go harness adds ldaps/StartTLS for tests.
set -euo pipefail
DIR=${1:?usage: $0 DIR [BULK.ldif...]}
shift
PORT=${LDAP_PORT:-3389}
SUFFIX=${LDAP_SUFFIX:-dc=example,dc=com}
ADMIN_PW=${LDAP_ADMIN_PW:-admin123}
READER_PW=${LDAP_READER_PW:-reader123}
SIZE_LIMIT=${LDAP_SIZE_LIMIT:-1000}
ANON=none
[ "${LDAP_ANON_READ:-0}" = 1 ] && ANON=read
PATH="$PATH:/usr/sbin"

if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR")" ] && [ ! -f "$DIR/slapd.conf" ]; then
  echo "refusing to wipe $DIR: not empty and not a slapd state dir" >&2
  exit 1
fi
if [ -f "$DIR/slapd.pid" ] && kill -0 "$(cat "$DIR/slapd.pid")" 2>/dev/null; then
  echo "slapd already running from $DIR (pid $(cat "$DIR/slapd.pid"))" >&2
  exit 1
fi
rm -rf "$DIR"
mkdir -p "$DIR/data"
DIR=$(cd "$DIR" && pwd)
ADMIN_HASH=$(slappasswd -s "$ADMIN_PW")
READER_HASH=$(slappasswd -s "$READER_PW")

cat >"$DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
# 389 DS account inactivation, as a user attribute on an auxiliary class
attributetype ( 2.16.840.1.113730.3.1.610 NAME 'nsAccountLock' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.32473.1.2.1 NAME 'nsAccountLockable' SUP top AUXILIARY MAY nsAccountLock )
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload refint
moduleload ppolicy
pidfile $DIR/slapd.pid
argsfile $DIR/slapd.args
loglevel none
# AD-like: unpaged searches capped, pages of at most size.pr entries
sizelimit size.soft=$SIZE_LIMIT size.hard=$SIZE_LIMIT size.pr=$SIZE_LIMIT size.prtotal=unlimited
database mdb
maxsize 1073741824
dbnosync
suffix "$SUFFIX"
rootdn "cn=admin,$SUFFIX"
rootpw $ADMIN_HASH
directory $DIR/data
index objectClass eq
index uid,cn,mail eq,sub
index member,memberOf,uniqueMember,memberUid eq
index entryUUID eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by anonymous $ANON by * none
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
overlay refint
refint_attributes member uniqueMember
overlay ppolicy
ppolicy_default "cn=default,ou=policies,$SUFFIX"
ppolicy_use_lockout
CONF

TOP_RDN=${SUFFIX%%,*}
TOP_VALUE=${TOP_RDN#*=}
if [ "$(echo "${TOP_RDN%%=*}" | tr '[:upper:]' '[:lower:]')" = dc ]; then
  TOP=$(printf 'objectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: %s\ndc: %s' "$TOP_VALUE" "$TOP_VALUE")
else
  TOP=$(printf 'objectClass: top\nobjectClass: organization\no: %s' "$TOP_VALUE")
fi
cat >"$DIR/base.ldif" <<LDIF
dn: $SUFFIX
$TOP

dn: ou=people,$SUFFIX
objectClass: organizationalUnit
ou: people

dn: ou=groups,$SUFFIX
objectClass: organizationalUnit
ou: groups

dn: ou=policies,$SUFFIX
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,$SUFFIX
objectClass: top
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 5

dn: cn=reader,$SUFFIX
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: $READER_HASH
LDIF

slaptest -Q -u -f "$DIR/slapd.conf"
for f in "$DIR/base.ldif" "$@"; do slapadd -q -f "$DIR/slapd.conf" -l "$f"; done
slapd -f "$DIR/slapd.conf" -h "ldap://127.0.0.1:$PORT/" # daemonizes and writes the pidfile
for _ in $(seq 1 200); do
  if ldapsearch -x -H "ldap://127.0.0.1:$PORT" -s base -b "" namingContexts >/dev/null 2>&1; then
    cat "$DIR/slapd.pid"
    exit 0
  fi
  sleep 0.05
done
echo "slapd not ready on port $PORT" >&2
exit 1

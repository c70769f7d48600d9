#!/usr/bin/env bash
# Spec-driven fuzzing: Schemathesis against the service, started on a
# private database with the demo data, with every check, the stateful
# phase, a fixed seed and a bound on examples, once per role, each role with
# two organisations' accounts for the object-level authorisation check.
#
# tests/fuzz/schemathesis.toml lists, operation by operation, the rules no
# schema can state (a delivery date ahead, a commune that exists, ...) for
# which positive_data_acceptance accepts a 400 or 422. tests/fuzz/hooks.py
# adds a check of our own: every header an answer carries is declared there.
#
# Usage: bash tests/fuzz/schemathesis.sh   (SEED=… EXAMPLES=… to vary,
#        ROLES="canteen farm" for some roles only)
# Needs: python3 with venv, the package registry the first time, and
# PostgreSQL's server binaries (the demo runs its own cluster).
set -euo pipefail
cd "$(dirname "$0")/../.."

SEED=${SEED:-1}
EXAMPLES=${EXAMPLES:-20}
PORT=${PORT:-18097}
VENV=target/fuzz-venv

if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5"
fi

source tests/lib/demo.sh
data=target/fuzz-run
start_demo "$PORT" "$data"
URL=$DEMO_URL
PASSWORD=$DEMO_PASSWORD

# Two accounts per role, of two organisations. The fuzzer acts as the
# first; its object-level check replays each of the first's reads as the
# second, which must not get the object. An administrator sees every
# organisation by design: its peer is a canteen, which must see nothing
# only administrators see.
declare -A first=(
  [canteen]=contact@ecole-elementaire-jean-mace-saint-michel-sur-orge.demo
  [farm]=contact@ferme-de-l-envol.demo
  [distributor]=contact@legumerie-du-coeur-d-essonne.demo
  [authority]=pat@coeuressonne.demo
  [admin]=admin@sesame.demo
)
declare -A second=(
  [canteen]=contact@ehpad-les-charmilles-morsang-sur-orge.demo
  [farm]=contact@ferme-du-gue.demo
  [distributor]=contact@maree-de-rungis.demo
  [authority]=pat@val-essonne.demo
  [admin]=contact@ehpad-les-charmilles-morsang-sur-orge.demo
)
# Every token first: the fuzzer's failed logins soon throttle this address.
# A Web Fuzzing Commons auth document per role names the two identities.
for role in canteen farm distributor authority admin; do
  python3 - "$URL/api/v1/auth/login" "${first[$role]}" "${second[$role]}" "$PASSWORD" \
    >"$data/$role-auth.json" <<'PY'
import json, sys, urllib.request
url, owner, peer, password = sys.argv[1:]
def bearer(email):
    request = urllib.request.Request(url, json.dumps({"email": email, "password": password}).encode(),
                                     {"Content-Type": "application/json"})
    return "Bearer " + json.load(urllib.request.urlopen(request))["access_token"]
json.dump({"auth": [{"name": name, "fixedHeaders": [{"name": "Authorization", "value": bearer(email)}]}
                    for name, email in (("owner", owner), ("peer", peer))]}, sys.stdout)
PY
done

status=0 failed=""
for role in ${ROLES:-canteen farm distributor authority admin}; do
  echo "== schemathesis as the $role (seed $SEED, $EXAMPLES examples)"
  # Logging out would end the session the token belongs to; a password
  # change with a wrong current password only feeds the login throttle.
  SESAME_FUZZ_AUTH="$data/$role-auth.json" SCHEMATHESIS_HOOKS=hooks PYTHONPATH=tests/fuzz \
  "$VENV/bin/schemathesis" --config-file tests/fuzz/schemathesis.toml run "$URL/api/openapi.json" --url "$URL" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$EXAMPLES" --seed "$SEED" --request-timeout 10 --workers 2 \
    --exclude-path /api/v1/auth/logout --exclude-path /api/v1/auth/password \
    --no-color >"$data/$role.txt" 2>&1 || { status=1; failed+=" $data/$role.txt"; }
  sed -n '/SUMMARY/,$p' "$data/$role.txt"
done
[ -z "$failed" ] || echo "full reports:$failed"
exit $status

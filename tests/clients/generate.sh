#!/usr/bin/env bash
# Generates the Python and TypeScript clients from the committed OpenAPI
# document and checks that they are whole, then lints the document.
#
#   bash tests/clients/generate.sh
#
# Steps (each one runs even when an earlier one failed, so that one run
# reports every problem; the script exits 1 if any step failed):
#   1. venv target/clients-venv with tests/clients/requirements.txt;
#      `npm ci` in tests/clients when node_modules is missing;
#   2. openapi-python-client -> target/clients/python, with --fail-on-warning:
#      its warnings are operations or responses it left out of the client;
#   3. pip install of that client into the venv, and an import of each module;
#   4. openapi-typescript -> target/clients/ts/api.d.ts (fails on its errors
#      and on any of its warnings);
#   5. tsc --noEmit --strict on tests/clients/check.ts, which imports those types;
#   6. a second TypeScript generator, @hey-api/openapi-ts (a whole fetch
#      client: types and one function per operation) -> target/clients/hey-api,
#      type-checked by tsc --strict;
#   7. redocly lint with tests/clients/redocly.yaml (fails on errors; its
#      warnings are printed but do not fail).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
DOC=openapi/openapi.json
TOOLS=tests/clients
VENV=target/clients-venv
OUT=target/clients
BIN=$TOOLS/node_modules/.bin

export REDOCLY_TELEMETRY=off
export REDOCLY_SUPPRESS_UPDATE_NOTICE=true
export NO_UPDATE_NOTIFIER=1

failed=()
step() { printf '\n==> %s\n' "$*"; }
fail() {
  printf 'FAILED: %s\n' "$*" >&2
  failed+=("$*")
}

# 1. tools
step "tools"
if [[ ! -x $VENV/bin/python ]]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$TOOLS/requirements.txt"
if [[ ! -x $BIN/openapi-ts || ! -x $BIN/openapi-typescript || ! -x $BIN/redocly ]]; then
  (cd "$TOOLS" && npm ci --no-audit --no-fund)
fi
# The generator's post hooks (ruff check --fix, ruff format) need ruff on PATH;
# it comes with openapi-python-client in the venv.
export PATH="$ROOT/$VENV/bin:$PATH"
mkdir -p "$OUT/ts"
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

# 2. Python client
step "openapi-python-client generate -> $OUT/python"
if ! openapi-python-client generate \
  --path "$DOC" \
  --config "$TOOLS/python-client.yaml" \
  --output-path "$OUT/python" \
  --overwrite \
  --fail-on-warning 2>&1 | tee "$log_dir/python.log"; then
  fail "openapi-python-client: errors or warnings (operations or responses missing from the client)"
fi

# 3. install and import it
step "pip install $OUT/python"
if [[ -f $OUT/python/pyproject.toml ]]; then
  if "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --force-reinstall --no-deps "$OUT/python" &&
    "$VENV/bin/python" -m pip check --disable-pip-version-check; then
    (cd "$log_dir" && "$ROOT/$VENV/bin/python" - <<'EOF') || fail "the generated Python client does not import"
import importlib
import pkgutil

import sesame_api_client as package

names = [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(f"imported {len(names)} modules of {package.__name__}")
EOF
  else
    fail "pip install of the generated Python client"
  fi
else
  fail "no Python client was generated"
fi

# 4. TypeScript types
step "openapi-typescript -> $OUT/ts/api.d.ts"
if ! "$BIN/openapi-typescript" "$DOC" --output "$OUT/ts/api.d.ts" 2> >(tee "$log_dir/ts.err" >&2); then
  fail "openapi-typescript"
elif grep -q $'\u26a0' "$log_dir/ts.err"; then
  fail "openapi-typescript printed warnings"
fi

# 5. type-check a consumer of the types
step "tsc --noEmit --strict $TOOLS/check.ts"
if ! "$BIN/tsc" --noEmit --strict --target es2022 --module esnext \
  --moduleResolution bundler "$TOOLS/check.ts"; then
  fail "tsc on $TOOLS/check.ts"
fi

# 6. a second generator: a whole client, type-checked
step "@hey-api/openapi-ts -> $OUT/hey-api"
rm -rf "$OUT/hey-api"
if ! "$BIN/openapi-ts" --input "$ROOT/$DOC" --output "$OUT/hey-api" >"$log_dir/hey-api.log" 2>&1; then
  cat "$log_dir/hey-api.log" >&2
  fail "@hey-api/openapi-ts"
elif ! "$BIN/tsc" --noEmit --strict --target es2022 --module esnext --moduleResolution bundler \
  --lib es2022,dom,dom.iterable "$OUT"/hey-api/*.ts; then
  fail "tsc on the @hey-api/openapi-ts client"
fi

# 7. lint
step "redocly lint $DOC"
if ! "$BIN/redocly" lint "$DOC" --config "$TOOLS/redocly.yaml"; then
  fail "redocly lint: errors"
fi

echo
if ((${#failed[@]})); then
  printf 'generate.sh: %d step(s) failed:\n' "${#failed[@]}" >&2
  printf '  - %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "generate.sh: clients generated and checked"

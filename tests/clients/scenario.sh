#!/usr/bin/env bash
# Generated clients in use: generates and checks the clients (generate.sh:
# Python, TypeScript, Redocly's lint), then runs the main flows through the
# generated Python client (scenario.py) against the demo.
#
# Usage: bash tests/clients/scenario.sh   (PORT=… to move the demo)
# Needs: python3 with venv, Node.js with npm, the package registries the
# first time, and PostgreSQL's server binaries (the demo runs its own cluster).
set -euo pipefail
cd "$(dirname "$0")/../.."

PORT=${PORT:-18098}
bash tests/clients/generate.sh
source tests/lib/demo.sh
start_demo "$PORT" target/clients-run
target/clients-venv/bin/python tests/clients/scenario.py "$DEMO_URL"

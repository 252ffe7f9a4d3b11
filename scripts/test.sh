#!/usr/bin/env bash
# Runs kvdb's whole test suite. Installs what the tests need first, so this one command works on
# a fresh machine:
#   redis-server   the oracle of the differential tests (tests/differential/)
#   redis-tools    redis-cli and redis-benchmark, driven against kvdb server (tests/redis_tools.rs)
#   python3, pip and redis-py   the lesson's Python code run against kvdb server (tests/python.rs)
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
{ command -v redis-cli && command -v redis-benchmark; } >/dev/null 2>&1 || missing+=(redis-tools)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if ! python3 -c 'import redis' >/dev/null 2>&1 && ! python3 -m pip --version >/dev/null 2>&1; then
    missing+=(python3-pip)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} (the tests run kvdb against them)" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! python3 -c 'import redis' >/dev/null 2>&1; then
    echo "installing redis-py (pip install redis) for tests/python/" >&2
    # Debian's own python3 refuses pip installs outside a venv (PEP 668) unless told otherwise.
    python3 -m pip install --quiet redis ||
        python3 -m pip install --quiet --break-system-packages redis
fi

cargo test --all-targets
cargo test --doc

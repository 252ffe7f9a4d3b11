#!/usr/bin/env bash
# Runs kvdb's whole test suite. Installs what the tests need first (redis-server, the oracle of
# the differential tests), so this one command works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing redis-server (the differential tests compare kvdb with it)" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
fi

cargo test --all-targets
cargo test --doc

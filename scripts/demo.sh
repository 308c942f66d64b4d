#!/usr/bin/env bash
# The demo command: ./scripts/demo.sh — installs what is missing, then runs `shardgate demo`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/sbin" ;; esac
bash scripts/ensure-deps.sh
exec cargo run --release --bin shardgate -- demo "$@"

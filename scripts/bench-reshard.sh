#!/usr/bin/env bash
# Online resharding figures (docs/benchmarks.md): copy rate, catch-up rate and the write
# pause of 2 x RESHARD_CYCLES cutovers (reshard + rollback) under ~RESHARD_WRITES_PER_SEC
# writes per second, on two local MariaDB servers. Not part of the test command.
#   RESHARD_ROWS=200000 RESHARD_WRITES_PER_SEC=1500 RESHARD_CYCLES=5 scripts/bench-reshard.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/sbin" ;; esac
bash scripts/ensure-deps.sh
exec cargo bench --bench reshard -- --bench

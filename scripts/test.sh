#!/usr/bin/env bash
# The project's test command: ./scripts/test.sh
#
# Installs missing dependencies (scripts/ensure-deps.sh), then runs every suite
# in SUITES in order (all of them, even after a failure, so CI shows every
# problem) and exits non-zero if any failed. To add a suite, write a
# `suite_<name>` function below and append <name> to SUITES.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
# mariadbd lives in /usr/sbin, not always on a non-root PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/sbin" ;; esac

bash scripts/ensure-deps.sh

# Unit tests and every test target (src/**, tests/, examples, benches as tests).
# Tests that need MariaDB start their own servers via shardgate::localdb.
suite_cargo() {
    # The flash-sale test opens thousands of client connections: raise the soft open-files
    # limit to the hard one (the test scales itself down when it stays low).
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    cargo test --all-targets --no-fail-fast
}

# Real client drivers (Connector/J, PyMySQL, mysql-connector-python, mysql2, the mariadb
# client, sysbench) through `shardgate demo`: compat/run.sh, docs/compatibility.md. It
# installs missing drivers (apt, .compat/venv, .compat/node) and fails if one cannot be.
suite_compat() {
    bash compat/run.sh
}

SUITES=(cargo compat)

started_all=$SECONDS
failed=()
for suite in "${SUITES[@]}"; do
    printf '\n==> suite %s\n' "$suite"
    started=$SECONDS
    # A subshell outside any `if`, so `set -e` stays in force inside the suite.
    set +e
    (
        set -e
        "suite_$suite"
    )
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
        printf '==> suite %s ok (%ss)\n' "$suite" "$((SECONDS - started))"
    else
        printf '==> suite %s FAILED (%ss)\n' "$suite" "$((SECONDS - started))"
        failed+=("$suite")
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    printf '\n==> FAILED suites: %s (%ss)\n' "${failed[*]}" "$((SECONDS - started_all))"
    exit 1
fi
printf '\n==> all suites ok: %s (%ss)\n' "${SUITES[*]}" "$((SECONDS - started_all))"

#!/usr/bin/env bash
# Installs what the test suites need, idempotently (a no-op when all is present).
#
#  - MariaDB server + client (Debian packages). The tests start their own
#    throwaway `mariadbd` instances (src/localdb.rs); the system service is
#    neither needed nor started.
#  - cargo: only checked; a clear message if it is missing.
set -euo pipefail

log() { printf 'ensure-deps: %s\n' "$*" >&2; }

have_prog() {
    # /usr/sbin is often not in a non-root PATH.
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        log "need root to run: $* (and sudo is not installed)"
        return 1
    fi
}

install_mariadb() {
    log "mariadbd not found: installing mariadb-server mariadb-client via apt-get"
    if ! command -v apt-get >/dev/null 2>&1; then
        log "apt-get not available: install MariaDB (mariadbd, mariadb-install-db, mariadb) by hand"
        return 1
    fi
    # Keep the package's postinst from starting the system service: we run our
    # own servers, and in containers without an init system the start fails.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [ ! -e "$policy" ]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
        created_policy=1
    fi
    local rc=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
    if [ "$rc" -eq 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends mariadb-server mariadb-client || rc=$?
    fi
    if [ "$created_policy" -eq 1 ]; then
        as_root rm -f "$policy"
    fi
    return "$rc"
}

if have_prog mariadbd && have_prog mariadb-install-db; then
    :
else
    install_mariadb
    if ! { have_prog mariadbd && have_prog mariadb-install-db; }; then
        log "mariadbd still not found after installing mariadb-server"
        exit 1
    fi
fi

# If a system service was started anyway, it is harmless (our servers use
# their own ports, sockets and datadirs); we never depend on it.

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    log "cargo not found: install the Rust toolchain (https://rustup.rs) or add ~/.cargo/bin to PATH"
    exit 1
fi

mariadbd_bin=$(command -v mariadbd 2>/dev/null || echo /usr/sbin/mariadbd)
log "ok: $("$mariadbd_bin" --version 2>/dev/null | head -n1)"

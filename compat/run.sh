#!/usr/bin/env bash
# Real-driver compatibility suite (docs/compatibility.md): installs the drivers if missing,
# starts `shardgate demo` on free ports with compat/rules-extra.toml added to the e-commerce
# rules, and runs every driver through it. Exits non-zero if any driver check fails or a
# driver cannot be installed (never skips). Usage: compat/run.sh (from anywhere).
#
# The `auth` driver runs PyMySQL and mysql2 against a second proxy (`shardgate serve` on the
# same shards) with TLS and caching_sha2_password full authentication (docs/compatibility.md).
#
# Environment: COMPAT_DRIVERS (default "java python node cli sysbench auth"),
#   COMPAT_SYSBENCH_TIME (seconds per sysbench run, default 3), SKIP_BUILD=1.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
DRIVERS=${COMPAT_DRIVERS:-"java python node cli sysbench auth"}
MYSQL2_VERSION=3.24.6
STATE=$ROOT/.compat
OUT=$ROOT/target/compat
mkdir -p "$STATE" "$OUT"
log() { printf '[compat %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/sbin" ;; esac

# --- drivers: installed once, checked every time ------------------------------------------
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root for: $*"; return 1; fi
}
APT_UPDATED=0
apt_install() { # packages...
    command -v apt-get >/dev/null || { log "apt-get not available to install $*"; return 1; }
    if [ "$APT_UPDATED" = 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$OUT/apt.log" 2>&1
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
        >>"$OUT/apt.log" 2>&1 || { tail -20 "$OUT/apt.log" >&2; return 1; }
}
need() { # program, package: install the package when the program is missing
    command -v "$1" >/dev/null 2>&1 || apt_install "$2" || die "cannot install $2 (for $1)"
    command -v "$1" >/dev/null 2>&1 || die "$1 still missing after installing $2"
}
MARIADB_JAR=/usr/share/java/mariadb-java-client.jar

ensure_java() {
    need javac default-jdk-headless
    [ -f "$MARIADB_JAR" ] || apt_install libmariadb-java || die "cannot install libmariadb-java"
    [ -f "$MARIADB_JAR" ] || die "libmariadb-java installed but $MARIADB_JAR is missing"
    local classes=$STATE/java
    if [ ! -f "$classes/Compat.class" ] || [ compat/java/Compat.java -nt "$classes/Compat.class" ]; then
        mkdir -p "$classes"
        javac -encoding UTF-8 -d "$classes" -cp "$MARIADB_JAR" compat/java/Compat.java ||
            die "javac failed on compat/java/Compat.java"
    fi
}
ensure_python() {
    need python3 python3
    local venv=$STATE/venv stamp
    stamp=$venv/.requirements-$(md5sum compat/python/requirements.txt | cut -c1-12)
    [ -f "$stamp" ] && return 0
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv" >/dev/null 2>&1 ||
            { apt_install python3-venv && rm -rf "$venv" && python3 -m venv "$venv"; } ||
            die "cannot create the virtualenv $venv"
    fi
    log "pip install -r compat/python/requirements.txt into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r compat/python/requirements.txt \
        >"$OUT/pip.log" 2>&1 || { tail -20 "$OUT/pip.log" >&2; die "pip install failed (PyMySQL, mysql-connector-python)"; }
    touch "$stamp"
}
ensure_node() {
    need node nodejs
    need npm npm
    local pkg=$STATE/node/node_modules/mysql2/package.json
    if ! grep -q "\"version\": \"$MYSQL2_VERSION\"" "$pkg" 2>/dev/null; then
        mkdir -p "$STATE/node"
        [ -f "$STATE/node/package.json" ] || echo '{"private": true}' >"$STATE/node/package.json"
        log "npm install mysql2@$MYSQL2_VERSION into $STATE/node"
        (cd "$STATE/node" && npm install --no-audit --no-fund --save-exact "mysql2@$MYSQL2_VERSION") \
            >"$OUT/npm.log" 2>&1 || { tail -20 "$OUT/npm.log" >&2; die "npm install mysql2@$MYSQL2_VERSION failed"; }
    fi
}
ensure_cli() { need mariadb mariadb-client; }
ensure_sysbench() { need sysbench sysbench; }
ensure_auth() { ensure_python; ensure_node; need openssl openssl; }

ensure_cli # the runner itself uses the client
for d in $DRIVERS; do
    declare -F "ensure_$d" >/dev/null || die "unknown driver '$d' in COMPAT_DRIVERS"
    "ensure_$d"
done

# --- the proxy --------------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build -q --bin shardgate || die "cargo build failed"
fi
BIN=$ROOT/target/debug/shardgate
[ -x "$BIN" ] || die "$BIN not found"

declare -A TAKEN=()
# Ports below Linux's ephemeral range (32768 and up by default), which outgoing connections
# (the proxies' own backend connections among them) take their local ports from: a port
# picked there can be taken by such a connection before the server binds it.
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 12000))
        [ -n "${TAKEN[$p]:-}" ] && continue
        if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then TAKEN[$p]=1; echo "$p"; return 0; fi
    done
    return 1
}
PORT=$(free_port) && S0=$(free_port) && S1=$(free_port) || die "no free ports"
RULES=$OUT/rules.toml
cat examples/ecommerce/rules.toml compat/rules-extra.toml >"$RULES"
# Cross-shard deadlocks are invisible to InnoDB: let them time out quickly.
sed -i 's|^\[server\]$|[server]\nlock_wait_timeout = 2|' "$RULES"

AUTH_PID=
stop_auth() {
    [ -n "$AUTH_PID" ] || return 0
    kill -TERM "$AUTH_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$AUTH_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$AUTH_PID" 2>/dev/null
    wait "$AUTH_PID" 2>/dev/null
    AUTH_PID=
}
DEMO_PID=
stop_demo() {
    stop_auth
    [ -n "$DEMO_PID" ] || return 0
    kill -TERM "$DEMO_PID" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DEMO_PID" 2>/dev/null
    wait "$DEMO_PID" 2>/dev/null
    DEMO_PID=
}
trap stop_demo EXIT
trap 'exit 130' INT TERM
SHARDGATE_LOG=${SHARDGATE_LOG:-warn} NO_COLOR=1 "$BIN" demo --listen "127.0.0.1:$PORT" \
    --shard-ports "$S0,$S1" --rules "$RULES" >"$OUT/demo.out" 2>"$OUT/demo.err" &
DEMO_PID=$!
for i in $(seq 1200); do
    grep -q "ready" "$OUT/demo.out" 2>/dev/null && break
    kill -0 "$DEMO_PID" 2>/dev/null || { cat "$OUT/demo.out" "$OUT/demo.err" >&2; die "shardgate demo exited"; }
    [ "$i" = 1200 ] && { tail -20 "$OUT/demo.err" >&2; die "shardgate demo not ready within 120 s"; }
    sleep 0.1
done
log "shardgate demo on 127.0.0.1:$PORT (shards $S0, $S1; logs in $OUT)"
mariadb --no-defaults -h127.0.0.1 -P"$PORT" -uroot -proot shop <compat/schema.sql ||
    die "cannot create compat_types through the proxy"

# --- a second proxy with TLS and caching_sha2_password (the `auth` driver) ----------------
AUTH_PORT=
if [[ " $DRIVERS " == *" auth "* ]]; then
    AUTH_PORT=$(free_port) || die "no free port"
    AUTH=$OUT/auth
    rm -rf "$AUTH" && mkdir -p "$AUTH"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
        -keyout "$AUTH/key.pem" -out "$AUTH/cert.pem" >"$AUTH/openssl.log" 2>&1 ||
        die "openssl could not make a certificate ($AUTH/openssl.log)"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$AUTH/rsa.pem" \
        >>"$AUTH/openssl.log" 2>&1 || die "openssl could not make an RSA key"
    # The demo's rules with the shards' ports, TLS, and MySQL 8's caching_sha2_password
    # (cache filled by full authentication), plus accounts no other check logs in with.
    sed -e "s|^port = 3316$|port = $S0|" -e "s|^port = 3317$|port = $S1|" \
        -e "s|^\[server\]$|[server]\nxa_log = \"$AUTH/xa.log\"\ntls_cert = \"$AUTH/cert.pem\"\ntls_key = \"$AUTH/key.pem\"\nrsa_private_key = \"$AUTH/rsa.pem\"\ndefault_auth_plugin = \"caching_sha2_password\"\ncaching_sha2_cache = \"mysql\"|" \
        "$RULES" >"$AUTH/rules.toml"
    for u in py_tls py_rsa js_tls js_rsa; do
        printf '\n[[databases.shop.users]]\nname = "%s"\npassword = "%s_pw"\n' "$u" "$u" >>"$AUTH/rules.toml"
    done
    SHARDGATE_LOG=${SHARDGATE_LOG:-warn} NO_COLOR=1 "$BIN" serve --config "$AUTH/rules.toml" \
        --listen "127.0.0.1:$AUTH_PORT" >"$AUTH/serve.out" 2>"$AUTH/serve.err" &
    AUTH_PID=$!
    for i in $(seq 300); do
        ss -Htln "sport = :$AUTH_PORT" 2>/dev/null | grep -q . && break
        kill -0 "$AUTH_PID" 2>/dev/null || { cat "$AUTH/serve.err" >&2; die "shardgate serve (auth) exited"; }
        [ "$i" = 300 ] && die "shardgate serve (auth) not listening within 30 s"
        sleep 0.1
    done
    log "TLS + caching_sha2_password proxy on 127.0.0.1:$AUTH_PORT"
fi

# --- the drivers ------------------------------------------------------------------------
run_java() { java -cp "$MARIADB_JAR:$STATE/java" Compat 127.0.0.1 "$PORT" 10000; }
run_python() { "$STATE/venv/bin/python" compat/python/compat.py 127.0.0.1 "$PORT" 20000; }
run_node() { NODE_PATH=$STATE/node/node_modules node compat/node/compat.js 127.0.0.1 "$PORT" 30000; }
run_cli() { bash compat/cli.sh 127.0.0.1 "$PORT" 40000; }
run_sysbench() { bash compat/sysbench.sh 127.0.0.1 "$PORT" "$OUT"; }
run_auth() {
    local rc=0
    "$STATE/venv/bin/python" compat/python/auth.py 127.0.0.1 "$AUTH_PORT" "$OUT/auth/cert.pem" || rc=1
    NODE_PATH=$STATE/node/node_modules node compat/node/auth.js 127.0.0.1 "$AUTH_PORT" "$OUT/auth/cert.pem" || rc=1
    return $rc
}

passed=() failed=()
for d in $DRIVERS; do
    started=$SECONDS
    timeout 300 bash -c "$(declare -f "run_$d"); MARIADB_JAR=$MARIADB_JAR STATE=$STATE PORT=$PORT OUT=$OUT AUTH_PORT=$AUTH_PORT run_$d" \
        >"$OUT/$d.log" 2>&1
    rc=$?
    grep -v '^  ok ' "$OUT/$d.log"
    if [ "$rc" -eq 0 ]; then
        printf '==> compat %s ok: %s checks (%ss)\n' "$d" "$(grep -c '^  ok ' "$OUT/$d.log")" "$((SECONDS - started))"
        passed+=("$d")
    else
        printf '==> compat %s FAILED (rc %s, %ss; full log %s)\n' "$d" "$rc" "$((SECONDS - started))" "$OUT/$d.log"
        failed+=("$d")
    fi
done
mariadb --no-defaults -h127.0.0.1 -P"$PORT" -uroot -proot shop -e 'DROP TABLE IF EXISTS compat_types' ||
    log "could not drop compat_types"
stop_demo
printf 'compat: %s passed, %s failed\n' "${#passed[@]}" "${#failed[@]}"
[ "${#failed[@]}" -eq 0 ]

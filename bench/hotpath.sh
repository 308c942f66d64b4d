#!/usr/bin/env bash
# Load-independent per-query costs of the proxy on sysbench oltp_point_select:
# proxy CPU µs (user+kernel, /proc/PID/stat), syscalls and context switches (perf stat tracepoints) and, optionally,
# instructions (valgrind --tool=callgrind, counters zeroed after a warm-up).
#
#   bench/hotpath.sh setup            start two MariaDB shards in $HOT_DIR, load sbtest1
#   bench/hotpath.sh measure [BIN]    run the cases below against BIN (default
#                                     target/release/shardgate), print one line per case
#   bench/hotpath.sh flame [BIN]      a perf flame graph of the proxy (see flame() below)
#   bench/hotpath.sh stop             stop the shards
#
# Cases: {unsharded, sharded} x {ps-mode auto (prepared), disable (text)}.
#   unsharded  sbtest1 has no rule: it lives on the default data source (database plain)
#   sharded    sbtest1 sharded by id % 2 over shop_0 / shop_1 (the shard key is given)
#
# Environment: HOT_DIR [/tmp/sghot]  EVENTS [20000]  THREADS [8]  CALLGRIND [0]
#   (CALLGRIND=1: also run each case under callgrind with CG_EVENTS [3000] queries)
#   STRACE [1] (count syscalls and context switches with perf tracepoints)  CASES ["unsharded:auto unsharded:disable sharded:auto sharded:disable"]
#   WORKERS [""] (--worker-threads of the proxy; "" = its default)
set -uo pipefail
cd "$(dirname "$0")/.."
HOT_DIR=${HOT_DIR:-/tmp/sghot}
EVENTS=${EVENTS:-20000}
THREADS=${THREADS:-8}
CALLGRIND=${CALLGRIND:-0}
CG_EVENTS=${CG_EVENTS:-3000}
STRACE=${STRACE:-1}
CASES=${CASES:-"unsharded:auto unsharded:disable sharded:auto sharded:disable"}
TABLE_SIZE=10000
SC_EVENTS=$(for s in recvfrom sendto read write readv writev epoll_wait futex sched_yield; do
    printf 'syscalls:sys_enter_%s,' "$s"; done)
SC_EVENTS=${SC_EVENTS%,}
ROOT_ARGS=()
[[ $(id -u) == 0 ]] && ROOT_ARGS=(--user=root)
SIZING=(--innodb-log-file-size=48M --innodb-buffer-pool-size=128M)

log() { printf '[hotpath %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 12000))  # below the ephemeral range (see compat/run.sh)
        ss -Htan "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
    done
    die "no free port"
}

start_db() { # name
    local d=$HOT_DIR/$1 port i
    mkdir -p "$d/data" "$d/tmp"
    mariadb-install-db --no-defaults --auth-root-authentication-method=normal \
        --datadir="$d/data" --tmpdir="$d/tmp" --skip-test-db "${SIZING[@]}" "${ROOT_ARGS[@]}" \
        >"$d/install.log" 2>&1 || die "install $1"
    port=$(free_port)
    mariadbd --no-defaults --datadir="$d/data" --tmpdir="$d/tmp" --socket="$d/mysqld.sock" \
        --port="$port" --bind-address=127.0.0.1 --pid-file="$d/mysqld.pid" \
        --log-error="$d/error.log" --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_general_ci --skip-log-bin --max-connections=1000 \
        --innodb-flush-log-at-trx-commit=2 "${SIZING[@]}" "${ROOT_ARGS[@]}" >"$d/out" 2>&1 &
    echo $! >"$d/pid"
    echo "$port" >"$d/port"
    for ((i = 0; i < 600; i++)); do
        mariadb --no-defaults -h127.0.0.1 -P"$port" -uroot -e 'SELECT 1' >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "mariadbd $1 did not start"
}

port_of() { cat "$HOT_DIR/$1/port"; }

sb() { # port db ps-mode command [args]
    local port=$1 db=$2 ps=$3 cmd=$4
    shift 4
    sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$port" \
        --mysql-user=root --mysql-password="${SB_PASS:-}" --mysql-db="$db" --tables=1 \
        --table-size=$TABLE_SIZE --db-ps-mode="$ps" "$@" "$cmd"
}

setup() {
    mkdir -p "$HOT_DIR"
    start_db a
    start_db b
    local pa pb
    pa=$(port_of a) pb=$(port_of b)
    mariadb --no-defaults -h127.0.0.1 -P"$pa" -uroot -e 'CREATE DATABASE plain; CREATE DATABASE shop_0'
    mariadb --no-defaults -h127.0.0.1 -P"$pb" -uroot -e 'CREATE DATABASE shop_1'
    sb "$pa" plain auto prepare >/dev/null
    sb "$pa" shop_0 auto prepare --auto_inc=off >/dev/null
    sb "$pb" shop_1 auto prepare --auto_inc=off >/dev/null
    mariadb --no-defaults -h127.0.0.1 -P"$pa" -uroot -e 'DELETE FROM shop_0.sbtest1 WHERE id % 2 = 1'
    mariadb --no-defaults -h127.0.0.1 -P"$pb" -uroot -e 'DELETE FROM shop_1.sbtest1 WHERE id % 2 = 0'
    log "shards on $pa and $pb"
}

stop() {
    local n
    for n in a b; do
        [[ -f $HOT_DIR/$n/pid ]] && kill "$(cat "$HOT_DIR/$n/pid")" 2>/dev/null
    done
    sleep 3
    rm -rf "$HOT_DIR"
}

write_rules() { # setup file
    local pa pb
    pa=$(port_of a) pb=$(port_of b)
    sed -e "s/^port = 3316$/port = $pa/" -e "s/^port = 3317$/port = $pb/" \
        examples/ecommerce/rules.toml >"$2"
    if [[ $1 == unsharded ]]; then
        sed -i 's/^database = "shop_0"$/database = "plain"/' "$2"
    else
        cat >>"$2" <<'EOF'

[databases.shop.tables.sbtest1]
actual_data_nodes = "ds_${0..1}.sbtest1"
database_strategy = { column = "id", algorithm = "db_mod" }
EOF
    fi
}

ticks() { local s; s=$(cat "/proc/$1/stat"); s=${s##*) }; awk '{ print $12, $13 }' <<<"$s"; }

PROXY_PID=
start_proxy() { # setup bin [wrapper...]
    local setup=$1 bin=$2 i
    shift 2
    write_rules "$setup" "$HOT_DIR/rules-$setup.toml"
    PROXY_PORT=$(free_port)
    local wargs=()
    [[ -n ${WORKERS:-} ]] && wargs=(--worker-threads "$WORKERS")
    SHARDGATE_LOG=warn "$@" "$bin" "${wargs[@]}" serve --config "$HOT_DIR/rules-$setup.toml" \
        --listen "127.0.0.1:$PROXY_PORT" >"$HOT_DIR/proxy.log" 2>&1 &
    PROXY_PID=$!
    for ((i = 0; i < 600; i++)); do
        mariadb --no-defaults -h127.0.0.1 -P"$PROXY_PORT" -uroot -proot shop -e 'SELECT 1' \
            >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    cat "$HOT_DIR/proxy.log" >&2
    die "proxy did not start"
}

stop_proxy() {
    kill "$PROXY_PID" 2>/dev/null
    wait "$PROXY_PID" 2>/dev/null
}

run_events() { # setup ps events
    SB_PASS=root sb "$PROXY_PORT" shop "$2" run --threads="$THREADS" --events="$3" --time=0 \
        --rand-type=uniform >"$HOT_DIR/sb.out" 2>&1 || { cat "$HOT_DIR/sb.out" >&2; return 1; }
    awk '/^ *queries:/ { print $2; exit }' "$HOT_DIR/sb.out"
}

measure() {
    local bin=${1:-target/release/shardgate} c setup ps hz t0 t1 q cpu sys
    hz=$(getconf CLK_TCK)
    for c in $CASES; do
        setup=${c%%:*} ps=${c#*:}
        start_proxy "$setup" "$bin"
        run_events "$setup" "$ps" 2000 >/dev/null # warm up pools and caches
        t0=$(ticks "$PROXY_PID")
        q=$(run_events "$setup" "$ps" "$EVENTS")
        t1=$(ticks "$PROXY_PID")
        cpu=$(awk -v a="$t0" -v b="$t1" -v q="$q" -v hz="$hz" 'BEGIN { split(a, x, " "); split(b, y, " ")
            u = (y[1] - x[1]) / hz * 1e6 / q; k = (y[2] - x[2]) / hz * 1e6 / q
            printf "%.1f(u%.1f+k%.1f)", u + k, u, k }')
        sys="-" cs="-"
        if [[ $STRACE == 1 ]]; then
            # perf tracepoints: far less intrusive than strace (which batches everything).
            perf stat -x, -e raw_syscalls:sys_enter,context-switches,$SC_EVENTS -p "$PROXY_PID" \
                -o "$HOT_DIR/perf-$setup-$ps.txt" &
            local spid=$!
            sleep 0.5
            q=$(run_events "$setup" "$ps" "$EVENTS")
            kill -INT "$spid"
            wait "$spid" 2>/dev/null
            local f=$HOT_DIR/perf-$setup-$ps.txt
            sys=$(awk -F, -v q="$q" '$3 == "raw_syscalls:sys_enter" { printf "%.2f", $1 / q }' "$f")
            cs=$(awk -F, -v q="$q" '$3 == "context-switches" { printf "%.2f", $1 / q }' "$f")
            detail=$(awk -F, -v q="$q" '$3 ~ /^syscalls:sys_enter_/ && $1 > 0 {
                sub(/syscalls:sys_enter_/, "", $3); printf "%s=%.2f ", $3, $1 / q }' "$f")
        fi
        stop_proxy
        local ins="-"
        if [[ $CALLGRIND == 1 ]]; then
            local out=$HOT_DIR/callgrind-$setup-$ps.out
            rm -f "$HOT_DIR"/callgrind-"$setup"-"$ps".out*
            start_proxy "$setup" "$bin" valgrind --tool=callgrind --callgrind-out-file="$out" \
                --dump-instr=no
            run_events "$setup" "$ps" 500 >/dev/null
            callgrind_control -z "$PROXY_PID" >/dev/null
            q=$(run_events "$setup" "$ps" "$CG_EVENTS")
            callgrind_control -d "$PROXY_PID" >/dev/null
            stop_proxy
            local ir
            ir=$(for f in "$out".*; do grep -h '^summary:' "$f"; done | sort -t' ' -k2 -n | tail -1 | awk '{ print $2 }')
            ins=$(awk -v i="$ir" -v q="$q" 'BEGIN { printf "%.0f", i / q }')
        fi
        printf '%-10s %-8s cpu_us/q=%-18s syscalls/q=%-6s ctxsw/q=%-5s instr/q=%-7s %s\n' "$setup" "$ps" "$cpu" "$sys" "$cs" "$ins" "${detail:-}"
    done
}

# A flame graph of the proxy (user + kernel stacks, DWARF unwinding) during FLAME_SECONDS of
# prepared point selects on the unsharded table; needs perf and inferno
# (`cargo install inferno`). Writes $FLAME_OUT (default docs/flamegraph-point-select.svg).
flame() { # [BIN]
    local bin=${1:-target/release/shardgate} out=${FLAME_OUT:-docs/flamegraph-point-select.svg}
    local secs=${FLAME_SECONDS:-8}
    command -v inferno-flamegraph >/dev/null || die "inferno not found: cargo install inferno"
    start_proxy unsharded "$bin"
    SB_PASS=root sb "$PROXY_PORT" shop auto run --threads="$THREADS" --time=$((secs + 4)) \
        >"$HOT_DIR/flame-sysbench.log" 2>&1 &
    local sbpid=$!
    sleep 2
    perf record -F 499 --call-graph dwarf,16384 -p "$PROXY_PID" -o "$HOT_DIR/perf.data" \
        -- sleep "$secs" >"$HOT_DIR/perf-record.log" 2>&1 || die "perf record failed"
    wait "$sbpid"
    perf script -i "$HOT_DIR/perf.data" 2>/dev/null | inferno-collapse-perf >"$HOT_DIR/folded.txt"
    inferno-flamegraph --title "shardgate: prepared point selects, unsharded ($THREADS threads)" \
        <"$HOT_DIR/folded.txt" >"$out"
    stop_proxy
    log "flame graph in $out ($(wc -l <"$HOT_DIR/folded.txt") distinct stacks)"
}

case ${1:-} in
setup) setup ;;
measure) shift; measure "$@" ;;
flame) shift; flame "$@" ;;
stop) stop ;;
*) die "usage: $0 setup|measure [BIN]|flame [BIN]|stop" ;;
esac

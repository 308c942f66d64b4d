#!/usr/bin/env bash
# sysbench through shardgate vs. one MariaDB directly, interleaved in one run.
#
# Starts three throwaway MariaDB servers (ds_0, ds_1 = the shards, "direct" = the
# baseline), builds and starts `shardgate serve` on the e-commerce rules (with the
# ports of these shards), prepares the sysbench tables and runs each workload first
# directly, then through the proxy, for every thread count and --db-ps-mode.
#
# Two setups, one after the other (both use the table name sbtest1):
#   unsharded  sbtest1 is not in the rules: it lives on the default data source (ds_0);
#              this is the pure proxy overhead.
#   sharded    the rules add sbtest1 sharded by id % 2 over ds_0/ds_1 (one table per
#              data source); sysbench prepares it with --auto_inc=off so it supplies ids.
#
# Environment (defaults in brackets):
#   THREADS ["8 32"]  DURATION [10] seconds per run  TABLE_SIZE [10000]
#   PS_MODES ["auto disable"]  SETUPS ["unsharded sharded"]
#   WORKLOADS ["oltp_point_select oltp_read_only oltp_read_write"]
#   POOL_SIZE [16] (pool_size of each data source, as in examples/ecommerce/rules.toml)
#   LOCK_WAIT_TIMEOUT [2] ([server] lock_wait_timeout of the proxy, seconds; "" = the
#     server's 50 s. A deadlock across shards is invisible to InnoDB and lasts this long.)
#   SHARDGATE_LOG [info] (proxy log filter, e.g. "shardgate=debug")
#   HARD_TIMEOUT [DURATION+90] seconds before a hung sysbench run is killed
#   IGNORE_ERRORS [sysbench default: 1213,1020,1205] (--mysql-ignore-errors)
#   OUT_DIR [target/sysbench/<date>] (results.md, sysbench outputs, proxy logs)
#
# Latency: p95 is sysbench's --percentile=95; p99 is computed from its --histogram output.
#   SKIP_BUILD [0]  KEEP_WORKDIR [0] (keep the MariaDB data directories)
#
# Example: THREADS="8 32" DURATION=10 ./bench/sysbench.sh
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

THREADS=${THREADS:-"8 32"}
DURATION=${DURATION:-10}
TABLE_SIZE=${TABLE_SIZE:-10000}
PS_MODES=${PS_MODES:-"auto disable"}
SETUPS=${SETUPS:-"unsharded sharded"}
WORKLOADS=${WORKLOADS:-"oltp_point_select oltp_read_only oltp_read_write"}
POOL_SIZE=${POOL_SIZE:-16}
LOCK_WAIT_TIMEOUT=${LOCK_WAIT_TIMEOUT-2}
PROXY_LOG_LEVEL=${SHARDGATE_LOG:-info}
HARD_TIMEOUT=${HARD_TIMEOUT:-$((DURATION + 90))}
IGNORE_ERRORS=${IGNORE_ERRORS:-}
OUT_DIR=${OUT_DIR:-$ROOT/target/sysbench/$(date +%Y%m%d-%H%M%S)}
SKIP_BUILD=${SKIP_BUILD:-0}
KEEP_WORKDIR=${KEEP_WORKDIR:-0}

# Shared helpers (log, processes, ports, MariaDB servers, CPU ticks): bench/lib.sh.
NAME=sysbench.sh
source bench/lib.sh

for prog in sysbench mariadbd mariadb-install-db mariadb; do
    command -v "$prog" >/dev/null 2>&1 ||
        die "$prog not found (apt-get install -y sysbench mariadb-server mariadb-client)"
done

mkdir -p "$OUT_DIR" || die "cannot create $OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
# Short path: the unix socket path must stay under ~100 bytes.
WORKDIR=$(mktemp -d /tmp/sgbench.XXXXXX) || die "mktemp failed"

# --- processes we start, and cleanup ------------------------------------------------

REPORTED=0

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    # Interrupted: still print what was measured.
    if [[ $REPORTED == 0 && -n ${RESULTS:-} ]] && declare -F report >/dev/null; then report; fi
    stop_proxy
    local pid
    for pid in "${DB_PIDS[@]}"; do stop_pid "$pid" 30 & done
    wait
    if [[ $KEEP_WORKDIR == 1 ]]; then
        log "kept $WORKDIR"
    else
        rm -rf "$WORKDIR"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- ports ----------------------------------------------------------------------------

# --- MariaDB --------------------------------------------------------------------------

# Must agree between mariadb-install-db and mariadbd (lib.sh's servers are bigger).
SIZING=(--innodb-log-file-size=48M --innodb-buffer-pool-size=256M)

sql() { # port, sql
    mariadb --no-defaults -h127.0.0.1 -P"$1" -uroot -e "$2"
}

# --- proxy ----------------------------------------------------------------------------

PROXY_PORT=
write_rules() { # setup, file
    local setup=$1 file=$2
    sed -e "s/^port = 3316$/port = ${DB_PORT[ds_0]}/" \
        -e "s/^port = 3317$/port = ${DB_PORT[ds_1]}/" \
        -e "s/^pool_size = 16$/pool_size = $POOL_SIZE/" \
        -e "s|^\[server\]$|[server]\nxa_log = \"$WORKDIR/xa-$setup.log\"|" \
        examples/ecommerce/rules.toml >"$file"
    if [[ -n $LOCK_WAIT_TIMEOUT ]]; then
        sed -i "s|^\[server\]$|[server]\nlock_wait_timeout = $LOCK_WAIT_TIMEOUT|" "$file"
    fi
    if [[ $setup == sharded ]]; then
        cat >>"$file" <<'EOF'

# sysbench's table, sharded by id over the two data sources (one table on each).
[databases.shop.tables.sbtest1]
actual_data_nodes = "ds_${0..1}.sbtest1"
database_strategy = { column = "id", algorithm = "db_mod" }
EOF
    fi
    grep -q "port = ${DB_PORT[ds_0]}" "$file" && grep -q "port = ${DB_PORT[ds_1]}" "$file" ||
        die "could not substitute the shard ports into $file"
}

start_proxy() { # setup
    local setup=$1 cfg=$OUT_DIR/rules-$1.toml i
    write_rules "$setup" "$cfg"
    target/release/shardgate check --config "$cfg" >"$OUT_DIR/check-$setup.txt" 2>&1 ||
        { cat "$OUT_DIR/check-$setup.txt" >&2; die "shardgate check failed for $cfg"; }
    PROXY_PORT=$(free_port)
    NO_COLOR=1 SHARDGATE_LOG=$PROXY_LOG_LEVEL target/release/shardgate serve --config "$cfg" \
        --listen "127.0.0.1:$PROXY_PORT" >"$OUT_DIR/proxy-$setup.log" 2>&1 &
    PROXY_PID=$!
    for ((i = 0; i < 300; i++)); do
        if mariadb --no-defaults -h127.0.0.1 -P"$PROXY_PORT" -uroot -proot shop \
            -e 'SELECT 1' >/dev/null 2>&1; then
            log "shardgate ($setup) on 127.0.0.1:$PROXY_PORT (pid $PROXY_PID)"
            return 0
        fi
        kill -0 "$PROXY_PID" 2>/dev/null ||
            { tail -30 "$OUT_DIR/proxy-$setup.log" >&2; die "shardgate exited"; }
        sleep 0.1
    done
    tail -30 "$OUT_DIR/proxy-$setup.log" >&2
    die "shardgate did not answer within 30 s"
}

# Whether the proxy still answers a point SELECT within 10 s.
proxy_answers() {
    timeout 10 mariadb --no-defaults -h127.0.0.1 -P"$PROXY_PORT" -uroot -proot shop \
        -e 'SELECT c FROM sbtest1 WHERE id = 1' >/dev/null 2>&1
}

# What the shards' sessions were doing when the proxy stopped answering.
capture_wedge() { # label
    local f=$OUT_DIR/wedge-$1.txt ds
    for ds in ds_0 ds_1; do
        echo "== $ds"
        timeout 10 mariadb --no-defaults -h127.0.0.1 -P"${DB_PORT[$ds]}" -uroot -e "
            SELECT command, state, COUNT(*), MAX(time) FROM information_schema.processlist
             WHERE user = 'root' GROUP BY 1, 2;
            SELECT trx_state, COUNT(*), MIN(trx_started), SUM(trx_lock_structs)
              FROM information_schema.innodb_trx GROUP BY 1" 2>&1
    done >"$f"
    echo "== client connections to the proxy (state, count)" >>"$f"
    ss -tn "sport = :$PROXY_PORT" 2>/dev/null | awk 'NR > 1 { print $1 }' | sort | uniq -c >>"$f"
    cat "$f" >&2
}

CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

# --- sysbench -------------------------------------------------------------------------

FAILURES=()

# sysbench [timeout...] -- target(direct|proxy) setup command workload [extra args...]
sb_timed() {
    local pre=()
    while [[ $1 != -- ]]; do pre+=("$1"); shift; done
    shift
    local target=$1 setup=$2 cmd=$3 workload=$4
    shift 4
    local conn
    if [[ $target == direct ]]; then
        conn=(--mysql-port="${DB_PORT[direct]}" --mysql-user=root)
    else
        conn=(--mysql-port="$PROXY_PORT" --mysql-user=root --mysql-password=root)
    fi
    local auto_inc=()
    [[ $setup == sharded ]] && auto_inc=(--auto_inc=off)
    local ignore=()
    [[ -n $IGNORE_ERRORS ]] && ignore=(--mysql-ignore-errors="$IGNORE_ERRORS")
    "${pre[@]}" sysbench "$workload" --db-driver=mysql --mysql-host=127.0.0.1 "${conn[@]}" --mysql-db=shop \
        --tables=1 --table-size="$TABLE_SIZE" "${auto_inc[@]}" "${ignore[@]}" "$@" "$cmd"
}
sb() { sb_timed -- "$@"; }

# field from a sysbench run output
sb_field() { # file, what
    case $2 in
    qps) awk '/^ *queries:/ { gsub(/\(/, "", $3); print $3; exit }' "$1" ;;
    queries) awk '/^ *queries:/ { print $2; exit }' "$1" ;;
    errors) awk '/^ *ignored errors:/ { print $3; exit }' "$1" ;;
    reconnects) awk '/^ *reconnects:/ { print $2; exit }' "$1" ;;
    p95) awk '/95th percentile:/ { print $3; exit }' "$1" ;;
    # From the latency histogram (--histogram=on), the way sysbench computes its
    # percentile: the first bucket at which the cumulative count reaches 99%.
    p99) awk '
        /^Latency histogram/ { h = 1; next }
        h && /^ *$/ { h = 0 }
        h && $1 ~ /^[0-9.]+$/ { n++; v[n] = $1; c[n] = $NF; tot += $NF }
        END { if (!tot) exit
              s = 0
              for (i = 1; i <= n; i++) { s += c[i]; if (s >= tot * 0.99) { print v[i]; exit } } }' "$1" ;;
    esac
}

prepare() { # target, setup
    local out=$OUT_DIR/prepare-$2-$1.txt
    log "prepare sbtest1 ($2) via $1"
    if ! sb_timed timeout -k 5 600 -- "$1" "$2" prepare oltp_read_write >"$out" 2>&1; then
        FAILURES+=("prepare via $1 ($2 setup) failed: $(grep -m3 -E 'FATAL|error' "$out" | tr '\n' ' ')")
        log "prepare via $1 ($2) failed:"
        tail -15 "$out" >&2
        return 1
    fi
}

cleanup_table() { # target, setup
    local out=$OUT_DIR/cleanup-$2-$1.txt
    if ! sb_timed timeout -k 5 60 -- "$1" "$2" cleanup oltp_read_write >"$out" 2>&1; then
        FAILURES+=("cleanup via $1 ($2 setup) failed: $(grep -m3 -E 'FATAL|error' "$out" | tr '\n' ' ')")
        log "cleanup via $1 ($2) failed; dropping sbtest1 on the shards directly"
    fi
    # Whatever the proxy did, leave no sbtest1 behind for the next setup.
    sql "${DB_PORT[ds_0]}" 'DROP TABLE IF EXISTS shop_0.sbtest1' || true
    sql "${DB_PORT[ds_1]}" 'DROP TABLE IF EXISTS shop_1.sbtest1' || true
}

# Compares a few answers of the proxy with what the shards hold (text protocol; sysbench
# itself never checks results). $1 = setup, $2 = label. Appends mismatches to FAILURES.
verify() {
    local setup=$1 label=$2 q got want ok=1
    local shards=("${DB_PORT[ds_0]}:shop_0")
    [[ $setup == sharded ]] && shards+=("${DB_PORT[ds_1]}:shop_1")
    from_shards() { # sql with TBL placeholder -> rows of every shard
        local s
        for s in "${shards[@]}"; do
            mariadb --no-defaults -N -B -h127.0.0.1 -P"${s%%:*}" -uroot "${s#*:}" -e "${1//TBL/sbtest1}"
        done
    }
    via_proxy() {
        timeout 30 mariadb --no-defaults -N -B -h127.0.0.1 -P"$PROXY_PORT" -uroot -proot shop \
            -e "${1//TBL/sbtest1}" 2>&1 || echo "(no answer, exit $?)"
    }
    check() { # description, got, want
        if [[ $2 != "$3" ]]; then
            ok=0
            FAILURES+=("wrong result ($setup, $label): $1: proxy gave [$(head -c 300 <<<"$2" | tr '\n\t' '; ')] expected [$(head -c 300 <<<"$3" | tr '\n\t' '; ')]")
        fi
    }
    q='SELECT COUNT(*), SUM(id), MIN(id), MAX(id), SUM(k) FROM TBL'
    want=$(from_shards "$q" | awk -F'\t' '{ n += $1; s += $2; k += $5; if (mn == "" || $3 < mn) mn = $3; if ($4 > mx) mx = $4 }
        END { printf "%d\t%d\t%d\t%d\t%d\n", n, s, mn, mx, k }')
    check "$q" "$(via_proxy "$q")" "$want"
    q='SELECT c FROM TBL WHERE id BETWEEN 1000 AND 1099 ORDER BY c'
    check "$q" "$(via_proxy "$q")" "$(from_shards "$q" | LC_ALL=C sort)"
    q='SELECT DISTINCT c FROM TBL WHERE id BETWEEN 1000 AND 1099 ORDER BY c'
    check "$q" "$(via_proxy "$q")" "$(from_shards "$q" | LC_ALL=C sort -u)"
    q='SELECT SUM(k) FROM TBL WHERE id BETWEEN 1000 AND 1099'
    check "$q" "$(via_proxy "$q")" "$(from_shards "$q" | awk '{ s += $1 } END { print s }')"
    for id in 1 2 4321 4322; do
        q="SELECT id, k, c, pad FROM TBL WHERE id=$id"
        check "$q" "$(via_proxy "$q")" "$(from_shards "$q")"
    done
    if [[ $setup == sharded ]]; then
        # Placement: even ids on ds_0, odd ids on ds_1, every row somewhere.
        got=$(mariadb --no-defaults -N -B -h127.0.0.1 -P"${DB_PORT[ds_0]}" -uroot \
            -e 'SELECT COUNT(*) FROM shop_0.sbtest1 WHERE id % 2 <> 0' 2>&1)
        check "odd ids on ds_0" "$got" 0
        got=$(mariadb --no-defaults -N -B -h127.0.0.1 -P"${DB_PORT[ds_1]}" -uroot \
            -e 'SELECT COUNT(*) FROM shop_1.sbtest1 WHERE id % 2 = 0' 2>&1)
        check "even ids on ds_1" "$got" 0
    fi
    local s
    for s in "${shards[@]}"; do
        got=$(mariadb --no-defaults -N -B -h127.0.0.1 -P"${s%%:*}" -uroot "${s#*:}" \
            -e "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema='${s#*:}' AND table_name='sbtest1' AND index_name='k_1'" 2>&1)
        check "index k_1 on ${s#*:}.sbtest1 (CREATE INDEX through the proxy)" "$got" 1
    done
    if [[ $label == "after prepare" ]]; then
        got=$(via_proxy 'SELECT COUNT(*) FROM TBL')
        check "row count after prepare" "$got" "$TABLE_SIZE"
    fi
    ((ok)) && log "verify ($setup, $label): proxy answers match the shards"
}

RESULTS=$OUT_DIR/results.tsv
printf 'setup\tworkload\tthreads\tps_mode\tdirect_qps\tproxy_qps\tratio\tdirect_p95_ms\tproxy_p95_ms\tdirect_p99_ms\tproxy_p99_ms\tdirect_errors\tproxy_errors\tproxy_cpu_us_per_query\tdirect_cpu_us_per_query\tother_load_pct\n' >"$RESULTS"

# --- report ---------------------------------------------------------------------------

report() {
    REPORTED=1
    {
        echo '```'
        cat "$OUT_DIR/env.txt" 2>/dev/null
        echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
        echo '```'
        echo
        echo "| setup | workload | threads | ps-mode | direct QPS | proxy QPS | proxy/direct | direct p95 ms | proxy p95 ms | direct p99 ms | proxy p99 ms | direct errors | proxy errors | proxy CPU µs/query | direct mariadbd CPU µs/query | other load % (direct/proxy run) |"
        echo "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        tail -n +2 "$RESULTS" | awk -F'\t' '{ printf "| %s |", $1; for (i = 2; i <= NF; i++) printf " %s |", $i; print "" }'
        if ((${#FAILURES[@]})); then
            echo
            echo "Failures:"
            local f
            for f in "${FAILURES[@]}"; do echo "- $f"; done
        fi
    } >"$OUT_DIR/results.md"
    echo
    cat "$OUT_DIR/results.md"
    echo
    log "outputs in $OUT_DIR"
}

run_one() { # target, setup, workload, threads, ps_mode -> sets R_* globals
    local target=$1 setup=$2 workload=$3 threads=$4 ps=$5
    local out=$OUT_DIR/run-$setup-$workload-t$threads-$ps-$target.txt pid before after
    if [[ $target == proxy ]]; then pid=$PROXY_PID; else pid=${DIRECT_PID}; fi
    before=$(cpu_ticks "$pid")
    local busy0 own0 t0
    own_ticks
    busy0=$(machine_busy_ticks) own0=$OWN_TICKS t0=$(date +%s.%N)
    # --forced-shutdown: a run stuck in a query still ends (and reports) 30 s after --time;
    # timeout(1) is the backstop if even that hangs.
    sb_timed timeout -k 5 "$HARD_TIMEOUT" -- "$target" "$setup" run "$workload" --threads="$threads" --time="$DURATION" \
        --report-interval=0 --percentile=95 --histogram=on --forced-shutdown=30 --db-ps-mode="$ps" >"$out" 2>&1
    local rc=$?
    after=$(cpu_ticks "$pid")
    # CPU used by processes that are not part of this benchmark, in % of the machine.
    own_ticks
    R_OTHER=$(awk -v b="$(($(machine_busy_ticks) - busy0))" -v o="$((OWN_TICKS - own0))" \
        -v t0="$t0" -v t1="$(date +%s.%N)" -v hz="$CLK_TCK" -v n="$NCPU" \
        'BEGIN { x = (b - o) / ((t1 - t0) * hz * n) * 100; if (x < 0) x = 0; printf "%.0f", x }')
    R_QPS=$(sb_field "$out" qps)
    R_Q=$(sb_field "$out" queries)
    R_ERR=$(sb_field "$out" errors)
    R_P95=$(sb_field "$out" p95)
    R_P99=$(sb_field "$out" p99)
    R_CPU=-
    if [[ -n $R_Q && $R_Q -gt 0 ]]; then
        R_CPU=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v q="$R_Q" \
            'BEGIN { printf "%.1f", t / hz / q * 1e6 }')
    fi
    if [[ $rc != 0 || -z $R_QPS ]]; then
        local why
        why=$(grep -m3 -E 'FATAL|error|ALERT' "$out" | tr '\n' ' ')
        FAILURES+=("$workload threads=$threads ps=$ps via $target ($setup setup), exit $rc: ${why:-see $out}")
        log "FAILED $workload t=$threads ps=$ps via $target ($setup): ${why:-see $out}"
        R_QPS=${R_QPS:-FAIL}
        R_P95=${R_P95:--}
        R_P99=${R_P99:--}
        R_ERR=${R_ERR:--}
    fi
}

# --- main -----------------------------------------------------------------------------

if [[ $SKIP_BUILD != 1 ]]; then
    log "cargo build --release"
    cargo build --release >"$OUT_DIR/build.log" 2>&1 ||
        { tail -40 "$OUT_DIR/build.log" >&2; die "cargo build --release failed"; }
fi
[[ -x target/release/shardgate ]] || die "target/release/shardgate missing"

log "initialising MariaDB data directories in $WORKDIR"
init_db ds_0 & p0=$!
init_db ds_1 & p1=$!
init_db direct & p2=$!
wait $p0 && wait $p1 && wait $p2 || die "mariadb-install-db failed"
start_db ds_0
start_db ds_1
start_db direct
DIRECT_PID=${DB_PIDS[2]}
sql "${DB_PORT[ds_0]}" 'CREATE DATABASE shop_0' || die "create shop_0"
sql "${DB_PORT[ds_1]}" 'CREATE DATABASE shop_1' || die "create shop_1"
sql "${DB_PORT[direct]}" 'CREATE DATABASE shop' || die "create shop"

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GB RAM"
    echo "sysbench: $(sysbench --version)"
    echo "mariadb: $(mariadbd --version)"
    echo "shardgate: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet -- src 2>/dev/null || echo ' (+ uncommitted src changes)')"
    echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "settings: THREADS=\"$THREADS\" DURATION=$DURATION TABLE_SIZE=$TABLE_SIZE PS_MODES=\"$PS_MODES\" POOL_SIZE=$POOL_SIZE"
} >"$OUT_DIR/env.txt"
cat "$OUT_DIR/env.txt" >&2

for setup in $SETUPS; do
    # The direct table is made like the proxy's (same --auto_inc), afresh for each setup.
    sb_timed timeout 60 -- direct "$setup" cleanup oltp_read_write >/dev/null 2>&1
    prepare direct "$setup" || die "sysbench prepare on the direct server failed"
    start_proxy "$setup"
    if prepare proxy "$setup"; then
        verify "$setup" "after prepare"
        for workload in $WORKLOADS; do
            for threads in $THREADS; do
                for ps in $PS_MODES; do
                    run_one direct "$setup" "$workload" "$threads" "$ps"
                    d_qps=$R_QPS d_p95=$R_P95 d_p99=$R_P99 d_err=$R_ERR d_cpu=$R_CPU d_other=$R_OTHER
                    run_one proxy "$setup" "$workload" "$threads" "$ps"
                    if ! proxy_answers; then
                        FAILURES+=("proxy stopped answering after $workload threads=$threads ps=$ps ($setup setup): even a point SELECT through it gets no answer within 10 s; restarted it")
                        log "the proxy no longer answers; restarting it (shard connections and their open transactions go with it)"
                        capture_wedge "$setup-$workload-t$threads-$ps"
                        stop_proxy
                        start_proxy "$setup"
                        R_QPS="$R_QPS (proxy hung)"
                    fi
                    ratio=$(awk -v p="$R_QPS" -v d="$d_qps" \
                        'BEGIN { if (p + 0 > 0 && d + 0 > 0) printf "%.2f", p / d; else print "-" }')
                    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$setup" "$workload" \
                        "$threads" "$ps" "$d_qps" "$R_QPS" "$ratio" "$d_p95" "$R_P95" "$d_p99" "$R_P99" "$d_err" \
                        "$R_ERR" "$R_CPU" "$d_cpu" "$d_other/$R_OTHER" >>"$RESULTS"
                    log "$setup $workload t=$threads ps=$ps: direct $d_qps qps, proxy $R_QPS qps ($ratio)"
                done
            done
        done
    fi
    verify "$setup" "after the runs"
    cleanup_table proxy "$setup"
    stop_proxy
    # The proxy log is most useful when it shows errors/warnings.
    sed 's/\x1b\[[0-9;]*m//g' "$OUT_DIR/proxy-$setup.log" | grep -E ' (WARN|ERROR) ' | head -20 >&2 || true
done

report
((${#FAILURES[@]} == 0))

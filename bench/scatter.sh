#!/usr/bin/env bash
# Scatter SELECT ... ORDER BY k LIMIT through shardgate vs. the same rows on one MariaDB.
#
# Starts three throwaway MariaDB servers (ds_0, ds_1 = the shards, "direct" = the
# baseline) and loads t_big (ROWS rows; see bench/lib.sh) with INSERT ... SELECT from the
# Sequence engine: even ids on ds_0, odd ids on ds_1, all of them on direct. Starts
# `shardgate serve` with t_big sharded by id % 2. Each query in QUERIES is a scatter to
# both shards followed by a k-way merge on k in the proxy; the shards get the LIMIT as
# `LIMIT 0, offset+count`:
#   top10  SELECT id, k, c FROM t_big ORDER BY k LIMIT 10
#   deep   SELECT id, k FROM t_big ORDER BY k LIMIT 10000, 10
#          (k_1 covers id and k; with c in the select list MariaDB 10.11 reads the whole
#          table and filesorts it for LIMIT 0, 10010, which measures the sort and not the
#          proxy)
# For each query and thread count, sysbench (bench/scatter.lua, text protocol) runs it
# for DURATION seconds directly, then through the proxy. Before the runs the proxy's
# answers are compared with the direct server's.
#
# Columns: QPS, p95 and p99 latency (from sysbench's histogram), proxy CPU µs/query
# (utime+stime from /proc/PID/stat over the run / queries), the shards' mariadbd CPU per
# query (proxy runs) or the direct mariadbd's, the statements the shards executed per
# query and the connections they accepted per query (global Questions and Connections),
# and "other load": the machine's busy CPU
# (/proc/stat) minus this script's processes, in % of all cores, as in bench/sysbench.sh.
#
# Environment (defaults in brackets):
#   THREADS ["8 32"]  DURATION [10]  ROWS [1000000]  POOL_SIZE [16]  QUERIES ["top10 deep"]
#   OUT_DIR [target/scatter/<date>]  SKIP_BUILD [0]  KEEP_WORKDIR [0]
#
# Example: THREADS="8 32" DURATION=10 ./bench/scatter.sh
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
NAME=scatter.sh

THREADS=${THREADS:-"8 32"}
DURATION=${DURATION:-10}
ROWS=${ROWS:-1000000}
POOL_SIZE=${POOL_SIZE:-16}
QUERIES=${QUERIES:-"top10 deep"}
OUT_DIR=${OUT_DIR:-$ROOT/target/scatter/$(date +%Y%m%d-%H%M%S)}

declare -A SQL_OF=(
    [top10]='SELECT id, k, c FROM t_big ORDER BY k LIMIT 10'
    [deep]='SELECT id, k FROM t_big ORDER BY k LIMIT 10000, 10'
)

source bench/lib.sh
lib_init sysbench

build_release

log "initialising MariaDB data directories in $WORKDIR"
init_db ds_0 & p0=$!
init_db ds_1 & p1=$!
init_db direct & p2=$!
wait $p0 && wait $p1 && wait $p2 || die "mariadb-install-db failed"
start_db ds_0
start_db ds_1
start_db direct
sql "${DB_PORT[ds_0]}" 'CREATE DATABASE shop_0' || die "create shop_0"
sql "${DB_PORT[ds_1]}" 'CREATE DATABASE shop_1' || die "create shop_1"
sql "${DB_PORT[direct]}" 'CREATE DATABASE shop' || die "create shop"
log "loading $ROWS rows into t_big (shards: even/odd ids; direct: all)"
t_big_fill "${DB_PORT[ds_0]}" shop_0 2 2 "$ROWS" & p0=$!
t_big_fill "${DB_PORT[ds_1]}" shop_1 1 2 "$ROWS" & p1=$!
t_big_fill "${DB_PORT[direct]}" shop 1 1 "$ROWS" & p2=$!
wait $p0 && wait $p1 && wait $p2 || die "loading t_big failed"

CFG=$OUT_DIR/rules.toml
write_config "$CFG" 1024 "$POOL_SIZE"
start_proxy "$CFG" "$OUT_DIR/proxy.log"

{
    env_lines
    echo "sysbench: $(sysbench --version)"
    echo "settings: THREADS=\"$THREADS\" DURATION=$DURATION ROWS=$ROWS POOL_SIZE=$POOL_SIZE"
} >"$OUT_DIR/env.txt"
cat "$OUT_DIR/env.txt" >&2

FAILURES=()

# The proxy's answer must be the direct server's, row for row (k is distinct).
for q in $QUERIES; do
    s=${SQL_OF[$q]:-}
    [[ -n $s ]] || die "unknown query $q"
    want=$(sql "${DB_PORT[direct]}" "USE shop; $s" 2>&1)
    got=$(timeout 60 mariadb --no-defaults -N -B -h127.0.0.1 -P"$PROXY_PORT" -uroot -proot shop -e "$s" 2>&1)
    if [[ $got == "$want" && -n $want ]]; then
        log "verify $q: the proxy's rows match the direct server's"
    else
        FAILURES+=("wrong result for $s: proxy [$(head -c 200 <<<"$got" | tr '\n\t' '; ')] direct [$(head -c 200 <<<"$want" | tr '\n\t' '; ')]")
    fi
done
# The plans the shards (and the direct server) choose, for the record.
for ds in ds_0 ds_1 direct; do
    db=shop_${ds#ds_}
    [[ $ds == direct ]] && db=shop
    for e in 'SELECT id, k, c FROM t_big ORDER BY k LIMIT 0, 10' 'SELECT id, k FROM t_big ORDER BY k LIMIT 0, 10010'; do
        echo "== $ds: EXPLAIN $e"
        sql "${DB_PORT[$ds]}" "USE $db; EXPLAIN $e"
    done
done >"$OUT_DIR/explain.txt" 2>&1

# p-th percentile (ms) from sysbench's latency histogram, the way sysbench computes it:
# the first bucket at which the cumulative count reaches p% of all events.
hist_pct() { # file, p
    awk -v p="$2" '
        /^Latency histogram/ { h = 1; next }
        h && /^ *$/ { h = 0 }
        h && $1 ~ /^[0-9.]+$/ { n++; v[n] = $1; c[n] = $NF; tot += $NF }
        END { if (!tot) { print "-"; exit }
              want = tot * p / 100; s = 0
              for (i = 1; i <= n; i++) { s += c[i]; if (s >= want) { print v[i]; exit } } }' "$1"
}

RESULTS=$OUT_DIR/results.tsv
printf 'query\tthreads\tdirect QPS\tproxy QPS\tproxy/direct\tdirect p95 ms\tproxy p95 ms\tdirect p99 ms\tproxy p99 ms\tproxy CPU µs/query\tshards mariadbd CPU µs/query (proxy run)\tdirect mariadbd CPU µs/query\tshard statements per query (proxy run)\tshard connections opened per query (proxy run)\terrors direct/proxy\tother load %% (direct/proxy run)\n' >"$RESULTS"

# Statements executed and connections opened by ds_0 + ds_1 so far (global Questions and
# Connections; each probe adds one of each per shard): "statements connections".
questions() {
    sql "${DB_PORT[ds_0]}" "SHOW GLOBAL STATUS WHERE variable_name IN ('Questions', 'Connections')"
    sql "${DB_PORT[ds_1]}" "SHOW GLOBAL STATUS WHERE variable_name IN ('Questions', 'Connections')"
}
sum_status() { # output of questions(), variable name
    awk -v v="$2" 'tolower($1) == tolower(v) { s += $2 } END { print s + 0 }' <<<"$1"
}

run_one() { # target, query, threads -> R_*
    local target=$1 q=$2 threads=$3 conn pids=()
    local out=$OUT_DIR/run-$q-t$threads-$target.txt
    if [[ $target == direct ]]; then
        conn=(--mysql-port="${DB_PORT[direct]}" --mysql-user=root --mysql-db=shop)
    else
        conn=(--mysql-port="$PROXY_PORT" --mysql-user=root --mysql-password=root --mysql-db=shop)
    fi
    local p0 pp0 s0 pp1 s1 qu0 qu1
    qu0=$(questions)
    pp0=$(cpu_ticks "$PROXY_PID")
    s0=$(($(cpu_ticks "${DB_PID[ds_0]}") + $(cpu_ticks "${DB_PID[ds_1]}")))
    p0=$(cpu_ticks "${DB_PID[direct]}")
    other_load_begin
    timeout -k 5 $((DURATION + 90)) sysbench bench/scatter.lua --db-driver=mysql --mysql-host=127.0.0.1 \
        "${conn[@]}" --query="${SQL_OF[$q]}" --threads="$threads" --time="$DURATION" \
        --report-interval=0 --percentile=95 --histogram=on --forced-shutdown=30 run >"$out" 2>&1
    local rc=$?
    other_load_end
    pp1=$(cpu_ticks "$PROXY_PID")
    s1=$(($(cpu_ticks "${DB_PID[ds_0]}") + $(cpu_ticks "${DB_PID[ds_1]}")))
    local p1
    p1=$(cpu_ticks "${DB_PID[direct]}")
    qu1=$(questions)
    R_QPS=$(awk '/^ *transactions:/ { gsub(/\(/, "", $3); print $3; exit }' "$out")
    R_N=$(awk '/^ *transactions:/ { print $2; exit }' "$out")
    R_ERR=$(awk '/^ *ignored errors:/ { print $3; exit }' "$out")
    R_P95=$(awk '/95th percentile:/ { print $3; exit }' "$out")
    R_P99=$(hist_pct "$out" 99)
    R_OTHER=$OTHER_LOAD
    per() { awk -v t="$1" -v hz="$CLK_TCK" -v q="${R_N:-0}" 'BEGIN { if (q > 0) printf "%.1f", t / hz / q * 1e6; else print "-" }'; }
    R_PCPU=$(per $((pp1 - pp0)))
    R_SCPU=$(per $((s1 - s0)))
    R_DCPU=$(per $((p1 - p0)))
    # Statements the shards executed and connections they accepted per query (minus the
    # probes of questions(): 2 statements and 2 connections).
    local dq dc
    dq=$(($(sum_status "$qu1" Questions) - $(sum_status "$qu0" Questions) - 2))
    dc=$(($(sum_status "$qu1" Connections) - $(sum_status "$qu0" Connections) - 2))
    R_STMTS=$(awk -v d="$dq" -v q="${R_N:-0}" 'BEGIN { if (q > 0) printf "%.2f", d / q; else print "-" }')
    R_CONNS=$(awk -v d="$dc" -v q="${R_N:-0}" 'BEGIN { if (q > 0) printf "%.2f", d / q; else print "-" }')
    if [[ $rc != 0 || -z $R_QPS ]]; then
        FAILURES+=("$q threads=$threads via $target, exit $rc: $(grep -m3 -E 'FATAL|error|ALERT' "$out" | tr '\n' ' ')")
        R_QPS=${R_QPS:-FAIL}
    fi
}

for q in $QUERIES; do
    for threads in $THREADS; do
        run_one direct "$q" "$threads"
        d_qps=$R_QPS d_p95=$R_P95 d_p99=$R_P99 d_cpu=$R_DCPU d_err=$R_ERR d_other=$R_OTHER
        run_one proxy "$q" "$threads"
        ratio=$(awk -v p="$R_QPS" -v d="$d_qps" 'BEGIN { if (p + 0 > 0 && d + 0 > 0) printf "%.2f", p / d; else print "-" }')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$q" "$threads" "$d_qps" "$R_QPS" \
            "$ratio" "$d_p95" "$R_P95" "$d_p99" "$R_P99" "$R_PCPU" "$R_SCPU" "$d_cpu" "$R_STMTS" "$R_CONNS" "$d_err/$R_ERR" \
            "$d_other/$R_OTHER" >>"$RESULTS"
        log "$q t=$threads: direct $d_qps qps, proxy $R_QPS qps ($ratio)"
    done
done

{
    echo '```'
    cat "$OUT_DIR/env.txt"
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo '```'
    echo
    for q in $QUERIES; do echo "- $q: \`${SQL_OF[$q]}\`"; done
    echo
    awk -F'\t' 'NR == 1 { printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; print ""
                          printf "|"; for (i = 1; i <= NF; i++) printf "---|"; print ""; next }
                { printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; print "" }' "$RESULTS"
    if ((${#FAILURES[@]})); then
        echo
        echo "Failures:"
        for f in "${FAILURES[@]}"; do echo "- $f"; done
    fi
} >"$OUT_DIR/results.md"
echo
cat "$OUT_DIR/results.md"
log "outputs in $OUT_DIR"
((${#FAILURES[@]} == 0))

#!/usr/bin/env bash
# Memory of the proxy: many idle client connections, and a 1M-row scatter SELECT read by
# a slow client.
#
# Starts two throwaway MariaDB shards (ds_0, ds_1), loads t_big (ROWS rows, sharded by
# id % 2; see bench/lib.sh) on them directly with INSERT ... SELECT from the Sequence
# engine, and starts `shardgate serve` afresh for each measurement on a generated config
# ([server] max_connections = MAX_CONNECTIONS, pool_size = POOL_SIZE on both shards).
#
#   idle     for each N in CONNS: bench/memclient.py opens N PyMySQL connections (full
#            login, autocommit on) and leaves them idle; then runs one point SELECT on
#            each and leaves them idle again; then closes them. At each stage: VmRSS and
#            VmHWM of the proxy (/proc/PID/status), its open file descriptors, and the
#            connections the shards see (information_schema.processlist). IDLE_ROUNDS
#            rounds of this on the same proxy.
#   stream   a slow client reads `SELECT * FROM t_big` (and, with ORDERED=1, `... ORDER BY
#            k`, a k-way merge) unbuffered (PyMySQL SSCursor), paced to take about
#            STREAM_SECONDS; the proxy's VmRSS is sampled every 0.5 s.
#
# "other load" is the machine's busy CPU (/proc/stat) minus this script's processes, in %
# of all cores, as in bench/sysbench.sh.
#
# Environment (defaults in brackets):
#   CONNS ["1000 5000"]  ROWS [1000000]  STREAM_SECONDS [30]  ORDERED [1]
#   POOL_SIZE [16]  MAX_CONNECTIONS [6000]  PHASES ["idle stream"]  IDLE_ROUNDS [2]
#   OUT_DIR [target/memory/<date>]  SKIP_BUILD [0]  KEEP_WORKDIR [0]
#   PYTHON [.compat/venv/bin/python; created with PyMySQL if missing]
#
# Example: ./bench/memory.sh
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
NAME=memory.sh

CONNS=${CONNS:-"1000 5000"}
ROWS=${ROWS:-1000000}
STREAM_SECONDS=${STREAM_SECONDS:-30}
ORDERED=${ORDERED:-1}
POOL_SIZE=${POOL_SIZE:-16}
MAX_CONNECTIONS=${MAX_CONNECTIONS:-6000}
PHASES=${PHASES:-"idle stream"}
IDLE_ROUNDS=${IDLE_ROUNDS:-2}
OUT_DIR=${OUT_DIR:-$ROOT/target/memory/$(date +%Y%m%d-%H%M%S)}

source bench/lib.sh
lib_init

# Client and proxy each need one descriptor per connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
max_n=0
for n in $CONNS; do ((n > max_n)) && max_n=$n; done
(($(ulimit -n) > max_n + 200)) || die "ulimit -n is $(ulimit -n): too low for $max_n connections"
((MAX_CONNECTIONS > max_n)) || die "MAX_CONNECTIONS ($MAX_CONNECTIONS) must exceed $max_n"

build_release
ensure_python

log "initialising MariaDB data directories in $WORKDIR"
init_db ds_0 & p0=$!
init_db ds_1 & p1=$!
wait $p0 && wait $p1 || die "mariadb-install-db failed"
start_db ds_0
start_db ds_1
sql "${DB_PORT[ds_0]}" 'CREATE DATABASE shop_0' || die "create shop_0"
sql "${DB_PORT[ds_1]}" 'CREATE DATABASE shop_1' || die "create shop_1"
log "loading $ROWS rows into t_big (even ids on ds_0, odd on ds_1)"
t_big_fill "${DB_PORT[ds_0]}" shop_0 2 2 "$ROWS" & p0=$!
t_big_fill "${DB_PORT[ds_1]}" shop_1 1 2 "$ROWS" & p1=$!
wait $p0 && wait $p1 || die "loading t_big failed"

CFG=$OUT_DIR/rules.toml
write_config "$CFG" "$MAX_CONNECTIONS" "$POOL_SIZE"

{
    env_lines
    echo "settings: CONNS=\"$CONNS\" ROWS=$ROWS STREAM_SECONDS=$STREAM_SECONDS POOL_SIZE=$POOL_SIZE MAX_CONNECTIONS=$MAX_CONNECTIONS ulimit -n $(ulimit -n)"
    echo "python: $("$PY" --version 2>&1), PyMySQL $("$PY" -c 'import importlib.metadata as m; print(m.version("PyMySQL"))')"
} >"$OUT_DIR/env.txt"
cat "$OUT_DIR/env.txt" >&2

FAILURES=()
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# --- idle connections -------------------------------------------------------------------

IDLE=$OUT_DIR/idle.tsv
printf 'connections\tstage\tVmRSS MiB\tVmHWM MiB\tRSS over baseline, KiB per connection\tproxy fds\tshard connections ds_0/ds_1\tseconds\tother load %%\n' >"$IDLE"

idle_row() { # n, stage, seconds
    local rss hwm fds per
    rss=$(vm_kb "$PROXY_PID" VmRSS) hwm=$(vm_kb "$PROXY_PID" VmHWM)
    fds=$(ls "/proc/$PROXY_PID/fd" 2>/dev/null | wc -l)
    per=-
    [[ $1 -gt 0 && $2 != baseline ]] && per=$(awk -v r="$rss" -v b="$BASE_RSS" -v n="$1" 'BEGIN { printf "%.1f", (r - b) / n }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s/%s\t%s\t%s\n' "$1" "$2" "$(mib "$rss")" "$(mib "$hwm")" "$per" \
        "$fds" "$(backend_conns ds_0)" "$(backend_conns ds_1)" "$3" "$4" >>"$IDLE"
    tail -1 "$IDLE" >&2
}

coproc_read() { # expected first word, timeout -> LINE
    local want=$1 t=$2
    while IFS= read -r -t "$t" -u "${CLIENT[0]}" LINE; do
        echo "$LINE" >>"$OUT_DIR/client.log"
        [[ ${LINE%% *} == "$want" ]] && return 0
        [[ ${LINE%% *} == error ]] && { FAILURES+=("client: $LINE"); return 1; }
    done
    FAILURES+=("client gave no '$want' line within ${t}s")
    return 1
}

idle_round() { # n, round
    local n=$1 r=$2 tag=
    [[ $r -gt 1 ]] && tag=" (round $r)"
    other_load_begin
    coproc CLIENT { exec "$PY" bench/memclient.py idle 127.0.0.1 "$PROXY_PORT" "$n" 2>&1; }
    local cpid=$CLIENT_PID secs
    EXTRA_PIDS+=("$cpid")
    if coproc_read connected 600; then
        secs=$(awk '{ print $3 }' <<<"$LINE")
        sleep 3
        other_load_end
        idle_row "$n" "$n logged in, idle$tag" "$secs" "$OTHER_LOAD"
        # A further client still gets in and is answered while the N are idle.
        if ! timeout 10 mariadb --no-defaults -N -B -h127.0.0.1 -P"$PROXY_PORT" -uroot -proot shop \
            -e 'SELECT COUNT(*) FROM t_big WHERE id = 7' >/dev/null 2>&1; then
            FAILURES+=("with $n idle clients a new client got no answer within 10 s")
        fi
        other_load_begin
        echo query >&"${CLIENT[1]}"
        if coproc_read queried 600; then
            secs=$(awk '{ print $3 }' <<<"$LINE")
            sleep 3
            other_load_end
            idle_row "$n" "after one point SELECT each, idle$tag" "$secs" "$OTHER_LOAD"
        fi
        other_load_begin
        echo close >&"${CLIENT[1]}"
        coproc_read closed 120 && {
            sleep 3
            other_load_end
            idle_row "$n" "all closed$tag" - "$OTHER_LOAD"
        }
    fi
    stop_pid "$cpid" 5
    forget_pid "$cpid"
}

# One proxy per N; IDLE_ROUNDS rounds of connect / query / close on it (a second round
# shows whether memory kept after the first is reused or keeps growing).
run_idle() { # n
    local n=$1 r
    start_proxy "$CFG" "$OUT_DIR/proxy-idle-$n.log"
    sleep 2
    BASE_RSS=$(vm_kb "$PROXY_PID" VmRSS)
    idle_row "$n" baseline - -
    for ((r = 1; r <= IDLE_ROUNDS; r++)); do idle_round "$n" "$r"; done
    stop_proxy
}

# --- slow reader of a 1M-row scatter ------------------------------------------------------

STREAM=$OUT_DIR/stream.tsv
printf 'query\trows read\tread seconds\tbaseline VmRSS MiB\tpeak sampled VmRSS MiB\tVmHWM at end MiB\tVmRSS at end MiB\tpeak over baseline MiB\tshard connections during the read ds_0/ds_1\tmid-read KiB queued: proxy→client Send-Q / shards→proxy Recv-Q\tother load %%\n' >"$STREAM"

run_stream() { # label, sql
    local label=$1 q=$2 samples=$OUT_DIR/rss-$1.tsv
    start_proxy "$CFG" "$OUT_DIR/proxy-stream-$label.log"
    sleep 2
    local base
    base=$(vm_kb "$PROXY_PID" VmRSS)
    # Sampler: seconds since start, VmRSS KiB, VmHWM KiB, every 0.5 s.
    (
        t0=$(date +%s.%N)
        while kill -0 "$PROXY_PID" 2>/dev/null; do
            printf '%s\t%s\t%s\n' "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" \
                "$(vm_kb "$PROXY_PID" VmRSS)" "$(vm_kb "$PROXY_PID" VmHWM)"
            sleep 0.5
        done
    ) >"$samples" &
    local spid=$!
    EXTRA_PIDS+=("$spid")
    other_load_begin
    ROWS=$ROWS "$PY" bench/memclient.py stream 127.0.0.1 "$PROXY_PORT" "$STREAM_SECONDS" "$q" \
        >"$OUT_DIR/stream-$label.txt" 2>&1 &
    local cpid=$! conns=
    # In the middle of the read: the shard connections, what the shards' queries are
    # doing, and the socket queues (a full Send-Q towards the client and full Recv-Qs from
    # the shards mean the proxy waits for the client instead of buffering).
    sleep $((STREAM_SECONDS / 2))
    conns="$(backend_conns ds_0)/$(backend_conns ds_1)"
    local ds mid=$OUT_DIR/midread-$label.txt
    {
        for ds in ds_0 ds_1; do
            echo "== $ds: queries from the proxy (command, state, time)"
            sql "${DB_PORT[$ds]}" "SELECT command, state, time, LEFT(info, 60) FROM information_schema.processlist WHERE info LIKE 'SELECT%t_big%'"
        done
        echo "== proxy -> client socket (Recv-Q Send-Q local peer)"
        ss -tnH "sport = :$PROXY_PORT" | awk '{ print $2, $3, $4, $5 }'
        for ds in ds_0 ds_1; do
            echo "== proxy <- $ds sockets, proxy side (Recv-Q Send-Q local peer)"
            ss -tnH "dport = :${DB_PORT[$ds]}" | awk '{ print $2, $3, $4, $5 }'
        done
    } >"$mid" 2>&1
    local sendq recvq
    sendq=$(ss -tnH "sport = :$PROXY_PORT" | awk '{ s += $3 } END { print s + 0 }')
    recvq=$(for ds in ds_0 ds_1; do ss -tnH "dport = :${DB_PORT[$ds]}"; done | awk '{ s += $2 } END { print s + 0 }')
    wait "$cpid" || FAILURES+=("stream client ($label) failed: $(tail -3 "$OUT_DIR/stream-$label.txt" | tr '\n' ' ')")
    sleep 1
    local hwm rss
    hwm=$(vm_kb "$PROXY_PID" VmHWM) rss=$(vm_kb "$PROXY_PID" VmRSS)
    # Stopped (and reaped) before other_load_end, so that its children's CPU counts as ours.
    stop_pid "$spid" 2
    forget_pid "$spid"
    other_load_end
    local res n secs sum peak
    res=$(grep '^rows ' "$OUT_DIR/stream-$label.txt")
    n=$(awk '{ print $2 }' <<<"$res") secs=$(awk '{ print $4 }' <<<"$res") sum=$(awk '{ print $6 }' <<<"$res")
    [[ $n == "$ROWS" ]] || FAILURES+=("stream $label: read ${n:-no} rows, expected $ROWS")
    [[ $sum == $((ROWS * (ROWS + 1) / 2)) ]] || FAILURES+=("stream $label: sum of ids $sum, expected $((ROWS * (ROWS + 1) / 2))")
    if [[ $label == ordered ]] && ! grep -q 'sorted yes' "$OUT_DIR/stream-$label.txt"; then FAILURES+=("stream $label: rows not in k order"); fi
    peak=$(awk -F'\t' 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$samples")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$q" "${n:--}" "${secs:--}" "$(mib "$base")" \
        "$(mib "$peak")" "$(mib "$hwm")" "$(mib "$rss")" "$(mib $((peak - base)))" "$conns" \
        "$((sendq / 1024)) / $((recvq / 1024))" "$OTHER_LOAD" >>"$STREAM"
    tail -1 "$STREAM" >&2
    stop_proxy
}

for phase in $PHASES; do
    case $phase in
    idle) for n in $CONNS; do run_idle "$n"; done ;;
    stream)
        run_stream scan 'SELECT * FROM t_big'
        [[ $ORDERED == 1 ]] && run_stream ordered 'SELECT * FROM t_big ORDER BY k'
        ;;
    *) die "unknown phase $phase" ;;
    esac
done

# --- report -------------------------------------------------------------------------------

tsv_md() { # tsv file -> markdown table
    awk -F'\t' 'NR == 1 { printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; print ""
                          printf "|"; for (i = 1; i <= NF; i++) printf "---|"; print ""; next }
                { printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; print "" }' "$1"
}
{
    echo '```'
    cat "$OUT_DIR/env.txt"
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo '```'
    if [[ $PHASES == *idle* ]]; then echo; tsv_md "$IDLE"; fi
    if [[ $PHASES == *stream* ]]; then echo; tsv_md "$STREAM"; fi
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

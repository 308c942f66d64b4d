# Shared helpers of bench/memory.sh and bench/scatter.sh (sourced, not run).
#
# The same conventions as bench/sysbench.sh: throwaway MariaDB servers with their own
# datadir, tmpdir, socket and loopback port (utf8mb4_general_ci, no binlog,
# innodb_flush_log_at_trx_commit=2, --user=root when root), `target/release/shardgate serve`
# on a generated config, every process stopped by an EXIT trap, outputs in OUT_DIR.
#
# The sourcing script sets NAME (log prefix), OUT_DIR and optionally KEEP_WORKDIR, then
# calls lib_init.

log() { printf '[%s %s] %s\n' "$NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

lib_init() {
    local prog
    for prog in mariadbd mariadb-install-db mariadb "$@"; do
        command -v "$prog" >/dev/null 2>&1 ||
            die "$prog not found (apt-get install -y mariadb-server mariadb-client sysbench)"
    done
    mkdir -p "$OUT_DIR" || die "cannot create $OUT_DIR"
    OUT_DIR=$(cd "$OUT_DIR" && pwd)
    # Short path: the unix socket path must stay under ~100 bytes.
    WORKDIR=$(mktemp -d /tmp/sgbench.XXXXXX) || die "mktemp failed"
    trap lib_cleanup EXIT
    trap 'exit 130' INT TERM
}

# --- processes we start, and cleanup ------------------------------------------------

DB_PIDS=()
PROXY_PID=
EXTRA_PIDS=() # clients and samplers started in the background
forget_pid() { # remove a pid from EXTRA_PIDS
    local p keep=()
    for p in "${EXTRA_PIDS[@]}"; do [[ $p != "$1" ]] && keep+=("$p"); done
    EXTRA_PIDS=("${keep[@]}")
}

stop_pid() { # pid, grace seconds
    local pid=$1 grace=$2 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

stop_proxy() {
    if [[ -n $PROXY_PID ]]; then
        stop_pid "$PROXY_PID" 10
        PROXY_PID=
    fi
}

lib_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local pid
    for pid in "${EXTRA_PIDS[@]}"; do [[ -n $pid ]] && stop_pid "$pid" 5; done
    stop_proxy
    for pid in "${DB_PIDS[@]}"; do stop_pid "$pid" 30 & done
    wait
    if [[ ${KEEP_WORKDIR:-0} == 1 ]]; then
        log "kept $WORKDIR"
    else
        rm -rf "$WORKDIR"
    fi
    exit "$rc"
}

# --- ports ----------------------------------------------------------------------------

declare -A USED_PORTS=()
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 12000))  # below the ephemeral range (see compat/run.sh)
        [[ -n ${USED_PORTS[$p]:-} ]] && continue
        # Any socket on it (a listener, or a connection using it as its local port).
        if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
            USED_PORTS[$p]=1
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

# --- MariaDB --------------------------------------------------------------------------

ROOT_ARGS=()
[[ $(id -u) == 0 ]] && ROOT_ARGS=(--user=root)
# Must agree between mariadb-install-db and mariadbd.
SIZING=(--innodb-log-file-size=96M --innodb-buffer-pool-size=512M)

declare -A DB_PORT=() DB_PID=()

init_db() { # name
    local d=$WORKDIR/$1
    mkdir -p "$d/data" "$d/tmp"
    mariadb-install-db --no-defaults --auth-root-authentication-method=normal \
        --datadir="$d/data" --tmpdir="$d/tmp" --skip-test-db "${SIZING[@]}" "${ROOT_ARGS[@]}" \
        >"$d/install.log" 2>&1 || { tail -30 "$d/install.log" >&2; return 1; }
}

start_db() { # name
    local name=$1 d=$WORKDIR/$1 port
    port=$(free_port)
    mariadbd --no-defaults --datadir="$d/data" --tmpdir="$d/tmp" --socket="$d/mysqld.sock" \
        --port="$port" --bind-address=127.0.0.1 --pid-file="$d/mysqld.pid" \
        --log-error="$d/error.log" --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_general_ci --skip-log-bin --max-connections=1000 \
        --max-connect-errors=1000000000 --innodb-flush-log-at-trx-commit=2 \
        "${SIZING[@]}" "${ROOT_ARGS[@]}" >"$d/mysqld.out" 2>&1 &
    local pid=$! i
    DB_PIDS+=("$pid")
    DB_PID[$name]=$pid
    DB_PORT[$name]=$port
    for ((i = 0; i < 600; i++)); do
        if mariadb --no-defaults -h127.0.0.1 -P"$port" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
            log "MariaDB $name on 127.0.0.1:$port (pid $pid)"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { tail -30 "$d/error.log" >&2; die "mariadbd $name exited"; }
        sleep 0.1
    done
    tail -30 "$d/error.log" >&2
    die "mariadbd $name did not answer within 60 s"
}

sql() { # port, sql (batch output, no column names)
    mariadb --no-defaults -N -B -h127.0.0.1 -P"$1" -uroot -e "$2"
}

# Connections the proxy holds on a shard (every session but our own probe).
backend_conns() { # name
    sql "${DB_PORT[$1]}" "SELECT COUNT(*) FROM information_schema.processlist WHERE id <> CONNECTION_ID() AND command <> 'Daemon'"
}

# --- the table both scripts use -------------------------------------------------------

# t_big: id 1..ROWS, k = id * 7919 mod 1000003 (distinct for ROWS < 1000003, and not in
# id order), c and pad about 100 bytes of text. Sharded by id % 2 over ds_0/ds_1.
T_BIG_DDL='CREATE TABLE t_big (
  id BIGINT NOT NULL PRIMARY KEY,
  k INT NOT NULL,
  c VARCHAR(64) NOT NULL,
  pad CHAR(40) NOT NULL,
  KEY k_1 (k)
) ENGINE=InnoDB'
t_big_fill() { # port, schema, first, step, last (rows first, first+step, ... <= last)
    sql "$1" "USE $2; $T_BIG_DDL;
        INSERT INTO t_big SELECT seq, (seq * 7919) % 1000003, CONCAT('c-', seq, '-', MD5(seq)),
               REPEAT(CHAR(97 + seq % 26), 40)
          FROM seq_$3_to_$5_step_$4;
        ANALYZE TABLE t_big" >/dev/null
}

# --- proxy ----------------------------------------------------------------------------

# A config with ds_0/ds_1, logical database shop (user root/root), t_big sharded by id.
write_config() { # file, max_connections, pool_size
    cat >"$1" <<EOF
# generated by bench ($NAME)
[server]
listen = "127.0.0.1:3307"
max_connections = $2
xa_log = "$WORKDIR/xa.log"
lock_wait_timeout = 2

[data_sources.ds_0]
host = "127.0.0.1"
port = ${DB_PORT[ds_0]}
user = "root"
password = ""
database = "shop_0"
pool_size = $3

[data_sources.ds_1]
host = "127.0.0.1"
port = ${DB_PORT[ds_1]}
user = "root"
password = ""
database = "shop_1"
pool_size = $3

[databases.shop]
default_data_source = "ds_0"

[[databases.shop.users]]
name = "root"
password = "root"

[databases.shop.algorithms.db_mod]
type = "mod"
sharding_count = 2

[databases.shop.tables.t_big]
actual_data_nodes = "ds_\${0..1}.t_big"
database_strategy = { column = "id", algorithm = "db_mod" }
EOF
}

PROXY_PORT=
start_proxy() { # config file, log file
    local cfg=$1 logf=$2 i
    target/release/shardgate check --config "$cfg" >"$logf.check" 2>&1 ||
        { cat "$logf.check" >&2; die "shardgate check failed for $cfg"; }
    PROXY_PORT=$(free_port)
    NO_COLOR=1 SHARDGATE_LOG=${SHARDGATE_LOG:-info} target/release/shardgate serve --config "$cfg" \
        --listen "127.0.0.1:$PROXY_PORT" >"$logf" 2>&1 &
    PROXY_PID=$!
    for ((i = 0; i < 300; i++)); do
        if mariadb --no-defaults -h127.0.0.1 -P"$PROXY_PORT" -uroot -proot shop \
            -e 'SELECT 1' >/dev/null 2>&1; then
            log "shardgate on 127.0.0.1:$PROXY_PORT (pid $PROXY_PID)"
            return 0
        fi
        kill -0 "$PROXY_PID" 2>/dev/null || { tail -30 "$logf" >&2; die "shardgate exited"; }
        sleep 0.1
    done
    tail -30 "$logf" >&2
    die "shardgate did not answer within 30 s"
}

# --- measuring ------------------------------------------------------------------------

# VmRSS / VmHWM of a process in KiB.
vm_kb() { awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status" 2>/dev/null; }

# utime + stime of a process, in clock ticks.
cpu_ticks() {
    local stat
    [[ $1 =~ ^[0-9]+$ ]] || { echo 0; return; } # (/proc//stat would be /proc/stat)
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    stat=${stat##*) }
    awk '{ print $12 + $13 }' <<<"$stat"
}
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

# Busy CPU ticks of the whole machine (user nice system irq softirq steal).
machine_busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# CPU ticks of everything this script runs: the proxy, the MariaDB servers, background
# clients, and the reaped children (from the shell's `times`; call it in the main shell,
# not in $(...)). Sets OWN_TICKS.
own_ticks() {
    local t=0 pid line
    for pid in $PROXY_PID "${DB_PIDS[@]}" "${EXTRA_PIDS[@]}"; do
        [[ -n $pid ]] && t=$((t + $(cpu_ticks "$pid")))
    done
    local tf=$WORKDIR/times.txt
    times >"$tf"
    line=$(tail -1 "$tf")
    OWN_TICKS=$(awk -v t="$t" -v hz="$CLK_TCK" -v l="$line" 'BEGIN {
        n = split(l, f, " "); s = 0
        for (i = 1; i <= n; i++) { split(f[i], ms, "m"); sub(/s$/, "", ms[2]); s += ms[1] * 60 + ms[2] }
        printf "%d\n", t + s * hz }')
}

# other_load_begin ... other_load_end: sets OTHER_LOAD, the machine's busy CPU that is
# not this script's, in % of all cores, over the interval.
other_load_begin() {
    own_ticks
    OL_BUSY0=$(machine_busy_ticks) OL_OWN0=$OWN_TICKS OL_T0=$(date +%s.%N)
}
other_load_end() {
    own_ticks
    OTHER_LOAD=$(awk -v b="$(($(machine_busy_ticks) - OL_BUSY0))" -v o="$((OWN_TICKS - OL_OWN0))" \
        -v t0="$OL_T0" -v t1="$(date +%s.%N)" -v hz="$CLK_TCK" -v n="$NCPU" \
        'BEGIN { x = (b - o) / ((t1 - t0) * hz * n) * 100; if (x < 0) x = 0; printf "%.0f", x }')
}

env_lines() {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GB RAM"
    echo "mariadb: $(mariadbd --version)"
    echo "shardgate: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet -- src 2>/dev/null || echo ' (+ uncommitted src changes)')"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}

build_release() {
    if [[ ${SKIP_BUILD:-0} != 1 ]]; then
        log "cargo build --release"
        cargo build --release >"$OUT_DIR/build.log" 2>&1 ||
            { tail -40 "$OUT_DIR/build.log" >&2; die "cargo build --release failed"; }
    fi
    [[ -x target/release/shardgate ]] || die "target/release/shardgate missing"
}

# PyMySQL in a virtualenv: PYTHON if set, else .compat/venv (compat/run.sh makes it),
# created here with PyMySQL alone when missing.
ensure_python() {
    PY=${PYTHON:-$ROOT/.compat/venv/bin/python}
    if ! "$PY" -c 'import pymysql' 2>/dev/null; then
        log "creating $ROOT/.compat/venv with PyMySQL"
        python3 -m venv "$ROOT/.compat/venv" >/dev/null 2>&1 || die "python3 -m venv failed (apt-get install -y python3-venv)"
        "$ROOT/.compat/venv/bin/pip" install -q --disable-pip-version-check PyMySQL==1.1.2 ||
            die "pip install PyMySQL failed"
        PY=$ROOT/.compat/venv/bin/python
    fi
}

#!/usr/bin/env bash
# sysbench 1.0 through shardgate: prepare, short runs and cleanup of oltp_read_write,
# oltp_point_select and oltp_insert, with --db-ps-mode=auto and disable, on
#   shop.sbtest1     no rule: on the default data source (AUTO_INCREMENT id)
#   sbshard.sbtest1  sharded by id % 2 (compat/rules-extra.toml), --auto_inc=off
# Every run must end with zero errors (--mysql-ignore-errors=none: sysbench stops at the
# first error, deadlocks included). Usage: compat/sysbench.sh HOST PORT OUT_DIR
set -uo pipefail
HOST=$1 PORT=$2 OUT=$3
TIME=${COMPAT_SYSBENCH_TIME:-3}
failures=0
ok() { printf '  ok   [sysbench] %s\n' "$1"; }
fail() { printf '  FAIL [sysbench] %s\n' "$1"; failures=$((failures + 1)); }

sb() { # db, auto_inc, workload, command, extra...
    local db=$1 ai=$2 wl=$3 cmd=$4
    shift 4
    timeout $((TIME + 60)) sysbench "$wl" --db-driver=mysql --mysql-host="$HOST" --mysql-port="$PORT" \
        --mysql-user=root --mysql-password=root --mysql-db="$db" --auto_inc="$ai" \
        --tables=1 --table-size=1000 --threads=4 --rand-type=uniform \
        --mysql-ignore-errors=none "$@" "$cmd"
}

check_prepared() { # db
    local n
    n=$(mariadb --no-defaults -h"$HOST" -P"$PORT" -uroot -proot "$1" -N -B \
        -e 'SELECT COUNT(*) FROM sbtest1 WHERE id BETWEEN 1 AND 1000' 2>&1)
    # oltp_read_write deletes and re-inserts the same ids, so the 1000 prepared rows remain.
    [[ $n == 1000 ]] && ok "$1: the 1000 prepared rows are all there" || fail "$1: count of ids 1..1000 is $n"
}

for setup in "shop on" "sbshard off"; do
    read -r db ai <<<"$setup"
    log=$OUT/sysbench-$db-prepare.log
    sb "$db" "$ai" oltp_read_write cleanup >"$log" 2>&1
    if sb "$db" "$ai" oltp_read_write prepare >>"$log" 2>&1; then
        ok "$db: prepare (1000 rows, auto_inc=$ai)"
    else
        fail "$db: prepare failed: $(tail -5 "$log")"
        continue
    fi
    for wl in oltp_point_select oltp_read_write oltp_insert; do
        for ps in auto disable; do
            log=$OUT/sysbench-$db-$wl-$ps.log
            if [[ $wl == oltp_insert && $ai == off ]]; then
                # sysbench's random ids are unique within one run only, and may hit a
                # prepared id: check the prepared rows now, then start from an empty table.
                [[ $ps == auto ]] && check_prepared "$db"
                mariadb --no-defaults -h"$HOST" -P"$PORT" -uroot -proot "$db" \
                    -e 'DELETE FROM sbtest1' >/dev/null 2>&1
            fi
            sb "$db" "$ai" "$wl" run --time="$TIME" --db-ps-mode="$ps" >"$log" 2>&1
            rc=$?
            q=$(awk '/queries:/ { print $2; exit }' "$log")
            e=$(awk '/ignored errors:/ { print $3; exit }' "$log")
            if [[ $rc -eq 0 && ${q:-0} -gt 0 && ${e:-x} == 0 ]] && ! grep -q FATAL "$log"; then
                ok "$db: $wl --db-ps-mode=$ps: $q queries, 0 errors"
            else
                fail "$db: $wl --db-ps-mode=$ps: rc=$rc queries=${q:-?} errors=${e:-?}: $(grep -m3 -E 'FATAL|error' "$log")"
            fi
        done
    done
    [[ $ai == on ]] && check_prepared "$db"
    log=$OUT/sysbench-$db-cleanup.log
    sb "$db" "$ai" oltp_read_write cleanup >"$log" 2>&1 && ok "$db: cleanup" || fail "$db: cleanup: $(tail -3 "$log")"
done

if ((failures == 0)); then echo "sysbench: all checks passed"; else echo "sysbench: $failures check(s) FAILED (logs in $OUT)"; exit 1; fi

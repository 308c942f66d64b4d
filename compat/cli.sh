#!/usr/bin/env bash
# The `mariadb` command-line client through shardgate: -e queries, a batch script, \s status,
# errors 1062 and 1045. Usage: compat/cli.sh HOST PORT BASE
set -uo pipefail
HOST=$1 PORT=$2 BASE=$3
failures=0
ok() { printf '  ok   [mariadb-cli] %s\n' "$1"; }
fail() { printf '  FAIL [mariadb-cli] %s\n' "$1"; failures=$((failures + 1)); }
M=(mariadb --no-defaults --default-character-set=utf8mb4 -h"$HOST" -P"$PORT" -uroot -proot shop)

expect() { # what, want, got
    if [[ $3 == "$2" ]]; then ok "$1"; else fail "$1: got [$3], want [$2]"; fi
}

q() { "${M[@]}" -N -B -e "$1" 2>&1; }

q "DELETE FROM t_user WHERE user_id BETWEEN $BASE AND $((BASE + 99))" >/dev/null

# -e queries (batch output: tab-separated, NULL as NULL).
expect "-e select: values" $'2\tÉmile 東京\tNULL\t1.50\tshop' \
    "$(q "SELECT 1 + 1, 'Émile 東京', NULL, CAST(1.50 AS DECIMAL(5,2)), DATABASE()")"
expect "-e demo rows 3, 6" $'3\tÉmile\temile@example.fr\t75.25\t2026-01-05 11:30:00\n6\tzoe\tNULL\t5.75\t2026-01-21 16:05:00' \
    "$(q "SELECT user_id, name, email, balance, created_at FROM t_user WHERE user_id IN (3, 6) ORDER BY user_id")"

# A batch script: a multi-row insert, a committed and a rolled-back transaction, a
# server-side prepared statement, a scatter ORDER BY ... LIMIT.
out=$("${M[@]}" -N -B 2>&1 <<SQL
INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) VALUES
  ($((BASE + 1)), 'Émile 東京', NULL, 7, 1234.50, '2026-03-04 05:06:07'),
  ($((BASE + 2)), 'Zoë', 'z@example.com', NULL, 0.05, '2026-03-04 05:06:07'),
  ($((BASE + 3)), 'multi', NULL, NULL, 30.30, '2026-03-04 05:06:07');
BEGIN;
INSERT INTO t_user (user_id, name, balance, created_at) VALUES ($((BASE + 11)), 'txn a', 99.99, NOW());
INSERT INTO t_user (user_id, name, balance, created_at) VALUES ($((BASE + 12)), 'txn b', 100.00, NOW());
UPDATE t_user SET balance = 2000.00 WHERE user_id = $((BASE + 1));
COMMIT;
START TRANSACTION;
INSERT INTO t_user (user_id, name, balance, created_at) VALUES ($((BASE + 13)), 'rolled back', 1.00, NOW());
UPDATE t_user SET balance = 3000.00 WHERE user_id = $((BASE + 2));
ROLLBACK;
PREPARE s FROM 'SELECT name, email, balance, created_at FROM t_user WHERE user_id = ?';
SET @id = $((BASE + 1));
EXECUTE s USING @id;
DEALLOCATE PREPARE s;
SELECT user_id, balance FROM t_user WHERE user_id BETWEEN $BASE AND $((BASE + 99)) ORDER BY balance DESC, user_id LIMIT 4;
SQL
)
expect "batch script output" "$(printf '%s\n' \
    $'Émile 東京\tNULL\t2000.00\t2026-03-04 05:06:07' \
    "$((BASE + 1))"$'\t2000.00' "$((BASE + 12))"$'\t100.00' "$((BASE + 11))"$'\t99.99' \
    "$((BASE + 3))"$'\t30.30')" "$out"
expect "rows after the batch script" 5 "$(q "SELECT COUNT(*) FROM t_user WHERE user_id BETWEEN $BASE AND $((BASE + 99))")"
expect "rolled-back update undone" "0.05" "$(q "SELECT balance FROM t_user WHERE user_id = $((BASE + 2))")"

# \s: sends SELECT DATABASE(), USER() LIMIT 1 and COM_STATISTICS.
status=$("${M[@]}" -e '\s' 2>&1)
for want in $'^Current database:\t+shop$' $'^Current user:\t+root@' $'^TCP port:\t+'"$PORT\$" \
    $'^Uptime:\t+[0-9]' '^Threads: [0-9]+ +Questions: [0-9]+'; do
    if grep -qE "$want" <<<"$status"; then ok "\\s shows /$want/"; else fail "\\s lacks /$want/: $status"; fi
done

# Errors.
out=$(q "INSERT INTO t_user (user_id, name, created_at) VALUES ($((BASE + 1)), 'dup', NOW())")
grep -q "^ERROR 1062 " <<<"$out" && ok "duplicate key: ERROR 1062" || fail "duplicate key: got [$out]"
out=$(mariadb --no-defaults -h"$HOST" -P"$PORT" -uroot -pwrong shop -e 'SELECT 1' 2>&1)
grep -q "^ERROR 1045 " <<<"$out" && ok "wrong password: ERROR 1045" || fail "wrong password: got [$out]"

# Reconnect: the client's `connect` command opens a new connection in the same session;
# user variables (SELECT ... INTO @first) belong to the old connection and are gone.
out=$("${M[@]}" -N -B 2>&1 <<'SQL'
SELECT CONNECTION_ID() INTO @first;
SELECT @first, @first = CONNECTION_ID();
connect
SELECT CONNECTION_ID(), @first IS NULL, DATABASE();
SQL
)
read -r first same second gone db <<<"$(tr '\n' '\t' <<<"$out")"
if [[ $same == 1 && $gone == 1 && $db == shop && -n $second && $second != "$first" ]]; then
    ok "reconnect (connect command): new connection id ($first -> $second), user variables gone"
else
    fail "reconnect (connect command): got [$out]"
fi

q "DELETE FROM t_user WHERE user_id BETWEEN $BASE AND $((BASE + 99))" >/dev/null
expect "cleanup" 0 "$(q "SELECT COUNT(*) FROM t_user WHERE user_id BETWEEN $BASE AND $((BASE + 99))")"

if ((failures == 0)); then echo "mariadb-cli: all checks passed"; else echo "mariadb-cli: $failures check(s) FAILED"; exit 1; fi

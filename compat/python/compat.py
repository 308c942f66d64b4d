"""PyMySQL and mysql-connector-python through shardgate: the scenario of docs/compatibility.md.

Usage: python compat.py HOST PORT BASE
Modes (each with its own key range BASE + 100 * n):
  0 pymysql                      client-side interpolation, executemany as multi-row INSERT
  1 mysql-connector pure         use_pure=True, client-side interpolation
  2 mysql-connector prepared     use_pure=True, cursor(prepared=True): COM_STMT_PREPARE/EXECUTE
"""

import datetime
import sys
import traceback
from decimal import Decimal

import mysql.connector
import pymysql

HOST, PORT, BASE = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
NAME = "Émile 東京"
TEXT = "Émile 東京 ✓ 'q' \\ \"d\""
BIN = bytes([0, 0x27, 0x5C, 0xFF, 0x0A, 0x0D, 0x1A, 0x22, 0x80])
DT = datetime.datetime(2026, 3, 4, 5, 6, 7)
DT6 = datetime.datetime(2026, 3, 4, 5, 6, 7, 123456)

failures = 0
mode = ""


def check(ok, what):
    global failures
    if ok:
        print(f"  ok   [{mode}] {what}")
    else:
        failures += 1
        print(f"  FAIL [{mode}] {what}")


def eq(got, want, what):
    ok = got == want and type(got) is type(want)
    check(ok, what if ok else f"{what} (got {got!r}, want {want!r})")


def norm(v):
    """bytearray (mysql-connector) -> bytes."""
    return bytes(v) if isinstance(v, bytearray) else v


class Driver:
    def __init__(self, name, connect, errno, cursor_kw):
        self.name, self._connect, self.errno, self.cursor_kw = name, connect, errno, cursor_kw

    def connect(self, password="root"):
        return self._connect(password)

    def cursor(self, conn):
        return conn.cursor(**self.cursor_kw)


def pymysql_connect(password):
    return pymysql.connect(host=HOST, port=PORT, user="root", password=password,
                           database="shop", charset="utf8mb4", autocommit=True)


def myconn_connect(password):
    return mysql.connector.connect(host=HOST, port=PORT, user="root", password=password,
                                   database="shop", charset="utf8mb4", use_pure=True,
                                   autocommit=True)


DRIVERS = [
    Driver("pymysql", pymysql_connect, lambda e: e.args[0], {}),
    Driver("mysql-connector", myconn_connect, lambda e: e.errno, {}),
    Driver("mysql-connector-prepared", myconn_connect, lambda e: e.errno, {"prepared": True}),
]

INS_USER = ("INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s)")


def rows(cur, sql, args=None):
    cur.execute(sql, args) if args is not None else cur.execute(sql)
    return [tuple(norm(v) for v in r) for r in cur.fetchall()]


def count(cur, base):
    return rows(cur, "SELECT COUNT(*) FROM t_user WHERE user_id BETWEEN %s AND %s",
                (base, base + 99))[0][0]


def scenario(d, base):
    conn = d.connect()
    cur = d.cursor(conn)
    plain = conn.cursor()  # text protocol, for statements without parameters
    cleanup(plain, base)

    # Text queries.
    r = rows(plain, "SELECT 1 + 1, 'Émile 東京', NULL, CAST(1.50 AS DECIMAL(5,2)), DATABASE()")
    eq(r, [(2, NAME, None, Decimal("1.50"), "shop")], "text select: int, multibyte, NULL, decimal, DATABASE()")
    r = rows(plain, "SELECT user_id, name, email, balance, created_at FROM t_user "
                    "WHERE user_id IN (3, 6) ORDER BY user_id")
    eq(r, [(3, "Émile", "emile@example.fr", Decimal("75.25"), datetime.datetime(2026, 1, 5, 11, 30)),
           (6, "zoe", None, Decimal("5.75"), datetime.datetime(2026, 1, 21, 16, 5))],
       "demo rows 3 and 6 (scatter IN)")

    # Parameters of every common type.
    cur.execute(INS_USER, (base + 1, NAME, None, 7, Decimal("1234.50"), DT))
    eq(cur.rowcount, 1, "insert user 1")
    cur.execute(INS_USER, (base + 2, "Zoë", "z@example.com", None, Decimal("0.05"), DT))
    r = rows(cur, "SELECT name, email, region_id, balance, created_at FROM t_user WHERE user_id = %s",
             (base + 1,))
    eq(r, [(NAME, None, 7, Decimal("1234.50"), DT)], "select user 1: multibyte, NULL, int, decimal scale, datetime")
    ins = ("INSERT INTO compat_types (id, i, b, d, s, dt, dt6, dd, f, bin) "
           "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
    cur.execute(ins, (base + 1, -42, 9007199254740993, Decimal("-12345678.1234"), TEXT, DT, DT6,
                      datetime.date(2026, 12, 31), 1.5, BIN))
    cur.execute(ins, (base + 2,) + (None,) * 9)
    want = [(base + 1, -42, 9007199254740993, Decimal("-12345678.1234"), TEXT, DT, DT6,
             datetime.date(2026, 12, 31), 1.5, BIN),
            (base + 2,) + (None,) * 9]
    sel = "SELECT id, i, b, d, s, dt, dt6, dd, f, bin FROM compat_types WHERE id BETWEEN %s AND %s ORDER BY id"
    got = rows(cur, sel, (base, base + 99))
    eq(got, want, "every type round-trips (parameters)")
    if got != want:
        for g, w in zip(got, want):
            for i, (a, b) in enumerate(zip(g, w)):
                if a != b or type(a) is not type(b):
                    print(f"        column {i}: got {a!r} want {b!r}")
    eq(rows(plain, sel % (base, base + 99)), want, "every type round-trips (text select)")

    # Multi-row insert and batch insert.
    cur.execute("INSERT INTO t_user (user_id, name, balance, created_at) VALUES "
                "(%s, %s, %s, %s), (%s, %s, %s, %s), (%s, %s, %s, %s)",
                (base + 3, "multi 0", Decimal("10.10"), DT, base + 4, "multi 1", Decimal("20.20"), DT,
                 base + 5, "multi 2", Decimal("30.30"), DT))
    eq(cur.rowcount, 3, "multi-row insert: 3 rows")
    cur.executemany(INS_USER, [(base + 6 + i, f"batch {i}", None, None, Decimal(f"{5 + i}.00"), DT)
                               for i in range(4)])
    eq(count(plain, base), 9, "rows after multi-row insert and executemany")

    # Transactions.
    conn.autocommit(False) if d.name == "pymysql" else setattr(conn, "autocommit", False)
    cur.execute(INS_USER, (base + 11, "txn a", None, None, Decimal("99.99"), DT))
    cur.execute(INS_USER, (base + 12, "txn b", None, None, Decimal("100.00"), DT))
    cur.execute("UPDATE t_user SET balance = %s WHERE user_id = %s", (Decimal("2000.00"), base + 1))
    conn.commit()
    cur.execute(INS_USER, (base + 13, "rolled back a", None, None, Decimal("1.00"), DT))
    cur.execute(INS_USER, (base + 14, "rolled back b", None, None, Decimal("1.00"), DT))
    cur.execute("UPDATE t_user SET balance = %s WHERE user_id = %s", (Decimal("3000.00"), base + 2))
    eq(count(plain, base), 13, "inside the transaction: 13 rows visible")
    conn.rollback()
    conn.autocommit(True) if d.name == "pymysql" else setattr(conn, "autocommit", True)
    eq(count(plain, base), 11, "after commit and rollback: 11 rows")
    r = rows(cur, "SELECT user_id, balance FROM t_user WHERE user_id IN (%s, %s) ORDER BY user_id",
             (base + 1, base + 2))
    eq(r, [(base + 1, Decimal("2000.00")), (base + 2, Decimal("0.05"))], "committed update kept, rolled-back undone")

    # Scatter ORDER BY ... LIMIT.
    r = rows(cur, "SELECT user_id, balance FROM t_user WHERE user_id BETWEEN %s AND %s "
                  "ORDER BY balance DESC, user_id LIMIT 4", (base, base + 99))
    eq(r, [(base + 1, Decimal("2000.00")), (base + 12, Decimal("100.00")), (base + 11, Decimal("99.99")),
           (base + 5, Decimal("30.30"))], "scatter ORDER BY balance DESC LIMIT 4")
    r = rows(plain, f"SELECT user_id FROM t_user WHERE user_id BETWEEN {base} AND {base + 99} "
                    "ORDER BY balance DESC LIMIT 2 OFFSET 1")
    eq(r, [(base + 12,), (base + 11,)], "scatter ORDER BY balance DESC LIMIT 2 OFFSET 1 (text)")

    # Duplicate key.
    for c, how in ((cur, "parameters"), (plain, "text")):
        try:
            if c is cur:
                c.execute(INS_USER, (base + 1, "dup", None, None, Decimal("1.00"), DT))
            else:
                c.execute(f"INSERT INTO t_user (user_id, name, created_at) VALUES ({base + 2}, 'dup', NOW())")
            check(False, f"duplicate key ({how}) must fail")
        except (pymysql.MySQLError, mysql.connector.Error) as e:
            eq(d.errno(e), 1062, f"duplicate key ({how}): error code")
    eq(count(plain, base), 11, "connection usable after errors")

    # Reconnect: the driver's own reconnect after close, and a fresh connection.
    first = rows(plain, "SELECT CONNECTION_ID()")[0][0]
    conn.close()
    if d.name == "pymysql":
        conn.ping(reconnect=True)
    else:
        conn.reconnect()
    plain = conn.cursor()
    second = rows(plain, "SELECT CONNECTION_ID()")[0][0]
    check(second != first, f"driver reconnect: new connection id ({first} -> {second})")
    eq(count(plain, base), 11, "driver reconnect: data visible")
    conn.close()
    conn = d.connect()
    plain = conn.cursor()
    eq(count(plain, base), 11, "fresh connection: data visible")
    cleanup(plain, base)
    eq(count(plain, base), 0, "cleanup")
    conn.close()


def cleanup(cur, base):
    cur.execute(f"DELETE FROM t_user WHERE user_id BETWEEN {base} AND {base + 99}")
    cur.execute(f"DELETE FROM compat_types WHERE id BETWEEN {base} AND {base + 99}")


def main():
    global mode
    print(f"PyMySQL {pymysql.VERSION_STRING}, mysql-connector-python {mysql.connector.__version__}")
    for n, d in enumerate(DRIVERS):
        mode = d.name
        try:
            scenario(d, BASE + 100 * n)
        except Exception as e:  # noqa: BLE001 - report any driver error as a failure
            check(False, f"unexpected {type(e).__name__}: {e}")
            traceback.print_exc(file=sys.stdout)
        try:
            d.connect(password="wrong").close()
            check(False, "wrong password must fail")
        except (pymysql.MySQLError, mysql.connector.Error) as e:
            eq(d.errno(e), 1045, "wrong password: error code")
    print("python: all checks passed" if failures == 0 else f"python: {failures} check(s) FAILED")
    sys.exit(0 if failures == 0 else 1)


main()

#!/usr/bin/env python3
"""Clients for bench/memory.sh (PyMySQL).

idle HOST PORT N
    Opens N connections to database `shop` (user root/root, autocommit on), each fully
    logged in, prints "connected N <seconds>" and then follows commands on stdin, one a
    line: "query" runs one point SELECT on t_big on every connection (and prints
    "queried N <seconds>"), "close" (or EOF) closes them all and prints "closed".

stream HOST PORT SECONDS SQL
    Runs SQL unbuffered (SSCursor) and reads the rows in batches of 1,000, sleeping
    between batches so that the whole read takes about SECONDS (paced by env ROWS,
    the expected row count). Prints a progress line
    every 100,000 rows and at the end "rows <n> seconds <s> checksum <sum of first column> sorted <yes|no>"
    (whether the second column never decreased).
"""
import os
import sys
import time

import pymysql
import pymysql.cursors


def connect(host, port, **kw):
    return pymysql.connect(host=host, port=port, user="root", password="root",
                           database="shop", autocommit=True, connect_timeout=30, **kw)


def idle(host, port, n):
    conns = []
    t0 = time.monotonic()
    for i in range(n):
        try:
            conns.append(connect(host, port))
        except Exception as e:  # noqa: BLE001
            print(f"error after {i} connections: {e}", flush=True)
            sys.exit(1)
    print(f"connected {len(conns)} {time.monotonic() - t0:.1f}", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "query":
            t0 = time.monotonic()
            for i, c in enumerate(conns):
                with c.cursor() as cur:
                    cur.execute("SELECT id, k FROM t_big WHERE id = %s", (i + 1,))
                    cur.fetchall()
            print(f"queried {len(conns)} {time.monotonic() - t0:.1f}", flush=True)
        elif cmd == "close":
            break
    for c in conns:
        c.close()
    print("closed", flush=True)


def stream(host, port, seconds, sql):
    c = connect(host, port, cursorclass=pymysql.cursors.SSCursor)
    cur = c.cursor()
    t0 = time.monotonic()
    cur.execute(sql)
    # Paced by the expected row count (env ROWS).
    total = int(os.environ.get("ROWS", "1000000"))
    n = 0
    checksum = 0
    prev_k = None
    in_k_order = True
    next_report = 100_000
    while True:
        rows = cur.fetchmany(1000)
        if not rows:
            break
        n += len(rows)
        for r in rows:
            checksum += r[0]
            if prev_k is not None and r[1] < prev_k:
                in_k_order = False
            prev_k = r[1]
        if n >= next_report:
            print(f"progress {n} {time.monotonic() - t0:.1f}", flush=True)
            next_report += 100_000
        ahead = n / total * seconds - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
    cur.close()
    c.close()
    print(f"rows {n} seconds {time.monotonic() - t0:.1f} checksum {checksum}"
          f" sorted {'yes' if in_k_order else 'no'}", flush=True)


def main():
    mode = sys.argv[1]
    if mode == "idle":
        idle(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "stream":
        stream(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()

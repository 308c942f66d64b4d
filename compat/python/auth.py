"""PyMySQL through a shardgate with TLS and caching_sha2_password (cache as MySQL's: each
account's first login needs full authentication).

Usage: python auth.py HOST PORT CA_PEM
Accounts (compat/run.sh adds them): py_tls / py_tls_pw and py_rsa / py_rsa_pw.
"""

import sys

import pymysql

HOST, PORT, CA = sys.argv[1], int(sys.argv[2]), sys.argv[3]
failures = 0


def check(ok, what):
    global failures
    if ok:
        print(f"  ok   [pymysql-auth] {what}")
    else:
        failures += 1
        print(f"  FAIL [pymysql-auth] {what}")


def connect(user, password, tls):
    kw = {"ssl": {"ca": CA}} if tls else {}
    return pymysql.connect(host=HOST, port=PORT, user=user, password=password, database="shop",
                           **kw)


def login(user, password, tls, what):
    try:
        c = connect(user, password, tls)
        cur = c.cursor()
        cur.execute("SELECT COUNT(*) FROM t_user")
        n = cur.fetchone()[0]
        cipher = c._sock.cipher() if tls else None  # noqa: SLF001 (the TLS socket)
        c.close()
        check(n > 0 and (cipher is not None) == tls, f"{what} (cipher {cipher and cipher[0]})")
    except Exception as e:  # noqa: BLE001
        check(False, f"{what}: {e!r}")


def denied(user, password, tls, what):
    try:
        connect(user, password, tls).close()
        check(False, f"{what}: connected")
    except pymysql.err.OperationalError as e:
        check(e.args[0] == 1045, f"{what} (got {e.args[0]})")


denied("py_tls", "wrong", True, "wrong password over TLS is 1045")
login("py_tls", "py_tls_pw", True, "full authentication over TLS (password in clear)")
login("py_tls", "py_tls_pw", True, "then fast authentication from the cache")
denied("py_rsa", "wrong", False, "wrong password over RSA is 1045")
login("py_rsa", "py_rsa_pw", False, "full authentication over plain TCP (RSA public key)")
login("py_rsa", "py_rsa_pw", False, "then fast authentication from the cache")
print("pymysql-auth: all checks passed" if failures == 0 else f"pymysql-auth: {failures} FAILED")
sys.exit(1 if failures else 0)

// MariaDB Connector/J through shardgate: the scenario of compat/README.md, once per mode.
//
// Usage: java -cp mariadb-java-client.jar:. Compat HOST PORT BASE
// Modes (each with its own key range BASE + 100 * mode):
//   0 client-side prepares (the driver's default)
//   1 useServerPrepStmts=true (COM_STMT_PREPARE / EXECUTE)
//   2 rewriteBatchedStatements=true (addBatch/executeBatch as one multi-row INSERT)
import java.math.BigDecimal;
import java.sql.*;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

public class Compat {
    static int failures = 0;
    static String mode = "";

    static void check(boolean ok, String what) {
        if (ok) {
            System.out.println("  ok   [" + mode + "] " + what);
        } else {
            failures++;
            System.out.println("  FAIL [" + mode + "] " + what);
        }
    }

    static void eq(Object got, Object want, String what) {
        boolean ok = got == null ? want == null : got.equals(want);
        check(ok, what + (ok ? "" : " (got " + show(got) + ", want " + show(want) + ")"));
    }

    static String show(Object o) {
        if (o instanceof byte[]) return Arrays.toString((byte[]) o);
        return o == null ? "NULL" : o + " (" + o.getClass().getSimpleName() + ")";
    }

    static final String NAME = "Émile 東京";
    static final String TEXT = "Émile 東京 ✓ 'q' \\ \"d\"";
    static final byte[] BIN = {0, 0x27, 0x5c, (byte) 0xff, 0x0a, 0x0d, 0x1a, 0x22, (byte) 0x80};
    static final LocalDateTime DT = LocalDateTime.of(2026, 3, 4, 5, 6, 7);
    static final LocalDateTime DT6 = LocalDateTime.of(2026, 3, 4, 5, 6, 7, 123456000);

    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        long base = Long.parseLong(args[2]);
        String url = "jdbc:mariadb://" + host + ":" + port + "/shop";
        String[][] modes = {
            {"client-prep", ""},
            {"server-prep", "&useServerPrepStmts=true"},
            {"rewrite-batch", "&rewriteBatchedStatements=true"},
        };
        for (int m = 0; m < modes.length; m++) {
            mode = modes[m][0];
            String u = url + "?user=root&password=root" + modes[m][1];
            try {
                scenario(u, base + 100L * m);
            } catch (SQLException e) {
                check(false, "unexpected SQLException " + e.getErrorCode() + ": " + e.getMessage());
                e.printStackTrace(System.out);
            }
        }
        mode = "any";
        try (Connection c = DriverManager.getConnection(url + "?user=root&password=wrong")) {
            check(false, "wrong password must fail");
        } catch (SQLException e) {
            eq(e.getErrorCode(), 1045, "wrong password: error code");
        }
        System.out.println(failures == 0 ? "connector/j: all checks passed" : "connector/j: " + failures + " check(s) FAILED");
        System.exit(failures == 0 ? 0 : 1);
    }

    static void cleanup(Connection c, long base) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.executeUpdate("DELETE FROM t_user WHERE user_id BETWEEN " + base + " AND " + (base + 99));
            s.executeUpdate("DELETE FROM compat_types WHERE id BETWEEN " + base + " AND " + (base + 99));
        }
    }

    static void insertUser(PreparedStatement p, long id, String name, String email, Integer region, String balance)
            throws SQLException {
        p.setLong(1, id);
        p.setString(2, name);
        if (email == null) p.setNull(3, Types.VARCHAR); else p.setString(3, email);
        if (region == null) p.setNull(4, Types.INTEGER); else p.setInt(4, region);
        p.setBigDecimal(5, new BigDecimal(balance));
        p.setObject(6, DT);
    }

    static final String INS_USER =
        "INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) VALUES (?, ?, ?, ?, ?, ?)";

    static void scenario(String url, long base) throws SQLException {
        try (Connection c = DriverManager.getConnection(url)) {
            cleanup(c, base);
            // Text queries.
            try (Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT 1 + 1, 'Émile 東京', NULL, CAST(1.50 AS DECIMAL(5,2)), DATABASE()")) {
                check(r.next(), "text select: one row");
                eq(r.getLong(1), 2L, "text select: 1 + 1");
                eq(r.getString(2), NAME, "text select: multibyte literal");
                eq(r.getObject(3), null, "text select: NULL");
                eq(r.getBigDecimal(4), new BigDecimal("1.50"), "text select: decimal keeps scale");
                eq(r.getString(5), "shop", "text select: DATABASE()");
            }
            try (Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT user_id, name, email, balance, created_at FROM t_user WHERE user_id IN (3, 6) ORDER BY user_id")) {
                check(r.next(), "demo rows: user 3");
                eq(r.getString("name"), "Émile", "demo rows: user 3 name");
                eq(r.getBigDecimal("balance"), new BigDecimal("75.25"), "demo rows: user 3 balance");
                eq(r.getObject("created_at", LocalDateTime.class), LocalDateTime.of(2026, 1, 5, 11, 30), "demo rows: user 3 created_at");
                check(r.next(), "demo rows: user 6");
                eq(r.getString("email"), null, "demo rows: user 6 email is NULL");
                check(r.wasNull(), "demo rows: wasNull after NULL");
                check(!r.next(), "demo rows: exactly two");
            }

            // Prepared statements with parameters of every common type.
            try (PreparedStatement p = c.prepareStatement(INS_USER)) {
                insertUser(p, base + 1, NAME, null, 7, "1234.50");
                eq(p.executeUpdate(), 1, "prepared insert user 1");
                insertUser(p, base + 2, "Zoë", "z@example.com", null, "0.05");
                eq(p.executeUpdate(), 1, "prepared insert user 2");
            }
            try (PreparedStatement p = c.prepareStatement(
                    "SELECT name, email, region_id, balance, created_at FROM t_user WHERE user_id = ?")) {
                p.setLong(1, base + 1);
                try (ResultSet r = p.executeQuery()) {
                    check(r.next(), "prepared select user 1");
                    eq(r.getString(1), NAME, "prepared select: multibyte name");
                    eq(r.getString(2), null, "prepared select: NULL email");
                    eq(r.getInt(3), 7, "prepared select: int");
                    eq(r.getBigDecimal(4), new BigDecimal("1234.50"), "prepared select: decimal keeps scale");
                    eq(r.getObject(5, LocalDateTime.class), DT, "prepared select: datetime");
                }
            }
            try (PreparedStatement p = c.prepareStatement(
                    "INSERT INTO compat_types (id, i, b, d, s, dt, dt6, dd, f, bin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                p.setLong(1, base + 1);
                p.setInt(2, -42);
                p.setLong(3, 9007199254740993L);
                p.setBigDecimal(4, new BigDecimal("-12345678.1234"));
                p.setString(5, TEXT);
                p.setObject(6, DT);
                p.setObject(7, DT6);
                p.setObject(8, LocalDate.of(2026, 12, 31));
                p.setDouble(9, 1.5);
                p.setBytes(10, BIN);
                eq(p.executeUpdate(), 1, "prepared insert of every type");
                p.setLong(1, base + 2);
                for (int i = 2; i <= 10; i++) p.setNull(i, Types.NULL);
                eq(p.executeUpdate(), 1, "prepared insert of NULLs");
            }
            for (int pass = 0; pass < 2; pass++) {
                String how = pass == 0 ? "text" : "prepared";
                String sql = "SELECT id, i, b, d, s, dt, dt6, dd, f, bin FROM compat_types WHERE id BETWEEN "
                    + (pass == 0 ? base + " AND " + (base + 99) : "? AND ?") + " ORDER BY id";
                try (PreparedStatement p = c.prepareStatement(sql)) {
                    if (pass == 1) {
                        p.setLong(1, base);
                        p.setLong(2, base + 99);
                    }
                    try (ResultSet r = p.executeQuery()) {
                        check(r.next(), how + " types: row 1");
                        eq(r.getLong("id"), base + 1, how + " types: id");
                        eq(r.getInt("i"), -42, how + " types: int");
                        eq(r.getLong("b"), 9007199254740993L, how + " types: bigint");
                        eq(r.getBigDecimal("d"), new BigDecimal("-12345678.1234"), how + " types: decimal");
                        eq(r.getString("s"), TEXT, how + " types: multibyte string with quotes");
                        eq(r.getObject("dt", LocalDateTime.class), DT, how + " types: datetime");
                        eq(r.getObject("dt6", LocalDateTime.class), DT6, how + " types: datetime(6)");
                        eq(r.getObject("dd", LocalDate.class), LocalDate.of(2026, 12, 31), how + " types: date");
                        eq(r.getDouble("f"), 1.5, how + " types: double");
                        check(Arrays.equals(r.getBytes("bin"), BIN), how + " types: binary bytes round-trip (got " + show(r.getBytes("bin")) + ")");
                        check(r.next(), how + " types: row 2");
                        for (String col : new String[] {"i", "b", "d", "s", "dt", "dt6", "dd", "f", "bin"}) {
                            eq(r.getObject(col), null, how + " types: NULL " + col);
                        }
                        check(!r.next(), how + " types: two rows");
                    }
                }
            }

            // Multi-row insert (one statement) and batch insert.
            try (PreparedStatement p = c.prepareStatement(
                    "INSERT INTO t_user (user_id, name, balance, created_at) VALUES (?, ?, ?, ?), (?, ?, ?, ?), (?, ?, ?, ?)")) {
                String[] bal = {"10.10", "20.20", "30.30"};
                for (int i = 0; i < 3; i++) {
                    p.setLong(4 * i + 1, base + 3 + i);
                    p.setString(4 * i + 2, "multi " + i);
                    p.setBigDecimal(4 * i + 3, new BigDecimal(bal[i]));
                    p.setObject(4 * i + 4, DT);
                }
                eq(p.executeUpdate(), 3, "multi-row insert: 3 rows");
            }
            try (PreparedStatement p = c.prepareStatement(INS_USER)) {
                for (int i = 0; i < 4; i++) {
                    insertUser(p, base + 6 + i, "batch " + i, null, null, (5 + i) + ".00");
                    p.addBatch();
                }
                int[] counts = p.executeBatch();
                int sum = 0;
                for (int n : counts) sum += (n == Statement.SUCCESS_NO_INFO ? 1 : n);
                eq(counts.length, 4, "batch insert: 4 results");
                eq(sum, 4, "batch insert: 4 rows");
            }
            eq(count(c, base), 9L, "rows after multi-row and batch inserts");

            // Transactions.
            c.setAutoCommit(false);
            try (PreparedStatement p = c.prepareStatement(INS_USER);
                 Statement s = c.createStatement()) {
                insertUser(p, base + 11, "txn a", null, null, "99.99");
                p.executeUpdate();
                insertUser(p, base + 12, "txn b", null, null, "100.00");
                p.executeUpdate();
                s.executeUpdate("UPDATE t_user SET balance = 2000.00 WHERE user_id = " + (base + 1));
                c.commit();
                insertUser(p, base + 13, "rolled back a", null, null, "1.00");
                p.executeUpdate();
                insertUser(p, base + 14, "rolled back b", null, null, "1.00");
                p.executeUpdate();
                s.executeUpdate("UPDATE t_user SET balance = 3000.00 WHERE user_id = " + (base + 2));
                eq(count(c, base), 13L, "inside the transaction: 13 rows visible");
                c.rollback();
            }
            c.setAutoCommit(true);
            eq(count(c, base), 11L, "after commit and rollback: 11 rows");
            eq(balance(c, base + 1), new BigDecimal("2000.00"), "committed update kept");
            eq(balance(c, base + 2), new BigDecimal("0.05"), "rolled-back update undone");

            // Scatter ORDER BY ... LIMIT over both shards.
            List<Long> want = List.of(base + 1, base + 12, base + 11, base + 5);
            String q = "SELECT user_id, balance FROM t_user WHERE user_id BETWEEN ? AND ? ORDER BY balance DESC, user_id LIMIT 4";
            try (PreparedStatement p = c.prepareStatement(q)) {
                p.setLong(1, base);
                p.setLong(2, base + 99);
                eq(ids(p.executeQuery()), want, "scatter ORDER BY balance DESC LIMIT 4 (prepared)");
            }
            try (Statement s = c.createStatement()) {
                eq(ids(s.executeQuery("SELECT user_id FROM t_user WHERE user_id BETWEEN " + base + " AND " + (base + 99)
                        + " ORDER BY balance DESC LIMIT 2 OFFSET 1")), List.of(base + 12, base + 11),
                    "scatter ORDER BY balance DESC LIMIT 2 OFFSET 1 (text)");
            }

            // Duplicate key.
            try (PreparedStatement p = c.prepareStatement(INS_USER)) {
                insertUser(p, base + 1, "dup", null, null, "1.00");
                p.executeUpdate();
                check(false, "duplicate key (prepared) must fail");
            } catch (SQLException e) {
                eq(e.getErrorCode(), 1062, "duplicate key (prepared): error code");
            }
            try (Statement s = c.createStatement()) {
                s.executeUpdate("INSERT INTO t_user (user_id, name, created_at) VALUES (" + (base + 2) + ", 'dup', NOW())");
                check(false, "duplicate key (text) must fail");
            } catch (SQLException e) {
                eq(e.getErrorCode(), 1062, "duplicate key (text): error code");
            }
            eq(count(c, base), 11L, "connection usable after errors");
        }

        // Reconnect: a fresh connection after the first one was closed.
        long first;
        try (Connection c = DriverManager.getConnection(url)) {
            first = scalarLong(c, "SELECT CONNECTION_ID()");
        }
        try (Connection c = DriverManager.getConnection(url)) {
            check(scalarLong(c, "SELECT CONNECTION_ID()") != first, "reconnect: new connection id");
            eq(count(c, base), 11L, "reconnect: data visible");
            cleanup(c, base);
            eq(count(c, base), 0L, "cleanup");
        }
    }

    static long count(Connection c, long base) throws SQLException {
        return scalarLong(c, "SELECT COUNT(*) FROM t_user WHERE user_id BETWEEN " + base + " AND " + (base + 99));
    }

    static long scalarLong(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }

    static BigDecimal balance(Connection c, long id) throws SQLException {
        try (PreparedStatement p = c.prepareStatement("SELECT balance FROM t_user WHERE user_id = ?")) {
            p.setLong(1, id);
            try (ResultSet r = p.executeQuery()) {
                return r.next() ? r.getBigDecimal(1) : null;
            }
        }
    }

    static List<Long> ids(ResultSet r) throws SQLException {
        List<Long> out = new ArrayList<>();
        try (r) {
            while (r.next()) out.add(r.getLong(1));
        }
        return out;
    }
}

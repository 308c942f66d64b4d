//! Cross-shard aggregate merging verified against MariaDB 10.11: per-shard
//! partials (COUNT, SUM, MIN, MAX) from the server, and the server's answer
//! over all rows (COUNT, SUM, MIN, MAX, AVG). Shard 3 has no rows.

pub type Ty = (&'static str, u8, bool);
pub type Cell = Option<&'static str>;
/// (column, partial types, partials per shard, total types, totals).
pub type Case = (
    &'static str,
    [Ty; 4],
    &'static [[Cell; 4]],
    [Ty; 5],
    [Cell; 5],
);

#[rustfmt::skip]
pub const CASES: &[Case] = &[
    ("i", [("LONGLONG", 0, false), ("NEWDECIMAL", 0, false), ("LONG", 0, false), ("LONG", 0, false)],
        &[[Some("2"), Some("3"), Some("1"), Some("2")], [Some("2"), Some("-4"), Some("-7"), Some("3")], [Some("3"), Some("16"), Some("0"), Some("11")], [Some("0"), None, None, None]],
        [("LONGLONG", 0, false), ("NEWDECIMAL", 0, false), ("LONG", 0, false), ("LONG", 0, false), ("NEWDECIMAL", 4, false)],
        [Some("7"), Some("15"), Some("-7"), Some("11"), Some("2.1429")]),
    ("bi", [("LONGLONG", 0, false), ("NEWDECIMAL", 0, false), ("LONGLONG", 0, false), ("LONGLONG", 0, false)],
        &[[Some("2"), Some("18446744073709551614"), Some("9223372036854775807"), Some("9223372036854775807")], [Some("2"), Some("-4"), Some("-5"), Some("1")], [Some("3"), Some("-9223372036854775802"), Some("-9223372036854775807"), Some("3")], [Some("0"), None, None, None]],
        [("LONGLONG", 0, false), ("NEWDECIMAL", 0, false), ("LONGLONG", 0, false), ("LONGLONG", 0, false), ("NEWDECIMAL", 4, false)],
        [Some("7"), Some("9223372036854775808"), Some("-9223372036854775807"), Some("9223372036854775807"), Some("1317624576693539401.1429")]),
    ("u", [("LONGLONG", 0, false), ("NEWDECIMAL", 0, false), ("LONGLONG", 0, true), ("LONGLONG", 0, true)],
        &[[Some("2"), Some("36893488147419103230"), Some("18446744073709551615"), Some("18446744073709551615")], [Some("2"), Some("3"), Some("1"), Some("2")], [Some("3"), Some("12"), Some("3"), Some("5")], [Some("0"), None, None, None]],
        [("LONGLONG", 0, false), ("NEWDECIMAL", 0, false), ("LONGLONG", 0, true), ("LONGLONG", 0, true), ("NEWDECIMAL", 4, false)],
        [Some("7"), Some("36893488147419103245"), Some("1"), Some("18446744073709551615"), Some("5270498306774157606.4286")]),
    ("d", [("LONGLONG", 0, false), ("NEWDECIMAL", 2, false), ("NEWDECIMAL", 2, false), ("NEWDECIMAL", 2, false)],
        &[[Some("2"), Some("0.02"), Some("0.01"), Some("0.01")], [Some("2"), Some("1234.58"), Some("0.02"), Some("1234.56")], [Some("3"), Some("9999999999.96"), Some("-0.03"), Some("9999999999.99")], [Some("0"), None, None, None]],
        [("LONGLONG", 0, false), ("NEWDECIMAL", 2, false), ("NEWDECIMAL", 2, false), ("NEWDECIMAL", 2, false), ("NEWDECIMAL", 6, false)],
        [Some("7"), Some("10000001234.56"), Some("-0.03"), Some("9999999999.99"), Some("1428571604.937143")]),
    ("d0", [("LONGLONG", 0, false), ("NEWDECIMAL", 0, false), ("NEWDECIMAL", 0, false), ("NEWDECIMAL", 0, false)],
        &[[Some("2"), Some("199999999999999999998"), Some("99999999999999999999"), Some("99999999999999999999")], [Some("2"), Some("4"), Some("-1"), Some("5")], [Some("3"), Some("123456796"), Some("0"), Some("123456789")], [Some("0"), None, None, None]],
        [("LONGLONG", 0, false), ("NEWDECIMAL", 0, false), ("NEWDECIMAL", 0, false), ("NEWDECIMAL", 0, false), ("NEWDECIMAL", 4, false)],
        [Some("7"), Some("200000000000123456798"), Some("-1"), Some("99999999999999999999"), Some("28571428571446208114.0000")]),
    ("d5", [("LONGLONG", 0, false), ("NEWDECIMAL", 5, false), ("NEWDECIMAL", 5, false), ("NEWDECIMAL", 5, false)],
        &[[Some("2"), Some("3.12346"), Some("1.00001"), Some("2.12345")], [Some("2"), Some("-0.33332"), Some("-0.33333"), Some("0.00001")], [Some("3"), Some("11.49999"), Some("0.00000"), Some("9.99999")], [Some("0"), None, None, None]],
        [("LONGLONG", 0, false), ("NEWDECIMAL", 5, false), ("NEWDECIMAL", 5, false), ("NEWDECIMAL", 5, false), ("NEWDECIMAL", 9, false)],
        [Some("7"), Some("14.29013"), Some("-0.33333"), Some("9.99999"), Some("2.041447142")]),
    ("f", [("LONGLONG", 0, false), ("DOUBLE", 31, false), ("DOUBLE", 31, false), ("DOUBLE", 31, false)],
        &[[Some("2"), Some("1.75"), Some("0.5"), Some("1.25")], [Some("2"), Some("0.5"), Some("-2.5"), Some("3")], [Some("3"), Some("10000000000.125"), Some("0"), Some("10000000000")], [Some("0"), None, None, None]],
        [("LONGLONG", 0, false), ("DOUBLE", 31, false), ("DOUBLE", 31, false), ("DOUBLE", 31, false), ("DOUBLE", 31, false)],
        [Some("7"), Some("10000000002.375"), Some("-2.5"), Some("10000000000"), Some("1428571428.9107144")]),
    ("s", [("LONGLONG", 0, false), ("DOUBLE", 31, false), ("VAR_STRING", 39, false), ("VAR_STRING", 39, false)],
        &[[Some("2"), Some("0"), Some("Apple"), Some("banana")], [Some("2"), Some("0"), Some("cherry"), Some("Éclair")], [Some("3"), Some("0"), Some("apricot"), Some("zebra")], [Some("0"), None, None, None]],
        [("LONGLONG", 0, false), ("DOUBLE", 31, false), ("VAR_STRING", 39, false), ("VAR_STRING", 39, false), ("DOUBLE", 31, false)],
        [Some("7"), Some("0"), Some("Apple"), Some("zebra"), Some("0")]),
    ("dt", [("LONGLONG", 0, false), ("NEWDECIMAL", 0, false), ("DATETIME", 0, false), ("DATETIME", 0, false)],
        &[[Some("2"), Some("40471336335959"), Some("2023-12-31 23:59:59"), Some("2024-01-05 10:00:00")], [Some("2"), Some("40290716120000"), Some("1999-01-01 00:00:00"), Some("2030-06-15 12:00:00")], [Some("3"), Some("60311442141516"), Some("2001-02-03 04:05:06"), Some("2020-02-29 00:00:00")], [Some("0"), None, None, None]],
        [("LONGLONG", 0, false), ("NEWDECIMAL", 0, false), ("DATETIME", 0, false), ("DATETIME", 0, false), ("NEWDECIMAL", 4, false)],
        [Some("7"), Some("141073494597475"), Some("1999-01-01 00:00:00"), Some("2030-06-15 12:00:00"), Some("20153356371067.8571")]),
    ("dd", [("LONGLONG", 0, false), ("NEWDECIMAL", 0, false), ("DATE", 0, false), ("DATE", 0, false)],
        &[[Some("2"), Some("40471336"), Some("2023-12-31"), Some("2024-01-05")], [Some("2"), Some("40290716"), Some("1999-01-01"), Some("2030-06-15")], [Some("3"), Some("60311442"), Some("2001-02-03"), Some("2020-02-29")], [Some("0"), None, None, None]],
        [("LONGLONG", 0, false), ("NEWDECIMAL", 0, false), ("DATE", 0, false), ("DATE", 0, false), ("NEWDECIMAL", 4, false)],
        [Some("7"), Some("141073494"), Some("1999-01-01"), Some("2030-06-15"), Some("20153356.2857")]),
];

//! Query text that is not valid UTF-8: string literals holding raw bytes.
//!
//! The proxy handles SQL as UTF-8 text. Drivers that inline binary parameters (MariaDB
//! Connector/J's client-side prepares send `_binary'<raw bytes>'`) produce query packets
//! whose string literals are not UTF-8. Such literals are rewritten as hexadecimal
//! literals holding the same bytes (`_binary X'00FF'`), which MySQL and MariaDB read as
//! the same binary string, so nothing is lost in the UTF-8 conversion.

/// `sql` as text, with every quoted string literal that is not valid UTF-8 replaced by a
/// hex literal of its bytes (escapes decoded as MySQL does). Invalid bytes outside string
/// literals (in comments or identifiers) become U+FFFD.
pub fn hex_invalid_literals(sql: &[u8], no_backslash_escapes: bool, ansi_quotes: bool) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(sql.len() + 16);
    let mut i = 0;
    while i < sql.len() {
        let b = sql[i];
        match b {
            b'\'' | b'"' if b == b'\'' || !ansi_quotes => {
                let (end, bytes) = string_literal(sql, i, no_backslash_escapes);
                let raw = &sql[i..end];
                // An unterminated literal stays as it is (the backend reports the error).
                let Some(bytes) = bytes.filter(|_| std::str::from_utf8(raw).is_err()) else {
                    out.extend_from_slice(raw);
                    i = end;
                    continue;
                };
                if out
                    .last()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    out.push(b' ');
                }
                out.extend_from_slice(b"X'");
                for c in bytes {
                    out.extend_from_slice(format!("{c:02X}").as_bytes());
                }
                out.push(b'\'');
                i = end;
            }
            b'`' | b'"' => {
                let end = quoted_end(sql, i, b, false);
                out.extend_from_slice(&sql[i..end]);
                i = end;
            }
            b'#' => i = copy_until(sql, i, &mut out, |s, j| s[j] == b'\n'),
            b'-' if sql.get(i + 1) == Some(&b'-') => {
                i = copy_until(sql, i, &mut out, |s, j| s[j] == b'\n')
            }
            b'/' if sql.get(i + 1) == Some(&b'*') => {
                let mut j = i + 2;
                while j < sql.len() && !(sql[j] == b'*' && sql.get(j + 1) == Some(&b'/')) {
                    j += 1;
                }
                let end = (j + 2).min(sql.len());
                out.extend_from_slice(&sql[i..end]);
                i = end;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// A query from a client whose character set is not UTF-8 (latin1), as UTF-8 text: every
/// byte decoded in the client's set, except the bytes of `_binary` string literals, which
/// become hex literals (they are bytes, not characters).
pub fn decode_query(
    sql: &[u8],
    cs: crate::charset::Charset,
    no_backslash_escapes: bool,
    ansi_quotes: bool,
) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut plain_from = 0;
    let mut i = 0;
    while i < sql.len() {
        let b = sql[i];
        match b {
            b'\'' | b'"' if b == b'\'' || !ansi_quotes => {
                let (end, bytes) = string_literal(sql, i, no_backslash_escapes);
                let before = &sql[plain_from..i];
                let trimmed = before.trim_ascii_end();
                let binary = trimmed.len() >= 7
                    && trimmed[trimmed.len() - 7..].eq_ignore_ascii_case(b"_binary")
                    && trimmed.len().checked_sub(8).is_none_or(|k| {
                        !(trimmed[k].is_ascii_alphanumeric() || trimmed[k] == b'_')
                    });
                match bytes.filter(|_| binary) {
                    Some(bytes) => {
                        out.push_str(&cs.decode(before));
                        if before
                            .last()
                            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                        {
                            out.push(' ');
                        }
                        out.push_str("X'");
                        for c in bytes {
                            out.push_str(&format!("{c:02X}"));
                        }
                        out.push('\'');
                        plain_from = end;
                    }
                    None => {}
                }
                i = end;
            }
            b'`' | b'"' => i = quoted_end(sql, i, b, false),
            b'#' => {
                while i < sql.len() && sql[i] != b'\n' {
                    i += 1;
                }
            }
            b'-' if sql.get(i + 1) == Some(&b'-')
                && sql.get(i + 2).is_none_or(|&x| x <= b' ' || x == 0x7f) =>
            {
                while i < sql.len() && sql[i] != b'\n' {
                    i += 1;
                }
            }
            // Version comments hold SQL (literals included): read on inside them.
            b'/' if sql.get(i + 1) == Some(&b'*') && sql.get(i + 2) == Some(&b'!') => i += 3,
            b'/' if sql.get(i + 1) == Some(&b'*')
                && sql.get(i + 2) == Some(&b'M')
                && sql.get(i + 3) == Some(&b'!') =>
            {
                i += 4
            }
            b'/' if sql.get(i + 1) == Some(&b'*') => {
                let mut j = i + 2;
                while j < sql.len() && !(sql[j] == b'*' && sql.get(j + 1) == Some(&b'/')) {
                    j += 1;
                }
                i = (j + 2).min(sql.len());
            }
            _ => i += 1,
        }
    }
    out.push_str(&cs.decode(&sql[plain_from..]));
    out
}

fn copy_until(
    sql: &[u8],
    i: usize,
    out: &mut Vec<u8>,
    stop: impl Fn(&[u8], usize) -> bool,
) -> usize {
    let mut j = i;
    while j < sql.len() && !stop(sql, j) {
        j += 1;
    }
    out.extend_from_slice(&sql[i..j]);
    j
}

/// End (exclusive) of the quoted token starting at `start`.
fn quoted_end(sql: &[u8], start: usize, q: u8, backslash: bool) -> usize {
    let mut j = start + 1;
    while j < sql.len() {
        if backslash && sql[j] == b'\\' {
            j += 2;
            continue;
        }
        if sql[j] == q {
            if sql.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    sql.len()
}

/// The end (exclusive) of the string literal starting at `start` and its bytes (`None`
/// when it is not terminated).
fn string_literal(
    sql: &[u8],
    start: usize,
    no_backslash_escapes: bool,
) -> (usize, Option<Vec<u8>>) {
    let q = sql[start];
    let mut bytes = Vec::new();
    let mut j = start + 1;
    while j < sql.len() {
        let c = sql[j];
        if c == b'\\' && !no_backslash_escapes {
            let Some(&e) = sql.get(j + 1) else {
                j += 1;
                break;
            };
            match e {
                b'0' => bytes.push(0),
                b'b' => bytes.push(8),
                b'n' => bytes.push(b'\n'),
                b'r' => bytes.push(b'\r'),
                b't' => bytes.push(b'\t'),
                b'Z' => bytes.push(26),
                // `\%` and `\_` keep their backslash (they are LIKE escapes).
                b'%' | b'_' => bytes.extend_from_slice(&[b'\\', e]),
                _ => bytes.push(e),
            }
            j += 2;
            continue;
        }
        if c == q {
            if sql.get(j + 1) == Some(&q) {
                bytes.push(q);
                j += 2;
                continue;
            }
            return (j + 1, Some(bytes));
        }
        bytes.push(c);
        j += 1;
    }
    (sql.len().min(j), None)
}

#[cfg(test)]
mod tests {
    use super::hex_invalid_literals as hex;

    #[test]
    fn valid_text_is_unchanged() {
        let sql = "SELECT 'Émile 東京', \"a\\'b\" FROM t -- ü\n/* ß */ WHERE `é` = 1";
        assert_eq!(hex(sql.as_bytes(), false, false), sql);
    }

    #[test]
    fn binary_literals_become_hex() {
        let mut sql = b"INSERT INTO t VALUES (1, _binary'".to_vec();
        sql.extend_from_slice(b"\\0\\'\\\\\xff\x80\\n\\'\\\"\\Z''");
        sql.extend_from_slice(b"', 'ok\xc3\xa9')");
        assert_eq!(
            hex(&sql, false, false),
            "INSERT INTO t VALUES (1, _binary X'00275CFF800A27221A27', 'oké')"
        );
    }

    #[test]
    fn no_backslash_escapes_and_ansi_quotes() {
        let sql = b"SELECT 'a\\\xff', \"\xfe\"";
        assert_eq!(hex(sql, true, false), "SELECT X'615CFF', X'FE'");
        // Under ANSI_QUOTES "..." is an identifier: not a literal.
        assert_eq!(hex(sql, true, true), "SELECT X'615CFF', \"\u{FFFD}\"");
    }

    #[test]
    fn latin1_queries_decode_except_binary_literals() {
        let cs = crate::charset::Charset::Latin1;
        let sql = b"SELECT 'caf\xe9', _binary'\xe9\x00\\'', _BINARY 'x' FROM t";
        assert_eq!(
            super::decode_query(sql, cs, false, false),
            "SELECT 'café', _binary X'E90027', _BINARY X'78' FROM t"
        );
        // A quote in a `-- ` comment starts nothing; version comments hold literals.
        let sql = b"SELECT 1 -- it's\n, /*!40101 _binary'\xe9' */ /*M! _binary'\xe8' */";
        assert_eq!(
            super::decode_query(sql, cs, false, false),
            "SELECT 1 -- it's\n, /*!40101 _binary X'E9' */ /*M! _binary X'E8' */"
        );
    }

    #[test]
    fn unterminated_and_outside_literals() {
        assert_eq!(hex(b"SELECT '\xff", false, false), "SELECT '\u{FFFD}");
        assert_eq!(hex(b"SELECT 1 # \xff", false, false), "SELECT 1 # \u{FFFD}");
        assert_eq!(hex(b"SELECT '\\", false, false), "SELECT '\\");
    }
}

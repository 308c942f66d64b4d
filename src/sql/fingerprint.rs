//! Statement fingerprints: the statement's shape with its literals replaced by `?`, as the
//! slow-query log prints it and as rate limits and the firewall compare statements.
//!
//! Words are lower-cased (quoted identifiers are kept as written), whitespace collapses to
//! one space, comments are dropped, string, number, hex and bit literals become `?`, and a
//! parenthesised list of literals only (`IN (1, 2, 3)`) becomes `(?+)` so that lists of any
//! length share one fingerprint.

/// The fingerprint of one statement's text.
pub fn fingerprint(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len().min(4096));
    let mut i = 0;
    let mut space = false;
    let push = |out: &mut String, space: &mut bool, piece: &str| {
        if *space && !out.is_empty() {
            out.push(' ');
        }
        *space = false;
        out.push_str(piece);
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => {
                space = true;
                i += 1;
            }
            b'\'' | b'"' => {
                i = skip_quoted(b, i, c);
                push(&mut out, &mut space, "?");
            }
            b'`' => {
                let end = skip_quoted(b, i, c);
                push(&mut out, &mut space, &sql[i..end]);
                i = end;
            }
            b'#' => i = skip_line(b, i),
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                i = skip_line(b, i)
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = match sql[i + 2..].find("*/") {
                    Some(e) => i + 2 + e + 2,
                    None => b.len(),
                };
                space = true;
            }
            b'0'..=b'9' => {
                i = skip_number(b, i);
                push(&mut out, &mut space, "?");
            }
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) && !after_word(&out) => {
                i = skip_number(b, i);
                push(&mut out, &mut space, "?");
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80 => {
                let start = i;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'_'
                        || b[i] == b'$'
                        || b[i] >= 0x80)
                {
                    i += 1;
                }
                let word = &sql[start..i];
                // x'..', b'..', n'..', _utf8mb4'..': one literal.
                if b.get(i) == Some(&b'\'') && is_literal_prefix(word) {
                    i = skip_quoted(b, i, b'\'');
                    push(&mut out, &mut space, "?");
                } else {
                    push(&mut out, &mut space, &word.to_lowercase());
                }
            }
            _ => {
                let ch = sql[i..].chars().next().unwrap_or(' ');
                i += ch.len_utf8();
                let mut tmp = [0u8; 4];
                push(&mut out, &mut space, ch.encode_utf8(&mut tmp));
            }
        }
    }
    collapse_lists(&out)
}

fn after_word(out: &str) -> bool {
    out.chars()
        .last()
        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '`')
}

fn is_literal_prefix(word: &str) -> bool {
    matches!(word.to_ascii_lowercase().as_str(), "x" | "b" | "n") || word.starts_with('_')
}

fn skip_quoted(b: &[u8], start: usize, q: u8) -> usize {
    debug_assert_eq!(b[start], q);
    super::scan::quote_end(b, start, Default::default()).unwrap_or(b.len())
}

fn skip_line(b: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < b.len() && b[i] != b'\n' {
        i += 1;
    }
    i
}

fn skip_number(b: &[u8], start: usize) -> usize {
    let mut i = start;
    if b.get(i) == Some(&b'0') && matches!(b.get(i + 1), Some(b'x' | b'X' | b'b' | b'B')) {
        i += 2;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        return i;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        i += 1;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    // An identifier that starts with digits (`1abc`) stays one word.
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    i
}

/// `(?, ?, ?)` → `(?+)`, and `VALUES (?+), (?+)` rows → one `(?+)`.
fn collapse_lists(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('(') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find(')');
        let inner = close.map(|c| &after[..c]);
        match inner {
            Some(inner) if !inner.is_empty() && inner.split(',').all(|p| p.trim() == "?") => {
                if !(out.ends_with("(?+), ") || out.ends_with("(?+),")) {
                    out.push_str("(?+)");
                } else {
                    // A further row of a VALUES list: drop it and its comma.
                    while out.ends_with(' ') || out.ends_with(',') {
                        out.pop();
                    }
                }
                rest = &after[close.unwrap_or(0) + 1..];
            }
            _ => {
                out.push('(');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn fingerprints() {
        let cases = [
            (
                "SELECT * FROM t WHERE id = 42",
                "select * from t where id = ?",
            ),
            ("select *  from T where ID=42", "select * from t where id=?"),
            (
                "SELECT name FROM t_user WHERE name = 'O''Brien' AND x = \"y\"",
                "select name from t_user where name = ? and x = ?",
            ),
            ("SELECT 1.5e3, .5, -7", "select ?, ?, -?"),
            (
                "SELECT x'ff', 0xff, b'01', _utf8mb4'a'",
                "select ?, ?, ?, ?",
            ),
            (
                "SELECT * FROM t WHERE id IN (1, 2, 3)",
                "select * from t where id in (?+)",
            ),
            (
                "SELECT * FROM t WHERE id IN (7)",
                "select * from t where id in (?+)",
            ),
            (
                "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')",
                "insert into t (a, b) values (?+)",
            ),
            ("SELECT `Order` FROM t1 -- tail\n", "select `Order` from t1"),
            ("SELECT /* c */ 1 # x", "select ?"),
            ("SELECT count(*) FROM t2", "select count(*) from t2"),
            (
                "UPDATE t_product SET stock = stock - 1 WHERE product_id = 5 AND stock > 0",
                "update t_product set stock = stock - ? where product_id = ? and stock > ?",
            ),
        ];
        for (sql, want) in cases {
            assert_eq!(fingerprint(sql), want, "{sql}");
        }
    }

    #[test]
    fn literals_never_leak() {
        let fp = fingerprint("SELECT * FROM t WHERE pw = 'secret\\' OR 1' AND n = 12345");
        assert!(!fp.contains("secret") && !fp.contains("12345"), "{fp}");
    }
}

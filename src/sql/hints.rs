//! Optimizer hints the proxy honours itself. MariaDB ignores MySQL 8's `/*+ ... */` hints
//! (they are comments to it); `MAX_EXECUTION_TIME(ms)` right after a statement's leading
//! SELECT limits the statement's time in the proxy.

/// The `MAX_EXECUTION_TIME(ms)` hint of a SELECT, if any.
pub fn max_execution_time(sql: &str) -> Option<u64> {
    let rest = skip_comments(sql);
    let kw = rest.get(..6)?;
    if !kw.eq_ignore_ascii_case("select") {
        return None;
    }
    let rest = rest[6..].trim_start();
    let body = rest.strip_prefix("/*+")?;
    let body = &body[..body.find("*/")?];
    let upper = body.to_ascii_uppercase();
    let at = upper.find("MAX_EXECUTION_TIME")?;
    let args = upper[at + "MAX_EXECUTION_TIME".len()..].trim_start();
    let args = args.strip_prefix('(')?;
    let close = args.find(')')?;
    args[..close].trim().parse().ok()
}

/// The text after leading whitespace and plain comments (`/* */`, `-- `, `#`); a version
/// comment (`/*!`) or a hint (`/*+`) is text, not skipped.
fn skip_comments(sql: &str) -> &str {
    let mut rest = sql.trim_start();
    loop {
        if rest.starts_with("/*") && !rest.starts_with("/*!") && !rest.starts_with("/*+") {
            match rest[2..].find("*/") {
                Some(end) => rest = rest[2 + end + 2..].trim_start(),
                None => return rest,
            }
        } else if rest.starts_with('#')
            || (rest.starts_with("--")
                && rest[2..].starts_with(|c: char| c.is_ascii_whitespace() || c.is_ascii_control()))
        {
            match rest.find('\n') {
                Some(end) => rest = rest[end + 1..].trim_start(),
                None => return "",
            }
        } else {
            return rest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::max_execution_time;

    #[test]
    fn hints() {
        let cases = [
            (
                "SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t",
                Some(1000),
            ),
            (
                "  select /*+ BKA(t) max_execution_time( 25 ) */ 1",
                Some(25),
            ),
            ("SELECT 1 /*+ MAX_EXECUTION_TIME(10) */", None),
            ("SELECT /* MAX_EXECUTION_TIME(10) */ 1", None),
            ("UPDATE /*+ MAX_EXECUTION_TIME(10) */ t SET a = 1", None),
            ("SELECT /*+ MAX_EXECUTION_TIME(x) */ 1", None),
            ("SELECT /*+ MAX_EXECUTION_TIME(10", None),
            ("SELEC", None),
            ("SELECTé", None),
            // Leading comments (a driver's or ORM's tag) are skipped.
            (
                "/* app:checkout */ SELECT /*+ MAX_EXECUTION_TIME(30) */ 1",
                Some(30),
            ),
            (
                "-- tag\n# more\n SELECT /*+ MAX_EXECUTION_TIME(31) */ 1",
                Some(31),
            ),
            ("/*!SELECT */ SELECT /*+ MAX_EXECUTION_TIME(32) */ 1", None),
            (
                "/* unterminated SELECT /*+ MAX_EXECUTION_TIME(33) */ 1",
                None,
            ),
            ("--x\nSELECT /*+ MAX_EXECUTION_TIME(34) */ 1", None),
        ];
        for (sql, want) in cases {
            assert_eq!(max_execution_time(sql), want, "{sql}");
        }
    }
}

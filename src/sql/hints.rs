//! Optimizer hints the proxy honours itself. MariaDB ignores MySQL 8's `/*+ ... */` hints
//! (they are comments to it); `MAX_EXECUTION_TIME(ms)` right after a statement's leading
//! SELECT limits the statement's time in the proxy.

/// The `MAX_EXECUTION_TIME(ms)` hint of a SELECT, if any.
pub fn max_execution_time(sql: &str) -> Option<u64> {
    let rest = sql.trim_start();
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
        ];
        for (sql, want) in cases {
            assert_eq!(max_execution_time(sql), want, "{sql}");
        }
    }
}

//! `SELECT ... INTO @a, @b`: user variables are session state the proxy keeps (and replays
//! on backend connections, like `SET @a = ...`). Sent as it is, the assignment would stay on
//! whichever pooled backend connection ran it, invisible to the session's next statement
//! on another connection and visible to the next client that gets that connection. The
//! proxy runs the SELECT without its INTO clause and turns the row into `SET @a = ...`.

use super::{FlowResult, Session};
use crate::error::SqlError;
use crate::protocol::writer::ResultWriter;
use crate::sql::SourceMap;
use std::ops::Range;

/// The byte range of a top-level `INTO @a, @b` clause of a SELECT and the variable names
/// (without `@`). `None` for other statements and for `INTO OUTFILE` / `DUMPFILE`.
pub(crate) fn into_user_vars(sql: &str) -> Option<(Range<usize>, Vec<String>)> {
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let toks = Tokenizer::new(&MySqlDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    let sig: Vec<_> = toks
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let is_kw = |i: usize, kw: &str| {
        matches!(sig.get(i).map(|t| &t.token),
            Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
    };
    if !is_kw(0, "SELECT") {
        return None;
    }
    // A variable at sig[j]: `@name` as one word, or `@` then a word. Returns (name, last).
    let var_at = |j: usize| -> Option<(String, usize)> {
        match &sig.get(j)?.token {
            Token::Word(w) if w.quote_style.is_none() => {
                let name = w.value.strip_prefix('@')?;
                (!name.is_empty() && !name.starts_with('@')).then(|| (name.to_string(), j))
            }
            Token::AtSign => match &sig.get(j + 1)?.token {
                Token::Word(w) if !w.value.starts_with('@') => Some((w.value.clone(), j + 1)),
                _ => None,
            },
            _ => None,
        }
    };
    let sm = SourceMap::new(sql);
    let mut depth = 0i32;
    for i in 0..sig.len() {
        match &sig[i].token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ if depth == 0 && is_kw(i, "INTO") => {
                let mut names = Vec::new();
                let mut j = i + 1;
                let last = loop {
                    let (name, last) = var_at(j)?;
                    names.push(name);
                    if matches!(sig.get(last + 1).map(|t| &t.token), Some(Token::Comma)) {
                        j = last + 2;
                    } else {
                        break last;
                    }
                };
                let start = sm.range(sig[i].span)?.start;
                let end = sm.range(sig[last].span)?.end;
                return Some((start..end, names));
            }
            _ => {}
        }
    }
    None
}

impl Session {
    /// Answer `SELECT ... INTO @vars` (see the module doc); `false` if `sql` is not one.
    pub(crate) async fn select_into_vars(
        &mut self,
        sql: &str,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<bool> {
        let Some((range, names)) = into_user_vars(sql) else {
            return Ok(false);
        };
        let select = format!("{} {}", &sql[..range.start], &sql[range.end..]);
        let max = self.shared.config.server.max_memory_rows;
        let capture = self.capture(&select, max, w).await?;
        if let Some(e) = capture.error {
            return Err(e.into());
        }
        if capture.columns.len() != names.len() {
            return Err(SqlError::new(
                1222,
                "21000",
                "The used SELECT statements have a different number of columns",
            )
            .into());
        }
        let row = match capture.rows.as_slice() {
            // MariaDB leaves the variables as they were (with warning 1329).
            [] => None,
            [row] => Some(row),
            _ => {
                return Err(
                    SqlError::new(1172, "42000", "Result consisted of more than one row").into(),
                )
            }
        };
        if let Some(row) = row {
            let nbe = self.no_backslash_escapes;
            let sets: Vec<String> = names
                .iter()
                .zip(&capture.columns)
                .enumerate()
                .map(|(i, (name, col))| {
                    let cell = row.get(i).and_then(|c| c.as_deref());
                    format!(
                        "@`{}` = {}",
                        name.replace('`', "``"),
                        crate::sql::literal::cell_literal(col, cell, nbe)
                    )
                })
                .collect();
            for (name, set) in names.iter().zip(&sets) {
                self.apply_session_set(
                    &format!("@{}", name.to_ascii_lowercase()),
                    &format!("SET {set}"),
                )
                .await?;
            }
        }
        w.status = self.status();
        w.ok(&crate::result::OkInfo {
            affected_rows: capture.rows.len() as u64,
            ..Default::default()
        })
        .await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::into_user_vars;

    fn cut(sql: &str) -> Option<(String, Vec<String>)> {
        into_user_vars(sql).map(|(r, n)| (format!("{}|{}", &sql[..r.start], &sql[r.end..]), n))
    }

    #[test]
    fn finds_into_user_variables() {
        assert_eq!(
            cut("SELECT CONNECTION_ID() INTO @first"),
            Some(("SELECT CONNECTION_ID() |".into(), vec!["first".into()]))
        );
        assert_eq!(
            cut("select a, b into @x, @`y z` from t where c = (select 1) for update"),
            Some((
                "select a, b | from t where c = (select 1) for update".into(),
                vec!["x".into(), "y z".into()]
            ))
        );
        assert_eq!(cut("SELECT 1 INTO OUTFILE '/tmp/x'"), None);
        assert_eq!(cut("SELECT 'INTO @x' FROM t"), None);
        assert_eq!(cut("INSERT INTO t SELECT 1"), None);
        assert_eq!(cut("SELECT (SELECT 1 INTO @x)"), None);
        assert_eq!(cut("SELECT @@x INTO @@y"), None);
    }
}

//! SQL-level prepared statements: `PREPARE s FROM '...' | @var`, `EXECUTE s [USING @a, ...]`,
//! `DEALLOCATE PREPARE s` / `DROP PREPARE s`. The statement text is kept in the session; on
//! EXECUTE the user variables' values are read from the session's backend state and spliced
//! in as literals at the placeholders, so they route exactly like literals.

use super::query::Bound;
use super::{FlowResult, Session};
use crate::error::SqlError;
use crate::protocol::writer::ResultWriter;
use crate::result::ColumnDef;
use crate::sql::Edits;
use sqlparser::tokenizer::{Token, Tokenizer};

/// A parsed PREPARE / EXECUTE / DEALLOCATE statement.
#[derive(Debug, PartialEq, Eq)]
enum SqlPrep {
    Prepare { name: String, source: Source },
    Execute { name: String, using: Vec<String> },
    Deallocate { name: String },
}

#[derive(Debug, PartialEq, Eq)]
enum Source {
    Text(String),
    Variable(String),
}

fn syntax(sql: &str) -> SqlError {
    SqlError::parse(format!("near '{}'", sql.trim()))
}

fn words(sql: &str) -> Result<Vec<Token>, SqlError> {
    let dialect = sqlparser::dialect::MySqlDialect {};
    let toks = Tokenizer::new(&dialect, sql)
        .tokenize()
        .map_err(SqlError::parse)?;
    Ok(toks
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_) | Token::SemiColon))
        .collect())
}

/// Statement names are case-insensitive in MariaDB.
fn name_of(t: Option<&Token>) -> Option<String> {
    match t? {
        Token::Word(w) => Some(w.value.to_ascii_lowercase()),
        _ => None,
    }
}

fn variable_of(toks: &[Token], i: &mut usize) -> Option<String> {
    // The tokenizer yields `@a` either as one word or as `@` followed by a word.
    match toks.get(*i)? {
        Token::Word(w) if w.value.starts_with('@') => {
            *i += 1;
            Some(w.value[1..].to_string())
        }
        Token::AtSign => match toks.get(*i + 1)? {
            Token::Word(w) => {
                *i += 2;
                Some(w.value.clone())
            }
            _ => None,
        },
        _ => None,
    }
}

fn is_kw(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.value.eq_ignore_ascii_case(kw))
}

fn parse(sql: &str) -> Result<SqlPrep, SqlError> {
    let toks = words(sql)?;
    let kw = match toks.first() {
        Some(Token::Word(w)) => w.value.to_ascii_uppercase(),
        _ => return Err(syntax(sql)),
    };
    match kw.as_str() {
        "PREPARE" => {
            let name = name_of(toks.get(1)).ok_or_else(|| syntax(sql))?;
            if !is_kw(toks.get(2), "FROM") {
                return Err(syntax(sql));
            }
            let mut i = 3;
            let source = match toks.get(3) {
                Some(Token::SingleQuotedString(s)) | Some(Token::DoubleQuotedString(s)) => {
                    i += 1;
                    Source::Text(s.clone())
                }
                _ => Source::Variable(variable_of(&toks, &mut i).ok_or_else(|| syntax(sql))?),
            };
            if i != toks.len() {
                return Err(syntax(sql));
            }
            Ok(SqlPrep::Prepare { name, source })
        }
        "EXECUTE" => {
            let name = name_of(toks.get(1)).ok_or_else(|| syntax(sql))?;
            let mut using = Vec::new();
            let mut i = 2;
            if is_kw(toks.get(2), "USING") {
                i = 3;
                loop {
                    using.push(variable_of(&toks, &mut i).ok_or_else(|| syntax(sql))?);
                    if toks.get(i) == Some(&Token::Comma) {
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            if i != toks.len() {
                return Err(syntax(sql));
            }
            Ok(SqlPrep::Execute { name, using })
        }
        "DEALLOCATE" | "DROP" if is_kw(toks.get(1), "PREPARE") && toks.len() == 3 => {
            let name = name_of(toks.get(2)).ok_or_else(|| syntax(sql))?;
            Ok(SqlPrep::Deallocate { name })
        }
        _ => Err(syntax(sql)),
    }
}

impl Session {
    pub(crate) async fn sql_prepared(
        &mut self,
        sql: &str,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        match parse(sql)? {
            SqlPrep::Prepare { name, source } => {
                let text = match source {
                    Source::Text(t) => t,
                    Source::Variable(v) => {
                        let (cols, cells) = self.user_variables(&[v.clone()]).await?;
                        match cells.first() {
                            Some(Some(b)) if !cols.is_empty() => {
                                String::from_utf8_lossy(b).into_owned()
                            }
                            _ => return Err(syntax("NULL").into()),
                        }
                    }
                };
                // The statement text is read as the server would read a query (comments and
                // version comments resolved, exactly one statement): what EXECUTE runs is
                // then classified and routed like any query.
                let text = self.scan(&text)?;
                // Refused statements are refused here already, as a prepared statement of
                // the binary protocol is.
                self.check_preparable(&text, w).await?;
                // Validate the placeholders now, as MariaDB does at PREPARE.
                super::stmt::placeholders(&self.tokenizable(&text))?;
                self.sql_stmts.insert(name, text);
                w.ok(&crate::result::OkInfo {
                    info: "Statement prepared".into(),
                    ..Default::default()
                })
                .await?;
                Ok(())
            }
            SqlPrep::Execute { name, using } => {
                let text = self
                    .sql_stmts
                    .get(&name)
                    .cloned()
                    .ok_or_else(|| unknown_statement(&name, "EXECUTE"))?;
                let holes = super::stmt::placeholders(&self.tokenizable(&text))?;
                if holes.len() != using.len() {
                    return Err(
                        SqlError::new(1210, "HY000", "Incorrect arguments to EXECUTE").into(),
                    );
                }
                let nbe = self.no_backslash_escapes;
                let mut e = Edits::new();
                if !using.is_empty() {
                    let (cols, cells) = self.user_variables(&using).await?;
                    for (i, r) in holes.into_iter().enumerate() {
                        let lit = match cols.get(i) {
                            Some(c) => crate::sql::literal::cell_literal(
                                c,
                                cells.get(i).and_then(|c| c.as_deref()),
                                nbe,
                            ),
                            None => "NULL".to_string(),
                        };
                        e.replace(r, lit);
                    }
                }
                let sql = e.apply(&text);
                Box::pin(self.dispatch(&sql, &Bound::default(), w)).await
            }
            SqlPrep::Deallocate { name } => {
                if self.sql_stmts.remove(&name).is_none() {
                    return Err(unknown_statement(&name, "DEALLOCATE PREPARE").into());
                }
                w.ok(&Default::default()).await?;
                Ok(())
            }
        }
    }

    /// Values of user variables, read on the default data source with the session's state.
    async fn user_variables(
        &mut self,
        names: &[String],
    ) -> Result<(Vec<ColumnDef>, Vec<Option<bytes::Bytes>>), SqlError> {
        let list: Vec<String> = names
            .iter()
            .map(|n| format!("@{}", crate::rewrite::ident(n)))
            .collect();
        let ds = self.default_ds()?;
        let backend = self.shared.backends.get(&ds)?.clone();
        let mut lease = backend.acquire().await?;
        lease.apply_state(&self.state).await?;
        let (cols, mut rows) =
            crate::backend::query_collect(&mut lease, &format!("SELECT {}", list.join(", ")))
                .await?;
        Ok((cols, rows.pop().unwrap_or_default()))
    }
}

fn unknown_statement(name: &str, what: &str) -> SqlError {
    SqlError::new(
        1243,
        "HY000",
        format!("Unknown prepared statement handler ({name}) given to {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sql_prepare_forms() {
        let cases: Vec<(&str, SqlPrep)> = vec![
            (
                "PREPARE s1 FROM 'SELECT * FROM t WHERE a = ?'",
                SqlPrep::Prepare {
                    name: "s1".into(),
                    source: Source::Text("SELECT * FROM t WHERE a = ?".into()),
                },
            ),
            (
                "prepare `S` from @q;",
                SqlPrep::Prepare {
                    name: "s".into(),
                    source: Source::Variable("q".into()),
                },
            ),
            (
                "EXECUTE s USING @a, @b",
                SqlPrep::Execute {
                    name: "s".into(),
                    using: vec!["a".into(), "b".into()],
                },
            ),
            (
                "EXECUTE s",
                SqlPrep::Execute {
                    name: "s".into(),
                    using: vec![],
                },
            ),
            (
                "DEALLOCATE PREPARE s",
                SqlPrep::Deallocate { name: "s".into() },
            ),
            ("DROP PREPARE s", SqlPrep::Deallocate { name: "s".into() }),
        ];
        for (sql, want) in cases {
            assert_eq!(parse(sql).unwrap(), want, "{sql}");
        }
        for bad in [
            "PREPARE s",
            "EXECUTE s USING",
            "EXECUTE s USING 1",
            "DEALLOCATE s",
        ] {
            assert_eq!(parse(bad).unwrap_err().code, 1064, "{bad}");
        }
    }

    #[test]
    fn variable_literals_keep_their_type() {
        let int = ColumnDef::bigint("a");
        let dbl = ColumnDef {
            column_type: mysql_common::constants::ColumnType::MYSQL_TYPE_DOUBLE,
            ..ColumnDef::bigint("d")
        };
        let s = ColumnDef::text("s");
        let bin = ColumnDef {
            charset: 63,
            ..ColumnDef::text("b")
        };
        assert_eq!(
            crate::sql::literal::cell_literal(&int, Some(b"17"), false),
            "17"
        );
        assert_eq!(
            crate::sql::literal::cell_literal(&dbl, Some(b"1.5"), false),
            "1.5e0"
        );
        assert_eq!(
            crate::sql::literal::cell_literal(&s, Some(b"it's"), false),
            "'it''s'"
        );
        assert_eq!(crate::sql::literal::cell_literal(&s, None, false), "NULL");
        assert_eq!(
            crate::sql::literal::cell_literal(&bin, Some(b"\x00a"), false),
            "_binary X'0061'"
        );
    }
}

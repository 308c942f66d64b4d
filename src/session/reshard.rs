//! The reshard admin statements (admin users), which `shardgate reshard` sends:
//! - `RESHARD PLAN '<rules>'`: what would move (one row per table).
//! - `RESHARD START '<rules>' [CUTOVER AUTO | MANUAL] [MAX_ROWS_PER_SEC n]`: start a job.
//! - `SHOW RESHARD STATUS`: the job's phase and figures (name/value rows).
//! - `RESHARD VERIFY`: compare sources and targets now (one row per table).
//! - `RESHARD CUTOVER` | `RESHARD ROLLBACK` | `RESHARD COMPLETE [DROP SOURCES]` |
//!   `RESHARD CANCEL`.
//!
//! The rules text is a string literal (backslash escapes or doubled quotes). Nothing here
//! ever shows a data source's credentials.

use super::{FlowResult, Session};
use crate::error::SqlError;
use crate::protocol::writer::ResultWriter;
use crate::reshard::{Command, Options};
use crate::result::{ColumnDef, Row};
use bytes::Bytes;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reshard {
    Plan(String),
    Start(String, Options),
    Status,
    Verify,
    Cutover,
    Rollback,
    Complete { drop_sources: bool },
    Cancel,
}

/// A quoted string at the start of `s`, and what follows it.
fn literal(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let q = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let mut out = String::new();
    let mut chars = s[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            let (_, n) = chars.next()?;
            out.push(match n {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '0' => '\0',
                'Z' => '\u{1a}',
                other => other,
            });
        } else if c == q {
            let rest = &s[1 + i + 1..];
            if rest.starts_with(q) {
                out.push(q);
                chars.next();
                continue;
            }
            return Some((out, rest));
        } else {
            out.push(c);
        }
    }
    None
}

fn options(rest: &str) -> Result<Options, SqlError> {
    let words: Vec<String> = rest
        .trim()
        .trim_end_matches(';')
        .split_ascii_whitespace()
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let mut o = Options::default();
    let mut i = 0;
    while i < words.len() {
        match (words[i].as_str(), words.get(i + 1).map(String::as_str)) {
            ("CUTOVER", Some("MANUAL")) => o.manual_cutover = true,
            ("CUTOVER", Some("AUTO")) => o.manual_cutover = false,
            ("MAX_ROWS_PER_SEC", Some(n)) => {
                o.max_rows_per_sec = Some(n.parse().map_err(|_| syntax(n))?);
            }
            (w, _) => return Err(syntax(w)),
        }
        i += 2;
    }
    Ok(o)
}

fn syntax(near: &str) -> SqlError {
    SqlError::new(
        1064,
        "42000",
        format!("RESHARD: unexpected '{near}' (see docs/resharding.md for the statements)"),
    )
}

/// Recognise a reshard statement (comments already removed).
pub(crate) fn parse(sql: &str) -> Option<Result<Reshard, SqlError>> {
    let text = sql.trim();
    let upper = text.to_ascii_uppercase();
    let words: Vec<&str> = upper
        .trim_end_matches(';')
        .split_ascii_whitespace()
        .collect();
    if words.first() == Some(&"SHOW") {
        return (words == ["SHOW", "RESHARD", "STATUS"]).then_some(Ok(Reshard::Status));
    }
    if words.first() != Some(&"RESHARD") {
        return None;
    }
    let after = |kw: &str| {
        let start = upper.find(kw).map(|i| i + kw.len()).unwrap_or(text.len());
        &text[start..]
    };
    Some(match words.get(1).copied() {
        Some("PLAN") => literal(after("PLAN"))
            .map(|(t, _)| Reshard::Plan(t))
            .ok_or_else(|| syntax("PLAN (a quoted rules text follows)")),
        Some("START") => match literal(after("START")) {
            Some((t, rest)) => options(rest).map(|o| Reshard::Start(t, o)),
            None => Err(syntax("START (a quoted rules text follows)")),
        },
        Some("VERIFY") if words.len() == 2 => Ok(Reshard::Verify),
        Some("CUTOVER") if words.len() == 2 => Ok(Reshard::Cutover),
        Some("ROLLBACK") if words.len() == 2 => Ok(Reshard::Rollback),
        Some("CANCEL") if words.len() == 2 => Ok(Reshard::Cancel),
        Some("COMPLETE") => match &words[2..] {
            [] => Ok(Reshard::Complete {
                drop_sources: false,
            }),
            ["DROP", "SOURCES"] => Ok(Reshard::Complete { drop_sources: true }),
            _ => Err(syntax(&words[2..].join(" "))),
        },
        other => Err(syntax(other.unwrap_or(""))),
    })
}

fn cell(s: impl Into<String>) -> Option<Bytes> {
    Some(Bytes::from(s.into()))
}

fn no_job() -> SqlError {
    SqlError::new(
        1105,
        "HY000",
        "RESHARD: no job (start one with RESHARD START)",
    )
}

impl Session {
    pub(crate) async fn reshard(
        &mut self,
        cmd: Reshard,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        self.require_admin("RESHARD")?;
        let shared = self.shared.clone();
        let job = shared.reshard_job();
        match cmd {
            Reshard::Plan(text) => {
                let planned = crate::reshard::cutover::plan_job(&shared, &text).await?;
                let (forward, est) = (planned.forward, planned.estimates);
                let cols = vec![
                    ColumnDef::text("table"),
                    ColumnDef::text("from"),
                    ColumnDef::text("to"),
                    ColumnDef::bigint("rows_estimate"),
                ];
                let mut rows: Vec<Row> = Vec::new();
                for (m, e) in forward.plan.moves.iter().zip(est) {
                    let d = m.describe();
                    let (_, rest) = d.split_once(": ").unwrap_or(("", &d));
                    let (from, to) = rest.split_once(" -> ").unwrap_or((rest, ""));
                    rows.push(vec![
                        cell(format!("{}.{}", m.db, m.table)),
                        cell(from),
                        cell(to),
                        cell(e.to_string()),
                    ]);
                }
                for n in &forward.plan.notes {
                    rows.push(vec![cell("(note)"), cell(n.clone()), None, None]);
                }
                w.rows(&cols, &rows).await?;
                return Ok(());
            }
            Reshard::Start(text, opts) => {
                crate::reshard::cutover::start(&shared, text, opts).await?;
            }
            Reshard::Status => {
                let job = job.ok_or_else(no_job)?;
                let cols = vec![ColumnDef::text("name"), ColumnDef::text("value")];
                let rows: Vec<Row> = crate::reshard::status(&job)
                    .into_iter()
                    .map(|(k, v)| vec![cell(k), cell(v)])
                    .collect();
                w.rows(&cols, &rows).await?;
                return Ok(());
            }
            Reshard::Verify => {
                let job = job.ok_or_else(no_job)?;
                let flow = if job.phase() == crate::reshard::state::Phase::CutOver {
                    job.reverse.clone()
                } else {
                    job.forward.clone()
                };
                let report = crate::reshard::verify::verify(&flow, || async {
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                    Ok(())
                })
                .await
                .map_err(|e| SqlError::new(1105, "HY000", format!("RESHARD VERIFY: {e}")))?;
                let cols = vec![
                    ColumnDef::text("table"),
                    ColumnDef::bigint("source_rows"),
                    ColumnDef::text("result"),
                    ColumnDef::text("missing"),
                    ColumnDef::text("extra"),
                    ColumnDef::text("different"),
                ];
                let rows: Vec<Row> = report
                    .tables
                    .iter()
                    .map(|t| {
                        vec![
                            cell(t.table.clone()),
                            cell(t.source_rows.to_string()),
                            cell(if t.equal() { "equal" } else { "different" }),
                            cell(t.missing.join(" ")),
                            cell(t.extra.join(" ")),
                            cell(t.different.join(" ")),
                        ]
                    })
                    .collect();
                w.rows(&cols, &rows).await?;
                return Ok(());
            }
            Reshard::Cutover => job.ok_or_else(no_job)?.command(Command::Cutover),
            Reshard::Rollback => job.ok_or_else(no_job)?.command(Command::Rollback),
            Reshard::Cancel => {
                let job = job.ok_or_else(no_job)?;
                if matches!(
                    job.phase(),
                    crate::reshard::state::Phase::CutOver
                        | crate::reshard::state::Phase::CuttingOver
                ) {
                    return Err(SqlError::new(
                        1105,
                        "HY000",
                        "RESHARD CANCEL: the job has cut over; use RESHARD ROLLBACK or RESHARD COMPLETE",
                    )
                    .into());
                }
                job.command(Command::Cancel)
            }
            Reshard::Complete { drop_sources } => job
                .ok_or_else(no_job)?
                .command(Command::Complete { drop_sources }),
        }
        w.ok(&Default::default()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements() {
        let cases: Vec<(&str, Option<Reshard>)> = vec![
            ("SHOW RESHARD STATUS", Some(Reshard::Status)),
            ("show reshard status;", Some(Reshard::Status)),
            ("SHOW TABLES", None),
            (
                "RESHARD PLAN 'a = \"x\"\\n# it''s'",
                Some(Reshard::Plan("a = \"x\"\n# it's".into())),
            ),
            (
                "RESHARD START 'r' CUTOVER MANUAL MAX_ROWS_PER_SEC 500",
                Some(Reshard::Start(
                    "r".into(),
                    Options {
                        manual_cutover: true,
                        max_rows_per_sec: Some(500),
                    },
                )),
            ),
            (
                "RESHARD COMPLETE DROP SOURCES",
                Some(Reshard::Complete { drop_sources: true }),
            ),
            ("reshard cutover", Some(Reshard::Cutover)),
        ];
        for (sql, want) in cases {
            assert_eq!(parse(sql).map(|r| r.unwrap()), want, "{sql}");
        }
        for bad in [
            "RESHARD START",
            "RESHARD START 'x' FAST",
            "RESHARD DANCE",
            "RESHARD PLAN 'open",
        ] {
            assert_eq!(parse(bad).unwrap().unwrap_err().code, 1064, "{bad}");
        }
    }
}

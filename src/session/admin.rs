//! The proxy's administration statements, answered from its own state (no backend round
//! trip, so they work while a data source is frozen):
//! - `SHOW SHARDING DATA SOURCES` (admin users): one row per data source.
//! - `SHOW SHARDING RULES` (admin users): the rules file served, its version, when loaded.
//! - `RELOAD RULES` (admin users): read the rules file again (see [`crate::reload`]).
//! - `SHOW [FULL] PROCESSLIST`: the proxy's client sessions (admins see all, other users
//!   their own, as MySQL without the PROCESS privilege).
//! - `KILL [QUERY | CONNECTION] <id>`: a proxy session id, as `SHOW PROCESSLIST` and
//!   `CONNECTION_ID()` give it (admins any, other users their own sessions); the session's
//!   backend work is stopped too.

use super::{FlowResult, Session};
use crate::error::SqlError;
use crate::protocol::writer::ResultWriter;
use crate::result::{ColumnDef, Row};
use bytes::Bytes;

/// An administration statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Admin {
    DataSources,
    Rules,
    Reload,
    Processlist { full: bool },
    Kill { query: bool, id: u32 },
}

/// Recognise an administration statement (comments already removed by the scanner).
pub(crate) fn parse(sql: &str) -> Option<Admin> {
    let text = sql.trim().trim_end_matches(';').trim();
    let words: Vec<String> = text
        .split_ascii_whitespace()
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let mut w: Vec<&str> = words.iter().map(String::as_str).collect();
    // MariaDB's `KILL HARD | SOFT`: the proxy's KILL is always soft (the statement ends at
    // its next check, the backend work gets KILL QUERY).
    if w.first() == Some(&"KILL") && matches!(w.get(1), Some(&"HARD") | Some(&"SOFT")) {
        w.remove(1);
    }
    match w.as_slice() {
        ["SHOW", "SHARDING", "DATA", "SOURCES"] => Some(Admin::DataSources),
        ["SHOW", "SHARDING", "RULES"] => Some(Admin::Rules),
        ["RELOAD", "RULES"] | ["RELOAD", "SHARDING", "RULES"] => Some(Admin::Reload),
        ["SHOW", "PROCESSLIST"] => Some(Admin::Processlist { full: false }),
        ["SHOW", "FULL", "PROCESSLIST"] => Some(Admin::Processlist { full: true }),
        ["KILL", id] => Some(Admin::Kill {
            query: false,
            id: id.parse().ok()?,
        }),
        ["KILL", "CONNECTION", id] => Some(Admin::Kill {
            query: false,
            id: id.parse().ok()?,
        }),
        ["KILL", "QUERY", id] => Some(Admin::Kill {
            query: true,
            id: id.parse().ok()?,
        }),
        _ => None,
    }
}

fn cell(s: impl Into<String>) -> Option<Bytes> {
    Some(Bytes::from(s.into()))
}

impl Session {
    pub(crate) async fn admin(&mut self, cmd: Admin, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        match cmd {
            Admin::DataSources => self.show_data_sources(w).await,
            Admin::Rules => self.show_rules(w).await,
            Admin::Reload => self.reload_rules(w).await,
            Admin::Processlist { full } => self.show_processlist(full, w).await,
            Admin::Kill { query, id } => self.kill(query, id, w).await,
        }
    }

    pub(super) fn require_admin(&self, what: &str) -> Result<(), SqlError> {
        if self.is_admin() {
            return Ok(());
        }
        Err(SqlError::new(
            1227,
            "42000",
            format!("Access denied; you need (at least one of) the shardgate admin privilege(s) for this operation ({what})"),
        ))
    }

    async fn show_data_sources(&mut self, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        self.require_admin("SHOW SHARDING DATA SOURCES")?;
        let names = [
            "name",
            "address",
            "database",
            "health",
            "breaker",
            "pool_size",
            "in_use",
            "idle",
            "waiting",
            "trips",
            "last_ok_ms_ago",
            "last_error",
        ];
        let cols: Vec<ColumnDef> = names.iter().map(|n| ColumnDef::text(n)).collect();
        let mut rows: Vec<Row> = Vec::new();
        for b in self.shared.backends.all() {
            let ds = b.config();
            let h = b.health.snapshot();
            rows.push(vec![
                cell(b.name()),
                cell(format!("{}:{}", ds.host, ds.port)),
                cell(ds.database.clone()),
                cell(if b.is_down() { "down" } else { "up" }),
                cell(h.state.as_str()),
                cell(b.size().to_string()),
                cell(b.in_use().to_string()),
                cell(b.idle_count().to_string()),
                cell(b.waiting().to_string()),
                cell(h.trips.to_string()),
                h.last_ok_ago
                    .map(|d| cell(d.as_millis().to_string()))
                    .unwrap_or(None),
                h.last_error.map(cell).unwrap_or(None),
            ]);
        }
        w.rows(&cols, &rows).await?;
        Ok(())
    }

    async fn show_rules(&mut self, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        self.require_admin("SHOW SHARDING RULES")?;
        let served = self.shared.rules.served();
        let cols = vec![
            ColumnDef::bigint("version"),
            ColumnDef::text("source"),
            ColumnDef::text("loaded_at_utc"),
        ];
        let loaded = served
            .loaded_at
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| {
                let secs = d.as_secs() as i64;
                let (y, m, day) = crate::rules::datetime::civil_from_days(secs.div_euclid(86_400));
                let t = secs.rem_euclid(86_400);
                format!(
                    "{y:04}-{m:02}-{day:02} {:02}:{:02}:{:02}",
                    t / 3600,
                    t / 60 % 60,
                    t % 60
                )
            })
            .unwrap_or_default();
        let source = served
            .path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(built in)".into());
        let rows = vec![vec![
            cell(served.version.to_string()),
            cell(source),
            cell(loaded),
        ]];
        w.rows(&cols, &rows).await?;
        Ok(())
    }

    async fn reload_rules(&mut self, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        self.require_admin("RELOAD RULES")?;
        let shared = self.shared.clone();
        let done = shared.reload().await?;
        let info = if done.changes.is_empty() {
            format!("Rules unchanged (version {})", done.version)
        } else {
            format!(
                "Rules version {}: {}",
                done.version,
                done.changes
                    .iter()
                    .map(|c| format!("{} {}", c.path, c.how))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        w.ok(&crate::result::OkInfo {
            info,
            ..Default::default()
        })
        .await?;
        Ok(())
    }

    async fn show_processlist(&mut self, full: bool, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        let admin = self.is_admin();
        let cols = vec![
            ColumnDef::bigint("Id"),
            ColumnDef::text("User"),
            ColumnDef::text("Host"),
            ColumnDef::text("db"),
            ColumnDef::text("Command"),
            ColumnDef::bigint("Time"),
            ColumnDef::text("State"),
            ColumnDef::text("Info"),
            ColumnDef::text("Progress"),
            ColumnDef::text("Backends"),
        ];
        let mut rows: Vec<Row> = Vec::new();
        for s in self.shared.sessions.all() {
            let r = s.row(full);
            if !admin && r.user != self.user {
                continue;
            }
            let state = if r.command == "Query" {
                "executing"
            } else {
                ""
            };
            rows.push(vec![
                cell(r.id.to_string()),
                cell(r.user),
                cell(r.host),
                r.db.map(cell).unwrap_or(None),
                cell(r.command),
                cell(r.time.to_string()),
                cell(state),
                r.info.map(cell).unwrap_or(None),
                cell("0.000"),
                cell(r.backends.join(",")),
            ]);
        }
        w.rows(&cols, &rows).await?;
        Ok(())
    }

    async fn kill(&mut self, query: bool, id: u32, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        let Some(target) = self.shared.sessions.get(id) else {
            return Err(SqlError::new(1094, "HY000", format!("Unknown thread id: {id}")).into());
        };
        if !self.is_admin() && target.user() != self.user {
            return Err(
                SqlError::new(1095, "HY000", format!("You are not owner of thread {id}")).into(),
            );
        }
        if id == self.conn_id {
            if query {
                // The statement running is this KILL.
                w.ok(&Default::default()).await?;
                return Ok(());
            }
            target.kill_connection();
            return Err(SqlError::new(1927, "70100", "Connection was killed").into());
        }
        if query {
            target.kill_query();
        } else {
            target.kill_connection();
        }
        w.ok(&Default::default()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, Admin};

    #[test]
    fn statements() {
        let cases = [
            ("SHOW SHARDING DATA SOURCES", Some(Admin::DataSources)),
            ("show  sharding data sources ;", Some(Admin::DataSources)),
            ("SHOW PROCESSLIST", Some(Admin::Processlist { full: false })),
            (
                "show full processlist",
                Some(Admin::Processlist { full: true }),
            ),
            (
                "KILL 12",
                Some(Admin::Kill {
                    query: false,
                    id: 12,
                }),
            ),
            (
                "kill connection 3",
                Some(Admin::Kill {
                    query: false,
                    id: 3,
                }),
            ),
            ("KILL QUERY 7", Some(Admin::Kill { query: true, id: 7 })),
            ("KILL QUERY x", None),
            ("KILL -1", None),
            ("SHOW SHARDING RULES", Some(Admin::Rules)),
            ("reload rules;", Some(Admin::Reload)),
            ("RELOAD RULES NOW", None),
            ("KILL USER bob", None),
            (
                "KILL HARD QUERY 8",
                Some(Admin::Kill { query: true, id: 8 }),
            ),
            (
                "kill soft 9",
                Some(Admin::Kill {
                    query: false,
                    id: 9,
                }),
            ),
            ("KILL HARD", None),
        ];
        for (sql, want) in cases {
            assert_eq!(parse(sql), want, "{sql}");
        }
    }
}

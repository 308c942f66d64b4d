//! Live rule changes: the rules file a proxy serves, and `RELOAD RULES` / SIGHUP.
//!
//! A reload reads the file again, validates it exactly as `shardgate check` does, and
//! compares it with the file being served ([`crate::rules::diff`]). When every change is
//! one a running proxy takes (users and their rights, `[limits]`, `[firewall]`, and new
//! tables, algorithms and logical databases over the data sources it has), they are swapped
//! in atomically: statements already running finish under what they started with, a
//! transaction keeps the tables it started with until it ends ([`crate::served`]), later
//! ones see the new rules. Otherwise nothing changes and the answer lists what needs a
//! restart or `shardgate reshard`.

use crate::error::SqlError;
use crate::rules::diff::{Apply, Change};
use crate::rules::{Account, Config};
use crate::server::Shared;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// The rules file being served.
#[derive(Debug, Default)]
pub struct RulesSource {
    inner: Mutex<Served>,
}

#[derive(Debug, Clone)]
pub struct Served {
    /// Where the rules came from (None: built in, such as the demo's, or given by a test).
    pub path: Option<PathBuf>,
    /// The text being served (what a reload compares with).
    pub text: String,
    /// 1 at start, one more per applied reload.
    pub version: u64,
    pub loaded_at: SystemTime,
}

impl Default for Served {
    fn default() -> Served {
        Served {
            path: None,
            text: String::new(),
            version: 1,
            loaded_at: SystemTime::now(),
        }
    }
}

impl RulesSource {
    /// The file the proxy was started with.
    pub fn set(&self, path: Option<PathBuf>, text: String) {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        s.path = path;
        s.text = text;
    }

    pub fn served(&self) -> Served {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Accounts by name, shared with sessions.
pub fn accounts(config: &Config) -> BTreeMap<String, Arc<Account>> {
    config
        .accounts
        .iter()
        .map(|(n, a)| (n.clone(), Arc::new(a.clone())))
        .collect()
}

fn reload_error(message: String) -> SqlError {
    SqlError::new(1105, "HY000", message)
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub version: u64,
    pub changes: Vec<Change>,
}

impl Shared {
    /// Read the rules file again and apply it if every change can be taken live (see the
    /// module documentation). Serialised: two reloads never interleave.
    pub async fn reload(&self) -> Result<Reloaded, SqlError> {
        static RELOADING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _one = RELOADING.lock().await;
        // A rotated slow-query log is reopened whatever the rules say.
        self.slow.reopen();
        let served = self.rules.served();
        let Some(path) = served.path.clone() else {
            return Err(reload_error(
                "RELOAD RULES: this proxy was not started from a rules file".into(),
            ));
        };
        let origin = path.display().to_string();
        let text = tokio::fs::read_to_string(&path).await.map_err(|e| {
            reload_error(format!(
                "RELOAD RULES: {origin}: {e}; the rules in use are unchanged"
            ))
        })?;
        let config = crate::rules::parse(&text, &origin)
            .map_err(|e| reload_error(format!("{e}; the rules in use are unchanged")))?;
        let mut changes = crate::rules::diff::diff_text(&served.text, &text)
            .map_err(|e| reload_error(format!("RELOAD RULES: {origin}: {e}")))?;
        let now = self.served.load_full();
        for c in changes.iter_mut() {
            self.check_added_table(&now, &config, c).await?;
        }
        let current = self.limits.load();
        let limits = crate::limits::Limits::reloaded(&config, &current);
        if limits.is_none() {
            changes.push(Change {
                path: "limits.max_transactions".into(),
                how: "changed",
                apply: Apply::Restart,
            });
        }
        let refused: Vec<String> = changes
            .iter()
            .filter(|c| c.apply != Apply::Live)
            .map(ToString::to_string)
            .collect();
        if !refused.is_empty() {
            return Err(reload_error(format!(
                "RELOAD RULES: {origin} changes what a reload cannot apply: {}; nothing was changed",
                refused.join("; ")
            )));
        }
        let Some(limits) = limits else {
            return Err(reload_error("RELOAD RULES: limits".into()));
        };
        if changes.is_empty() {
            return Ok(Reloaded {
                version: served.version,
                changes,
            });
        }
        if changes.iter().any(|c| c.path.starts_with("data_sources.")) {
            // Before the tables: new ones may live on new data sources.
            let fresh = self.backends.replace(&config);
            tracing::info!("data sources with new connections: {}", fresh.join(", "));
        }
        if changes.iter().any(|c| c.path.starts_with("databases.")) {
            // New tables or databases: the catalog learns their columns before any
            // statement can plan against them.
            let next = crate::served::Served::from_config(&config, now.version + 1);
            self.catalog.load(&next, &self.backends).await?;
            self.served.store(Arc::new(next));
        }
        self.accounts.store(Arc::new(accounts(&config)));
        self.limits.store(Arc::new(limits));
        self.slow.set_threshold(config.limits.slow_query_ms);
        let version = {
            let mut s = self.rules.inner.lock().unwrap_or_else(|p| p.into_inner());
            s.text = text;
            s.version += 1;
            s.loaded_at = SystemTime::now();
            s.version
        };
        tracing::info!(
            "rules {origin} reloaded (version {version}): {}",
            changes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        );
        Ok(Reloaded { version, changes })
    }

    /// A table added to a logical database that exists is live only when no table of that
    /// name lives on its default data source already (statements reached it there; a rule
    /// for it would move its rows elsewhere). Two exceptions move nothing: a single table
    /// on that very data source, and a broadcast table whose copies all hold the same rows
    /// (`CHECKSUM TABLE` equal everywhere: the DBA copied it before adding the rule).
    async fn check_added_table(
        &self,
        now: &crate::served::Served,
        config: &Config,
        c: &mut Change,
    ) -> Result<(), SqlError> {
        use crate::rules::TableRule;
        if c.how != "added" || c.apply != Apply::Live {
            return Ok(());
        }
        let parts: Vec<&str> = c.path.split('.').collect();
        let ["databases", db, kind, table] = parts.as_slice() else {
            return Ok(());
        };
        if !matches!(*kind, "tables" | "broadcast_tables" | "single_tables") {
            return Ok(());
        }
        let Some(old) = now.database(db) else {
            return Ok(());
        };
        let ds = old.default_data_source.clone();
        let rule = config.databases.get(*db).and_then(|n| n.table(table));
        if matches!(rule, Some(TableRule::Single { data_source, .. }) if *data_source == ds) {
            return Ok(());
        }
        let sql = format!("CHECKSUM TABLE {}", crate::rewrite::ident(table));
        let Some(on_default) = self.table_checksum(&ds, table, &sql).await? else {
            return Ok(());
        };
        if let Some(TableRule::Broadcast { data_sources, .. }) = rule {
            let mut same = true;
            for other in data_sources.iter().filter(|d| **d != ds) {
                same &=
                    self.table_checksum(other, table, &sql).await?.as_ref() == Some(&on_default);
            }
            if same {
                return Ok(());
            }
            c.how = "added while its copies differ from the table on the default data source";
        } else {
            c.how = "added over a table that already exists on the default data source";
        }
        c.apply = Apply::Reshard;
        Ok(())
    }

    /// `CHECKSUM TABLE` of a physical table on a data source (None: no such table), on a
    /// connection of its own.
    async fn table_checksum(
        &self,
        ds: &str,
        table: &str,
        sql: &str,
    ) -> Result<Option<String>, SqlError> {
        let unreachable = |e: SqlError| {
            reload_error(format!(
                "RELOAD RULES: cannot check table {table} on data source {ds} ({}); nothing was changed",
                e.message
            ))
        };
        // A data source this reload adds cannot be looked at yet: its copy counts as absent.
        let Ok(backend) = self.backends.get(ds) else {
            return Ok(None);
        };
        let mut conn = backend
            .connect_unpooled()
            .await
            .map_err(|e| unreachable(e.to_sql()))?;
        let r = conn.collect(sql).await;
        conn.quit().await;
        let (_, rows) = r.map_err(|e| unreachable(e.to_sql()))?;
        // A missing table has a NULL checksum (and a warning).
        Ok(rows
            .first()
            .and_then(|r| r.get(1).cloned().flatten())
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// A reshard's cutover (or its rollback): serve `config` from now on. The rules file
    /// is replaced first (atomically: a restarted proxy serves either the old or the new
    /// rules, never a mix); then the data sources, the catalog and the snapshot are
    /// swapped. The caller holds new statements meanwhile ([`crate::gate`]).
    pub async fn switch_rules(&self, config: Config, text: String) -> Result<(), SqlError> {
        let served = self.rules.served();
        crate::txn::failpoint("reshard_switch_before_file");
        if let Some(path) = &served.path {
            crate::reshard::state::replace_file(path, &text).map_err(|e| {
                reload_error(format!(
                    "cannot write the new rules to {}: {e}",
                    path.display()
                ))
            })?;
        }
        crate::txn::failpoint("reshard_switch_after_file");
        let fresh = self.backends.replace(&config);
        tracing::info!(
            "reshard: data sources with new connections: {}",
            fresh.join(", ")
        );
        let now = self.served.load_full();
        let next = crate::served::Served::from_config(&config, now.version + 1);
        if let Err(e) = self.catalog.load(&next, &self.backends).await {
            tracing::warn!("reshard: catalog after the switch: {}", e.message);
        }
        self.served.store(Arc::new(next));
        self.accounts.store(Arc::new(accounts(&config)));
        if let Some(limits) = crate::limits::Limits::reloaded(&config, &self.limits.load()) {
            self.limits.store(Arc::new(limits));
        }
        let mut s = self.rules.inner.lock().unwrap_or_else(|p| p.into_inner());
        s.text = text;
        s.version += 1;
        s.loaded_at = SystemTime::now();
        Ok(())
    }
}

//! Live rule changes: the rules file a proxy serves, and `RELOAD RULES` / SIGHUP.
//!
//! A reload reads the file again, validates it exactly as `shardgate check` does, and
//! compares it with the file being served ([`crate::rules::diff`]). When every change is
//! one a running proxy takes (users and their rights, `[limits]`, `[firewall]`), they are
//! swapped in atomically: statements already running finish under what they started with,
//! later ones see the new rules. Otherwise nothing changes and the answer lists what needs
//! a restart or `shardgate reshard`.

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
    pub fn reload(&self) -> Result<Reloaded, SqlError> {
        static RELOADING: Mutex<()> = Mutex::new(());
        let _one = RELOADING.lock().unwrap_or_else(|p| p.into_inner());
        let served = self.rules.served();
        let Some(path) = served.path.clone() else {
            return Err(reload_error(
                "RELOAD RULES: this proxy was not started from a rules file".into(),
            ));
        };
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            reload_error(format!(
                "RELOAD RULES: {origin}: {e}; the rules in use are unchanged"
            ))
        })?;
        let config = crate::rules::parse(&text, &origin)
            .map_err(|e| reload_error(format!("{e}; the rules in use are unchanged")))?;
        let mut changes = crate::rules::diff::diff_text(&served.text, &text)
            .map_err(|e| reload_error(format!("RELOAD RULES: {origin}: {e}")))?;
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
}

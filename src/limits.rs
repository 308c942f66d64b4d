//! The rules' `[limits]` and `[firewall]`, compiled for the sessions: statement time
//! limits, rate limits (token buckets, `governor`), result limits, transaction admission and
//! the statements the firewall refuses. Error codes are MySQL's for the same situations:
//! 1226 (a resource limit), 1175 (safe-update mode), 1290 (an option prevents the
//! statement), 1040 (too busy).

use crate::error::SqlError;
use crate::rules::{Config, TableRule};
use crate::sql::fingerprint::fingerprint;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

pub struct Limits {
    statement_timeout: Option<Duration>,
    /// A user's or database's own limit (`None`: `0`, no limit, whatever the global one).
    user_timeouts: HashMap<String, Option<Duration>>,
    db_timeouts: HashMap<String, Option<Duration>>,
    user_rates: HashMap<String, (u32, DefaultDirectRateLimiter)>,
    statement_rates: HashMap<String, (u32, DefaultDirectRateLimiter)>,
    pub max_result_rows: u64,
    pub max_result_bytes: u64,
    /// Transactions holding pooled connections at once: with fewer of them than any pool
    /// has connections, a transaction waiting for a connection always gets one (two
    /// transactions can never each hold what the other waits for).
    pub transactions: Arc<Semaphore>,
    pub max_transactions: usize,
    require_where: bool,
    /// (logical database or None for any, table), lower-case.
    deny_scatter: Vec<(Option<String>, String)>,
    deny: HashSet<String>,
}

fn ms(v: u64) -> Option<Duration> {
    (v > 0).then(|| Duration::from_millis(v))
}

fn limiter(qps: u32) -> Option<(u32, DefaultDirectRateLimiter)> {
    let n = NonZeroU32::new(qps)?;
    Some((qps, RateLimiter::direct(Quota::per_second(n))))
}

impl Limits {
    pub fn from_config(config: &Config) -> Limits {
        let l = &config.limits;
        let smallest_pool = config
            .data_sources
            .values()
            .map(|d| d.pool_size.max(1))
            .min()
            .unwrap_or(1);
        let max_transactions =
            l.max_transactions
                .unwrap_or(smallest_pool.saturating_sub(1).max(1)) as usize;
        Limits {
            statement_timeout: ms(l.statement_timeout_ms),
            user_timeouts: l
                .users
                .iter()
                .filter_map(|(u, v)| Some((u.clone(), ms(v.statement_timeout_ms?))))
                .collect(),
            db_timeouts: l
                .databases
                .iter()
                .filter_map(|(d, v)| Some((d.to_lowercase(), ms(v.statement_timeout_ms?))))
                .collect(),
            user_rates: l
                .users
                .iter()
                .filter_map(|(u, v)| Some((u.clone(), limiter(v.max_qps)?)))
                .collect(),
            statement_rates: l
                .statements
                .iter()
                .filter_map(|s| Some((fingerprint(&s.statement), limiter(s.max_qps)?)))
                .collect(),
            max_result_rows: l.max_result_rows,
            max_result_bytes: l.max_result_bytes,
            transactions: Arc::new(Semaphore::new(max_transactions)),
            max_transactions,
            require_where: config.firewall.require_where,
            deny_scatter: config
                .firewall
                .deny_full_scatter
                .iter()
                .map(|t| match t.split_once('.') {
                    Some((d, t)) => (Some(d.to_lowercase()), t.to_lowercase()),
                    None => (None, t.to_lowercase()),
                })
                .collect(),
            deny: config
                .firewall
                .deny
                .iter()
                .map(|s| fingerprint(s))
                .collect(),
        }
    }

    /// The limits of a reloaded rules file, sharing the transaction slots of `previous`
    /// (transactions holding slots keep them). None when the number of slots changed: that
    /// takes a restart (two sets of slots at once could exceed a pool).
    pub fn reloaded(config: &Config, previous: &Limits) -> Option<Limits> {
        let mut next = Limits::from_config(config);
        if next.max_transactions != previous.max_transactions {
            return None;
        }
        next.transactions = previous.transactions.clone();
        Some(next)
    }

    /// The time limit of a statement: the user's, else its database's, else the global
    /// one; a `MAX_EXECUTION_TIME` hint (ms) may shorten it. `None`: no limit.
    pub fn timeout_for(
        &self,
        user: &str,
        db: Option<&str>,
        hint_ms: Option<u64>,
    ) -> Option<Duration> {
        let base = self
            .user_timeouts
            .get(user)
            .or_else(|| db.and_then(|d| self.db_timeouts.get(&d.to_lowercase())))
            .copied()
            .unwrap_or(self.statement_timeout);
        let hint = hint_ms.and_then(ms);
        match (base, hint) {
            (Some(b), Some(h)) => Some(b.min(h)),
            (b, h) => b.or(h),
        }
    }

    /// Whether statements need their fingerprint computed before they run.
    pub fn by_fingerprint(&self) -> bool {
        !self.statement_rates.is_empty() || !self.deny.is_empty()
    }

    /// The user's statement rate.
    pub fn admit_user(&self, user: &str) -> Result<(), SqlError> {
        match self.user_rates.get(user) {
            Some((qps, l)) if l.check().is_err() => Err(SqlError::new(
                1226,
                "42000",
                format!("User '{user}' has exceeded the 'max_qps' resource (current value: {qps})"),
            )),
            _ => Ok(()),
        }
    }

    /// The firewall's deny list and the statement's rate, by fingerprint.
    pub fn admit_statement(&self, fp: &str) -> Result<(), SqlError> {
        if self.deny.contains(fp) {
            return Err(SqlError::new(
                1290,
                "HY000",
                format!("The proxy is running with the [firewall] deny option so it cannot execute this statement ({fp})"),
            ));
        }
        match self.statement_rates.get(fp) {
            Some((qps, l)) if l.check().is_err() => Err(SqlError::new(
                1226,
                "42000",
                format!("The statement `{fp}` has exceeded its 'max_qps' resource (current value: {qps})"),
            )),
            _ => Ok(()),
        }
    }

    /// UPDATE / DELETE without WHERE on a sharded table (`require_where`).
    pub fn check_where(
        &self,
        has_where: bool,
        tables: &[(&str, &TableRule)],
    ) -> Result<(), SqlError> {
        if !self.require_where || has_where {
            return Ok(());
        }
        if let Some((t, _)) = tables
            .iter()
            .find(|(_, r)| matches!(r, TableRule::Sharded(_)))
        {
            return Err(SqlError::new(
                1175,
                "HY000",
                format!("You are using safe update mode and you tried to update a table without a WHERE that uses a KEY column (the [firewall] require_where option; sharded table {t})"),
            ));
        }
        Ok(())
    }

    /// A statement that reads every node of a table the firewall protects.
    pub fn check_scatter(&self, db: &str, tables: &[&str]) -> Result<(), SqlError> {
        let db = db.to_lowercase();
        for t in tables {
            let t = t.to_lowercase();
            let denied = self
                .deny_scatter
                .iter()
                .any(|(d, name)| *name == t && d.as_deref().is_none_or(|d| d == db));
            if denied {
                return Err(SqlError::new(
                    1290,
                    "HY000",
                    format!("The proxy is running with the [firewall] deny_full_scatter option so it cannot execute this statement (it reads every node of {t}; add a condition on its sharding key)"),
                ));
            }
        }
        Ok(())
    }

    pub fn denies_scatter(&self) -> bool {
        !self.deny_scatter.is_empty()
    }

    /// A result went past `max_result_rows` / `max_result_bytes`.
    pub fn result_error(user: &str, what: &str, limit: u64) -> SqlError {
        SqlError::new(
            1226,
            "42000",
            format!("User '{user}' has exceeded the '{what}' resource (current value: {limit})"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(extra: &str) -> Limits {
        limits_and_config(extra).0
    }

    fn limits_and_config(extra: &str) -> (Limits, crate::rules::Config) {
        let text = format!(
            r#"
[data_sources.ds_0]
host = "127.0.0.1"
port = 3306
user = "root"
database = "d0"
pool_size = 8
[data_sources.ds_1]
host = "127.0.0.1"
port = 3307
user = "root"
database = "d1"
pool_size = 4
[databases.shop]
default_data_source = "ds_0"
[[databases.shop.users]]
name = "app"
[[databases.shop.users]]
name = "ops"
[databases.shop.tables.t_order]
actual_data_nodes = "ds_${{0..1}}.t_order"
database_strategy = {{ column = "user_id", algorithm = "m" }}
[databases.shop.algorithms.m]
type = "mod"
sharding_count = 2
{extra}
"#
        );
        let config = crate::rules::parse(&text, "test").expect("rules");
        (Limits::from_config(&config), config)
    }

    #[test]
    fn timeouts_most_specific_first_hint_shortens() {
        let l = limits(
            "[limits]\nstatement_timeout_ms = 5000\n[limits.users.app]\nstatement_timeout_ms = 2000\n[limits.databases.shop]\nstatement_timeout_ms = 3000\n",
        );
        let d = Duration::from_millis;
        let cases = [
            ("app", Some("shop"), None, Some(d(2000))),
            ("ops", Some("shop"), None, Some(d(3000))),
            ("ops", Some("SHOP"), None, Some(d(3000))),
            ("ops", None, None, Some(d(5000))),
            ("ops", None, Some(100), Some(d(100))),
            ("app", None, Some(90_000), Some(d(2000))),
        ];
        for (user, db, hint, want) in cases {
            assert_eq!(
                l.timeout_for(user, db, hint),
                want,
                "{user} {db:?} {hint:?}"
            );
        }
        // `0` for a user or a database: no limit, whatever the global one (a hint still applies).
        let exempt = limits(
            "[limits]\nstatement_timeout_ms = 5000\n[limits.users.ops]\nstatement_timeout_ms = 0\n[limits.databases.shop]\nstatement_timeout_ms = 0\n[limits.users.app]\nstatement_timeout_ms = 10\n",
        );
        assert_eq!(exempt.timeout_for("ops", None, None), None);
        assert_eq!(exempt.timeout_for("nobody", Some("shop"), None), None);
        assert_eq!(exempt.timeout_for("ops", None, Some(70)), Some(d(70)));
        assert_eq!(exempt.timeout_for("app", Some("shop"), None), Some(d(10)));
        assert_eq!(exempt.timeout_for("nobody", None, None), Some(d(5000)));
        let none = limits("");
        assert_eq!(none.timeout_for("app", None, None), None);
        assert_eq!(none.timeout_for("app", None, Some(50)), Some(d(50)));
    }

    #[test]
    fn transactions_default_below_the_smallest_pool() {
        assert_eq!(limits("").max_transactions, 3);
        assert_eq!(
            limits("[limits]\nmax_transactions = 9\n").max_transactions,
            9
        );
    }

    #[test]
    fn rates_and_deny_list_by_fingerprint() {
        let l = limits(
            "[limits.users.app]\nmax_qps = 2\n[[limits.statements]]\nstatement = \"UPDATE t_order SET s = 1 WHERE user_id = 5\"\nmax_qps = 1\n[firewall]\ndeny = [\"SELECT * FROM t_order WHERE note LIKE '%x%'\"]\n",
        );
        assert!(l.by_fingerprint());
        assert!(l.admit_user("app").is_ok() && l.admit_user("app").is_ok());
        assert_eq!(l.admit_user("app").map_err(|e| e.code), Err(1226));
        assert!(l.admit_user("ops").is_ok());
        let fp = fingerprint("update t_order set s = 7 where user_id = 9");
        assert!(l.admit_statement(&fp).is_ok());
        assert_eq!(l.admit_statement(&fp).map_err(|e| e.code), Err(1226));
        let denied = fingerprint("select * from t_order where note like '%y%'");
        assert_eq!(l.admit_statement(&denied).map_err(|e| e.code), Err(1290));
    }

    #[test]
    fn firewall_where_and_scatter() {
        let (l, config) = limits_and_config(
            "[firewall]\nrequire_where = true\ndeny_full_scatter = [\"shop.t_order\"]\n",
        );
        let rule = &config.databases["shop"].tables["t_order"];
        assert!(l.check_where(true, &[("t_order", rule)]).is_ok());
        assert_eq!(
            l.check_where(false, &[("t_order", rule)])
                .map_err(|e| e.code),
            Err(1175)
        );
        assert!(l.check_scatter("shop", &["t_user"]).is_ok());
        assert_eq!(
            l.check_scatter("SHOP", &["T_ORDER"]).map_err(|e| e.code),
            Err(1290)
        );
        assert!(l.check_scatter("other", &["t_order"]).is_ok());
        let (off, _) = limits_and_config("");
        assert!(off.check_where(false, &[("t_order", rule)]).is_ok());
    }
}

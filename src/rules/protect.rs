//! Protection settings of the rules: `[health]` (probes and circuit breakers), `[limits]`
//! (statement time, transactions, results, rates) and `[firewall]`. Every limit is off or
//! generous unless configured, except the breaker, which is on by default.

use serde::Deserialize;
use std::collections::BTreeMap;

/// `[health]`: how data sources are probed and when their circuit breakers open.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Circuit breaking on or off (off: a data source is only probed after a failed
    /// connection attempt, until it answers).
    #[serde(default = "yes")]
    pub circuit_breaker: bool,
    /// Time between two probes of a data source.
    #[serde(default = "default_probe_interval_ms")]
    pub probe_interval_ms: u64,
    /// Longest wait for a probe's answer (connect and ping).
    #[serde(default = "default_probe_timeout_ms")]
    pub probe_timeout_ms: u64,
    /// Consecutive failures (probes, connection attempts) that open the breaker.
    #[serde(default = "default_failures")]
    pub failures: u32,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            circuit_breaker: true,
            probe_interval_ms: default_probe_interval_ms(),
            probe_timeout_ms: default_probe_timeout_ms(),
            failures: default_failures(),
        }
    }
}

impl HealthConfig {
    pub fn settings(&self) -> crate::backend::HealthSettings {
        use std::time::Duration;
        crate::backend::HealthSettings {
            enabled: self.circuit_breaker,
            interval: Duration::from_millis(self.probe_interval_ms.max(1)),
            timeout: Duration::from_millis(self.probe_timeout_ms.max(1)),
            failures: self.failures.max(1),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_probe_interval_ms() -> u64 {
    1000
}
fn default_probe_timeout_ms() -> u64 {
    1000
}
fn default_failures() -> u32 {
    2
}

/// `[limits]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Longest a statement may run, in ms (0: no limit). Per user and per database below;
    /// a session's `max_statement_time` and a `MAX_EXECUTION_TIME` hint may shorten it.
    #[serde(default)]
    pub statement_timeout_ms: u64,
    /// Transactions holding pooled connections at once (default: the smallest
    /// `pool_size` less one, so a transaction waiting for a connection always gets one).
    #[serde(default)]
    pub max_transactions: Option<u32>,
    /// Most rows one result may have (0: no limit).
    #[serde(default)]
    pub max_result_rows: u64,
    /// Most bytes of rows one result may have (0: no limit).
    #[serde(default)]
    pub max_result_bytes: u64,
    /// Statements running at least this long go to the slow-query log (0: none).
    #[serde(default = "default_slow_query_ms")]
    pub slow_query_ms: u64,
    /// Per user: `[limits.users.<name>]`.
    #[serde(default)]
    pub users: BTreeMap<String, UserLimits>,
    /// Per logical database: `[limits.databases.<name>]`.
    #[serde(default)]
    pub databases: BTreeMap<String, DatabaseLimits>,
    /// Per statement fingerprint: `[[limits.statements]]`.
    #[serde(default)]
    pub statements: Vec<StatementLimit>,
}

fn default_slow_query_ms() -> u64 {
    1000
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserLimits {
    /// Statements per second (a burst of as many is allowed); 0: no limit.
    #[serde(default)]
    pub max_qps: u32,
    #[serde(default)]
    pub statement_timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseLimits {
    #[serde(default)]
    pub statement_timeout_ms: Option<u64>,
}

/// A rate limit for one statement shape (all users together).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementLimit {
    /// A statement of that shape (literals do not matter: it is compared by fingerprint).
    pub statement: String,
    pub max_qps: u32,
}

/// `[firewall]`: statements refused before they reach a data source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallConfig {
    /// Refuse UPDATE and DELETE without WHERE on sharded tables.
    #[serde(default)]
    pub require_where: bool,
    /// Logical tables (`table` or `db.table`) a statement may not read on every node.
    #[serde(default)]
    pub deny_full_scatter: Vec<String>,
    /// Statements refused by shape (compared by fingerprint).
    #[serde(default)]
    pub deny: Vec<String>,
}

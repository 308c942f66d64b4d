//! Sharding rules: loading, validation and the sharding algorithms.
//!
//! A rules file (TOML, documented in `docs/rules.md`) declares the proxy's
//! listener, the physical data sources and the logical databases with their
//! sharded, broadcast and single tables. [`load`] / [`parse`] turn it into a
//! validated [`Config`]; [`ShardedTable::route`] maps predicate values on the
//! sharding columns to data nodes.
//!
//! Submodules:
//! - `config`: serde shapes of the file (plus [`ServerConfig`], [`DataSourceConfig`]).
//! - `model`: the validated, public configuration types and [`Config::summary`].
//! - `inline`: `ds_${0..1}.t_${['a','b']}` node expressions and `t_${id % 2}` inline expressions.
//! - `values`: [`ShardValue`] / [`Values`], numeric and hash canonicalisation.
//! - `datetime`: datetime parsing and interval periods.
//! - `algorithm`: [`Algorithm`] and how each kind selects targets.
//! - `route`: [`ShardedTable::route`].
//! - `validate`: raw file → [`Config`], with all the consistency checks.
//! - `error`: [`RulesError`], [`RouteError`].
//! - `diff`: what changes between two rules files and how a running proxy takes it.

mod algorithm;
mod config;
pub(crate) mod datetime;
pub mod diff;
mod error;
mod inline;
mod model;
mod protect;
mod route;
mod validate;
mod validate_algo;
mod values;

#[cfg(test)]
mod tests_algorithm;
#[cfg(test)]
mod tests_config;
#[cfg(test)]
mod tests_route;
#[cfg(test)]
mod tests_validate;

use std::path::Path;

pub use algorithm::{Algorithm, AlgorithmKind, SlotRange};
pub use config::{
    parse_utc_datetime_ms, AuthPlugin, DataSourceConfig, ServerConfig, Sha2Cache, UserConfig,
};
pub use datetime::IntervalUnit;
pub use error::{RouteError, RulesError};
pub use inline::{expand_node_expression, InlineTemplate};
pub use model::{
    Account, Config, DataNode, KeyGenerator, KeyGeneratorKind, LogicalDatabase, ShardedTable,
    Strategy, TableRule,
};
pub use protect::{
    DatabaseLimits, FirewallConfig, HealthConfig, LimitsConfig, StatementLimit, UserLimits,
};
pub use values::{shard_hash, ShardValue, Values};

/// Default listen address of the proxy.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3307";
/// Default size of a data source's connection pool.
pub const DEFAULT_POOL_SIZE: u32 = 16;
/// Default `[server] snowflake_epoch`: the start of snowflake time (UTC).
pub const DEFAULT_SNOWFLAKE_EPOCH: &str = "2024-01-01T00:00:00Z";
/// Default `[server] max_clock_backwards_ms`.
pub const DEFAULT_MAX_CLOCK_BACKWARDS_MS: u64 = 10;
/// Largest accepted `max_clock_backwards_ms` (waits block a thread of the proxy).
pub const MAX_CLOCK_BACKWARDS_MS: u64 = 1000;
/// Collation used for hashing strings when an algorithm does not name one.
pub const DEFAULT_COLLATION: &str = "utf8mb4_general_ci";

/// Reads, parses and validates a rules file. Errors start with the file path.
pub fn load(path: &Path) -> Result<Config, RulesError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
        path: origin.clone(),
        source,
    })?;
    parse(&text, &origin)
}

/// Parses and validates rules text; `origin` (usually the file path) starts every error message.
pub fn parse(text: &str, origin: &str) -> Result<Config, RulesError> {
    let raw: config::RawConfig = toml::from_str(text).map_err(|e| {
        let (line, column) = match e.span() {
            Some(span) => line_col(text, span.start),
            None => (0, 0),
        };
        RulesError::Syntax {
            origin: origin.to_string(),
            line,
            column,
            message: e.message().trim().replace('\n', ": "),
        }
    })?;
    validate::build(raw, origin)
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut line = 1;
    let mut col = 1;
    for (i, ch) in text.char_indices() {
        if i >= offset {
            break;
        }
        if ch == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

//! shardgate — a SQL-aware MySQL-protocol sharding proxy.
//!
//! Module map (data flows top to bottom):
//! - [`protocol`]: the only code that speaks the client wire protocol (on mysql_common).
//! - [`session`]: per-connection state (database, autocommit, transaction, prepared statements).
//! - [`plan`]: statement → plan (route kind, per-node SQL, merge steps).
//! - [`route`]: pure: rules + predicates → data nodes.
//! - [`rewrite`]: pure: AST-guided edits of the client's SQL per data node.
//! - `session::exec` / `session::grouped`: run plans on backends, scatter in parallel,
//!   stream results (the execute stage).
//! - [`merge`]: pure: k-way ordered merge, limit/offset, grouping merge over shard streams.
//! - [`eval`]: pure: MySQL value/expression semantics and aggregate merging.
//! - [`backend`]: the only user of mysql_async (pools per data source).
//! - [`rules`]: loads and validates rule files; sharding algorithms.
//! - [`reload`]: live rule changes (RELOAD RULES, SIGHUP).
//! - [`catalog`]: columns and types of the logical tables (typed routing, primary keys).
//! - [`txn`]: XA ids, the durable decision log, recovery.
//! - [`id`]: snowflake key generation (ids filled into INSERTs before routing).
//! - [`collation`]: MySQL collations (utf8mb4_general_ci weights) and cell comparison.
//! - [`localdb`]: starts local `mariadbd` servers (demo and integration tests).
pub mod backend;
pub mod catalog;
pub mod charset;
pub mod collation;
pub mod convert;
pub mod demo;
pub mod error;
pub mod eval;
pub mod gate;
pub mod id;
pub mod limits;
pub mod localdb;
pub mod merge;
pub mod metrics;
pub mod plan;
pub mod protocol;
pub mod reload;
pub mod reshard;
pub mod result;
pub mod rewrite;
pub mod route;
pub mod rules;
pub mod served;
pub mod server;
pub mod session;
pub mod sessions;
pub mod slowlog;
pub mod sql;
pub mod txn;
pub mod upkeep;

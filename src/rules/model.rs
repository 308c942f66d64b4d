//! The validated configuration.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use super::algorithm::Algorithm;
use super::config::{DataSourceConfig, ServerConfig, UserConfig};

/// A loaded and validated rules file.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub data_sources: BTreeMap<String, DataSourceConfig>,
    /// Logical databases by name (as written; clients' `USE shop` should match it exactly or
    /// case-insensitively, the router decides).
    pub databases: BTreeMap<String, LogicalDatabase>,
    /// Client accounts by name: from `[[users]]` and every `[[databases.<db>.users]]`.
    pub accounts: BTreeMap<String, Account>,
    pub health: super::protect::HealthConfig,
    pub limits: super::protect::LimitsConfig,
    pub firewall: super::protect::FirewallConfig,
}

/// A client account of the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub password: String,
    /// May run the proxy's administration statements.
    pub admin: bool,
    /// The logical databases it may use (names as in the rules) and whether it may only
    /// read there.
    pub databases: BTreeMap<String, bool>,
}

impl Account {
    /// Whether the account may use this logical database (case-insensitive name).
    pub fn may_use(&self, db: &str) -> bool {
        self.databases.keys().any(|d| d.eq_ignore_ascii_case(db))
    }

    /// Whether the account may only read in this logical database.
    pub fn read_only_in(&self, db: &str) -> bool {
        self.databases
            .iter()
            .find(|(d, _)| d.eq_ignore_ascii_case(db))
            .is_none_or(|(_, ro)| *ro)
    }
}

/// One logical database (schema) clients see.
#[derive(Debug, Clone)]
pub struct LogicalDatabase {
    pub name: String,
    pub users: Vec<UserConfig>,
    /// Where unknown tables (and DDL for them) go.
    pub default_data_source: String,
    /// Every table rule, keyed by lower-case logical name.
    pub tables: HashMap<String, TableRule>,
    /// Binding table groups, lower-case names.
    pub binding_groups: Vec<Vec<String>>,
    /// Data sources this database uses, sorted: the explicit `data_sources` list, or the
    /// default data source plus every data source referenced by a table rule.
    /// Broadcast tables live on all of them.
    pub data_sources: Vec<String>,
    /// The named algorithms, as declared.
    pub algorithms: BTreeMap<String, Algorithm>,
}

impl LogicalDatabase {
    /// Table rule by logical name, case-insensitively.
    pub fn table(&self, name: &str) -> Option<&TableRule> {
        // Keys are lowercase: one lookup, and no allocation unless the name has capitals.
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.tables.get(&name.to_ascii_lowercase())
        } else {
            self.tables.get(name)
        }
    }

    /// Index into `binding_groups` of the group containing `table` (case-insensitive).
    pub fn binding_group_of(&self, table: &str) -> Option<usize> {
        let lower = table.to_ascii_lowercase();
        self.binding_groups.iter().position(|g| g.contains(&lower))
    }

    /// The data sources this database uses, sorted (see [`LogicalDatabase::data_sources`]).
    pub fn data_source_names(&self) -> Vec<&str> {
        self.data_sources.iter().map(String::as_str).collect()
    }

    /// The user with this name, if configured.
    pub fn user(&self, name: &str) -> Option<&UserConfig> {
        self.users.iter().find(|u| u.name == name)
    }
}

/// How one logical table is distributed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum TableRule {
    Sharded(ShardedTable),
    /// Full copy on each data source of the logical database.
    Broadcast {
        name: String,
        data_sources: Vec<String>,
    },
    /// Lives on exactly one data source, physical name = logical name.
    Single {
        name: String,
        data_source: String,
    },
}

impl TableRule {
    /// Logical name as written in the rules file.
    pub fn name(&self) -> &str {
        match self {
            TableRule::Sharded(t) => &t.name,
            TableRule::Broadcast { name, .. } | TableRule::Single { name, .. } => name,
        }
    }

    /// `"sharded"`, `"broadcast"` or `"single"`.
    pub fn kind(&self) -> &'static str {
        match self {
            TableRule::Sharded(_) => "sharded",
            TableRule::Broadcast { .. } => "broadcast",
            TableRule::Single { .. } => "single",
        }
    }

    pub fn as_sharded(&self) -> Option<&ShardedTable> {
        match self {
            TableRule::Sharded(t) => Some(t),
            _ => None,
        }
    }
}

/// One physical table: `data_source.table`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataNode {
    pub data_source: String,
    pub table: String,
}

impl std::fmt::Display for DataNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.data_source, self.table)
    }
}

/// A sharded table.
#[derive(Debug, Clone)]
pub struct ShardedTable {
    /// Logical name as written in the rules file.
    pub name: String,
    /// Data nodes in expansion order of `actual_data_nodes`.
    pub nodes: Vec<DataNode>,
    /// `actual_data_nodes` as written.
    pub actual_data_nodes: String,
    pub database_strategy: Option<Strategy>,
    pub table_strategy: Option<Strategy>,
    pub key_generator: Option<KeyGenerator>,
}

/// Sharding column + algorithm.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategy {
    /// Lower case.
    pub column: String,
    pub algorithm: Algorithm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyGeneratorKind {
    Snowflake,
}

/// `key_generator = { column = "order_id", type = "snowflake" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGenerator {
    /// Lower case.
    pub column: String,
    pub kind: KeyGeneratorKind,
}

impl ShardedTable {
    /// Distinct sharding columns (database strategy's first), lower case.
    pub fn sharding_columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in [&self.database_strategy, &self.table_strategy]
            .into_iter()
            .flatten()
        {
            if !out.contains(&s.column.as_str()) {
                out.push(&s.column);
            }
        }
        out
    }

    /// Distinct data sources of the nodes, in node order (database strategy targets).
    pub fn data_source_targets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for n in &self.nodes {
            if !out.contains(&n.data_source.as_str()) {
                out.push(&n.data_source);
            }
        }
        out
    }

    /// Distinct physical table names of the nodes, in node order (table strategy targets).
    pub fn table_targets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for n in &self.nodes {
            if !out.contains(&n.table.as_str()) {
                out.push(&n.table);
            }
        }
        out
    }
}

impl Config {
    /// Human-readable overview for `shardgate check`.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let s = &self.server;
        let _ = writeln!(out, "server: listen {}", s.listen);
        let _ = writeln!(
            out,
            "  server_version: {}",
            s.server_version.as_deref().unwrap_or("(from backend)")
        );
        let _ = writeln!(out, "  worker_id: {}", s.worker_id);
        if let Some(m) = s.max_connections {
            let _ = writeln!(out, "  max_connections: {m}");
        }
        let _ = writeln!(out, "data sources: {}", self.data_sources.len());
        for (name, ds) in &self.data_sources {
            let _ = writeln!(
                out,
                "  {name}: {}@{}:{}/{} (pool {})",
                ds.user, ds.host, ds.port, ds.database, ds.pool_size
            );
        }
        for db in self.databases.values() {
            db.write_summary(&mut out);
        }
        out
    }
}

impl LogicalDatabase {
    fn write_summary(&self, out: &mut String) {
        let users: Vec<&str> = self.users.iter().map(|u| u.name.as_str()).collect();
        let _ = writeln!(out, "logical database {}:", self.name);
        let _ = writeln!(out, "  users: {}", users.join(", "));
        let _ = writeln!(out, "  default data source: {}", self.default_data_source);
        let _ = writeln!(out, "  data sources: {}", self.data_sources.join(", "));
        for g in &self.binding_groups {
            let _ = writeln!(out, "  binding group: {}", g.join(", "));
        }
        let names: BTreeSet<&String> = self.tables.keys().collect();
        let _ = writeln!(out, "  tables: {}", names.len());
        for key in names {
            let Some(rule) = self.tables.get(key) else {
                continue;
            };
            match rule {
                TableRule::Sharded(t) => {
                    let _ = writeln!(
                        out,
                        "    {} (sharded): {} nodes = {}",
                        t.name,
                        t.nodes.len(),
                        t.actual_data_nodes
                    );
                    for (label, st) in [
                        ("database", &t.database_strategy),
                        ("table", &t.table_strategy),
                    ] {
                        if let Some(st) = st {
                            let _ = writeln!(
                                out,
                                "      {label} strategy: {} by {}",
                                st.column, st.algorithm.name
                            );
                        }
                    }
                    if let Some(k) = &t.key_generator {
                        let _ = writeln!(out, "      key generator: snowflake on {}", k.column);
                    }
                }
                TableRule::Broadcast { name, data_sources } => {
                    let _ = writeln!(out, "    {name} (broadcast): {}", data_sources.join(", "));
                }
                TableRule::Single { name, data_source } => {
                    let _ = writeln!(out, "    {name} (single): {data_source}");
                }
            }
        }
        let _ = writeln!(out, "  algorithms: {}", self.algorithms.len());
        for a in self.algorithms.values() {
            let _ = writeln!(out, "    {a}");
        }
    }
}

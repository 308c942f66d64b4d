//! The logical databases a proxy serves, as one immutable snapshot: the rules of each
//! database and the physical names that map back to logical ones. A reload that adds
//! tables or databases swaps the whole snapshot (`Shared::served`); a statement plans
//! against the snapshot it loaded, and a transaction keeps the one it started with until
//! it ends.

use crate::rules::{Config, LogicalDatabase, TableRule};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub struct Served {
    /// Counts snapshots (1 at start).
    pub version: u64,
    /// In the rules' order (name → rules).
    pub databases: BTreeMap<String, Arc<LogicalDatabase>>,
    /// Physical table name → logical table name, for result metadata and messages.
    pub physical_to_logical: HashMap<String, String>,
    /// Physical database names of the data sources → logical database name.
    pub physical_dbs: HashMap<String, String>,
}

impl Served {
    pub fn from_config(config: &Config, version: u64) -> Served {
        let mut physical_to_logical = HashMap::new();
        let mut physical_dbs = HashMap::new();
        for db in config.databases.values() {
            for ds in &db.data_sources {
                if let Some(d) = config.data_sources.get(ds) {
                    physical_dbs.insert(d.database.clone(), db.name.clone());
                }
            }
            for (name, rule) in &db.tables {
                if let TableRule::Sharded(s) = rule {
                    for n in &s.nodes {
                        physical_to_logical.insert(n.table.clone(), name.clone());
                    }
                }
            }
        }
        Served {
            version,
            databases: config
                .databases
                .iter()
                .map(|(k, v)| (k.clone(), Arc::new(v.clone())))
                .collect(),
            physical_to_logical,
            physical_dbs,
        }
    }

    /// A logical database by name (case-insensitive).
    pub fn database(&self, name: &str) -> Option<Arc<LogicalDatabase>> {
        self.databases
            .values()
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .cloned()
    }

    pub fn all(&self) -> impl Iterator<Item = &LogicalDatabase> {
        self.databases.values().map(|d| d.as_ref())
    }
}

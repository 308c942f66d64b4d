//! What changes between two rules files, and how a running proxy can take each change:
//! `shardgate check --config NEW --diff OLD` prints it, `RELOAD RULES` and SIGHUP apply
//! the live ones and refuse the rest.
//!
//! The comparison is of the files' TOML values (tables compare regardless of key order), so
//! comments and formatting are no change, while writing out a default that was implied is.

use std::collections::BTreeSet;
use toml::Value;

/// How a running proxy can take a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Apply {
    /// Applied by a reload: users and their rights, `[limits]`, `[firewall]`, new data
    /// sources and new addresses of existing ones, new tables, algorithms and logical
    /// databases.
    Live,
    /// Moves no rows, but this version applies it only at start (a restart).
    Restart,
    /// Changes where existing rows belong: `shardgate reshard` (not a reload).
    Reshard,
}

impl Apply {
    fn note(self) -> &'static str {
        match self {
            Apply::Live => "applied live",
            Apply::Restart => "needs a restart",
            Apply::Reshard => "moves rows: use `shardgate reshard`",
        }
    }
}

/// One change: the rules path it is at (`databases.shop.tables.t_order`), how, and how it
/// can be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub how: &'static str,
    pub apply: Apply,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.how, self.apply.note())
    }
}

/// The changes from `old` to `new` (TOML texts of rules files), in path order.
pub fn diff_text(old: &str, new: &str) -> Result<Vec<Change>, toml::de::Error> {
    let old: Value = toml::from_str(old)?;
    let new: Value = toml::from_str(new)?;
    Ok(diff(&old, &new))
}

fn table(v: Option<&Value>) -> Option<&toml::map::Map<String, Value>> {
    v.and_then(Value::as_table)
}

fn keys<'a>(a: Option<&'a Value>, b: Option<&'a Value>) -> BTreeSet<&'a String> {
    let mut k: BTreeSet<&String> = BTreeSet::new();
    for t in [table(a), table(b)].into_iter().flatten() {
        k.extend(t.keys());
    }
    k
}

fn get<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    table(v).and_then(|t| t.get(key))
}

struct Out(Vec<Change>);

impl Out {
    /// Record `path` if `a` and `b` differ: added, removed or changed, each applied as
    /// `apply` says.
    fn compare(
        &mut self,
        path: String,
        a: Option<&Value>,
        b: Option<&Value>,
        apply: impl Fn(&str) -> Apply,
    ) {
        let how = match (a, b) {
            (None, None) => return,
            (Some(x), Some(y)) if x == y => return,
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            _ => "changed",
        };
        self.0.push(Change {
            path,
            how,
            apply: apply(how),
        });
    }

    /// Each key of two tables compared on its own.
    fn each(
        &mut self,
        prefix: &str,
        a: Option<&Value>,
        b: Option<&Value>,
        apply: impl Fn(&str) -> Apply,
    ) {
        for k in keys(a, b) {
            self.compare(format!("{prefix}.{k}"), get(a, k), get(b, k), &apply);
        }
    }

    /// A list of names (or a table of name → data source): names added are live (new
    /// tables), names removed or changed move rows.
    fn names(&mut self, prefix: &str, a: Option<&Value>, b: Option<&Value>) {
        let entries = |v: Option<&Value>| -> Vec<(String, Option<Value>)> {
            match v {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        (
                            i.as_str().map_or_else(|| i.to_string(), str::to_string),
                            None,
                        )
                    })
                    .collect(),
                Some(Value::Table(t)) => t
                    .iter()
                    .map(|(k, v)| (k.clone(), Some(v.clone())))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let (ea, eb) = (entries(a), entries(b));
        let all: BTreeSet<&String> = ea.iter().chain(&eb).map(|(n, _)| n).collect();
        for name in all {
            let va = ea.iter().find(|(n, _)| n == name).map(|(_, v)| v);
            let vb = eb.iter().find(|(n, _)| n == name).map(|(_, v)| v);
            let how = match (va, vb) {
                (Some(x), Some(y)) if x == y => continue,
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                _ => "changed",
            };
            self.0.push(Change {
                path: format!("{prefix}.{name}"),
                how,
                apply: if how == "added" {
                    Apply::Live
                } else {
                    Apply::Reshard
                },
            });
        }
    }
}

/// The changes between two parsed rules files.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let (old, new) = (Some(old), Some(new));
    let mut out = Out(Vec::new());
    for top in keys(old, new) {
        let (a, b) = (get(old, top), get(new, top));
        match top.as_str() {
            "limits" | "firewall" | "users" => out.compare(top.clone(), a, b, |_| Apply::Live),
            "data_sources" => {
                for name in keys(a, b) {
                    let (x, y) = (get(a, name), get(b, name));
                    let path = format!("data_sources.{name}");
                    let other_data =
                        x.is_some() && y.is_some() && get(x, "database") != get(y, "database");
                    // New data sources, and one moved to a server holding the same data
                    // (a failover) or with other pool settings, are live; one pointed at
                    // other data moves rows; a removed one takes a restart.
                    out.compare(path, x, y, |how| match how {
                        "changed" if other_data => Apply::Reshard,
                        "removed" => Apply::Restart,
                        _ => Apply::Live,
                    });
                }
            }
            "databases" => {
                for db in keys(a, b) {
                    let (x, y) = (get(a, db), get(b, db));
                    let prefix = format!("databases.{db}");
                    if x.is_none() || y.is_none() {
                        // A new logical database is live; removing one takes a restart.
                        out.compare(prefix, x, y, |how| match how {
                            "added" => Apply::Live,
                            _ => Apply::Restart,
                        });
                        continue;
                    }
                    for k in keys(x, y) {
                        let (p, q) = (get(x, k), get(y, k));
                        match k.as_str() {
                            "users" => {
                                out.compare(format!("{prefix}.users"), p, q, |_| Apply::Live)
                            }
                            "tables" | "algorithms" => {
                                out.each(&format!("{prefix}.{k}"), p, q, |how| match how {
                                    "added" => Apply::Live,
                                    _ => Apply::Reshard,
                                })
                            }
                            "broadcast_tables" | "single_tables" => {
                                out.names(&format!("{prefix}.{k}"), p, q)
                            }
                            _ => out.compare(format!("{prefix}.{k}"), p, q, |_| Apply::Restart),
                        }
                    }
                }
            }
            _ => out.compare(top.clone(), a, b, |_| Apply::Restart),
        }
    }
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"
[server]
listen = "127.0.0.1:3307"

[data_sources.ds_0]
host = "127.0.0.1"
database = "shop_0"

[databases.shop]
default_data_source = "ds_0"
broadcast_tables = ["t_region"]
single_tables = { t_config = "ds_0" }

[[databases.shop.users]]
name = "root"
password = "root"

[databases.shop.algorithms.m]
type = "mod"
sharding_count = 2

[databases.shop.tables.t_user]
actual_data_nodes = "ds_0.t_user_${0..1}"
table_strategy = { column = "user_id", algorithm = "m" }
"#;

    fn changes(new: &str) -> Vec<String> {
        diff_text(OLD, new)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn formatting_and_key_order_are_no_change() {
        let reordered = OLD.replace(
            "host = \"127.0.0.1\"\ndatabase = \"shop_0\"",
            "database = \"shop_0\"   # the same\nhost = \"127.0.0.1\"",
        );
        assert_eq!(changes(&reordered), Vec::<String>::new());
    }

    #[test]
    fn each_change_is_classified() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "password = \"root\"",
                "password = \"secret\"",
                "databases.shop.users: changed (applied live)",
            ),
            (
                "[server]",
                "[limits]\nstatement_timeout_ms = 5\n\n[server]",
                "limits: added (applied live)",
            ),
            (
                "listen = \"127.0.0.1:3307\"",
                "listen = \"127.0.0.1:3308\"",
                "server: changed (needs a restart)",
            ),
            (
                "database = \"shop_0\"",
                "database = \"shop_9\"",
                "data_sources.ds_0: changed (moves rows: use `shardgate reshard`)",
            ),
            (
                "host = \"127.0.0.1\"",
                "host = \"10.0.0.2\"",
                "data_sources.ds_0: changed (applied live)",
            ),
            (
                "sharding_count = 2",
                "sharding_count = 4",
                "databases.shop.algorithms.m: changed (moves rows: use `shardgate reshard`)",
            ),
            (
                "t_user_${0..1}",
                "t_user_${0..3}",
                "databases.shop.tables.t_user: changed (moves rows: use `shardgate reshard`)",
            ),
            (
                "[\"t_region\"]",
                "[\"t_region\", \"t_area\"]",
                "databases.shop.broadcast_tables.t_area: added (applied live)",
            ),
            (
                "t_config = \"ds_0\"",
                "t_config = \"ds_1\"",
                "databases.shop.single_tables.t_config: changed (moves rows: use `shardgate reshard`)",
            ),
        ];
        for (from, to, want) in cases {
            assert!(OLD.contains(from), "{from}");
            assert_eq!(
                changes(&OLD.replace(from, to)),
                vec![want.to_string()],
                "{to}"
            );
        }
        let added_table =
            format!("{OLD}\n[databases.shop.tables.t_new]\nactual_data_nodes = \"ds_0.t_new\"\n");
        assert_eq!(
            changes(&added_table),
            vec!["databases.shop.tables.t_new: added (applied live)".to_string()]
        );
        let added_db = format!(
            "{OLD}\n[databases.blog]\ndefault_data_source = \"ds_0\"\n[[databases.blog.users]]\nname = \"b\"\npassword = \"b\"\n"
        );
        assert_eq!(
            changes(&added_db),
            vec!["databases.blog: added (applied live)".to_string()]
        );
    }
}

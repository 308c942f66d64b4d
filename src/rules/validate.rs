//! Raw rules file → validated [`Config`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::algorithm::{suffix_number, Algorithm, AlgorithmKind};
use super::config::{DataSourceConfig, RawConfig, RawDatabase, RawStrategy, RawTable};
use super::error::RulesError;
use super::inline::expand_node_expression;
use super::model::{
    Account, Config, DataNode, KeyGenerator, KeyGeneratorKind, LogicalDatabase, ShardedTable,
    Strategy, TableRule,
};
use super::validate_algo::{check_usage, compile};

/// Snowflake worker ids have 10 bits.
pub(crate) const MAX_WORKER_ID: u16 = 1023;

struct Ctx<'a> {
    origin: &'a str,
}

impl Ctx<'_> {
    fn err(&self, context: impl Into<String>, message: impl Into<String>) -> RulesError {
        RulesError::Invalid {
            origin: self.origin.to_string(),
            context: context.into(),
            message: message.into(),
        }
    }
}

/// Names of data sources, databases and tables: no whitespace, dots, quotes or `$`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

pub(crate) fn build(raw: RawConfig, origin: &str) -> Result<Config, RulesError> {
    let cx = Ctx { origin };
    let s = &raw.server;
    let port_ok = s
        .listen
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !port_ok {
        return Err(cx.err(
            "server.listen",
            format!("`{}` is not a `host:port` address", s.listen),
        ));
    }
    if s.worker_id > MAX_WORKER_ID {
        return Err(cx.err(
            "server.worker_id",
            format!("must be at most {MAX_WORKER_ID}, got {}", s.worker_id),
        ));
    }
    check_snowflake(&cx, s)?;
    if s.connect_timeout == 0 {
        return Err(cx.err("server.connect_timeout", "must be at least 1 (seconds)"));
    }
    if s.max_connections == Some(0) {
        return Err(cx.err("server.max_connections", "must be at least 1"));
    }
    if s.server_version
        .as_deref()
        .is_some_and(|v| v.trim().is_empty())
    {
        return Err(cx.err("server.server_version", "must not be empty"));
    }
    check_security(&cx, s)?;
    if raw.data_sources.is_empty() {
        return Err(cx.err("data_sources", "no data sources defined"));
    }
    for (name, ds) in &raw.data_sources {
        check_data_source(&cx, name, ds)?;
    }
    if raw.databases.is_empty() {
        return Err(cx.err("databases", "no logical databases defined"));
    }
    let mut databases = BTreeMap::new();
    for (name, db) in &raw.databases {
        databases.insert(
            name.clone(),
            build_database(&cx, name, db, &raw.data_sources)?,
        );
    }
    let accounts = build_accounts(&cx, &raw.users, &databases)?;
    for name in databases.keys() {
        if !accounts.values().any(|a| a.may_use(name)) {
            return Err(cx.err(
                format!("databases.{name}.users"),
                "no users defined (in [[databases.<db>.users]] or [[users]])",
            ));
        }
    }
    check_protection(&cx, &raw, &databases, &accounts)?;
    Ok(Config {
        server: raw.server,
        data_sources: raw.data_sources,
        databases,
        accounts,
        health: raw.health,
        limits: raw.limits,
        firewall: raw.firewall,
    })
}

/// `[health]`, `[limits]`, `[firewall]` and `[server] metrics_listen`: names that exist,
/// values that mean something.
fn check_protection(
    cx: &Ctx,
    raw: &RawConfig,
    databases: &BTreeMap<String, LogicalDatabase>,
    accounts: &BTreeMap<String, Account>,
) -> Result<(), RulesError> {
    let h = &raw.health;
    if h.probe_interval_ms == 0 || h.probe_timeout_ms == 0 {
        return Err(cx.err(
            "health",
            "probe_interval_ms and probe_timeout_ms must be at least 1",
        ));
    }
    if h.failures == 0 {
        return Err(cx.err("health.failures", "must be at least 1"));
    }
    if let Some(addr) = &raw.server.metrics_listen {
        if addr.parse::<std::net::SocketAddr>().is_err() {
            return Err(cx.err(
                "server.metrics_listen",
                format!("`{addr}` is not an `ip:port` address"),
            ));
        }
    }
    let l = &raw.limits;
    if l.max_transactions == Some(0) {
        return Err(cx.err("limits.max_transactions", "must be at least 1"));
    }
    for name in l.users.keys() {
        if !accounts.contains_key(name) {
            return Err(cx.err(format!("limits.users.{name}"), "no such user"));
        }
    }
    for name in l.databases.keys() {
        if !databases.contains_key(name) {
            return Err(cx.err(
                format!("limits.databases.{name}"),
                "no such logical database",
            ));
        }
    }
    for (i, s) in l.statements.iter().enumerate() {
        if s.max_qps == 0 {
            return Err(cx.err(
                format!("limits.statements[{i}].max_qps"),
                "must be at least 1",
            ));
        }
        if crate::sql::fingerprint::fingerprint(&s.statement).is_empty() {
            return Err(cx.err(format!("limits.statements[{i}].statement"), "is empty"));
        }
    }
    for t in &raw.firewall.deny_full_scatter {
        let (db, table) = match t.split_once('.') {
            Some((d, t)) => (Some(d), t),
            None => (None, t.as_str()),
        };
        let found = databases
            .iter()
            .filter(|(name, _)| db.is_none_or(|d| d == name.as_str()))
            .any(|(_, d)| matches!(d.tables.get(table), Some(TableRule::Sharded(_))));
        if !found {
            return Err(cx.err(
                "firewall.deny_full_scatter",
                format!("`{t}` is not a sharded table of the rules"),
            ));
        }
    }
    Ok(())
}

/// Accounts from `[[users]]` and the per-database user lists. One name is one account: it
/// has one password wherever it is listed (a client names no database before the password
/// is checked, so two passwords for one name could not be told apart).
fn build_accounts(
    cx: &Ctx,
    raw: &[super::config::RawAccount],
    databases: &BTreeMap<String, LogicalDatabase>,
) -> Result<BTreeMap<String, Account>, RulesError> {
    let mut out: BTreeMap<String, Account> = BTreeMap::new();
    let mut origin: BTreeMap<String, String> = BTreeMap::new();
    let mut add = |name: &str,
                   password: &str,
                   admin: bool,
                   dbs: Vec<(String, bool)>,
                   at: String|
     -> Result<(), RulesError> {
        if name.is_empty() {
            return Err(cx.err(format!("{at}.name"), "must not be empty"));
        }
        match out.get_mut(name) {
            Some(a) => {
                if a.password != password {
                    return Err(cx.err(
                        &at,
                        format!(
                            "user `{name}` is also defined in {} with another password; a user name is one account with one password (use one [[users]] entry listing its databases)",
                            origin[name]
                        ),
                    ));
                }
                a.admin |= admin;
                for (d, ro) in dbs {
                    let e = a.databases.entry(d).or_insert(ro);
                    *e = *e && ro;
                }
            }
            None => {
                origin.insert(name.to_string(), at);
                out.insert(
                    name.to_string(),
                    Account {
                        name: name.to_string(),
                        password: password.to_string(),
                        admin,
                        databases: dbs.into_iter().collect(),
                    },
                );
            }
        }
        Ok(())
    };
    for (i, u) in raw.iter().enumerate() {
        let at = format!("users[{i}]");
        let mut dbs = Vec::new();
        for d in &u.databases {
            if d == "*" {
                dbs.extend(databases.keys().map(|k| (k.clone(), u.read_only)));
                continue;
            }
            let Some(name) = databases.keys().find(|k| k.eq_ignore_ascii_case(d)) else {
                return Err(cx.err(
                    format!("{at}.databases"),
                    format!("logical database `{d}` is not defined in [databases]"),
                ));
            };
            dbs.push((name.clone(), u.read_only));
        }
        add(&u.name, &u.password, u.admin, dbs, at)?;
    }
    for (dbname, db) in databases {
        for (i, u) in db.users.iter().enumerate() {
            add(
                &u.name,
                &u.password,
                u.admin,
                vec![(dbname.clone(), u.read_only)],
                format!("databases.{dbname}.users[{i}]"),
            )?;
        }
    }
    Ok(out)
}

/// `snowflake_epoch` must be a UTC datetime in the past with room for 41 bits of
/// milliseconds after it; `max_clock_backwards_ms` is bounded (waits block a thread).
fn check_snowflake(cx: &Ctx, s: &super::ServerConfig) -> Result<(), RulesError> {
    let epoch = s
        .snowflake_epoch_ms()
        .map_err(|m| cx.err("server.snowflake_epoch", m))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    if epoch > now {
        return Err(cx.err(
            "server.snowflake_epoch",
            format!("`{}` is in the future", s.snowflake_epoch),
        ));
    }
    if now - epoch > crate::id::MAX_TIMESTAMP {
        return Err(cx.err(
            "server.snowflake_epoch",
            format!(
                "`{}` is more than 2^41 ms (about 69 years) ago; ids would overflow",
                s.snowflake_epoch
            ),
        ));
    }
    if s.max_clock_backwards_ms > super::MAX_CLOCK_BACKWARDS_MS {
        return Err(cx.err(
            "server.max_clock_backwards_ms",
            format!(
                "must be at most {}, got {}",
                super::MAX_CLOCK_BACKWARDS_MS,
                s.max_clock_backwards_ms
            ),
        ));
    }
    Ok(())
}

/// TLS and authentication settings that must go together (the files are read at start).
fn check_security(cx: &Ctx, s: &super::ServerConfig) -> Result<(), RulesError> {
    for (field, v) in [
        ("server.tls_cert", &s.tls_cert),
        ("server.tls_key", &s.tls_key),
        ("server.rsa_private_key", &s.rsa_private_key),
    ] {
        if v.as_deref().is_some_and(|p| p.trim().is_empty()) {
            return Err(cx.err(field, "must not be empty"));
        }
    }
    match (&s.tls_cert, &s.tls_key) {
        (Some(_), None) => return Err(cx.err("server.tls_key", "needed with tls_cert")),
        (None, Some(_)) => return Err(cx.err("server.tls_cert", "needed with tls_key")),
        _ => {}
    }
    if s.require_secure_transport && s.tls_cert.is_none() {
        return Err(cx.err(
            "server.require_secure_transport",
            "needs tls_cert and tls_key (no client could log in)",
        ));
    }
    Ok(())
}

fn check_data_source(cx: &Ctx, name: &str, ds: &DataSourceConfig) -> Result<(), RulesError> {
    let ctx = format!("data_sources.{name}");
    if !valid_name(name) {
        return Err(cx.err(
            ctx,
            "data source names may only contain letters, digits, `_` and `-`",
        ));
    }
    if ds.host.trim().is_empty() {
        return Err(cx.err(format!("{ctx}.host"), "must not be empty"));
    }
    if ds.port == 0 {
        return Err(cx.err(format!("{ctx}.port"), "must not be 0"));
    }
    if ds.user.is_empty() {
        return Err(cx.err(format!("{ctx}.user"), "must not be empty"));
    }
    if ds.database.trim().is_empty() {
        return Err(cx.err(format!("{ctx}.database"), "must not be empty"));
    }
    if ds.pool_size == 0 {
        return Err(cx.err(format!("{ctx}.pool_size"), "must be at least 1"));
    }
    Ok(())
}

fn build_database(
    cx: &Ctx,
    name: &str,
    raw: &RawDatabase,
    all_ds: &BTreeMap<String, DataSourceConfig>,
) -> Result<LogicalDatabase, RulesError> {
    let ctx = format!("databases.{name}");
    if !valid_name(name) {
        return Err(cx.err(
            &ctx,
            "database names may only contain letters, digits, `_` and `-`",
        ));
    }
    // Users (a database may also be reached only through [[users]]).
    let mut seen_users = BTreeSet::new();
    for (i, u) in raw.users.iter().enumerate() {
        if u.name.is_empty() {
            return Err(cx.err(format!("{ctx}.users[{i}].name"), "must not be empty"));
        }
        if !seen_users.insert(u.name.as_str()) {
            return Err(cx.err(
                format!("{ctx}.users[{i}]"),
                format!("user `{}` is defined twice", u.name),
            ));
        }
    }
    // Data sources.
    let default_ds = match &raw.default_data_source {
        Some(d) => d.clone(),
        None => return Err(cx.err(&ctx, "missing field `default_data_source`")),
    };
    if !all_ds.contains_key(&default_ds) {
        return Err(cx.err(
            format!("{ctx}.default_data_source"),
            format!("data source `{default_ds}` is not defined in [data_sources]"),
        ));
    }
    let explicit: Option<BTreeSet<String>> = match &raw.data_sources {
        None => None,
        Some(list) => {
            let mut set = BTreeSet::new();
            for d in list {
                if !all_ds.contains_key(d) {
                    return Err(cx.err(
                        format!("{ctx}.data_sources"),
                        format!("data source `{d}` is not defined in [data_sources]"),
                    ));
                }
                if !set.insert(d.clone()) {
                    return Err(cx.err(
                        format!("{ctx}.data_sources"),
                        format!("data source `{d}` is listed twice"),
                    ));
                }
            }
            if !set.contains(&default_ds) {
                return Err(cx.err(
                    format!("{ctx}.default_data_source"),
                    format!("data source `{default_ds}` is not listed in {ctx}.data_sources"),
                ));
            }
            Some(set)
        }
    };
    // Every referenced data source must exist (and be listed, if there is a list).
    let check_ds = |field: &str, ds: &str, what: &str| -> Result<(), RulesError> {
        if !all_ds.contains_key(ds) {
            return Err(cx.err(
                field,
                format!("data source `{ds}`{what} is not defined in [data_sources]"),
            ));
        }
        if let Some(set) = &explicit {
            if !set.contains(ds) {
                return Err(cx.err(
                    field,
                    format!("data source `{ds}`{what} is not listed in {ctx}.data_sources"),
                ));
            }
        }
        Ok(())
    };

    // Algorithms.
    let mut algorithms = BTreeMap::new();
    for (aname, a) in &raw.algorithms {
        let alg = compile(aname, a)
            .map_err(|(field, msg)| cx.err(format!("{ctx}.algorithms.{aname}{field}"), msg))?;
        algorithms.insert(aname.clone(), alg);
    }

    // Tables, with duplicate detection across sections (case-insensitive).
    let mut sections: HashMap<String, &'static str> = HashMap::new();
    let mut claim = |table: &str, section: &'static str| -> Result<String, RulesError> {
        if !valid_name(table) {
            return Err(cx.err(
                format!("{ctx}.{section}"),
                format!("`{table}` is not a valid table name"),
            ));
        }
        let key = table.to_ascii_lowercase();
        if let Some(prev) = sections.insert(key.clone(), section) {
            let msg = if prev == section {
                format!("table `{table}` is declared twice in `{section}`")
            } else {
                format!("table `{table}` is declared in both `{prev}` and `{section}`")
            };
            return Err(cx.err(&ctx, msg));
        }
        Ok(key)
    };
    let mut tables: HashMap<String, TableRule> = HashMap::new();
    let mut used_ds: BTreeSet<String> = BTreeSet::new();
    used_ds.insert(default_ds.clone());
    for (tname, t) in &raw.tables {
        let key = claim(tname, "tables")?;
        let tctx = format!("{ctx}.tables.{tname}");
        let table = build_sharded(cx, &tctx, &ctx, tname, t, &algorithms, &check_ds)?;
        used_ds.extend(table.nodes.iter().map(|n| n.data_source.clone()));
        tables.insert(key, TableRule::Sharded(table));
    }
    for (tname, ds) in &raw.single_tables {
        let key = claim(tname, "single_tables")?;
        check_ds(&format!("{ctx}.single_tables.{tname}"), ds, "")?;
        used_ds.insert(ds.clone());
        tables.insert(
            key,
            TableRule::Single {
                name: tname.clone(),
                data_source: ds.clone(),
            },
        );
    }
    let data_sources: Vec<String> = match explicit {
        Some(set) => set.into_iter().collect(),
        None => used_ds.into_iter().collect(),
    };
    for tname in &raw.broadcast_tables {
        let key = claim(tname, "broadcast_tables")?;
        tables.insert(
            key,
            TableRule::Broadcast {
                name: tname.clone(),
                data_sources: data_sources.clone(),
            },
        );
    }

    let binding_groups = build_binding_groups(cx, &ctx, &raw.binding_tables, &tables)?;
    Ok(LogicalDatabase {
        name: name.to_string(),
        users: raw.users.clone(),
        default_data_source: default_ds,
        tables,
        binding_groups,
        data_sources,
        algorithms,
    })
}

fn build_sharded(
    cx: &Ctx,
    tctx: &str,
    dbctx: &str,
    name: &str,
    raw: &RawTable,
    algorithms: &BTreeMap<String, Algorithm>,
    check_ds: &dyn Fn(&str, &str, &str) -> Result<(), RulesError>,
) -> Result<ShardedTable, RulesError> {
    let nctx = format!("{tctx}.actual_data_nodes");
    let expanded = expand_node_expression(&raw.actual_data_nodes).map_err(|m| cx.err(&nctx, m))?;
    let mut nodes = Vec::with_capacity(expanded.len());
    let mut seen = BTreeSet::new();
    for (ds, table) in expanded {
        check_ds(&nctx, &ds, &format!(" (node `{ds}.{table}`)"))?;
        let node = DataNode {
            data_source: ds,
            table,
        };
        if !seen.insert(node.clone()) {
            return Err(cx.err(&nctx, format!("node `{node}` is listed twice")));
        }
        nodes.push(node);
    }
    let mut table = ShardedTable {
        name: name.to_string(),
        nodes,
        actual_data_nodes: raw.actual_data_nodes.clone(),
        database_strategy: None,
        table_strategy: None,
        key_generator: None,
    };
    let strategy = |label: &str, rs: &Option<RawStrategy>, targets: &[&str]| {
        let sctx = format!("{tctx}.{label}_strategy");
        let Some(rs) = rs else {
            return Ok(None);
        };
        let column = rs.column.trim().to_ascii_lowercase();
        if column.is_empty() {
            return Err(cx.err(format!("{sctx}.column"), "must not be empty"));
        }
        let Some(alg) = algorithms.get(&rs.algorithm) else {
            return Err(cx.err(
                &sctx,
                format!(
                    "algorithm `{}` is not defined in [{dbctx}.algorithms]",
                    rs.algorithm
                ),
            ));
        };
        check_usage(alg, &column, targets).map_err(|m| cx.err(&sctx, m))?;
        Ok(Some(Strategy {
            column,
            algorithm: alg.clone(),
        }))
    };
    table.database_strategy = strategy(
        "database",
        &raw.database_strategy,
        &table.data_source_targets(),
    )?;
    table.table_strategy = strategy("table", &raw.table_strategy, &table.table_targets())?;

    // Without a strategy, a write could not pick a single node.
    let ds_targets = table.data_source_targets();
    if table.database_strategy.is_none() && ds_targets.len() > 1 {
        return Err(cx.err(
            tctx,
            format!(
                "nodes span {} data sources but there is no database_strategy",
                ds_targets.len()
            ),
        ));
    }
    if table.table_strategy.is_none() {
        for ds in &ds_targets {
            let n = table.nodes.iter().filter(|n| n.data_source == *ds).count();
            if n > 1 {
                return Err(cx.err(
                    tctx,
                    format!("data source `{ds}` holds {n} tables but there is no table_strategy"),
                ));
            }
        }
    }
    if let Some(k) = &raw.key_generator {
        let kctx = format!("{tctx}.key_generator");
        let column = k.column.trim().to_ascii_lowercase();
        if column.is_empty() {
            return Err(cx.err(format!("{kctx}.column"), "must not be empty"));
        }
        let kind = match k.kind.as_str() {
            "snowflake" => KeyGeneratorKind::Snowflake,
            other => {
                return Err(cx.err(
                    format!("{kctx}.type"),
                    format!("unknown key generator type `{other}` (expected snowflake)"),
                ))
            }
        };
        table.key_generator = Some(KeyGenerator { column, kind });
    }
    Ok(table)
}

/// Suffix of an actual table name relative to its logical name (`t_order_1` → `_1`); for
/// names that do not start with the logical name, the trailing number.
fn table_suffix(logical: &str, actual: &str) -> String {
    let lower = actual.to_ascii_lowercase();
    match lower.strip_prefix(&logical.to_ascii_lowercase()) {
        Some(rest) => rest.to_string(),
        None => suffix_number(actual).map_or_else(String::new, |n| n.to_string()),
    }
}

fn same_algorithm(a: &Option<Strategy>, b: &Option<Strategy>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => match (&a.algorithm.kind, &b.algorithm.kind) {
            // Inline expressions name the tables, so they differ between binding tables.
            (AlgorithmKind::Inline { .. }, AlgorithmKind::Inline { .. }) => true,
            (x, y) => x == y,
        },
        _ => false,
    }
}

fn build_binding_groups(
    cx: &Ctx,
    ctx: &str,
    groups: &[Vec<String>],
    tables: &HashMap<String, TableRule>,
) -> Result<Vec<Vec<String>>, RulesError> {
    let bctx = format!("{ctx}.binding_tables");
    let mut member_of: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for group in groups {
        if group.len() < 2 {
            return Err(cx.err(
                &bctx,
                format!(
                    "binding group [{}] needs at least two tables",
                    group.join(", ")
                ),
            ));
        }
        let mut lower_group = Vec::new();
        let mut first: Option<&ShardedTable> = None;
        for name in group {
            let key = name.to_ascii_lowercase();
            let Some(TableRule::Sharded(t)) = tables.get(&key) else {
                return Err(cx.err(
                    &bctx,
                    format!("binding table `{name}` is not a sharded table"),
                ));
            };
            if !member_of.insert(key.clone()) {
                return Err(cx.err(
                    &bctx,
                    format!("table `{name}` is in more than one binding group"),
                ));
            }
            if let Some(f) = first {
                check_binding_pair(f, t).map_err(|m| {
                    cx.err(
                        &bctx,
                        format!("binding tables `{}` and `{}` {m}", f.name, t.name),
                    )
                })?;
            } else {
                first = Some(t);
            }
            lower_group.push(key);
        }
        out.push(lower_group);
    }
    Ok(out)
}

fn check_binding_pair(a: &ShardedTable, b: &ShardedTable) -> Result<(), String> {
    if a.nodes.len() != b.nodes.len() {
        return Err(format!(
            "have different data node layouts ({} vs {} nodes)",
            a.nodes.len(),
            b.nodes.len()
        ));
    }
    for (x, y) in a.nodes.iter().zip(&b.nodes) {
        if x.data_source != y.data_source
            || table_suffix(&a.name, &x.table) != table_suffix(&b.name, &y.table)
        {
            return Err(format!("have different data node layouts (`{x}` vs `{y}`)"));
        }
    }
    if !same_algorithm(&a.database_strategy, &b.database_strategy) {
        return Err("have different database sharding algorithms".to_string());
    }
    if !same_algorithm(&a.table_strategy, &b.table_strategy) {
        return Err("have different table sharding algorithms".to_string());
    }
    Ok(())
}

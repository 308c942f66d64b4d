//! Loading the example rules, the summary, and test helpers shared by the other test files.

use std::path::Path;

use super::*;

pub(crate) const EXAMPLE: &str = include_str!("../../examples/ecommerce/rules.toml");
pub(crate) const DEFAULT_RULES: &str = include_str!("../../rules/shardgate.toml");

/// Four data sources `ds_0..ds_3` and a database `db` (default `ds_0`, user `u`); `extra`
/// continues the `[databases.db]` table (keys first, then sub-tables).
pub(crate) fn with_db(extra: &str) -> String {
    let mut s = String::new();
    for i in 0..4 {
        s.push_str(&format!(
            "[data_sources.ds_{i}]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\ndatabase = \"d{i}\"\n\n",
            3316 + i
        ));
    }
    s.push_str("[databases.db]\ndefault_data_source = \"ds_0\"\nusers = [{ name = \"u\", password = \"p\" }]\n");
    s.push_str(extra);
    s
}

pub(crate) fn example() -> Config {
    parse(EXAMPLE, "rules.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// Parses `with_db(extra)` and returns sharded table `t`.
pub(crate) fn table(extra: &str) -> ShardedTable {
    let cfg = parse(&with_db(extra), "test.toml").unwrap_or_else(|e| panic!("{e}\n{extra}"));
    match cfg.databases["db"].table("t") {
        Some(TableRule::Sharded(t)) => t.clone(),
        other => panic!("t is not sharded: {other:?}"),
    }
}

#[test]
fn default_rules_are_the_example() {
    assert_eq!(
        DEFAULT_RULES, EXAMPLE,
        "rules/shardgate.toml must be a copy of examples/ecommerce/rules.toml"
    );
}

#[test]
fn example_loads_from_disk() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ecommerce/rules.toml");
    let cfg = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.databases.len(), 1);
}

#[test]
fn example_shape() {
    let cfg = example();
    assert_eq!(cfg.server.listen, "127.0.0.1:3307");
    assert_eq!(cfg.server.snowflake_epoch, "2024-01-01T00:00:00Z");
    assert_eq!(cfg.server.snowflake_epoch_ms(), Ok(1_704_067_200_000));
    assert_eq!(cfg.server.max_clock_backwards_ms, 10);
    assert_eq!(cfg.server.server_version, None);
    assert_eq!(cfg.server.worker_id, 0);
    assert_eq!(cfg.server.max_connections, Some(1024));
    let ds: Vec<(&str, &str, u16, &str, &str, u32)> = cfg
        .data_sources
        .iter()
        .map(|(n, d)| {
            (
                n.as_str(),
                d.host.as_str(),
                d.port,
                d.user.as_str(),
                d.database.as_str(),
                d.pool_size,
            )
        })
        .collect();
    assert_eq!(
        ds,
        vec![
            ("ds_0", "127.0.0.1", 3316, "root", "shop_0", 16),
            ("ds_1", "127.0.0.1", 3317, "root", "shop_1", 16),
        ]
    );
    let shop = &cfg.databases["shop"];
    assert_eq!(shop.name, "shop");
    assert_eq!(
        shop.users,
        vec![UserConfig {
            name: "root".into(),
            password: "root".into(),
            read_only: false,
            admin: true,
        }]
    );
    let root = &cfg.accounts["root"];
    assert!(root.admin && root.may_use("SHOP") && !root.read_only_in("shop"));
    assert_eq!(shop.default_data_source, "ds_0");
    assert_eq!(shop.data_source_names(), vec!["ds_0", "ds_1"]);
    assert_eq!(
        shop.binding_groups,
        vec![vec!["t_order".to_string(), "t_order_item".to_string()]]
    );

    // (table, kind, nodes, db column, table column, key generator column)
    type Row = (
        &'static str,
        &'static str,
        &'static [&'static str],
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
    );
    let cases: &[Row] = &[
        (
            "t_user",
            "sharded",
            &["ds_0.t_user", "ds_1.t_user"],
            Some("user_id"),
            None,
            None,
        ),
        (
            "t_order",
            "sharded",
            &[
                "ds_0.t_order_0",
                "ds_0.t_order_1",
                "ds_1.t_order_0",
                "ds_1.t_order_1",
            ],
            Some("user_id"),
            Some("order_id"),
            Some("order_id"),
        ),
        (
            "t_order_item",
            "sharded",
            &[
                "ds_0.t_order_item_0",
                "ds_0.t_order_item_1",
                "ds_1.t_order_item_0",
                "ds_1.t_order_item_1",
            ],
            Some("user_id"),
            Some("order_id"),
            Some("item_id"),
        ),
        (
            "t_product",
            "sharded",
            &["ds_0.t_product", "ds_1.t_product"],
            Some("product_id"),
            None,
            None,
        ),
        (
            "t_region",
            "broadcast",
            &["ds_0.t_region", "ds_1.t_region"],
            None,
            None,
            None,
        ),
        ("t_config", "single", &["ds_0.t_config"], None, None, None),
    ];
    assert_eq!(shop.tables.len(), cases.len());
    for (name, kind, nodes, dbcol, tcol, keycol) in cases {
        let rule = shop.table(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(rule.kind(), *kind, "{name}");
        assert_eq!(rule.name(), *name);
        let got: Vec<String> = match rule {
            TableRule::Sharded(t) => {
                assert_eq!(
                    t.database_strategy.as_ref().map(|s| s.column.as_str()),
                    *dbcol,
                    "{name}"
                );
                assert_eq!(
                    t.table_strategy.as_ref().map(|s| s.column.as_str()),
                    *tcol,
                    "{name}"
                );
                assert_eq!(
                    t.key_generator.as_ref().map(|k| k.column.as_str()),
                    *keycol,
                    "{name}"
                );
                t.nodes.iter().map(|n| n.to_string()).collect()
            }
            TableRule::Broadcast { name, data_sources } => {
                data_sources.iter().map(|d| format!("{d}.{name}")).collect()
            }
            TableRule::Single { name, data_source } => vec![format!("{data_source}.{name}")],
        };
        assert_eq!(got, *nodes, "{name}");
    }
    let order = shop
        .table("T_ORDER")
        .and_then(TableRule::as_sharded)
        .unwrap_or_else(|| panic!("t_order"));
    assert_eq!(order.sharding_columns(), vec!["user_id", "order_id"]);
    assert_eq!(
        order.key_generator,
        Some(KeyGenerator {
            column: "order_id".into(),
            kind: KeyGeneratorKind::Snowflake
        })
    );
    assert!(shop.table("t_missing").is_none());
}

#[test]
fn binding_group_lookup() {
    let shop = &example().databases["shop"];
    let cases: &[(&str, Option<usize>)] = &[
        ("t_order", Some(0)),
        ("T_Order_Item", Some(0)),
        ("t_user", None),
        ("t_region", None),
        ("nope", None),
    ];
    for (t, want) in cases {
        assert_eq!(shop.binding_group_of(t), *want, "{t}");
    }
}

#[test]
fn defaults() {
    let text = "[data_sources.a]\nhost = \"h\"\nport = 1\nuser = \"u\"\ndatabase = \"d\"\n\
                [databases.x]\ndefault_data_source = \"a\"\nusers = [{ name = \"u\" }]\n";
    let cfg = parse(text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.server, ServerConfig::default());
    assert_eq!(cfg.server.listen, "127.0.0.1:3307");
    assert_eq!(cfg.data_sources["a"].pool_size, 16);
    assert_eq!(cfg.data_sources["a"].password, "");
    let x = &cfg.databases["x"];
    assert_eq!(x.users[0].password, "");
    assert_eq!(x.data_source_names(), vec!["a"]);
    assert!(x.tables.is_empty());
}

#[test]
fn explicit_database_data_sources_drive_broadcast() {
    let cfg = parse(
        &with_db("data_sources = [\"ds_2\", \"ds_0\", \"ds_1\"]\nbroadcast_tables = [\"t_b\"]\n"),
        "t.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let db = &cfg.databases["db"];
    assert_eq!(db.data_source_names(), vec!["ds_0", "ds_1", "ds_2"]);
    match db.table("t_b") {
        Some(TableRule::Broadcast { data_sources, .. }) => {
            assert_eq!(data_sources, &db.data_sources)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn summary_of_example() {
    let s = example().summary();
    let want = "\
server: listen 127.0.0.1:3307
  server_version: (from backend)
  worker_id: 0
  max_connections: 1024
data sources: 2
  ds_0: root@127.0.0.1:3316/shop_0 (pool 16)
  ds_1: root@127.0.0.1:3317/shop_1 (pool 16)
logical database shop:
  users: root
  default data source: ds_0
  data sources: ds_0, ds_1
  binding group: t_order, t_order_item
  tables: 6
    t_config (single): ds_0
    t_order (sharded): 4 nodes = ds_${0..1}.t_order_${0..1}
      database strategy: user_id by db_mod
      table strategy: order_id by table_mod
      key generator: snowflake on order_id
    t_order_item (sharded): 4 nodes = ds_${0..1}.t_order_item_${0..1}
      database strategy: user_id by db_mod
      table strategy: order_id by table_mod
      key generator: snowflake on item_id
    t_product (sharded): 2 nodes = ds_${0..1}.t_product
      database strategy: product_id by db_mod
    t_region (broadcast): ds_0, ds_1
    t_user (sharded): 2 nodes = ds_${0..1}.t_user
      database strategy: user_id by db_mod
  algorithms: 2
    db_mod = mod(sharding_count=2)
    table_mod = mod(sharding_count=2)
";
    assert_eq!(s, want);
}

#[test]
fn io_error_names_the_file() {
    let err = load(Path::new("/nonexistent/shardgate.toml"))
        .err()
        .map(|e| e.to_string());
    let msg = err.unwrap_or_default();
    assert!(
        msg.starts_with("/nonexistent/shardgate.toml: cannot read rules file: "),
        "{msg}"
    );
}

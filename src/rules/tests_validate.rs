//! Every validation error, with its exact message.

use super::tests_config::with_db;
use super::*;

const M2: &str = "[databases.db.algorithms.m2]\ntype = \"mod\"\nsharding_count = 2\n";
const M3: &str = "[databases.db.algorithms.m3]\ntype = \"mod\"\nsharding_count = 3\n";

/// `[databases.db.tables.t]` with nodes and optional `database_strategy` / `table_strategy`
/// algorithm names (sharding column `id`).
fn t(nodes: &str, db: Option<&str>, tbl: Option<&str>) -> String {
    let mut s = format!("[databases.db.tables.t]\nactual_data_nodes = \"{nodes}\"\n");
    if let Some(a) = db {
        s.push_str(&format!(
            "database_strategy = {{ column = \"id\", algorithm = \"{a}\" }}\n"
        ));
    }
    if let Some(a) = tbl {
        s.push_str(&format!(
            "table_strategy = {{ column = \"id\", algorithm = \"{a}\" }}\n"
        ));
    }
    s
}

fn alg(name: &str, body: &str) -> String {
    format!("[databases.db.algorithms.{name}]\n{body}\n")
}

fn check(cases: Vec<(String, &str)>) {
    for (text, want) in cases {
        let got = match parse(&text, "test.toml") {
            Ok(_) => "OK".to_string(),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, want, "\n--- rules ---\n{text}");
    }
}

#[test]
fn syntax_and_shape_errors() {
    let ds = "[data_sources.ds_0]\nhost = \"h\"\nport = 1\nuser = \"u\"\ndatabase = \"d\"\n";
    check(vec![
        ("[server\nlisten = 1\n".to_string(), "test.toml:1:8: invalid table header: expected `.`, `]`"),
        (
            "[server]\nlisten = \"a:1\"\nport = 5\n".to_string(),
            "test.toml:3:1: unknown field `port`, expected one of `listen`, `server_version`, `worker_id`, `snowflake_epoch`, `max_clock_backwards_ms`, `max_connections`, `transaction_mode`, `xa_log`, `state_dir`, `lock_wait_timeout`, `max_memory_rows`, `tls_cert`, `tls_key`, `require_secure_transport`, `default_auth_plugin`, `caching_sha2_cache`, `rsa_private_key`, `connect_timeout`, `metrics_listen`, `slow_log`",
        ),
        (format!("{ds}pool_size = \"big\"\n"), "test.toml:6:13: invalid type: string \"big\", expected u32"),
        ("[data_sources.ds_0]\nhost = \"h\"\n".to_string(), "test.toml:1:1: missing field `port`"),
        (with_db("[databases.db.tables.t]\n"), "test.toml:28:1: missing field `actual_data_nodes`"),
        (String::new(), "test.toml: data_sources: no data sources defined"),
        (ds.to_string(), "test.toml: databases: no logical databases defined"),
    ]);
}

#[test]
fn server_and_data_source_errors() {
    let ds = |extra: &str| {
        format!(
            "[data_sources.\"{}\"]\nhost = \"h\"\nport = 1\nuser = \"u\"\ndatabase = \"d\"\n{}\
             [databases.db]\ndefault_data_source = \"ds_0\"\nusers = [{{ name = \"u\" }}]\n",
            if extra == "name" { "ds.0" } else { "ds_0" },
            if extra == "name" { "" } else { extra }
        )
    };
    check(vec![
        (format!("[server]\nlisten = \"localhost\"\n{}", ds("")), "test.toml: server.listen: `localhost` is not a `host:port` address"),
        (format!("[server]\nworker_id = 2000\n{}", ds("")), "test.toml: server.worker_id: must be at most 1023, got 2000"),
        (format!("[server]\nmax_connections = 0\n{}", ds("")), "test.toml: server.max_connections: must be at least 1"),
        (format!("[server]\nsnowflake_epoch = \"2024-01-01T00:00:00+02:00\"\n{}", ds("")), "test.toml: server.snowflake_epoch: `2024-01-01T00:00:00+02:00` is not a UTC datetime like `2024-01-01T00:00:00Z`"),
        (format!("[server]\nsnowflake_epoch = \"yesterday\"\n{}", ds("")), "test.toml: server.snowflake_epoch: `yesterday` is not a UTC datetime like `2024-01-01T00:00:00Z`"),
        (format!("[server]\nsnowflake_epoch = \"2999-01-01T00:00:00Z\"\n{}", ds("")), "test.toml: server.snowflake_epoch: `2999-01-01T00:00:00Z` is in the future"),
        (format!("[server]\nsnowflake_epoch = \"1950-01-01\"\n{}", ds("")), "test.toml: server.snowflake_epoch: `1950-01-01` is before 1970-01-01"),
        (format!("[server]\nmax_clock_backwards_ms = 5000\n{}", ds("")), "test.toml: server.max_clock_backwards_ms: must be at most 1000, got 5000"),
        (format!("[server]\nsnowflake_epoch = \"2020-06-01 12:00:00\"\nmax_clock_backwards_ms = 0\n{}", ds("")), "OK"),
        (format!("[server]\nserver_version = \" \"\n{}", ds("")), "test.toml: server.server_version: must not be empty"),
        (ds("name"), "test.toml: data_sources.ds.0: data source names may only contain letters, digits, `_` and `-`"),
        (ds("pool_size = 0\n"), "test.toml: data_sources.ds_0.pool_size: must be at least 1"),
        (ds("").replace("host = \"h\"", "host = \"\""), "test.toml: data_sources.ds_0.host: must not be empty"),
        (ds("").replace("database = \"d\"", "database = \"\""), "test.toml: data_sources.ds_0.database: must not be empty"),
        (ds("").replace("port = 1", "port = 0"), "test.toml: data_sources.ds_0.port: must not be 0"),
        (ds(""), "OK"),
    ]);
}

#[test]
fn database_errors() {
    let base = with_db("");
    check(vec![
        (base.replace("users = [{ name = \"u\", password = \"p\" }]", ""), "test.toml: databases.db.users: no users defined (in [[databases.<db>.users]] or [[users]])"),
        (base.replace("{ name = \"u\", password = \"p\" }", "{ name = \"u\" }, { name = \"u\" }"), "test.toml: databases.db.users[1]: user `u` is defined twice"),
        (base.replace("{ name = \"u\", password = \"p\" }", "{ name = \"\" }"), "test.toml: databases.db.users[0].name: must not be empty"),
        (base.replace("default_data_source = \"ds_0\"", ""), "test.toml: databases.db: missing field `default_data_source`"),
        (base.replace("default_data_source = \"ds_0\"", "default_data_source = \"ds_x\""), "test.toml: databases.db.default_data_source: data source `ds_x` is not defined in [data_sources]"),
        (with_db("data_sources = [\"ds_1\", \"ds_9\"]\n"), "test.toml: databases.db.data_sources: data source `ds_9` is not defined in [data_sources]"),
        (with_db("data_sources = [\"ds_1\", \"ds_1\"]\n"), "test.toml: databases.db.data_sources: data source `ds_1` is listed twice"),
        (with_db("data_sources = [\"ds_1\"]\n"), "test.toml: databases.db.default_data_source: data source `ds_0` is not listed in databases.db.data_sources"),
        (with_db(&format!("data_sources = [\"ds_0\"]\n{M2}{}", t("ds_${0..1}.t", Some("m2"), None))), "test.toml: databases.db.tables.t.actual_data_nodes: data source `ds_1` (node `ds_1.t`) is not listed in databases.db.data_sources"),
        (with_db("single_tables = { t_c = \"ds_7\" }\n"), "test.toml: databases.db.single_tables.t_c: data source `ds_7` is not defined in [data_sources]"),
        (with_db("broadcast_tables = [\"t region\"]\n"), "test.toml: databases.db.broadcast_tables: `t region` is not a valid table name"),
        (with_db("broadcast_tables = [\"t_r\", \"T_R\"]\n"), "test.toml: databases.db: table `T_R` is declared twice in `broadcast_tables`"),
        (with_db(&format!("broadcast_tables = [\"t\"]\n{M2}{}", t("ds_${0..1}.t", Some("m2"), None))), "test.toml: databases.db: table `t` is declared in both `tables` and `broadcast_tables`"),
        (with_db(&format!("single_tables = {{ T = \"ds_0\" }}\n{M2}{}", t("ds_${0..1}.t", Some("m2"), None))), "test.toml: databases.db: table `T` is declared in both `tables` and `single_tables`"),
        (with_db(&format!("{M2}{}{}", t("ds_0.a_${0..1}", None, Some("m2")), t("ds_0.b_${0..1}", None, Some("m2")).replace("tables.t]", "tables.T]"))), "test.toml: databases.db: table `t` is declared twice in `tables`"),
    ]);
}

#[test]
fn table_errors() {
    check(vec![
        (with_db(&format!("{M2}{}", t("ds_${[0,9]}.t", Some("m2"), None))), "test.toml: databases.db.tables.t.actual_data_nodes: data source `ds_9` (node `ds_9.t`) is not defined in [data_sources]"),
        (with_db(&t("ds_${1..0}.t", None, None)), "test.toml: databases.db.tables.t.actual_data_nodes: empty range `${1..0}`"),
        (with_db(&t("ds_${0..1.t", None, None)), "test.toml: databases.db.tables.t.actual_data_nodes: unclosed `${` in `ds_${0..1.t`"),
        (with_db(&t("ds_0", None, None)), "test.toml: databases.db.tables.t.actual_data_nodes: node `ds_0` must have the form `data_source.table`"),
        (with_db(&t("ds_0.t, ds_${0..1}.t", None, None)), "test.toml: databases.db.tables.t.actual_data_nodes: node `ds_0.t` is listed twice"),
        (with_db(&format!("{M2}{}", t("ds_${0..1}.t", Some("nope"), None))), "test.toml: databases.db.tables.t.database_strategy: algorithm `nope` is not defined in [databases.db.algorithms]"),
        (with_db(&t("ds_${0..1}.t", None, None)), "test.toml: databases.db.tables.t: nodes span 2 data sources but there is no database_strategy"),
        (with_db(&t("ds_0.t_${0..1}", None, None)), "test.toml: databases.db.tables.t: data source `ds_0` holds 2 tables but there is no table_strategy"),
        (with_db(&format!("{M2}{}", t("ds_0.t_${0..1}", None, Some("m2")).replace("column = \"id\"", "column = \" \""))), "test.toml: databases.db.tables.t.table_strategy.column: must not be empty"),
        (with_db(&format!("{M2}{}key_generator = {{ column = \"id\", type = \"uuid\" }}\n", t("ds_0.t_${0..1}", None, Some("m2")))), "test.toml: databases.db.tables.t.key_generator.type: unknown key generator type `uuid` (expected snowflake)"),
        (with_db(&format!("{M2}{}key_generator = {{ column = \"\", type = \"snowflake\" }}\n", t("ds_0.t_${0..1}", None, Some("m2")))), "test.toml: databases.db.tables.t.key_generator.column: must not be empty"),
        (with_db(&format!("{M2}{}", t("ds_0.t_${0..1}", None, Some("m2")))), "OK"),
    ]);
}

#[test]
fn algorithm_definition_errors() {
    let a = |body: &str| with_db(&alg("x", body));
    let ctx = "test.toml: databases.db.algorithms.x";
    let cases: Vec<(String, String)> = vec![
        (a("sharding_count = 2"), format!("{ctx}: missing field `type`")),
        (a("type = \"modd\""), format!("{ctx}.type: unknown algorithm type `modd` (expected one of: mod, hash_mod, range, interval, consistent_hash, inline)")),
        (a("type = \"mod\""), format!("{ctx}: algorithm type `mod` requires field `sharding_count`")),
        (a("type = \"hash_mod\""), format!("{ctx}: algorithm type `hash_mod` requires field `sharding_count`")),
        (a("type = \"mod\"\nsharding_count = 0"), format!("{ctx}.sharding_count: must be at least 1, got 0")),
        (a("type = \"mod\"\nsharding_count = 2\nboundaries = [1]"), format!("{ctx}: field `boundaries` does not apply to algorithm type `mod`")),
        (a("type = \"mod\"\nsharding_count = 2\ncollation = \"utf8mb4_bin\""), format!("{ctx}: field `collation` does not apply to algorithm type `mod`")),
        (a("type = \"hash_mod\"\nsharding_count = 2\ncollation = \"klingon_ci\""), format!("{ctx}.collation: unknown collation `klingon_ci`")),
        (a("type = \"range\""), format!("{ctx}: algorithm type `range` requires field `boundaries`")),
        (a("type = \"range\"\nboundaries = []"), format!("{ctx}.boundaries: must not be empty")),
        (a("type = \"range\"\nboundaries = [2000, 1000]"), format!("{ctx}.boundaries: must be strictly ascending, but 2000 is followed by 1000")),
        (a("type = \"range\"\nboundaries = [1000, 1000]"), format!("{ctx}.boundaries: must be strictly ascending, but 1000 is followed by 1000")),
        (a("type = \"inline\""), format!("{ctx}: algorithm type `inline` requires field `expression`")),
        (a("type = \"inline\"\nexpression = \"t_${id %}\""), format!("{ctx}.expression: `${{id %}}`: unexpected end of expression")),
        (a("type = \"inline\"\nexpression = \"t_${1 + 1}\""), format!("{ctx}.expression: `t_${{1 + 1}}` does not reference the sharding column")),
        (a("type = \"inline\"\nexpression = \"t_1\""), format!("{ctx}.expression: `t_1` has no `${{...}}` expression")),
        (a("type = \"interval\"\ndatetime_lower = \"2026-01-01\""), format!("{ctx}: algorithm type `interval` requires field `datetime_upper`")),
    ];
    for (text, want) in cases {
        check(vec![(text, want.as_str())]);
    }
}

#[test]
fn interval_and_slot_definition_errors() {
    let iv = |lower: &str, upper: &str, unit: &str, pattern: &str| {
        with_db(&alg(
            "x",
            &format!("type = \"interval\"\ndatetime_lower = \"{lower}\"\ndatetime_upper = \"{upper}\"\ninterval = \"{unit}\"\nsuffix_pattern = \"{pattern}\""),
        ))
    };
    let ch = |count: i64, slots: &str| {
        with_db(&alg(
            "x",
            &format!("type = \"consistent_hash\"\nslot_count = {count}\nslots = [{slots}]"),
        ))
    };
    let s = |r: &str, n: &str| format!("{{ range = \"{r}\", node = \"{n}\" }}");
    let ctx = "test.toml: databases.db.algorithms.x";
    let cases: Vec<(String, String)> = vec![
        (iv("2026-13-01", "2026-12-31", "month", "yyyyMM"), format!("{ctx}.datetime_lower: `2026-13-01` is not a datetime (expected `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD`)")),
        (iv("2026-01-01", "2025-12-31", "month", "yyyyMM"), format!("{ctx}.datetime_upper: `2025-12-31` is before datetime_lower `2026-01-01`")),
        (iv("2026-01-01", "2026-12-31", "week", "yyyyMM"), format!("{ctx}.interval: unknown interval `week` (expected year, month or day)")),
        (iv("2026-01-01", "2026-12-31", "month", "yyyy"), format!("{ctx}.suffix_pattern: `yyyy` must contain `yyyy` (or `yy`) and `MM` for interval `month`")),
        (iv("2026-01-01", "2026-12-31", "day", "yyyyMM"), format!("{ctx}.suffix_pattern: `yyyyMM` must contain `yyyy` (or `yy`), `MM` and `dd` for interval `day`")),
        (iv("1000-01-01", "2026-12-31", "day", "yyyyMMdd"), format!("{ctx}.datetime_upper: the interval spans 375104 periods (at most 100000 allowed)")),
        (ch(1024, &format!("{}, {}", s("0..511", "ds_0"), s("513..1023", "ds_1"))), format!("{ctx}.slots: slot 512 is not covered")),
        (ch(1024, &s("0..511", "ds_0")), format!("{ctx}.slots: slot 512 is not covered")),
        (ch(1024, &format!("{}, {}", s("1..511", "ds_0"), s("512..1023", "ds_1"))), format!("{ctx}.slots: slot 0 is not covered")),
        (ch(1024, &format!("{}, {}", s("0..511", "ds_0"), s("500..1023", "ds_1"))), format!("{ctx}.slots: slot 500 is covered by both `0..511` and `500..1023`")),
        (ch(1024, &format!("{}, {}", s("0..1023", "ds_0"), s("7", "ds_1"))), format!("{ctx}.slots: slot 7 is covered by both `0..1023` and `7..7`")),
        (ch(1024, &s("0-1023", "ds_0")), format!("{ctx}.slots[0]: bad slot range `0-1023` (expected `first..last`, inclusive)")),
        (ch(1024, &s("10..5", "ds_0")), format!("{ctx}.slots[0]: empty slot range `10..5`")),
        (ch(1024, &s("0..1024", "ds_0")), format!("{ctx}.slots[0]: slot range `0..1024` exceeds slot_count 1024 (last slot is 1023)")),
        (ch(1024, &s("0..1023", "")), format!("{ctx}.slots[0]: `node` must not be empty")),
        (ch(0, &s("0..1", "ds_0")), format!("{ctx}.slot_count: must be at least 1, got 0")),
        (ch(1024, &s("0..1023", "ds_0")), "OK".to_string()),
    ];
    for (text, want) in cases {
        check(vec![(text, want.as_str())]);
    }
}

#[test]
fn algorithm_usage_errors() {
    let ctx = "test.toml: databases.db.tables.t";
    let monthly = alg("iv", "type = \"interval\"\ndatetime_lower = \"2026-01-01\"\ndatetime_upper = \"2026-02-28\"\ninterval = \"month\"\nsuffix_pattern = \"yyyyMM\"");
    let ch = alg("ch", "type = \"consistent_hash\"\nslot_count = 4\nslots = [{ range = \"0..1\", node = \"ds_0\" }, { range = \"2..3\", node = \"ds_5\" }]");
    let ch_t = alg("ch", "type = \"consistent_hash\"\nslot_count = 4\nslots = [{ range = \"0..3\", node = \"t_0\" }]");
    let r = alg("r", "type = \"range\"\nboundaries = [10, 20]");
    let inl = alg(
        "inl",
        "type = \"inline\"\nexpression = \"t_${user_id % 2}\"",
    );
    let hm = alg("hm", "type = \"hash_mod\"\nsharding_count = 3");
    let cases: Vec<(String, String)> = vec![
        (with_db(&format!("{M3}{}", t("ds_${0..1}.t", Some("m3"), None))), format!("{ctx}.database_strategy: mod algorithm `m3` with sharding_count 3 needs exactly one target ending with each of 0..2: no target ends with 2 (targets: ds_0, ds_1)")),
        (with_db(&format!("{hm}{}", t("ds_${0..3}.t", Some("hm"), None))), format!("{ctx}.database_strategy: hash_mod algorithm `hm` with sharding_count 3 needs exactly one target ending with each of 0..2: `ds_3` ends with 3, which the algorithm never produces (targets: ds_0, ds_1, ds_2, ds_3)")),
        (with_db(&format!("{M2}{}", t("ds_0.t_${['a','b']}", None, Some("m2")))), format!("{ctx}.table_strategy: mod algorithm `m2` with sharding_count 2 needs exactly one target ending with each of 0..1: `t_a` does not end with a number (targets: t_a, t_b)")),
        (with_db(&format!("{M2}{}", t("ds_0.t_${['0','1','01']}", None, Some("m2")))), format!("{ctx}.table_strategy: mod algorithm `m2` with sharding_count 2 needs exactly one target ending with each of 0..1: `t_1` and `t_01` both end with 1 (targets: t_0, t_1, t_01)")),
        (with_db(&format!("{r}{}", t("ds_0.t_${0..1}", None, Some("r")))), format!("{ctx}.table_strategy: range algorithm `r` with 3 partitions needs exactly one target ending with each of 0..2: no target ends with 2 (targets: t_0, t_1)")),
        (with_db(&format!("{monthly}{}", t("ds_0.t_${['202601']}", None, Some("iv")))), format!("{ctx}.table_strategy: interval algorithm `iv`: no target ends with `202602` (targets: t_202601)")),
        (with_db(&format!("{monthly}{}", t("ds_0.t_${['202601','202602','202603']}", None, Some("iv")))), format!("{ctx}.table_strategy: interval algorithm `iv`: target `t_202603` matches no period between 2026-01-01 00:00:00 and 2026-02-28 00:00:00")),
        (with_db(&format!("{ch}{}", t("ds_${0..1}.t", Some("ch"), None))), format!("{ctx}.database_strategy: consistent_hash algorithm `ch` maps slots 2..3 to `ds_5`, which is not a target (targets: ds_0, ds_1)")),
        (with_db(&format!("{ch_t}{}", t("ds_0.t_${0..1}", None, Some("ch")))), format!("{ctx}.table_strategy: consistent_hash algorithm `ch` assigns no slot to target `t_1`")),
        (with_db(&format!("{inl}{}", t("ds_0.t_${0..1}", None, Some("inl")))), format!("{ctx}.table_strategy: inline algorithm `inl` expression `t_${{user_id % 2}}` references column `user_id`, but the strategy shards by `id`")),
        (with_db(&format!("{inl}{}", t("ds_0.t_${0..1}", None, Some("inl")).replace("\"id\"", "\"USER_ID\""))), "OK".to_string()),
    ];
    for (text, want) in cases {
        check(vec![(text, want.as_str())]);
    }
}

#[test]
fn binding_errors() {
    let ctx = "test.toml: databases.db.binding_tables";
    let order = t("ds_${0..1}.t_order_${0..1}", Some("m2"), Some("m2"))
        .replace("tables.t]", "tables.t_order]");
    let item = |nodes: &str, tbl: &str| {
        t(nodes, Some("m2"), Some(tbl)).replace("tables.t]", "tables.t_item]")
    };
    let good_item = item("ds_${0..1}.t_item_${0..1}", "m2");
    let h2 = alg("h2", "type = \"hash_mod\"\nsharding_count = 2");
    let db = |head: &str, rest: &str| with_db(&format!("{head}\n{M2}{h2}{order}{rest}"));
    let cases: Vec<(String, String)> = vec![
        (db("binding_tables = [[\"t_order\", \"t_item\"]]", &good_item), "OK".to_string()),
        (db("binding_tables = [[\"t_order\", \"t_region\"]]\nbroadcast_tables = [\"t_region\"]", &good_item), format!("{ctx}: binding table `t_region` is not a sharded table")),
        (db("binding_tables = [[\"t_order\", \"t_nope\"]]", &good_item), format!("{ctx}: binding table `t_nope` is not a sharded table")),
        (db("binding_tables = [[\"t_order\"]]", &good_item), format!("{ctx}: binding group [t_order] needs at least two tables")),
        (db("binding_tables = [[\"t_order\", \"t_item\"], [\"T_ITEM\", \"t_order\"]]", &good_item), format!("{ctx}: table `T_ITEM` is in more than one binding group")),
        (db("binding_tables = [[\"t_order\", \"t_item\"]]", &item("ds_0.t_item_${0..1}, ds_1.t_item_0", "m2")), format!("{ctx}: binding tables `t_order` and `t_item` have different data node layouts (4 vs 3 nodes)")),
        (db("binding_tables = [[\"t_order\", \"t_item\"]]", &item("ds_1.t_item_${0..1}, ds_0.t_item_${0..1}", "m2")), format!("{ctx}: binding tables `t_order` and `t_item` have different data node layouts (`ds_0.t_order_0` vs `ds_1.t_item_0`)")),
        (db("binding_tables = [[\"t_order\", \"t_item\"]]", &item("ds_${0..1}.t_item_${0..1}", "h2")), format!("{ctx}: binding tables `t_order` and `t_item` have different table sharding algorithms")),
    ];
    for (text, want) in cases {
        check(vec![(text, want.as_str())]);
    }
}

#[test]
fn security_settings() {
    let server = |body: &str| format!("[server]\n{body}\n{}", with_db(""));
    let ok = "OK".to_string();
    let cases: Vec<(String, String)> = vec![
        (server("tls_cert = \"c.pem\"\ntls_key = \"k.pem\"\nrequire_secure_transport = true"), ok.clone()),
        (server("default_auth_plugin = \"caching_sha2_password\"\ncaching_sha2_cache = \"mysql\"\nrsa_private_key = \"r.pem\""), ok.clone()),
        (server("tls_cert = \"c.pem\""), "test.toml: server.tls_key: needed with tls_cert".into()),
        (server("tls_key = \"k.pem\""), "test.toml: server.tls_cert: needed with tls_key".into()),
        (server("tls_cert = \" \"\ntls_key = \"k.pem\""), "test.toml: server.tls_cert: must not be empty".into()),
        (server("require_secure_transport = true"), "test.toml: server.require_secure_transport: needs tls_cert and tls_key (no client could log in)".into()),
        (server("caching_sha2_cache = \"never\""), "test.toml:2:22: unknown variant `never`, expected `always` or `mysql`".into()),
        (server("default_auth_plugin = \"sha256_password\""), "test.toml:2:23: unknown variant `sha256_password`, expected `mysql_native_password` or `caching_sha2_password`".into()),
    ];
    for (text, want) in cases {
        check(vec![(text, want.as_str())]);
    }
}

#[test]
fn accounts_merge_databases_and_refuse_two_passwords() {
    let base = r#"
[data_sources.ds_0]
host = "h"
port = 1
user = "u"
database = "d"

[databases.a]
default_data_source = "ds_0"
[[databases.a.users]]
name = "app"
password = "pw"

[databases.b]
default_data_source = "ds_0"
[[databases.b.users]]
name = "app"
password = "PW2"
"#;
    let err = crate::rules::parse(base, "r.toml").unwrap_err().to_string();
    assert!(err.contains("another password"), "{err}");

    let ok = r#"
[data_sources.ds_0]
host = "h"
port = 1
user = "u"
database = "d"

[[users]]
name = "report"
password = "r"
databases = ["a", "B"]
read_only = true

[[users]]
name = "ops"
databases = ["*"]
admin = true

[databases.a]
default_data_source = "ds_0"
[[databases.a.users]]
name = "app"
password = "pw"

[databases.b]
default_data_source = "ds_0"
"#;
    let cfg = crate::rules::parse(ok, "r.toml").unwrap();
    let report = &cfg.accounts["report"];
    assert!(report.may_use("a") && report.may_use("b") && report.read_only_in("b"));
    assert!(!report.admin);
    assert!(cfg.accounts["ops"].admin && cfg.accounts["ops"].may_use("b"));
    assert!(!cfg.accounts["app"].may_use("b"));

    let unknown = ok.replace(r#"databases = ["a", "B"]"#, r#"databases = ["zzz"]"#);
    let err = crate::rules::parse(&unknown, "r.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`zzz` is not defined"), "{err}");

    let nobody = ok.replace(
        "[[users]]\nname = \"ops\"\ndatabases = [\"*\"]\nadmin = true\n",
        "",
    );
    let nobody = nobody.replace(r#"databases = ["a", "B"]"#, r#"databases = ["a"]"#);
    let err = crate::rules::parse(&nobody, "r.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("databases.b.users"), "{err}");
}

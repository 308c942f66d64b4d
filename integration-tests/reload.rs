//! Live rule changes on a running proxy process: `RELOAD RULES` and SIGHUP apply users,
//! `[limits]` and `[firewall]`; an invalid file or a change that moves rows is refused and
//! the rules in use keep serving.

use crate::harness::start_proxy_process;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use std::time::Duration;

fn code(e: &mysql_async::Error) -> u16 {
    match e {
        mysql_async::Error::Server(s) => s.code,
        _ => 0,
    }
}

async fn version(c: &mut Conn) -> u64 {
    let rows: Vec<Row> = c.query("SHOW SHARDING RULES").await.unwrap();
    rows[0].get::<u64, _>("version").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_applies_live_changes_and_refuses_the_rest() {
    let ep = crate::harness::shared();
    let dir = std::env::temp_dir().join(format!("shardgate-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut proxy = start_proxy_process(&ep, &dir, 11, None).await;
    let path = dir.join("rules.toml");
    let original = std::fs::read_to_string(&path).unwrap();
    let url = |user: &str, pw: &str| format!("mysql://{user}:{pw}@127.0.0.1:{}/shop", proxy.port);
    let mut admin = Conn::from_url(url("root", "root")).await.unwrap();
    assert_eq!(version(&mut admin).await, 1);
    let rows: Vec<Row> = admin.query("SHOW SHARDING RULES").await.unwrap();
    let source: String = rows[0].get("source").unwrap();
    assert!(source.ends_with("rules.toml"), "{source}");

    // Unchanged file: nothing to do.
    admin.query_drop("RELOAD RULES").await.unwrap();
    assert_eq!(version(&mut admin).await, 1);

    // A new user and a firewall rule: applied live.
    let live = format!(
        "{original}\n[[users]]\nname = \"late\"\npassword = \"l8\"\ndatabases = [\"shop\"]\n\n[firewall]\nrequire_where = true\n"
    );
    std::fs::write(&path, &live).unwrap();
    admin.query_drop("RELOAD RULES").await.unwrap();
    assert_eq!(version(&mut admin).await, 2);
    let e = admin
        .query_drop("UPDATE t_user SET name = 'x'")
        .await
        .unwrap_err();
    assert_eq!(code(&e), 1175, "{e}");
    let mut late = Conn::from_url(url("late", "l8"))
        .await
        .expect("new user logs in");
    let one: Option<i64> = late.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    // Not an admin.
    let e = late.query_drop("RELOAD RULES").await.unwrap_err();
    assert_eq!(code(&e), 1227, "{e}");

    // An invalid file: the error `check` gives, and the rules in use stay.
    std::fs::write(
        &path,
        format!("{live}\n[limits]\nstatement_timeout_ms = \"soon\"\n"),
    )
    .unwrap();
    let e = admin.query_drop("RELOAD RULES").await.unwrap_err();
    assert!(e.to_string().contains("rules.toml"), "{e}");
    assert!(e.to_string().contains("unchanged"), "{e}");
    assert_eq!(version(&mut admin).await, 2);

    // A change that moves rows: refused, pointing to reshard; nothing changes.
    let moved = live.replacen("t_config = \"ds_0\"", "t_config = \"ds_1\"", 1);
    assert_ne!(moved, live);
    std::fs::write(
        &path,
        moved.replace("password = \"l8\"", "password = \"other\""),
    )
    .unwrap();
    let e = admin.query_drop("RELOAD RULES").await.unwrap_err();
    assert!(e.to_string().contains("shardgate reshard"), "{e}");
    assert_eq!(version(&mut admin).await, 2);
    Conn::from_url(url("late", "l8"))
        .await
        .expect("old password still valid");

    // SIGHUP: a changed password, applied without a statement.
    std::fs::write(
        &path,
        live.replace("password = \"l8\"", "password = \"new\""),
    )
    .unwrap();
    let pid = proxy.child.id().expect("pid");
    std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    let mut applied = false;
    for _ in 0..100 {
        if version(&mut admin).await == 3 {
            applied = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(applied, "SIGHUP reloaded the rules");
    Conn::from_url(url("late", "new"))
        .await
        .expect("new password");
    assert!(
        Conn::from_url(url("late", "l8")).await.is_err(),
        "old password refused"
    );
    // The existing session goes on.
    let one: Option<i64> = late.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));

    proxy.child.kill().await.ok();
    std::fs::remove_dir_all(&dir).ok();
}

/// New tables (sharded and broadcast) and a new logical database are applied live; a
/// transaction open across the reload keeps the tables it started with; a rule for a table
/// that already lives on the default data source is refused (it would move rows).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_adds_tables_and_databases_live() {
    let ep = crate::harness::shared();
    for i in 0..2 {
        let mut s = Conn::from_url(ep.shard_url(i)).await.unwrap();
        for t in ["t_rl_coupon_0", "t_rl_coupon_1", "t_rl_zone", "t_rl_plain"] {
            s.query_drop(format!("DROP TABLE IF EXISTS {t}"))
                .await
                .unwrap();
        }
        for t in ["t_rl_coupon_0", "t_rl_coupon_1"] {
            s.query_drop(format!(
                "CREATE TABLE {t} (id BIGINT PRIMARY KEY, user_id INT NOT NULL, code VARCHAR(20))"
            ))
            .await
            .unwrap();
        }
        s.query_drop("CREATE TABLE t_rl_zone (id INT PRIMARY KEY, name VARCHAR(20))")
            .await
            .unwrap();
        s.query_drop("DROP TABLE IF EXISTS t_rl_diff")
            .await
            .unwrap();
        s.query_drop("CREATE TABLE t_rl_diff (id INT PRIMARY KEY)")
            .await
            .unwrap();
        if i == 0 {
            s.query_drop("CREATE TABLE t_rl_plain (id INT PRIMARY KEY)")
                .await
                .unwrap();
            s.query_drop("INSERT INTO t_rl_diff VALUES (1)")
                .await
                .unwrap();
        }
        s.disconnect().await.ok();
    }
    let dir = std::env::temp_dir().join(format!("shardgate-reload-t-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut proxy = start_proxy_process(&ep, &dir, 12, None).await;
    let path = dir.join("rules.toml");
    let original = std::fs::read_to_string(&path).unwrap();
    let url = |user: &str, pw: &str, db: &str| {
        format!("mysql://{user}:{pw}@127.0.0.1:{}/{db}", proxy.port)
    };
    let mut admin = Conn::from_url(url("root", "root", "shop")).await.unwrap();
    // A transaction that starts before the reload.
    let mut before = Conn::from_url(url("root", "root", "shop")).await.unwrap();
    before.query_drop("BEGIN").await.unwrap();
    before
        .query_drop("SELECT COUNT(*) FROM t_user")
        .await
        .unwrap();

    let added = original.replacen(
        "broadcast_tables = [\"t_region\"]",
        "broadcast_tables = [\"t_region\", \"t_rl_zone\"]",
        1,
    ) + "\n[databases.shop.tables.t_rl_coupon]\nactual_data_nodes = \"ds_${0..1}.t_rl_coupon_${0..1}\"\ndatabase_strategy = { column = \"user_id\", algorithm = \"db_mod\" }\ntable_strategy = { column = \"id\", algorithm = \"table_mod\" }\n\n[databases.rl_blog]\ndefault_data_source = \"ds_0\"\n\n[[databases.rl_blog.users]]\nname = \"blogger\"\npassword = \"b\"\n";
    std::fs::write(&path, &added).unwrap();
    admin.query_drop("RELOAD RULES").await.unwrap();
    assert_eq!(version(&mut admin).await, 2);

    admin
        .query_drop("INSERT INTO t_rl_coupon (id, user_id, code) VALUES (10, 1, 'a'), (11, 2, 'b'), (12, 3, 'c')")
        .await
        .unwrap();
    admin
        .query_drop("INSERT INTO t_rl_zone VALUES (1, 'north')")
        .await
        .unwrap();
    let rows: Vec<(i64, i32, String)> = admin
        .query("SELECT id, user_id, code FROM t_rl_coupon ORDER BY id")
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    let plan: Vec<(String, String, String)> = admin
        .query("EXPLAIN SHARDING SELECT * FROM t_rl_coupon WHERE user_id = 1 AND id = 11")
        .await
        .unwrap();
    assert_eq!(
        plan,
        vec![(
            "Unicast".into(),
            "ds_1".into(),
            "SELECT * FROM t_rl_coupon_1 WHERE user_id = 1 AND id = 11".into()
        )]
    );
    // The rows are where the rules put them, and the broadcast row on both copies.
    for (i, want) in [(0usize, vec![11i64]), (1, vec![10, 12])] {
        let mut s = Conn::from_url(ep.shard_url(i)).await.unwrap();
        let mut ids: Vec<i64> = s
            .query("SELECT id FROM t_rl_coupon_0 UNION ALL SELECT id FROM t_rl_coupon_1")
            .await
            .unwrap();
        ids.sort();
        assert_eq!(ids, want, "ds_{i}");
        let zone: Option<String> = s
            .query_first("SELECT name FROM t_rl_zone WHERE id = 1")
            .await
            .unwrap();
        assert_eq!(zone.as_deref(), Some("north"), "ds_{i}");
        s.disconnect().await.ok();
    }
    // Result metadata names the logical table.
    let r = admin
        .query_iter("SELECT code FROM t_rl_coupon WHERE user_id = 2 AND id = 11")
        .await
        .unwrap();
    let table = r.columns_ref()[0].table_str().into_owned();
    drop(r);
    assert_eq!(table, "t_rl_coupon");

    // The open transaction still plans against the rules it started with: there the
    // table is unnamed, so it is looked for on the default data source only.
    let e = before
        .query_drop("SELECT COUNT(*) FROM t_rl_coupon")
        .await
        .unwrap_err();
    assert_eq!(code(&e), 1146, "{e}");
    before.query_drop("COMMIT").await.unwrap();
    let n: Option<i64> = before
        .query_first("SELECT COUNT(*) FROM t_rl_coupon")
        .await
        .unwrap();
    assert_eq!(n, Some(3));

    // The new logical database and its user.
    let mut blogger = Conn::from_url(url("blogger", "b", "rl_blog"))
        .await
        .expect("new database's user");
    let db: Option<String> = blogger.query_first("SELECT DATABASE()").await.unwrap();
    assert_eq!(db.as_deref(), Some("rl_blog"));

    // A new data source with a single table on it, and new connection settings for ds_1
    // (as after a failover): live; a transaction open across the reload finishes on the
    // connections it has.
    let mut s0 = Conn::from_url(ep.shard_url(0)).await.unwrap();
    s0.query_drop("DROP DATABASE IF EXISTS sg_rl_new")
        .await
        .unwrap();
    s0.query_drop("CREATE DATABASE sg_rl_new").await.unwrap();
    s0.query_drop("CREATE TABLE sg_rl_new.t_rl_single (id INT PRIMARY KEY)")
        .await
        .unwrap();
    s0.disconnect().await.ok();
    let mut open = Conn::from_url(url("root", "root", "shop")).await.unwrap();
    open.query_drop("BEGIN").await.unwrap();
    open.query_drop("UPDATE t_rl_coupon SET code = 'x' WHERE user_id = 1 AND id = 10")
        .await
        .unwrap();
    let ds1 = "[data_sources.ds_1]\nhost = \"127.0.0.1\"";
    assert!(added.contains(ds1));
    let moved = added
        .replacen(ds1, &format!("{ds1}\nconnect_timeout_ms = 4321"), 1)
        .replacen(
            "single_tables = { t_config = \"ds_0\" }",
            "single_tables = { t_config = \"ds_0\", t_rl_single = \"ds_2\" }",
            1,
        )
        + &format!(
            "\n[data_sources.ds_2]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\ndatabase = \"sg_rl_new\"\n",
            ep.shard_ports[0]
        );
    std::fs::write(&path, &moved).unwrap();
    admin.query_drop("RELOAD RULES").await.unwrap();
    assert_eq!(version(&mut admin).await, 3);
    admin
        .query_drop("INSERT INTO t_rl_single VALUES (7)")
        .await
        .unwrap();
    let n: Option<i64> = admin
        .query_first("SELECT COUNT(*) FROM t_rl_single")
        .await
        .unwrap();
    assert_eq!(n, Some(1));
    let sources: Vec<Row> = admin.query("SHOW SHARDING DATA SOURCES").await.unwrap();
    let names: Vec<String> = sources
        .iter()
        .map(|r| r.get::<String, _>("name").unwrap())
        .collect();
    assert_eq!(names, ["ds_0", "ds_1", "ds_2"]);
    open.query_drop("COMMIT").await.unwrap();
    let code_now: Option<String> = admin
        .query_first("SELECT code FROM t_rl_coupon WHERE user_id = 1 AND id = 10")
        .await
        .unwrap();
    assert_eq!(code_now.as_deref(), Some("x"));
    let added = moved;

    // A rule for a table that already lives on the default data source moves its rows.
    let plain = format!(
        "{added}\n[databases.shop.tables.t_rl_plain]\nactual_data_nodes = \"ds_${{0..1}}.t_rl_plain\"\ndatabase_strategy = {{ column = \"id\", algorithm = \"db_mod\" }}\n"
    );
    std::fs::write(&path, &plain).unwrap();
    let e = admin.query_drop("RELOAD RULES").await.unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    assert!(e.to_string().contains("shardgate reshard"), "{e}");
    assert_eq!(version(&mut admin).await, 3);
    // So does a broadcast table whose copies differ.
    let differ = added.replacen("\"t_rl_zone\"]", "\"t_rl_zone\", \"t_rl_diff\"]", 1);
    std::fs::write(&path, &differ).unwrap();
    let e = admin.query_drop("RELOAD RULES").await.unwrap_err();
    assert!(e.to_string().contains("copies differ"), "{e}");
    assert_eq!(version(&mut admin).await, 3);

    for i in 0..2 {
        let mut s = Conn::from_url(ep.shard_url(i)).await.unwrap();
        for t in [
            "t_rl_coupon_0",
            "t_rl_coupon_1",
            "t_rl_zone",
            "t_rl_plain",
            "t_rl_diff",
        ] {
            s.query_drop(format!("DROP TABLE IF EXISTS {t}"))
                .await
                .unwrap();
        }
        s.query_drop("DROP DATABASE IF EXISTS sg_rl_new")
            .await
            .unwrap();
        s.disconnect().await.ok();
    }
    proxy.child.kill().await.ok();
    std::fs::remove_dir_all(&dir).ok();
}

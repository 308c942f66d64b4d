//! Front-end behaviour: auth, errors, session state, SHOW, metadata.

use crate::diff::{connect, text};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_1045() {
    let ep = crate::harness::shared();
    let opts = OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(ep.proxy.port())
        .user(Some("root"))
        .pass(Some("nope"));
    match Conn::new(opts).await {
        Err(mysql_async::Error::Server(e)) => {
            assert_eq!(e.code, 1045);
            assert_eq!(e.state, "28000");
        }
        other => panic!("expected 1045, got {:?}", other.map(|_| ())),
    }
    let opts = OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(ep.proxy.port())
        .user(Some("root"))
        .pass(Some("root"))
        .db_name(Some("nosuchdb"));
    match Conn::new(opts).await {
        Err(mysql_async::Error::Server(e)) => assert_eq!(e.code, 1049),
        other => panic!("expected 1049, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_pass_through_with_logical_names() {
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    for sql in [
        "SELECT nosuchcol FROM t_order WHERE user_id = 1",
        "SELECT nosuchcol FROM t_order",
        "SELECT * FROM no_such_table",
        "SELEC 1",
        "INSERT INTO t_user (user_id, name, created_at) VALUES (1, 'dup', NOW())",
    ] {
        let pe = text(&mut p, sql).await.expect_err(sql);
        let oe = text(&mut o, sql).await.expect_err(sql);
        assert_eq!(pe.0, oe.0, "{sql}: proxy {pe:?} oracle {oe:?}");
        assert!(
            !pe.1.contains("t_order_0") && !pe.1.contains("shop_0"),
            "{sql}: physical name leaked: {}",
            pe.1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_state_and_show() {
    let ep = crate::harness::shared();
    let (mut p, _) = connect(&ep).await;
    p.query_drop("SET NAMES utf8mb4").await.unwrap();
    let v: Option<String> = p
        .query_first("SELECT @@character_set_client")
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some("utf8mb4"));
    let (name, ddl): (String, String) = p
        .query_first("SHOW CREATE TABLE t_order")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(name, "t_order");
    assert!(ddl.starts_with("CREATE TABLE `t_order` ("), "{ddl}");
    p.query_drop("SET SESSION sql_mode = 'ANSI_QUOTES'")
        .await
        .unwrap();
    for _ in 0..3 {
        let m: Option<String> = p.query_first("SELECT @@SESSION.sql_mode").await.unwrap();
        assert_eq!(m.as_deref(), Some("ANSI_QUOTES"));
    }
    let e = p
        .query_drop("SET SESSION no_such_variable = 1")
        .await
        .unwrap_err();
    assert!(
        matches!(e, mysql_async::Error::Server(ref s) if s.code == 1193),
        "{e:?}"
    );
    let db: Option<String> = p.query_first("SELECT DATABASE()").await.unwrap();
    assert_eq!(db.as_deref(), Some("shop"));
    let tables: Vec<String> = p.query("SHOW TABLES").await.unwrap();
    assert_eq!(
        tables,
        vec![
            "t_config",
            "t_order",
            "t_order_item",
            "t_product",
            "t_region",
            "t_user"
        ]
    );
    let dbs: Vec<String> = p.query("SHOW DATABASES").await.unwrap();
    assert!(dbs.contains(&"shop".to_string()) && !dbs.iter().any(|d| d.starts_with("shop_")));
    let (_, ddl): (String, String) = p
        .query_first("SHOW CREATE TABLE t_order")
        .await
        .unwrap()
        .unwrap();
    assert!(ddl.starts_with("CREATE TABLE \"t_order\" ("), "{ddl}");
    let cols: Vec<(String, String, String, String, Option<String>, String)> =
        p.query("DESCRIBE t_order").await.unwrap();
    assert_eq!(cols[0].0, "order_id");
    p.ping().await.unwrap();
    p.reset().await.unwrap();
    let m: Option<String> = p.query_first("SELECT @@SESSION.sql_mode").await.unwrap();
    assert_ne!(
        m.as_deref(),
        Some("ANSI_QUOTES"),
        "COM_RESET_CONNECTION must reset session variables"
    );
    let plan: Vec<(String, String, String)> = p
        .query("EXPLAIN SHARDING SELECT * FROM t_order WHERE user_id = 3 AND order_id = 1001")
        .await
        .unwrap();
    assert_eq!(
        plan,
        vec![(
            "Unicast".into(),
            "ds_1".into(),
            "SELECT * FROM t_order_1 WHERE user_id = 3 AND order_id = 1001".into()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_and_type_metadata_match() {
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    let cases = [
        crate::diff::unordered("SELECT _binary 'ab', x'00ff', CAST('é' AS BINARY), 'é', 1.50, 10/3, NOW() > '2000-01-01'"),
        crate::diff::unordered("SELECT user_id, balance, created_at, email FROM t_user WHERE user_id = 1"),
        crate::diff::unordered("SELECT CAST('2026-01-02' AS DATE), CAST('10:11:12.5' AS TIME(1)), CAST(-1.5 AS DOUBLE), CAST(0.25 AS FLOAT)"),
    ];
    crate::diff::check_all(&mut p, &mut o, &cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_connections_is_1040() {
    let (addr, stop, _) =
        crate::harness::proxy_over_shared(|c| c.server.max_connections = Some(2)).await;
    let url = format!("mysql://root:root@127.0.0.1:{}/shop", addr.port());
    let a = Conn::from_url(url.as_str()).await.expect("first");
    let b = Conn::from_url(url.as_str()).await.expect("second");
    match Conn::from_url(url.as_str()).await {
        // Before the handshake there is no SQLSTATE marker: clients report the code only.
        Err(mysql_async::Error::Server(e)) => assert_eq!(e.code, 1040, "{e:?}"),
        other => panic!("expected 1040, got {:?}", other.map(|_| ())),
    }
    drop(a.disconnect().await);
    // The slot frees once the first session ends.
    let mut ok = false;
    for _ in 0..50 {
        if let Ok(c) = Conn::from_url(url.as_str()).await {
            drop(c.disconnect().await);
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(ok, "a connection slot must free up after a disconnect");
    drop(b.disconnect().await);
    let _ = stop.send(true);
}

/// A client that connects and never logs in is closed after `connect_timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_clients_are_closed_after_connect_timeout() {
    use tokio::io::AsyncReadExt;
    let (addr, _stop, _) =
        crate::harness::proxy_over_shared(|c| c.server.connect_timeout = 1).await;
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let started = std::time::Instant::now();
    let mut buf = vec![0u8; 4096];
    // The greeting, then nothing from us: the proxy closes the socket.
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "not closed within 10 s");
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(900),
        "{waited:?}"
    );
    // A client that logs in is unaffected.
    let mut c = mysql_async::Conn::from_url(format!("mysql://root:root@{addr}/shop"))
        .await
        .expect("login");
    use mysql_async::prelude::Queryable;
    let one: Option<u8> = c.query_first("SELECT 1").await.expect("select");
    assert_eq!(one, Some(1));
}

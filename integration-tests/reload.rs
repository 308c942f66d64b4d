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

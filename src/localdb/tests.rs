use super::*;
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::time::Instant;

use mysql_async::prelude::Queryable;

use super::init::Layout;
use super::programs::find_program;
use super::server::is_port_clash;

/// Our children are reaped, not merely dead: `/proc/PID` must be gone.
fn assert_reaped(pid: u32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
    assert!(
        status.is_err(),
        "mariadbd {pid} left behind: {}",
        status.unwrap_or_default()
    );
}

fn skip_without_mariadb(test: &str) -> bool {
    if is_available() {
        return false;
    }
    eprintln!(
        "SKIPPING {test}: {MARIADBD_NOT_FOUND} (./scripts/test.sh installs it via scripts/ensure-deps.sh)"
    );
    true
}

#[test]
fn not_found_message_is_actionable() {
    assert_eq!(
        LocalDbError::MariadbdNotFound.to_string(),
        MARIADBD_NOT_FOUND
    );
}

#[test]
fn free_ports_are_distinct() {
    let a = pick_free_port().expect("port");
    let b = pick_free_port().expect("port");
    assert_ne!(a, b);
    assert_ne!(a, 0);
}

#[test]
fn long_workdirs_get_a_short_socket() {
    let long = PathBuf::from("/tmp").join("x".repeat(120));
    let layout = Layout::new(&long);
    assert!(layout.socket_outside_workdir);
    assert!(layout.socket.as_os_str().len() <= MAX_SOCKET_PATH);
    let short = Layout::new(Path::new("/tmp/w"));
    assert_eq!(short.socket, PathBuf::from("/tmp/w/mysqld.sock"));
}

#[tokio::test]
async fn two_servers_start_concurrently_answer_and_stop_cleanly() {
    if skip_without_mariadb("two_servers_start_concurrently_answer_and_stop_cleanly") {
        return;
    }
    let t0 = Instant::now();
    let (a, b) = tokio::join!(
        LocalMariaDb::start(LocalOptions::temp("unit-a")),
        LocalMariaDb::start(LocalOptions::temp("unit-b")),
    );
    let a = a.expect("start a");
    let b = b.expect("start b");
    eprintln!("2 servers ready in {:?}", t0.elapsed());
    assert_ne!(a.port(), b.port());
    assert_eq!(a.url(), format!("mysql://root@127.0.0.1:{}", a.port()));

    for db in [&a, &b] {
        let mut conn = mysql_async::Conn::from_url(db.url())
            .await
            .expect("connect via url");
        let row: Option<(i64, String, String)> = conn
            .query_first("SELECT 1 + 1, @@character_set_server, @@collation_server")
            .await
            .expect("query");
        assert_eq!(
            row,
            Some((2, "utf8mb4".to_string(), "utf8mb4_general_ci".to_string()))
        );
        // The binary log as online resharding reads it.
        let binlog: Option<(i64, String, String, u64)> = conn
            .query_first("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@server_id")
            .await
            .expect("binlog settings");
        assert_eq!(
            binlog,
            Some((
                1,
                "ROW".to_string(),
                "FULL".to_string(),
                u64::from(db.port())
            ))
        );
        conn.disconnect().await.expect("disconnect");
        db.execute("CREATE DATABASE IF NOT EXISTS t; CREATE TABLE t.x (id INT PRIMARY KEY); INSERT INTO t.x VALUES (1),(2)")
            .await
            .expect("execute");
        let mut conn = db.connect(Some("t")).await.expect("connect t");
        let n: Option<i64> = conn
            .query_first("SELECT COUNT(*) FROM x")
            .await
            .expect("count");
        assert_eq!(n, Some(2));
        conn.disconnect().await.expect("disconnect");
    }

    // The stock client connects as root with no password over TCP.
    if let Some(client) = find_program("mariadb") {
        let out = tokio::process::Command::new(client)
            .args([
                "--no-defaults",
                "-h127.0.0.1",
                "-uroot",
                "-N",
                "-e",
                "SELECT 42",
            ])
            .arg(format!("-P{}", a.port()))
            .output()
            .await
            .expect("run mariadb client");
        assert!(
            out.status.success(),
            "mariadb client failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
    }

    let pids = [a.pid(), b.pid()];
    let dirs = [a.workdir().to_path_buf(), b.workdir().to_path_buf()];
    let (ra, rb) = tokio::join!(a.stop(), b.stop());
    ra.expect("stop a");
    rb.expect("stop b");
    for pid in pids {
        assert_reaped(pid);
    }
    for dir in dirs {
        assert!(!dir.exists(), "{} not removed", dir.display());
    }
}

#[tokio::test]
async fn drop_kills_and_restart_reuses_datadir_with_init_sql() {
    if skip_without_mariadb("drop_kills_and_restart_reuses_datadir_with_init_sql") {
        return;
    }
    let mut opts = LocalOptions::temp("unit-restart");
    opts.init_sql = vec![
        "CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'pw'".to_string(),
        "GRANT ALL ON *.* TO 'app'@'%'".to_string(),
    ];
    let workdir = opts.workdir.clone();
    let db = LocalMariaDb::start(LocalOptions {
        remove_workdir_on_stop: false,
        ..opts.clone()
    })
    .await
    .expect("first start");
    db.execute("CREATE DATABASE kept").await.expect("create db");
    let pid = db.pid();
    drop(db);
    assert_reaped(pid);

    // Same workdir: no re-init, data survives, the init file's user works.
    let db = LocalMariaDb::start(opts).await.expect("restart");
    let url = format!("mysql://app:pw@127.0.0.1:{}/kept", db.port());
    let mut conn = mysql_async::Conn::from_url(url).await.expect("app login");
    let user: Option<String> = conn
        .query_first("SELECT CURRENT_USER()")
        .await
        .expect("query");
    assert_eq!(user.as_deref(), Some("app@%"));
    conn.disconnect().await.expect("disconnect");
    db.stop().await.expect("stop");
    assert!(!workdir.exists());
}

#[tokio::test]
async fn failing_init_sql_fails_start_and_kills_server() {
    if skip_without_mariadb("failing_init_sql_fails_start_and_kills_server") {
        return;
    }
    let mut opts = LocalOptions::temp("unit-badsql");
    opts.init_sql = vec![
        "CREATE DATABASE IF NOT EXISTS fine".to_string(),
        "CREATE TABLE no_such_db.x (a INT)".to_string(),
    ];
    let workdir = opts.workdir.clone();
    let err = LocalMariaDb::start(opts).await.expect_err("must fail");
    match &err {
        LocalDbError::InitSql { statement, .. } => assert!(statement.contains("no_such_db")),
        other => panic!("unexpected error: {other}"),
    }
    let pid_file = workdir.join("mysqld.pid");
    if let Some(pid) = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
    {
        assert_reaped(pid);
    }
    let _ = std::fs::remove_dir_all(workdir);
}

#[tokio::test]
async fn fixed_port_in_use_fails_with_log_tail() {
    if skip_without_mariadb("fixed_port_in_use_fails_with_log_tail") {
        return;
    }
    let blocker = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = blocker.local_addr().expect("addr").port();
    let mut opts = LocalOptions::temp("unit-clash");
    opts.port = port;
    let workdir = opts.workdir.clone();
    let err = LocalMariaDb::start(opts).await.expect_err("must fail");
    let msg = err.to_string();
    assert!(
        matches!(err, LocalDbError::ExitedEarly { .. }) && is_port_clash(&msg),
        "unexpected error: {msg}"
    );
    let _ = std::fs::remove_dir_all(workdir);
}

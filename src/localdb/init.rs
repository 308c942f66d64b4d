//! Per-instance paths and data directory initialisation (`mariadb-install-db`).

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};

use super::logs::last_lines;
use super::process::process_gone;
use super::programs::{find_install_db, running_as_root};
use super::{LocalDbError, LocalOptions, MAX_SOCKET_PATH};

/// Paths of one instance.
pub(super) struct Layout {
    pub(super) workdir: PathBuf,
    pub(super) datadir: PathBuf,
    pub(super) tmpdir: PathBuf,
    pub(super) socket: PathBuf,
    pub(super) socket_outside_workdir: bool,
    pub(super) pid_file: PathBuf,
    pub(super) error_log: PathBuf,
    pub(super) init_marker: PathBuf,
    pub(super) stdout_log: PathBuf,
}

impl Layout {
    pub(super) fn new(workdir: &Path) -> Layout {
        let mut socket = workdir.join("mysqld.sock");
        let mut socket_outside_workdir = false;
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            // Deep work directories (target/…/tmp/…) overflow sun_path: put the
            // socket in the temp dir under a unique short name instead.
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            socket = std::env::temp_dir().join(format!("sgdb-{}-{}.sock", std::process::id(), n));
            if socket.as_os_str().len() > MAX_SOCKET_PATH {
                socket = PathBuf::from(format!("/tmp/sgdb-{}-{}.sock", std::process::id(), n));
            }
            socket_outside_workdir = true;
        }
        Layout {
            workdir: workdir.to_path_buf(),
            datadir: workdir.join("data"),
            tmpdir: workdir.join("tmp"),
            socket,
            socket_outside_workdir,
            pid_file: workdir.join("mysqld.pid"),
            error_log: workdir.join("error.log"),
            init_marker: workdir.join("data.initialized"),
            stdout_log: workdir.join("mysqld.out"),
        }
    }
}
/// Refuses to start a second server on the same data directory.
pub(super) fn check_not_running(name: &str, layout: &Layout) -> Result<(), LocalDbError> {
    let Ok(text) = std::fs::read_to_string(&layout.pid_file) else {
        return Ok(());
    };
    let Ok(pid) = text.trim().parse::<u32>() else {
        return Ok(());
    };
    let alive = !process_gone(pid);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let ours = String::from_utf8_lossy(&cmdline).contains(&*layout.datadir.to_string_lossy());
    if alive && ours {
        return Err(LocalDbError::AlreadyRunning {
            name: name.to_string(),
            pid,
            datadir: layout.datadir.clone(),
        });
    }
    // Stale leftovers of a killed server.
    let _ = std::fs::remove_file(&layout.pid_file);
    let _ = std::fs::remove_file(&layout.socket);
    let _ = std::fs::remove_file(lock_path(&layout.socket));
    Ok(())
}

pub(super) fn lock_path(socket: &Path) -> PathBuf {
    let mut s: OsString = socket.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// Sizing options that must agree between `mariadb-install-db` and `mariadbd`
/// (otherwise the first start rewrites the redo log).
fn innodb_sizing_args() -> [&'static str; 2] {
    [
        "--innodb-log-file-size=48M",
        "--innodb-buffer-pool-size=64M",
    ]
}

pub(super) async fn ensure_initialized(
    opts: &LocalOptions,
    layout: &Layout,
) -> Result<(), LocalDbError> {
    if layout.init_marker.exists() && layout.datadir.join("mysql").is_dir() {
        return Ok(());
    }
    // Not (fully) initialised by us: start from an empty data directory.
    match tokio::fs::remove_dir_all(&layout.datadir).await {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(LocalDbError::io(
                format!("clearing {}", layout.datadir.display()),
                e,
            ))
        }
    }
    tokio::fs::create_dir_all(&layout.datadir)
        .await
        .map_err(|e| LocalDbError::io(format!("creating {}", layout.datadir.display()), e))?;
    let install_db = find_install_db()?;
    let mut cmd = tokio::process::Command::new(&install_db);
    cmd.arg("--no-defaults")
        .arg("--auth-root-authentication-method=normal")
        .arg(format!("--datadir={}", layout.datadir.display()))
        .arg(format!("--tmpdir={}", layout.tmpdir.display()))
        // No `test` database and no anonymous ''@localhost users, which would
        // otherwise shadow 'user'@'%' accounts for connections from 127.0.0.1.
        .arg("--skip-test-db")
        .args(innodb_sizing_args())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if running_as_root() {
        cmd.arg("--user=root");
    }
    let out = cmd
        .output()
        .await
        .map_err(|e| LocalDbError::io(format!("running {}", install_db.display()), e))?;
    if !out.status.success() {
        let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
        output.push_str(&String::from_utf8_lossy(&out.stderr));
        return Err(LocalDbError::InitFailed {
            name: opts.name.clone(),
            datadir: layout.datadir.clone(),
            status: out.status.to_string(),
            output: last_lines(&output, 40),
        });
    }
    tokio::fs::write(&layout.init_marker, b"ok\n")
        .await
        .map_err(|e| LocalDbError::io(format!("writing {}", layout.init_marker.display()), e))?;
    Ok(())
}

pub(super) fn server_args(opts: &LocalOptions, layout: &Layout, port: u16) -> Vec<String> {
    let mut args = vec![
        "--no-defaults".to_string(),
        format!("--datadir={}", layout.datadir.display()),
        format!("--tmpdir={}", layout.tmpdir.display()),
        format!("--socket={}", layout.socket.display()),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".to_string(),
        format!("--pid-file={}", layout.pid_file.display()),
        format!("--log-error={}", layout.error_log.display()),
        "--character-set-server=utf8mb4".to_string(),
        "--collation-server=utf8mb4_general_ci".to_string(),
        // The binary log in the form online resharding reads (ROW events, full images):
        // kept small, and its files expire after a day.
        format!("--log-bin={}", layout.datadir.join("binlog").display()),
        "--binlog-format=ROW".to_string(),
        "--binlog-row-image=FULL".to_string(),
        format!("--server-id={port}"),
        "--max-binlog-size=64M".to_string(),
        "--binlog-expire-logs-seconds=86400".to_string(),
        "--max-connections=500".to_string(),
        // Proxy tests abort connections on purpose; never block 127.0.0.1.
        "--max-connect-errors=1000000000".to_string(),
    ];
    args.extend(innodb_sizing_args().iter().map(|s| s.to_string()));
    if running_as_root() {
        args.push("--user=root".to_string());
    }
    if opts.fast_durability {
        args.push("--innodb-flush-log-at-trx-commit=2".to_string());
    }
    args.extend(opts.extra_args.iter().cloned());
    args
}

//! Throwaway local MariaDB servers for `shardgate demo` and the integration tests.
//!
//! [`LocalMariaDb::start`] initialises a private data directory (once), starts
//! `mariadbd` on a loopback port with its own tmpdir, socket, pid file and error
//! log under [`LocalOptions::workdir`], and returns once the server answers
//! `SELECT 1` as `root` with an empty password over TCP.
//! [`LocalMariaDb::stop`] shuts it down with SIGTERM (SIGKILL after ~20 s), and
//! dropping a running server SIGKILLs it, so tests never leave a `mariadbd` behind.
//!
//! Everything runs with `--no-defaults`, so `/etc/mysql` never interferes, and the
//! system MariaDB service is neither needed nor touched.
//!
//! The servers are spawned from one long-lived helper thread through
//! `setpriv --pdeathsig KILL` (when `setpriv` exists), so even a test process that
//! is killed outright (no destructors) takes its servers with it.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

/// Error message when the server binary is missing (kept stable: scripts and docs grep for it).
pub const MARIADBD_NOT_FOUND: &str =
    "mariadbd not found: install it with `sudo apt-get install mariadb-server`";

const STOP_GRACE: Duration = Duration::from_secs(20);
const KILL_GRACE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(25);
/// Unix socket paths are limited to 108 bytes including the NUL.
const MAX_SOCKET_PATH: usize = 100;
/// How many fresh ports to try when `port == 0` and the picked one was taken meanwhile.
const PORT_ATTEMPTS: usize = 3;

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum LocalDbError {
    #[error("mariadbd not found: install it with `sudo apt-get install mariadb-server`")]
    MariadbdNotFound,
    #[error("mariadb-install-db not found: install it with `sudo apt-get install mariadb-server`")]
    InstallDbNotFound,
    #[error("invalid local server options: {0}")]
    InvalidOptions(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("mariadb-install-db failed for `{name}` ({status}) in {datadir}:\n{output}")]
    InitFailed {
        name: String,
        datadir: PathBuf,
        status: String,
        output: String,
    },
    #[error("a mariadbd (pid {pid}) is already running for `{name}` on {datadir}")]
    AlreadyRunning {
        name: String,
        pid: u32,
        datadir: PathBuf,
    },
    #[error(
        "mariadbd `{name}` exited during startup on port {port} ({status}); tail of {log}:\n{tail}"
    )]
    ExitedEarly {
        name: String,
        port: u16,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("mariadbd `{name}` on port {port} did not answer `SELECT 1` within {timeout:?} (last error: {last_error}); tail of {log}:\n{tail}")]
    StartTimeout {
        name: String,
        port: u16,
        timeout: Duration,
        last_error: String,
        log: PathBuf,
        tail: String,
    },
    #[error("query on local server `{name}` (port {port}) failed: {source}")]
    Query {
        name: String,
        port: u16,
        #[source]
        source: mysql_async::Error,
    },
    #[error("init SQL on local server `{name}` failed: {source}\nstatement: {statement}")]
    InitSql {
        name: String,
        statement: String,
        #[source]
        source: mysql_async::Error,
    },
    #[error("mariadbd `{name}` (pid {pid}) did not exit even after SIGKILL")]
    StopTimeout { name: String, pid: u32 },
}

impl LocalDbError {
    fn io(context: impl Into<String>, source: io::Error) -> Self {
        LocalDbError::Io {
            context: context.into(),
            source,
        }
    }
}

/// How to start one local server.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The server's own directory: `data/`, `tmp/`, `mysqld.sock`, `mysqld.pid`,
    /// `error.log` live under it. Created if missing. A data directory this
    /// module initialised (marker `data.initialized`) is reused as is; anything
    /// else in `data/` is wiped and initialised afresh.
    pub workdir: PathBuf,
    /// Label used in errors and logs.
    pub name: String,
    /// Extra `mariadbd` arguments, appended last (so they override the defaults).
    pub extra_args: Vec<String>,
    /// `--innodb-flush-log-at-trx-commit=2` (fast, not crash-safe). Default true.
    pub fast_durability: bool,
    /// SQL run as root over TCP after every start, before `start` returns, one
    /// statement per entry (e.g. `CREATE USER IF NOT EXISTS ...`). A failing
    /// statement fails `start`. (Not `--init-file`: MariaDB 10.11 silently stops
    /// at the first failing statement there and logs nothing.)
    pub init_sql: Vec<String>,
    /// How long `start` waits for `SELECT 1` to succeed. Default 30 s.
    pub startup_timeout: Duration,
    /// Delete `workdir` after `stop` (and, best effort, on drop). Default false.
    pub remove_workdir_on_stop: bool,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            port: 0,
            workdir: PathBuf::new(),
            name: "local".to_string(),
            extra_args: Vec::new(),
            fast_durability: true,
            init_sql: Vec::new(),
            startup_timeout: Duration::from_secs(30),
            remove_workdir_on_stop: false,
        }
    }
}

impl LocalOptions {
    /// Options with defaults for a server living in `workdir`.
    pub fn new(name: impl Into<String>, workdir: impl Into<PathBuf>) -> Self {
        LocalOptions {
            name: name.into(),
            workdir: workdir.into(),
            ..LocalOptions::default()
        }
    }

    /// Options for a server in a fresh directory under the system temp dir
    /// (`$TMPDIR/shardgate-localdb/<pid>-<n>-<name>`), deleted again by `stop`.
    pub fn temp(name: impl Into<String>) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = name.into();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        let root = std::env::temp_dir().join("shardgate-localdb");
        sweep_stale_temp_dirs(&root);
        let workdir = root.join(format!("{}-{}-{}", std::process::id(), n, safe));
        LocalOptions {
            name,
            workdir,
            remove_workdir_on_stop: true,
            ..LocalOptions::default()
        }
    }
}

/// Once per process: deletes `<root>/<pid>-…` directories of processes that no
/// longer exist (left behind by killed test runs; ~70 MB each).
fn sweep_stale_temp_dirs(root: &Path) {
    static SWEPT: OnceLock<()> = OnceLock::new();
    SWEPT.get_or_init(|| {
        let Ok(entries) = std::fs::read_dir(root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.split('-').next())
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    });
}

/// A running local `mariadbd`. Stop it with [`LocalMariaDb::stop`]; dropping it
/// SIGKILLs the server.
#[derive(Debug)]
pub struct LocalMariaDb {
    child: Option<Child>,
    pid: u32,
    port: u16,
    name: String,
    workdir: PathBuf,
    datadir: PathBuf,
    socket: PathBuf,
    /// Socket placed outside `workdir` because the path would be too long.
    socket_outside_workdir: bool,
    error_log: PathBuf,
    remove_workdir_on_stop: bool,
}

/// Paths of one instance.
struct Layout {
    workdir: PathBuf,
    datadir: PathBuf,
    tmpdir: PathBuf,
    socket: PathBuf,
    socket_outside_workdir: bool,
    pid_file: PathBuf,
    error_log: PathBuf,
    init_marker: PathBuf,
    stdout_log: PathBuf,
}

impl Layout {
    fn new(workdir: &Path) -> Layout {
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

impl LocalMariaDb {
    /// Initialises the data directory if needed, starts the server and waits
    /// until it answers `SELECT 1` as root over TCP.
    pub async fn start(opts: LocalOptions) -> Result<LocalMariaDb, LocalDbError> {
        let mariadbd = find_mariadbd()?;
        if opts.workdir.as_os_str().is_empty() {
            return Err(LocalDbError::InvalidOptions(format!(
                "`{}`: workdir is empty",
                opts.name
            )));
        }
        tokio::fs::create_dir_all(&opts.workdir)
            .await
            .map_err(|e| LocalDbError::io(format!("creating {}", opts.workdir.display()), e))?;
        let workdir = tokio::fs::canonicalize(&opts.workdir)
            .await
            .map_err(|e| LocalDbError::io(format!("resolving {}", opts.workdir.display()), e))?;
        let layout = Layout::new(&workdir);

        check_not_running(&opts.name, &layout)?;
        // Its own tmpdir: mariadbd deletes `#sql*` files in its tmpdir at start.
        tokio::fs::create_dir_all(&layout.tmpdir)
            .await
            .map_err(|e| LocalDbError::io(format!("creating {}", layout.tmpdir.display()), e))?;
        ensure_initialized(&opts, &layout).await?;

        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = if opts.port == 0 {
                pick_free_port()?
            } else {
                opts.port
            };
            match start_once(&mariadbd, &opts, &layout, port).await {
                Ok(db) => return Ok(db),
                Err(err) => {
                    let retry = opts.port == 0
                        && attempt < PORT_ATTEMPTS
                        && matches!(&err, LocalDbError::ExitedEarly { tail, .. } if is_port_clash(tail));
                    if !retry {
                        return Err(err);
                    }
                    tracing::debug!(name = %opts.name, port, "port was taken, retrying with another");
                }
            }
        }
    }

    /// Starts several servers concurrently; if any fails, the others are stopped
    /// and the first error is returned.
    pub async fn start_many(opts: Vec<LocalOptions>) -> Result<Vec<LocalMariaDb>, LocalDbError> {
        let results =
            futures_util::future::join_all(opts.into_iter().map(LocalMariaDb::start)).await;
        let mut started = Vec::with_capacity(results.len());
        let mut first_err = None;
        for r in results {
            match r {
                Ok(db) => started.push(db),
                Err(e) => {
                    if first_err.is_none() {
                        first_err = Some(e);
                    }
                }
            }
        }
        match first_err {
            None => Ok(started),
            Some(e) => {
                futures_util::future::join_all(started.into_iter().map(LocalMariaDb::stop)).await;
                Err(e)
            }
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mysql://root@127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    /// `mysql://root@127.0.0.1:PORT/DB`
    pub fn url_with_db(&self, db: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{}", self.port, db)
    }

    /// The label given in [`LocalOptions::name`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Process id of `mariadbd`.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The (canonicalised) work directory.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The data directory (`workdir/data`).
    pub fn datadir(&self) -> &Path {
        &self.datadir
    }

    /// The Unix socket (normally `workdir/mysqld.sock`).
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// The server's error log.
    pub fn error_log_path(&self) -> &Path {
        &self.error_log
    }

    /// Connection options for root over TCP (never switches to the socket).
    pub fn opts(&self) -> mysql_async::Opts {
        root_opts(self.port, None)
    }

    /// Opens a root connection over TCP, optionally with a default database.
    pub async fn connect(&self, db: Option<&str>) -> Result<mysql_async::Conn, LocalDbError> {
        mysql_async::Conn::new(root_opts(self.port, db))
            .await
            .map_err(|source| self.query_err(source))
    }

    /// Runs SQL text as root (several `;`-separated statements are fine),
    /// discarding any results.
    pub async fn execute(&self, sql: &str) -> Result<(), LocalDbError> {
        let mut conn = self.connect(None).await?;
        let r = conn.query_drop(sql).await;
        let d = conn.disconnect().await;
        r.map_err(|source| self.query_err(source))?;
        d.map_err(|source| self.query_err(source))
    }

    async fn run_init_sql(&self, statements: &[String]) -> Result<(), LocalDbError> {
        let mut conn = self.connect(None).await?;
        for stmt in statements {
            if stmt.trim().is_empty() {
                continue;
            }
            if let Err(source) = conn.query_drop(stmt.as_str()).await {
                let _ = conn.disconnect().await;
                return Err(LocalDbError::InitSql {
                    name: self.name.clone(),
                    statement: stmt.clone(),
                    source,
                });
            }
        }
        conn.disconnect()
            .await
            .map_err(|source| self.query_err(source))
    }

    fn query_err(&self, source: mysql_async::Error) -> LocalDbError {
        LocalDbError::Query {
            name: self.name.clone(),
            port: self.port,
            source,
        }
    }

    /// SIGTERM, wait for the process to exit (SIGKILL after ~20 s), then clean up.
    pub async fn stop(mut self) -> Result<(), LocalDbError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = self.pid;
        if !has_exited(pid, &mut child) {
            send_sigterm(pid).await;
            let deadline = Instant::now() + STOP_GRACE;
            while !has_exited(pid, &mut child) && Instant::now() < deadline {
                tokio::time::sleep(POLL).await;
            }
            if !has_exited(pid, &mut child) {
                tracing::warn!(name = %self.name, pid, "mariadbd ignored SIGTERM for {STOP_GRACE:?}, sending SIGKILL");
                let _ = child.kill();
                let deadline = Instant::now() + KILL_GRACE;
                while !has_exited(pid, &mut child) && Instant::now() < deadline {
                    tokio::time::sleep(POLL).await;
                }
                if !has_exited(pid, &mut child) {
                    // Keep the child so Drop tries once more.
                    self.child = Some(child);
                    return Err(LocalDbError::StopTimeout {
                        name: self.name.clone(),
                        pid,
                    });
                }
            }
        }
        reap(&mut child);
        self.cleanup_files();
        Ok(())
    }

    fn cleanup_files(&self) {
        if self.socket_outside_workdir {
            let _ = std::fs::remove_file(&self.socket);
            let _ = std::fs::remove_file(lock_path(&self.socket));
        }
        if self.remove_workdir_on_stop {
            let _ = std::fs::remove_dir_all(&self.workdir);
        }
    }
}

impl Drop for LocalMariaDb {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if !has_exited(self.pid, &mut child) {
                let _ = child.kill();
                // SIGKILL is immediate; wait briefly so the port and files are free
                // when the caller goes on.
                let deadline = Instant::now() + Duration::from_secs(2);
                while !has_exited(self.pid, &mut child) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            reap(&mut child);
            self.cleanup_files();
        }
    }
}

/// Finds `mariadbd` in `PATH`, `/usr/sbin`, `/usr/bin` (and `/usr/local/{sbin,bin}`).
pub fn find_mariadbd() -> Result<PathBuf, LocalDbError> {
    find_program("mariadbd").ok_or(LocalDbError::MariadbdNotFound)
}

/// Finds `mariadb-install-db` (or the older `mysql_install_db`).
pub fn find_install_db() -> Result<PathBuf, LocalDbError> {
    find_program("mariadb-install-db")
        .or_else(|| find_program("mysql_install_db"))
        .ok_or(LocalDbError::InstallDbNotFound)
}

/// Whether a local server can be started here (both binaries are installed).
pub fn is_available() -> bool {
    find_mariadbd().is_ok() && find_install_db().is_ok()
}

fn find_program(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for d in [
        "/usr/sbin",
        "/usr/bin",
        "/usr/local/sbin",
        "/usr/local/bin",
        "/sbin",
        "/bin",
    ] {
        dirs.push(PathBuf::from(d));
    }
    dirs.into_iter()
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// True when this process runs with effective uid 0 (mariadbd then needs `--user=root`).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

fn root_opts(port: u16, db: Option<&str>) -> mysql_async::Opts {
    mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some("root"))
        .db_name(db)
        .prefer_socket(false)
        .into()
}

/// Refuses to start a second server on the same data directory.
fn check_not_running(name: &str, layout: &Layout) -> Result<(), LocalDbError> {
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

fn lock_path(socket: &Path) -> PathBuf {
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

async fn ensure_initialized(opts: &LocalOptions, layout: &Layout) -> Result<(), LocalDbError> {
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

fn server_args(opts: &LocalOptions, layout: &Layout, port: u16) -> Vec<String> {
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
        "--skip-log-bin".to_string(),
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

async fn start_once(
    mariadbd: &Path,
    opts: &LocalOptions,
    layout: &Layout,
    port: u16,
) -> Result<LocalMariaDb, LocalDbError> {
    let file_len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let offsets = (file_len(&layout.error_log), file_len(&layout.stdout_log));
    let args = server_args(opts, layout, port);
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&layout.stdout_log)
        .map_err(|e| LocalDbError::io(format!("opening {}", layout.stdout_log.display()), e))?;
    let err = out
        .try_clone()
        .map_err(|e| LocalDbError::io(format!("opening {}", layout.stdout_log.display()), e))?;
    let mut cmd = match find_program("setpriv") {
        Some(setpriv) => {
            let mut c = Command::new(setpriv);
            c.arg("--pdeathsig=KILL").arg("--").arg(mariadbd);
            c
        }
        None => Command::new(mariadbd),
    };
    cmd.args(&args)
        .current_dir(&layout.workdir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    tracing::debug!(name = %opts.name, port, ?args, "starting mariadbd");
    let child = spawn_from_keeper(cmd)
        .await
        .map_err(|e| LocalDbError::io(format!("spawning {}", mariadbd.display()), e))?;
    let mut db = LocalMariaDb {
        pid: child.id(),
        child: Some(child),
        port,
        name: opts.name.clone(),
        workdir: layout.workdir.clone(),
        datadir: layout.datadir.clone(),
        socket: layout.socket.clone(),
        socket_outside_workdir: layout.socket_outside_workdir,
        error_log: layout.error_log.clone(),
        remove_workdir_on_stop: false, // only once started
    };

    let started = Instant::now();
    let deadline = started + opts.startup_timeout;
    let pid_file = layout.pid_file.to_string_lossy().into_owned();
    loop {
        let attempt = async {
            let mut conn = mysql_async::Conn::new(root_opts(port, None)).await?;
            let row: Option<(i64, String)> = conn.query_first("SELECT 1, @@pid_file").await?;
            conn.disconnect().await?;
            Ok::<_, mysql_async::Error>(row)
        };
        let child = &mut db.child;
        let exited = async {
            loop {
                if let Some(c) = child.as_mut() {
                    if let Ok(Some(status)) = c.try_wait() {
                        return status;
                    }
                }
                tokio::time::sleep(POLL).await;
            }
        };
        let outcome = tokio::select! {
            status = exited => Err(status),
            r = tokio::time::timeout(Duration::from_secs(5), attempt) => Ok(r),
        };
        let last_error = match outcome {
            Err(status) => {
                db.child = None;
                return Err(LocalDbError::ExitedEarly {
                    name: opts.name.clone(),
                    port,
                    status: describe_status(status),
                    log: layout.error_log.clone(),
                    tail: startup_output(layout, offsets),
                });
            }
            Ok(Ok(Ok(Some((1, served_by))))) if served_by == pid_file => break,
            // Someone else's server on a fixed port: ours will fail to bind and exit.
            Ok(Ok(Ok(Some((_, served_by))))) => {
                format!("port {port} is served by another server (pid file {served_by})")
            }
            Ok(Ok(Ok(None))) => "SELECT 1 returned no row".to_string(),
            Ok(Ok(Err(e))) => e.to_string(),
            Ok(Err(_)) => "connect/query timed out after 5s".to_string(),
        };
        if Instant::now() >= deadline {
            let tail = startup_output(layout, offsets);
            // Drop kills the half-started server.
            drop(db);
            return Err(LocalDbError::StartTimeout {
                name: opts.name.clone(),
                port,
                timeout: opts.startup_timeout,
                last_error,
                log: layout.error_log.clone(),
                tail,
            });
        }
        tokio::time::sleep(POLL).await;
    }
    tracing::info!(
        name = %opts.name,
        port,
        pid = db.pid,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "local mariadbd ready"
    );
    if !opts.init_sql.is_empty() {
        // On failure `db` is dropped, which kills the server.
        db.run_init_sql(&opts.init_sql).await?;
    }
    db.remove_workdir_on_stop = opts.remove_workdir_on_stop;
    Ok(db)
}

fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => status.to_string(),
    }
}

fn is_port_clash(log_tail: &str) -> bool {
    log_tail.contains("Address already in use")
        || log_tail.contains("Do you already have another server running on port")
}

/// Ports handed out by `pick_free_port` in this process, so concurrent starts
/// never get the same one.
fn handed_out_ports() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Binds 127.0.0.1:0, reads the port and releases it.
pub fn pick_free_port() -> Result<u16, LocalDbError> {
    for _ in 0..50 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| LocalDbError::io("binding 127.0.0.1:0 to find a free port", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| LocalDbError::io("reading a bound port", e))?
            .port();
        drop(listener);
        let mut seen = match handed_out_ports().lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if seen.insert(port) {
            return Ok(port);
        }
    }
    Err(LocalDbError::io(
        "finding a free port",
        io::Error::new(io::ErrorKind::AddrInUse, "no fresh port after 50 tries"),
    ))
}

/// Whether the process is gone for good: no `/proc` entry, or a zombie whose
/// threads have all exited. (A multi-threaded server's main thread shows `Z`
/// while its other threads, which may still hold the port and files, are
/// exiting; and zombies may linger here before anyone reaps them, so `kill -0`
/// would report them alive.)
fn process_gone(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return true;
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let state = field("State:").and_then(|s| s.chars().next());
    let threads = field("Threads:").and_then(|t| t.parse::<u32>().ok());
    matches!(state, Some('Z') | Some('X')) && threads.is_none_or(|t| t <= 1)
}

/// Whether our child has exited; reaps it when possible.
fn has_exited(pid: u32, child: &mut Child) -> bool {
    match child.try_wait() {
        Ok(Some(_)) => true,
        Ok(None) => process_gone(pid),
        // ECHILD: someone else reaped it.
        Err(_) => true,
    }
}

/// Reaps an exited child, retrying briefly (the last threads of a dying
/// process may still be on their way out).
fn reap(child: &mut Child) {
    for _ in 0..200 {
        match child.try_wait() {
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            _ => return,
        }
    }
}

async fn send_sigterm(pid: u32) {
    // std has no portable SIGTERM and libc is not a dependency: use kill(1),
    // falling back to the shell builtin.
    let via_kill = tokio::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    if matches!(via_kill, Ok(s) if s.success()) {
        return;
    }
    let _ = tokio::process::Command::new("sh")
        .arg("-c")
        .arg("kill -TERM \"$1\"")
        .arg("sh")
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
}

type SpawnRequest = (Command, tokio::sync::oneshot::Sender<io::Result<Child>>);

/// Spawns `cmd` from a helper thread that lives as long as the process.
/// `PR_SET_PDEATHSIG` (set by `setpriv`) fires when the *thread* that forked
/// the child exits, so children must not be forked from tokio worker or
/// blocking-pool threads, which may come and go.
async fn spawn_from_keeper(cmd: Command) -> io::Result<Child> {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        let spawned = std::thread::Builder::new()
            .name("localdb-keeper".to_string())
            .spawn(move || {
                while let Ok((mut cmd, reply)) = rx.recv() {
                    let _ = reply.send(cmd.spawn());
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start localdb keeper thread: {e}");
        }
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = tokio::sync::oneshot::channel();
    let sent = {
        let tx = match keeper.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        tx.send((cmd, reply_tx))
    };
    match sent {
        Ok(()) => reply_rx.await.unwrap_or_else(|_| {
            Err(io::Error::other(
                "localdb keeper thread dropped the request",
            ))
        }),
        // Keeper thread missing: spawn here (loses only the parent-death guarantee).
        Err(mpsc::SendError((mut cmd, _))) => cmd.spawn(),
    }
}

/// What this start attempt wrote to the error log (and to stdout/stderr, where
/// early failures such as a bad option or a failing `setpriv` end up).
fn startup_output(layout: &Layout, (log_offset, out_offset): (u64, u64)) -> String {
    let mut text = log_tail(&layout.error_log, log_offset);
    let out = log_tail(&layout.stdout_log, out_offset);
    if !out.starts_with('(') {
        let _ = write!(text, "\n--- {} ---\n{out}", layout.stdout_log.display());
    }
    text
}

/// The part of `path` written after `offset`, last 30 lines.
fn log_tail(path: &Path, offset: u64) -> String {
    let read = || -> io::Result<String> {
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        // At most the last 16 KiB of this run's output.
        let start = offset.max(len.saturating_sub(16 * 1024));
        f.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    match read() {
        Ok(text) if text.trim().is_empty() => "(error log is empty)".to_string(),
        Ok(text) => last_lines(&text, 30),
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

//! [`LocalMariaDb`]: starting, querying and stopping one server.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use super::init::{check_not_running, ensure_initialized, lock_path, server_args, Layout};
use super::logs::startup_output;
use super::process::{has_exited, pick_free_port, reap, send_sigterm, spawn_from_keeper};
use super::programs::{find_mariadbd, find_program, root_opts};
use super::{LocalDbError, LocalOptions, KILL_GRACE, POLL, PORT_ATTEMPTS, STOP_GRACE};

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

pub(super) fn is_port_clash(log_tail: &str) -> bool {
    log_tail.contains("Address already in use")
        || log_tail.contains("Do you already have another server running on port")
}

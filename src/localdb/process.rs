//! Free ports, watching and signalling server processes, and the spawning keeper thread.

use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::Duration;

use super::LocalDbError;

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
pub(super) fn process_gone(pid: u32) -> bool {
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
pub(super) fn has_exited(pid: u32, child: &mut Child) -> bool {
    match child.try_wait() {
        Ok(Some(_)) => true,
        Ok(None) => process_gone(pid),
        // ECHILD: someone else reaped it.
        Err(_) => true,
    }
}

/// Reaps an exited child, retrying briefly (the last threads of a dying
/// process may still be on their way out).
pub(super) fn reap(child: &mut Child) {
    for _ in 0..200 {
        match child.try_wait() {
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            _ => return,
        }
    }
}

pub(super) async fn send_sigterm(pid: u32) {
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
pub(super) async fn spawn_from_keeper(cmd: Command) -> io::Result<Child> {
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

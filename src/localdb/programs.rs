//! Locating the MariaDB binaries, and other facts about the environment.

use std::path::{Path, PathBuf};

use super::LocalDbError;

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

pub(super) fn find_program(name: &str) -> Option<PathBuf> {
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
pub(super) fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

pub(super) fn root_opts(port: u16, db: Option<&str>) -> mysql_async::Opts {
    mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some("root"))
        .db_name(db)
        .prefer_socket(false)
        .into()
}

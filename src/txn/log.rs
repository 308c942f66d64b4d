//! The durable XA decision log: one line per event, appended and fsync'ed before any
//! `XA COMMIT` is sent. `C <gtrid>` records a commit decision; `D <gtrid>` records that every
//! participant committed (the decision is no longer needed). A transaction with no `C` line
//! was not decided: recovery rolls it back.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("transaction log {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Another process owns the log (a running proxy with the same log).
    #[error("transaction log {path} is in use by another shardgate process{holder} (a running proxy resolves its own in-doubt transactions in the background; stop it first to run recovery by hand)")]
    InUse { path: String, holder: String },
}

pub struct DecisionLog {
    path: PathBuf,
    file: Mutex<File>,
    /// `<log>.lock`, exclusively locked while this process owns the log (released when the
    /// process ends, however it ends).
    _lock: File,
}

/// Take the log's lock file, or say who holds it.
fn lock(path: &Path) -> Result<File, LogError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let err = |source| LogError::Io {
        path: lock_path.display().to_string(),
        source,
    };
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(err)?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = std::io::Read::read_to_string(&mut f, &mut holder);
            let holder = holder.trim();
            return Err(LogError::InUse {
                path: path.display().to_string(),
                holder: if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(err(e)),
    }
    f.set_len(0).map_err(err)?;
    writeln!(f, "{}", std::process::id()).map_err(err)?;
    Ok(f)
}

impl DecisionLog {
    /// Open (creating) the log, owning it for the life of this process; compacts it to the
    /// decisions still pending. Fails with [`LogError::InUse`] when another process owns it:
    /// the file is only ever rewritten by its owner, so no appender's file is replaced.
    pub fn open(path: &Path) -> Result<DecisionLog, LogError> {
        let err = |source| LogError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let lock = lock(path)?;
        let pending = read_pending(path).map_err(err)?;
        // Rewrite atomically: pending decisions only.
        let tmp = path.with_extension("compact");
        {
            let mut f = File::create(&tmp).map_err(err)?;
            for g in &pending {
                writeln!(f, "C {g}").map_err(err)?;
            }
            f.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, path).map_err(err)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(err)?;
        Ok(DecisionLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&self, line: &str, sync: bool) -> Result<(), LogError> {
        let err = |source| LogError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let mut f = match self.file.lock() {
            Ok(f) => f,
            Err(p) => p.into_inner(),
        };
        f.write_all(line.as_bytes()).map_err(err)?;
        if sync {
            f.sync_data().map_err(err)?;
        }
        Ok(())
    }

    /// The commit decision, durable when this returns.
    pub fn commit(&self, gtrid: &str) -> Result<(), LogError> {
        self.append(&format!("C {gtrid}\n"), true)
    }

    /// Every participant committed (no fsync needed: losing it only repeats a no-op).
    pub fn done(&self, gtrid: &str) -> Result<(), LogError> {
        self.append(&format!("D {gtrid}\n"), false)
    }

    /// Decisions recorded and not yet marked done.
    pub fn pending(&self) -> Result<BTreeSet<String>, LogError> {
        read_pending(&self.path).map_err(|source| LogError::Io {
            path: self.path.display().to_string(),
            source,
        })
    }
}

fn read_pending(path: &Path) -> std::io::Result<BTreeSet<String>> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(e),
    };
    let mut pending = BTreeSet::new();
    for line in BufReader::new(f).lines() {
        let line = line?;
        // A torn last line (crash mid-write) has no newline-terminated gtrid: ignore it.
        match line.split_once(' ') {
            Some(("C", g)) if !g.is_empty() => {
                pending.insert(g.to_string());
            }
            Some(("D", g)) => {
                pending.remove(g);
            }
            _ => {}
        }
    }
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_owner_at_a_time() {
        let dir = std::env::temp_dir().join(format!("sg-xalock-{}", std::process::id()));
        let path = dir.join("xa.log");
        let first = DecisionLog::open(&path).unwrap();
        // Another open (as `shardgate recover` against a running proxy) is refused, and the
        // owner's file is left as it is.
        first.commit("g1").unwrap();
        match DecisionLog::open(&path) {
            Err(LogError::InUse { holder, .. }) => {
                assert!(holder.contains(&std::process::id().to_string()))
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("opened a log another owner holds"),
        }
        first.commit("g2").unwrap();
        assert_eq!(first.pending().unwrap().len(), 2);
        drop(first);
        let again = DecisionLog::open(&path).unwrap();
        assert_eq!(again.pending().unwrap().len(), 2);
    }

    #[test]
    fn decisions_survive_reopen_and_compact() {
        let dir = std::env::temp_dir().join(format!("sg-xalog-{}", std::process::id()));
        let path = dir.join("xa.log");
        let _ = std::fs::remove_file(&path);
        let log = DecisionLog::open(&path).unwrap();
        log.commit("a").unwrap();
        log.commit("b").unwrap();
        log.done("a").unwrap();
        drop(log);
        // A torn trailing line is ignored.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"C")
            .unwrap();
        let log = DecisionLog::open(&path).unwrap();
        assert_eq!(
            log.pending().unwrap().into_iter().collect::<Vec<_>>(),
            vec!["b"]
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "C b\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

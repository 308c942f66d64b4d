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
}

pub struct DecisionLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl DecisionLog {
    /// Open (creating) the log; compacts it to the decisions still pending.
    pub fn open(path: &Path) -> Result<DecisionLog, LogError> {
        let err = |source| LogError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
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

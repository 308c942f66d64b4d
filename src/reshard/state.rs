//! A job's durable state: the rules it moves to and from, its phase, how far each source
//! node is copied and how far each binlog is applied. Written to `reshard.toml` in the
//! proxy's state directory (replaced atomically; mode 0600: it holds the rules, backend
//! credentials included), read back when a proxy restarts.

use super::conn::Pos;
use super::Options;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Copying,
    CatchingUp,
    Verifying,
    WaitingForCutover,
    CuttingOver,
    /// The new rules serve; reverse replication keeps the old layout current.
    CutOver,
    RollingBack,
    RolledBack,
    Completed,
    Failed,
    Cancelled,
}

impl Phase {
    /// The job has ended (another may start).
    pub fn ended(self) -> bool {
        matches!(
            self,
            Phase::RolledBack | Phase::Completed | Phase::Failed | Phase::Cancelled
        )
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Phase::Copying => "copying",
            Phase::CatchingUp => "catching_up",
            Phase::Verifying => "verifying",
            Phase::WaitingForCutover => "waiting_for_cutover",
            Phase::CuttingOver => "cutting_over",
            Phase::CutOver => "cut_over",
            Phase::RollingBack => "rolling_back",
            Phase::RolledBack => "rolled_back",
            Phase::Completed => "completed",
            Phase::Failed => "failed",
            Phase::Cancelled => "cancelled",
        };
        f.write_str(s)
    }
}

/// Copy progress of one source node of one moving table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    pub mv: usize,
    pub node: usize,
    pub table: String,
    /// The last primary key copied, as literals.
    pub last: Option<Vec<String>>,
    pub copied: u64,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    pub phase: Phase,
    pub options: Options,
    /// The rules served before the job and the rules it moves to.
    pub old_text: String,
    pub new_text: String,
    pub nodes: Vec<NodeState>,
    /// Source servers' binlog positions before the copy.
    pub start: BTreeMap<String, Pos>,
    pub applied: BTreeMap<String, Pos>,
    /// Target servers' positions at the cutover, and how far reverse replication got.
    pub reverse_applied: BTreeMap<String, Pos>,
    /// Measured write pause of the cutover.
    pub pause_ms: Option<u64>,
    /// Unix seconds.
    pub started_at: u64,
}

impl Saved {
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let text = toml::to_string(self).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("toml.tmp");
        {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            let mut f = o.open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    }

    pub fn read(path: &Path) -> Result<Option<Saved>, String> {
        match std::fs::read_to_string(path) {
            Ok(t) => toml::from_str(&t)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
}

/// Write a file atomically (temporary file, fsync, rename, fsync of the directory).
pub fn replace_file(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = std::path::PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_its_file() {
        let dir = std::env::temp_dir().join(format!("sg-reshard-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("reshard.toml");
        assert_eq!(Saved::read(&path).unwrap(), None);
        let s = Saved {
            phase: Phase::CatchingUp,
            options: Options {
                manual_cutover: true,
                max_rows_per_sec: Some(5),
            },
            old_text: "a = 1\n'\"".into(),
            new_text: "b = 2".into(),
            nodes: vec![NodeState {
                mv: 0,
                node: 1,
                table: "t_user".into(),
                last: Some(vec!["42".into(), "'x'".into()]),
                copied: 7,
                done: false,
            }],
            start: [(
                "127.0.0.1:1".to_string(),
                Pos {
                    file: "b.000001".into(),
                    pos: 4,
                },
            )]
            .into(),
            applied: BTreeMap::new(),
            reverse_applied: BTreeMap::new(),
            pause_ms: None,
            started_at: 1,
        };
        s.write(&path).unwrap();
        assert_eq!(Saved::read(&path).unwrap(), Some(s));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

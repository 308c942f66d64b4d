//! Online resharding, run inside the proxy (it holds the data sources' credentials and
//! performs the cutover; `shardgate reshard` submits the new rules and shows progress over
//! the admin statements of [`crate::session::reshard`]).
//!
//! A job: [`plan`] what moves → create the targets and record each source server's binlog
//! position → [`copy`] the rows in primary-key order → [`apply`] the binlog from the
//! recorded positions until the lag is small → [`verify`] → cut over ([`cutover`]: hold
//! new statements at the [`crate::gate`], wait for what runs, apply the last changes,
//! switch the rules, release) → reverse replication (new → old) until `complete`, so that
//! `rollback` can switch back without losing writes. docs/resharding.md tells the story.

pub mod apply;
pub mod cli;
pub mod conn;
pub mod copy;
pub mod cutover;
pub mod plan;
pub mod state;
pub mod values;
pub mod verify;

use crate::rules::{Config, DataSourceConfig};
use conn::{JobResult, Pos};
use plan::Plan;
use state::Saved;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use values::Shape;

/// One direction of data movement: a plan, the shapes of its tables, and the rules on each
/// side (whose data sources it connects to).
pub struct Flow {
    pub plan: Plan,
    /// Parallel to `plan.moves`.
    pub shapes: Vec<Shape>,
    pub from: Config,
    pub to: Config,
}

impl Flow {
    /// Source servers (`host:port`) of the rows read.
    pub fn servers(&self) -> BTreeSet<String> {
        self.plan
            .moves
            .iter()
            .flat_map(|m| m.read_from().iter().map(|p| p.server.clone()))
            .collect()
    }

    /// A data source of the source rules on that server (credentials to stream its binlog).
    pub fn source_on(&self, server: &str) -> Option<(String, DataSourceConfig)> {
        self.plan
            .moves
            .iter()
            .flat_map(|m| m.read_from().iter())
            .find(|p| p.server == server)
            .and_then(|p| {
                self.from
                    .data_sources
                    .get(&p.ds)
                    .map(|d| (p.ds.clone(), d.clone()))
            })
    }

    /// Physical tables on that server whose changes are applied → move index.
    pub fn watched(&self, server: &str) -> HashMap<(String, String), usize> {
        let mut out = HashMap::new();
        for (i, m) in self.plan.moves.iter().enumerate() {
            for p in m.read_from().iter().filter(|p| p.server == server) {
                out.insert((p.database.clone(), p.table.clone()), i);
            }
        }
        out
    }

    /// Target servers (where reverse replication reads).
    pub fn target_servers(&self) -> BTreeSet<String> {
        self.plan
            .moves
            .iter()
            .flat_map(|m| m.filled().map(|(_, p)| p.server.clone()))
            .collect()
    }
}

/// `shardgate reshard` options.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Options {
    pub manual_cutover: bool,
    pub max_rows_per_sec: Option<u64>,
}

/// What the operator asks of a running job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    None,
    Cutover,
    Rollback,
    Complete { drop_sources: bool },
    Cancel,
}

/// Live figures (not saved).
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub message: String,
    pub error: Option<String>,
    pub changes_applied: u64,
    pub pause_ms: Option<u64>,
    /// When each step of the last cutover ended.
    pub pause_detail: String,
    pub cutover_attempts: u32,
    pub verify: Option<verify::Report>,
    pub estimates: Vec<u64>,
    pub copy_started: Option<Instant>,
    pub copy_seconds: Option<f64>,
    pub lag: BTreeMap<String, u64>,
}

pub struct Job {
    pub forward: Arc<Flow>,
    pub reverse: Arc<Flow>,
    pub opts: Options,
    saved: Mutex<Saved>,
    live: Mutex<Live>,
    commands: watch::Sender<Command>,
    state_path: Option<PathBuf>,
    /// Serialises writes of the state file (the newest state always lands last), and when
    /// it was last written.
    writing: Mutex<Instant>,
    appliers: Mutex<Vec<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>>,
    /// Applier starts so far (varies their replica server ids, see [`Job::start_appliers`]).
    starts: std::sync::atomic::AtomicU32,
}

impl Job {
    pub fn new(
        forward: Flow,
        reverse: Flow,
        saved: Saved,
        state_path: Option<PathBuf>,
    ) -> Arc<Job> {
        Arc::new(Job {
            opts: saved.options.clone(),
            forward: Arc::new(forward),
            reverse: Arc::new(reverse),
            saved: Mutex::new(saved),
            live: Mutex::new(Live::default()),
            commands: watch::channel(Command::None).0,
            state_path,
            writing: Mutex::new(Instant::now()),
            appliers: Mutex::new(Vec::new()),
            starts: Default::default(),
        })
    }

    pub fn saved(&self) -> Saved {
        self.saved.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn live(&self) -> Live {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn update_live(&self, f: impl FnOnce(&mut Live)) {
        f(&mut self.live.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Change the saved state and write it out (durable before this returns).
    pub fn update(&self, f: impl FnOnce(&mut Saved)) {
        f(&mut self.saved.lock().unwrap_or_else(|p| p.into_inner()));
        self.persist();
    }

    /// Write the state file with the state as it is now.
    fn persist(&self) {
        self.persist_if(Duration::ZERO);
    }

    /// Write the state file unless it was written less than `age` ago (progress that
    /// replays harmlessly: copied chunks, applied positions).
    fn persist_if(&self, age: Duration) {
        let Some(p) = &self.state_path else {
            return;
        };
        let mut at = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        if !age.is_zero() && at.elapsed() < age {
            return;
        }
        let copy = self.saved();
        if let Err(e) = copy.write(p) {
            tracing::warn!("reshard state {}: {e}", p.display());
        }
        *at = Instant::now();
    }

    pub fn phase(&self) -> state::Phase {
        self.saved.lock().unwrap_or_else(|p| p.into_inner()).phase
    }

    pub fn set_phase(&self, phase: state::Phase, message: &str) {
        tracing::info!("reshard: {phase}: {message}");
        self.update(|s| s.phase = phase);
        self.update_live(|l| l.message = message.to_string());
    }

    pub fn command(&self, c: Command) {
        let _ = self.commands.send(c);
    }

    pub fn commands(&self) -> watch::Receiver<Command> {
        self.commands.subscribe()
    }

    pub fn check_cancelled(&self) -> JobResult<()> {
        if *self.commands.borrow() == Command::Cancel {
            return Err("cancelled".into());
        }
        Ok(())
    }

    /// Where to go on copying node `k` of move `m` (None: that node is done; Some(None):
    /// from the start).
    pub fn resume_point(&self, m: usize, k: usize) -> Option<Option<Vec<String>>> {
        let s = self.saved.lock().unwrap_or_else(|p| p.into_inner());
        let n = s.nodes.iter().find(|n| n.mv == m && n.node == k)?;
        (!n.done).then(|| n.last.clone())
    }

    /// A chunk was copied (saved at most twice a second, and when a node is done: a
    /// restarted job goes on after the last chunk saved).
    pub fn copied(&self, m: usize, k: usize, last: Option<Vec<String>>, rows: u64, done: bool) {
        {
            let mut s = self.saved.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = s.nodes.iter_mut().find(|n| n.mv == m && n.node == k) {
                if last.is_some() {
                    n.last = last;
                }
                n.copied += rows;
                n.done |= done;
            }
        }
        self.persist_if(if done { Duration::ZERO } else { SAVE_EVERY });
    }

    /// Start applying a flow's changes on each of its source servers.
    pub fn start_appliers(self: &Arc<Self>, reverse: bool) {
        let flow = if reverse {
            &self.reverse
        } else {
            &self.forward
        };
        let from = {
            let s = self.saved.lock().unwrap_or_else(|p| p.into_inner());
            if reverse {
                s.reverse_applied.clone()
            } else {
                s.applied.clone()
            }
        };
        let mut appliers = self.appliers.lock().unwrap_or_else(|p| p.into_inner());
        for server in flow.servers() {
            let Some(pos) = from.get(&server).cloned() else {
                continue;
            };
            let (tx, rx) = watch::channel(false);
            let port: u32 = server
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            // A replica server id of its own per server, direction and start: the server
            // refuses (4052) a second stream with the id of one whose dump thread has not
            // noticed yet that its connection closed (after a failed cutover attempt).
            let starts = self
                .starts
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let server_id = 3_900_000_000
                + (port * 2 + u32::from(reverse)) * apply::IDS_PER_STREAM
                + (starts % 8) * 8;
            let progress: Arc<dyn apply::Progress> = Arc::new(Reporter {
                job: self.clone(),
                reverse,
            });
            let task = tokio::spawn(apply::run(
                flow.clone(),
                server,
                pos,
                server_id,
                progress,
                rx,
            ));
            appliers.push((tx, task));
        }
    }

    /// Stop every applier and wait for them (their positions are saved as they stop).
    pub async fn stop_appliers(&self) {
        let all: Vec<_> =
            std::mem::take(&mut *self.appliers.lock().unwrap_or_else(|p| p.into_inner()));
        for (tx, _) in &all {
            let _ = tx.send(true);
        }
        for (_, task) in all {
            let _ = task.await;
        }
    }

    /// Positions applied so far (forward or reverse).
    pub fn applied(&self, reverse: bool) -> BTreeMap<String, Pos> {
        let s = self.saved.lock().unwrap_or_else(|p| p.into_inner());
        if reverse {
            s.reverse_applied.clone()
        } else {
            s.applied.clone()
        }
    }
}

/// How a broken binlog stream's error starts (an applier with one is not caught up).
pub const STREAM_ERROR: &str = "binlog of ";

/// How often progress that replays harmlessly is written out.
const SAVE_EVERY: Duration = Duration::from_millis(500);

struct Reporter {
    job: Arc<Job>,
    reverse: bool,
}

impl apply::Progress for Reporter {
    fn applied(&self, server: &str, pos: &Pos, changes: u64) {
        let reverse = self.reverse;
        let mut s = self.job.saved.lock().unwrap_or_else(|p| p.into_inner());
        let map = if reverse {
            &mut s.reverse_applied
        } else {
            &mut s.applied
        };
        map.insert(server.to_string(), pos.clone());
        drop(s);
        self.job.update_live(|l| {
            l.changes_applied += changes;
            // The stream works again.
            let mine = format!("{STREAM_ERROR}{server}:");
            if l.error.as_deref().is_some_and(|e| e.starts_with(&mine)) {
                l.error = None;
            }
        });
        // Replaying from an older position is harmless.
        self.job.persist_if(SAVE_EVERY);
    }

    fn stream_error(&self, server: &str, e: &str) {
        tracing::warn!("reshard: binlog of {server}: {e} (retrying)");
        self.job
            .update_live(|l| l.error = Some(format!("{STREAM_ERROR}{server}: {e} (retrying)")));
    }
}

/// `SHOW RESHARD STATUS`: (name, value) rows. Never a credential.
pub fn status(job: &Job) -> Vec<(String, String)> {
    let s = job.saved();
    let l = job.live();
    let mut out = vec![
        ("phase".to_string(), s.phase.to_string()),
        ("message".into(), l.message.clone()),
        ("error".into(), l.error.clone().unwrap_or_default()),
        (
            "cutover".into(),
            if s.options.manual_cutover {
                "manual"
            } else {
                "auto"
            }
            .into(),
        ),
    ];
    let elapsed = l.copy_started.map(|t| t.elapsed().as_secs_f64());
    let mut total = 0u64;
    for (m, mv) in job.forward.plan.moves.iter().enumerate() {
        let copied: u64 = s.nodes.iter().filter(|n| n.mv == m).map(|n| n.copied).sum();
        let done = s.nodes.iter().filter(|n| n.mv == m).all(|n| n.done);
        total += copied;
        let est = l.estimates.get(m).copied().unwrap_or(0);
        out.push((
            format!("table {}.{}", mv.db, mv.table),
            format!(
                "{copied} of ~{est} rows copied{}",
                if done { " (done)" } else { "" }
            ),
        ));
    }
    out.push(("rows_copied".into(), total.to_string()));
    let secs = l.copy_seconds.or(elapsed).unwrap_or(0.0);
    if secs > 0.0 {
        out.push((
            "copy_rows_per_sec".into(),
            format!("{:.0}", total as f64 / secs),
        ));
    }
    out.push(("changes_applied".into(), l.changes_applied.to_string()));
    let pos = |m: &BTreeMap<String, Pos>| {
        m.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    out.push(("start_positions".into(), pos(&s.start)));
    out.push(("applied_positions".into(), pos(&s.applied)));
    out.push(("reverse_positions".into(), pos(&s.reverse_applied)));
    if let Some(v) = &l.verify {
        out.push((
            "verify".into(),
            if v.equal() {
                format!("equal ({} tables)", v.tables.len())
            } else {
                cutover::summary(v)
            },
        ));
    }
    out.push((
        "pause_ms".into(),
        s.pause_ms.map(|p| p.to_string()).unwrap_or_default(),
    ));
    out.push(("pause_steps".into(), l.pause_detail.clone()));
    out.push(("cutover_attempts".into(), l.cutover_attempts.to_string()));
    out
}

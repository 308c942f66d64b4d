//! Running a job: start (or resume after a restart), the phases in order, the cutover and
//! the switch back, and `complete`.

use super::conn::{connect, master_position, JobResult, Pos};
use super::copy::Conns;
use super::plan;
use super::state::{NodeState, Phase, Saved};
use super::{copy, verify, Command, Flow, Job, Options};
use crate::error::SqlError;
use crate::rules::Config;
use crate::server::Shared;
use mysql_async::prelude::Queryable;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest wait for running statements and open transactions at a cutover.
const IN_FLIGHT_BOUND: Duration = Duration::from_millis(1500);
/// Longest wait, with statements held, for the last changes to be applied.
const FINAL_APPLY_BOUND: Duration = Duration::from_millis(2000);
/// Cutover attempts before the job gives up (the old layout keeps serving).
const ATTEMPTS: u32 = 10;

pub fn job_error(e: String) -> SqlError {
    SqlError::new(1105, "HY000", format!("RESHARD: {e}"))
}

/// The rules being served, as a configuration and as text.
pub fn current_rules(shared: &Shared) -> Result<(Config, String), String> {
    let text = shared.rules.served().text;
    if text.is_empty() {
        return Ok((shared.config.clone(), String::new()));
    }
    crate::rules::parse(&text, "the rules served")
        .map(|c| (c, text))
        .map_err(|e| e.to_string())
}

/// Tables without rules on each logical database's default data source.
async fn unnamed_tables(old: &Config) -> JobResult<BTreeMap<String, Vec<String>>> {
    let mut out = BTreeMap::new();
    for (name, db) in &old.databases {
        let ds = &db.default_data_source;
        let Some(cfg) = old.data_sources.get(ds) else {
            continue;
        };
        // Physical tables of rules on that data source are not unnamed tables.
        let mut ruled: BTreeSet<String> = BTreeSet::new();
        for t in db.tables.keys() {
            if let Ok(side) = plan::side(old, name, t) {
                for n in side.nodes.iter().filter(|n| n.ds == *ds) {
                    ruled.insert(n.table.to_lowercase());
                }
            }
            ruled.insert(t.to_lowercase());
        }
        let mut c = connect(ds, cfg).await?;
        let tables: Vec<String> = c
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
                 AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
                (&cfg.database,),
            )
            .await
            .map_err(|e| format!("tables of {ds}: {e}"))?;
        let _ = c.disconnect().await;
        out.insert(
            name.clone(),
            tables
                .into_iter()
                .filter(|t| !ruled.contains(&t.to_lowercase()))
                .collect(),
        );
    }
    Ok(out)
}

/// Shapes of the moving tables (from their first source node).
async fn shapes(flow_plan: &plan::Plan, from: &Config) -> JobResult<Vec<super::values::Shape>> {
    let mut conns = Conns::new(from);
    let mut out = Vec::new();
    for m in &flow_plan.moves {
        let first = m
            .read_from()
            .first()
            .ok_or_else(|| format!("{}: no source node", m.table))?;
        let c = conns.get(&first.ds).await?;
        out.push(super::conn::shape(c, first).await?);
    }
    conns.close().await;
    Ok(out)
}

/// Both directions of a change of rules.
pub async fn flows(old: &Config, new: &Config) -> JobResult<(Flow, Flow)> {
    let unnamed = unnamed_tables(old).await?;
    let forward_plan = plan::plan(old, new, &|db| unnamed.get(db).cloned().unwrap_or_default())?;
    let shapes_fwd = shapes(&forward_plan, old).await?;
    // Reverse: the moved tables without a rule in the new rules are its unnamed tables.
    let mut rev_unnamed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in &forward_plan.moves {
        let ruled = new
            .databases
            .get(&m.db)
            .and_then(|d| d.table(&m.table))
            .is_some();
        if !ruled {
            rev_unnamed
                .entry(m.db.clone())
                .or_default()
                .push(m.table.clone());
        }
    }
    let reverse_plan = plan::plan(new, old, &|db| {
        rev_unnamed.get(db).cloned().unwrap_or_default()
    })?;
    let shapes_rev = reverse_plan
        .moves
        .iter()
        .map(|r| {
            forward_plan
                .moves
                .iter()
                .position(|f| f.db == r.db && f.table.eq_ignore_ascii_case(&r.table))
                .map(|i| shapes_fwd[i].clone())
                .ok_or_else(|| format!("{}.{}: moves back but not forward", r.db, r.table))
        })
        .collect::<JobResult<Vec<_>>>()?;
    Ok((
        Flow {
            plan: forward_plan,
            shapes: shapes_fwd,
            from: old.clone(),
            to: new.clone(),
        },
        Flow {
            plan: reverse_plan,
            shapes: shapes_rev,
            from: new.clone(),
            to: old.clone(),
        },
    ))
}

/// Rows per source node as information_schema estimates them.
pub async fn estimates(flow: &Flow) -> JobResult<Vec<u64>> {
    let mut conns = Conns::new(&flow.from);
    let mut out = Vec::new();
    for m in &flow.plan.moves {
        let mut n = 0u64;
        for p in m.read_from() {
            let c = conns.get(&p.ds).await?;
            let rows: Option<Option<u64>> = c
                .exec_first(
                    "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
                     AND TABLE_NAME = ?",
                    (&p.database, &p.table),
                )
                .await
                .map_err(|e| format!("estimate {p}: {e}"))?;
            n += rows.flatten().unwrap_or(0);
        }
        out.push(n);
    }
    conns.close().await;
    Ok(out)
}

pub fn state_path(shared: &Shared) -> Option<std::path::PathBuf> {
    shared.rules.served().path.as_ref()?;
    Some(shared.config.server.state_dir_path().join("reshard.toml"))
}

/// A change of rules planned against the rules being served.
pub struct Planned {
    pub old_text: String,
    pub forward: Flow,
    pub reverse: Flow,
    /// Rows per moving table, as information_schema estimates them.
    pub estimates: Vec<u64>,
}

/// What `new_text` would move (`RESHARD PLAN`, and the first step of `RESHARD START`).
pub async fn plan_job(shared: &Shared, new_text: &str) -> Result<Planned, SqlError> {
    let new =
        crate::rules::parse(new_text, "the new rules").map_err(|e| job_error(e.to_string()))?;
    let (old, old_text) = current_rules(shared).map_err(job_error)?;
    let (forward, reverse) = flows(&old, &new).await.map_err(job_error)?;
    let estimates = estimates(&forward).await.map_err(job_error)?;
    Ok(Planned {
        old_text,
        forward,
        reverse,
        estimates,
    })
}

/// `RESHARD START`: plan, record, and run the job in the background.
pub async fn start(
    shared: &Arc<Shared>,
    new_text: String,
    opts: Options,
) -> Result<Arc<Job>, SqlError> {
    if let Some(j) = shared.reshard_job() {
        if !j.phase().ended() {
            return Err(job_error(format!(
                "a job is running ({}); see SHOW RESHARD STATUS",
                j.phase()
            )));
        }
    }
    let Planned {
        old_text,
        forward,
        reverse,
        estimates,
    } = plan_job(shared, &new_text).await?;
    if forward.plan.moves.is_empty() {
        return Err(job_error(forward.plan.notes.join("; ")));
    }
    let mut nodes = Vec::new();
    for (m, mv) in forward.plan.moves.iter().enumerate() {
        for k in 0..mv.read_from().len() {
            nodes.push(NodeState {
                mv: m,
                node: k,
                table: mv.table.clone(),
                last: None,
                copied: 0,
                done: false,
            });
        }
    }
    let saved = Saved {
        phase: Phase::Copying,
        options: opts,
        old_text,
        new_text,
        nodes,
        start: BTreeMap::new(),
        applied: BTreeMap::new(),
        reverse_applied: BTreeMap::new(),
        pause_ms: None,
        started_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };
    let job = Job::new(forward, reverse, saved, state_path(shared));
    job.update(|_| {});
    job.update_live(|l| l.estimates = estimates);
    shared.set_reshard_job(job.clone());
    tokio::spawn(drive(shared.clone(), job.clone()));
    Ok(job)
}

/// After a restart: go on with a job the state file says is running, if it belongs to the
/// rules this proxy serves.
pub async fn resume(shared: Arc<Shared>) {
    let Some(path) = state_path(&shared) else {
        return;
    };
    let saved = match Saved::read(&path) {
        Ok(Some(s)) if !s.phase.ended() => s,
        Ok(_) => return,
        Err(e) => {
            tracing::warn!("reshard state: {e}");
            return;
        }
    };
    let served = shared.rules.served().text;
    let mut saved = saved;
    if served == saved.new_text {
        // The new rules file is in place: the cutover happened.
        if matches!(saved.phase, Phase::CuttingOver | Phase::CutOver) {
            saved.phase = Phase::CutOver;
        }
    } else if served == saved.old_text {
        if matches!(
            saved.phase,
            Phase::CuttingOver | Phase::CutOver | Phase::RollingBack
        ) {
            // Cut over before the switch was recorded, or rolled back: the old layout serves.
            saved.phase = if saved.phase == Phase::RollingBack {
                Phase::RolledBack
            } else {
                Phase::CatchingUp
            };
        }
    } else {
        tracing::warn!(
            "reshard state {} belongs to other rules; not resumed",
            path.display()
        );
        return;
    }
    if saved.phase.ended() {
        let _ = saved.write(&path);
        return;
    }
    let parse = |t: &str| crate::rules::parse(t, "reshard state").map_err(|e| e.to_string());
    let r = async {
        let old = parse(&saved.old_text)?;
        let new = parse(&saved.new_text)?;
        flows(&old, &new).await
    }
    .await;
    match r {
        Ok((forward, reverse)) => {
            tracing::info!("reshard: resuming ({})", saved.phase);
            let job = Job::new(forward, reverse, saved, Some(path));
            job.update(|_| {});
            shared.set_reshard_job(job.clone());
            tokio::spawn(drive(shared, job));
        }
        Err(e) => tracing::warn!("reshard: cannot resume: {e}"),
    }
}

/// Run the job's phases from where it is.
pub async fn drive(shared: Arc<Shared>, job: Arc<Job>) {
    if let Err(e) = drive_inner(&shared, &job).await {
        job.stop_appliers().await;
        let cancelled = e == "cancelled";
        job.update_live(|l| l.error = Some(e.clone()));
        job.set_phase(
            if cancelled {
                Phase::Cancelled
            } else {
                Phase::Failed
            },
            &format!("{e}; the rules in use are unchanged"),
        );
    }
}

async fn master_positions(
    flow: &Flow,
    servers: &BTreeSet<String>,
    of_targets: bool,
) -> JobResult<BTreeMap<String, Pos>> {
    let mut out = BTreeMap::new();
    for server in servers {
        let cfg = if of_targets { &flow.to } else { &flow.from };
        let ds = cfg
            .data_sources
            .iter()
            .find(|(_, d)| format!("{}:{}", d.host, d.port) == *server)
            .ok_or_else(|| format!("no data source on {server}"))?;
        let mut c = connect(ds.0, ds.1).await?;
        let p = master_position(&mut c).await?;
        let _ = c.disconnect().await;
        out.insert(server.clone(), p);
    }
    Ok(out)
}

/// Wait until the flow's appliers reached the sources' current positions.
async fn caught_up(job: &Job, reverse: bool, bound: Duration) -> JobResult<()> {
    let flow = if reverse { &job.reverse } else { &job.forward };
    let want = master_positions(flow, &flow.servers(), false).await?;
    let deadline = Instant::now() + bound;
    loop {
        let have = job.applied(reverse);
        let behind: Vec<String> = want
            .iter()
            .filter(|(s, p)| have.get(*s).is_none_or(|h| h < p))
            .map(|(s, p)| {
                format!(
                    "{s} at {} of {p}",
                    have.get(s).map(ToString::to_string).unwrap_or_default()
                )
            })
            .collect();
        let broken = job
            .live()
            .error
            .filter(|e| e.starts_with(super::STREAM_ERROR));
        if behind.is_empty() && broken.is_none() {
            return Ok(());
        }
        job.check_cancelled()?;
        if Instant::now() >= deadline {
            return Err(format!(
                "changes not applied in time: {}",
                behind.join(", ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn wait_command(job: &Job, want: impl Fn(Command) -> bool) -> JobResult<Command> {
    let mut rx = job.commands();
    loop {
        let c = *rx.borrow_and_update();
        if c == Command::Cancel {
            return Err("cancelled".into());
        }
        if want(c) {
            return Ok(c);
        }
        rx.changed()
            .await
            .map_err(|_| "the job was dropped".to_string())?;
    }
}

async fn drive_inner(shared: &Arc<Shared>, job: &Arc<Job>) -> JobResult<()> {
    let fwd = job.forward.clone();
    if job.phase() == Phase::Copying {
        for server in fwd.servers() {
            let (name, cfg) = fwd
                .source_on(&server)
                .ok_or_else(|| format!("no data source on {server}"))?;
            let mut c = connect(&name, &cfg).await?;
            super::conn::check_binlog(&mut c, &server).await?;
            let _ = c.disconnect().await;
        }
        let fresh = job.saved().start.is_empty();
        if fresh {
            copy::check_targets_empty(&fwd).await?;
        }
        copy::create_targets(&fwd).await?;
        if fresh {
            let start = master_positions(&fwd, &fwd.servers(), false).await?;
            job.update(|s| {
                s.start = start.clone();
                s.applied = start;
            });
        }
        let t0 = Instant::now();
        job.update_live(|l| {
            l.copy_started = Some(t0);
            l.message = "copying rows".into();
        });
        for m in 0..fwd.plan.moves.len() {
            copy::copy_move(job, m).await?;
        }
        job.update_live(|l| l.copy_seconds = Some(t0.elapsed().as_secs_f64()));
        job.set_phase(
            Phase::CatchingUp,
            "rows copied; applying the changes made since",
        );
    }
    if matches!(
        job.phase(),
        Phase::CatchingUp | Phase::Verifying | Phase::WaitingForCutover | Phase::CuttingOver
    ) {
        job.start_appliers(false);
        caught_up(job, false, Duration::from_secs(3600)).await?;
        job.set_phase(Phase::Verifying, "comparing sources and targets");
        // A server that restarts or drops a connection fails one pass, not the job.
        let mut attempt = 0;
        let report = loop {
            attempt += 1;
            match verify::verify(&fwd, || caught_up(job, false, Duration::from_secs(60))).await {
                Ok(r) => break r,
                Err(e) if attempt < 5 && e != "cancelled" => {
                    tracing::warn!("reshard: verify: {e}; trying again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    job.check_cancelled()?;
                }
                Err(e) => return Err(e),
            }
        };
        let equal = report.equal();
        job.update_live(|l| l.verify = Some(report.clone()));
        if !equal {
            return Err(format!(
                "verification found differences: {}",
                summary(&report)
            ));
        }
        if job.opts.manual_cutover {
            job.set_phase(
                Phase::WaitingForCutover,
                "caught up and verified; waiting for `shardgate reshard cutover`",
            );
            wait_command(job, |c| c == Command::Cutover).await?;
        }
        switch_with_retries(shared, job, false).await?;
    }
    if job.phase() == Phase::CutOver {
        job.start_appliers(true);
        let c = wait_command(job, |c| {
            matches!(c, Command::Rollback | Command::Complete { .. })
        })
        .await?;
        match c {
            Command::Rollback => switch_with_retries(shared, job, true).await?,
            Command::Complete { drop_sources } => {
                job.stop_appliers().await;
                if drop_sources {
                    drop_old_tables(job).await?;
                }
                job.set_phase(Phase::Completed, "completed: reverse replication stopped");
            }
            _ => {}
        }
    }
    Ok(())
}

pub fn summary(r: &verify::Report) -> String {
    r.tables
        .iter()
        .filter(|t| !t.equal())
        .map(|t| {
            format!(
                "{}: missing [{}] extra [{}] different [{}]",
                t.table,
                t.missing.join(" "),
                t.extra.join(" "),
                t.different.join(" ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

async fn switch_with_retries(shared: &Arc<Shared>, job: &Arc<Job>, back: bool) -> JobResult<()> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        job.update_live(|l| l.cutover_attempts = attempt);
        match switch(shared, job, back).await {
            Ok(pause) => {
                let ms = pause.as_millis() as u64;
                job.update(|s| s.pause_ms = Some(ms));
                job.update_live(|l| {
                    l.pause_ms = Some(ms);
                    l.error = None;
                });
                if back {
                    job.set_phase(
                        Phase::RolledBack,
                        &format!("rolled back; writes paused {ms} ms"),
                    );
                } else {
                    job.set_phase(Phase::CutOver, &format!("cut over; writes paused {ms} ms; reverse replication runs until `complete`"));
                }
                return Ok(());
            }
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!("reshard: switch attempt {attempt}: {e}");
                job.update_live(|l| l.error = Some(format!("attempt {attempt}: {e}")));
                job.start_appliers(back);
                tokio::time::sleep(Duration::from_millis(500)).await;
                caught_up(job, back, Duration::from_secs(60)).await?;
            }
            Err(e) => return Err(format!("cutover failed {attempt} times; last: {e}")),
        }
    }
}

/// Hold new statements, wait for what runs, apply the last changes, switch the rules,
/// release. Returns the pause. On error the old rules keep serving (the caller restarts
/// the appliers).
async fn switch(shared: &Arc<Shared>, job: &Arc<Job>, back: bool) -> JobResult<Duration> {
    let t0 = Instant::now();
    shared.gate.close(IN_FLIGHT_BOUND).await.map_err(|f| {
        format!(
            "{} statements and {} transactions still running after {} ms",
            f.statements,
            f.transactions,
            IN_FLIGHT_BOUND.as_millis()
        )
    })?;
    let drained = t0.elapsed();
    let mut steps = Vec::new();
    let r = async {
        caught_up(job, back, FINAL_APPLY_BOUND).await?;
        steps.push(("applied", t0.elapsed()));
        job.stop_appliers().await;
        steps.push(("appliers stopped", t0.elapsed()));
        let (config, text, phase) = if back {
            (
                job.reverse.to.clone(),
                job.saved().old_text,
                Phase::RollingBack,
            )
        } else {
            // Reverse replication starts where the new layout's servers are now.
            let rev = &job.reverse;
            let positions = master_positions(rev, &rev.servers(), false).await?;
            job.update(|s| s.reverse_applied = positions);
            (
                job.forward.to.clone(),
                job.saved().new_text,
                Phase::CuttingOver,
            )
        };
        job.update(|s| s.phase = phase);
        steps.push(("positions recorded", t0.elapsed()));
        shared
            .switch_rules(config, text)
            .await
            .map_err(|e| e.message)?;
        steps.push(("rules switched", t0.elapsed()));
        Ok(())
    }
    .await;
    if r.is_ok() {
        shared.gate.switched();
    }
    shared.gate.open();
    let detail = std::iter::once(("in flight drained", drained))
        .chain(steps)
        .map(|(what, at)| format!("{what} at {} ms", at.as_millis()))
        .collect::<Vec<_>>()
        .join(", ");
    tracing::info!("reshard: cutover steps: {detail}");
    job.update_live(|l| l.pause_detail = detail);
    if r.is_err() && matches!(job.phase(), Phase::CuttingOver | Phase::RollingBack) {
        job.update(|s| {
            s.phase = if back {
                Phase::CutOver
            } else {
                Phase::CatchingUp
            }
        });
    }
    r.map(|()| t0.elapsed())
}

/// `complete`: drop the old layout's physical tables that the new one does not use.
async fn drop_old_tables(job: &Job) -> JobResult<()> {
    let fwd = &job.forward;
    let new_ids: BTreeSet<(String, String, String)> = fwd
        .plan
        .moves
        .iter()
        .flat_map(|m| m.to.nodes.iter())
        .map(|p| (p.server.clone(), p.database.clone(), p.table.clone()))
        .collect();
    let mut conns = Conns::new(&fwd.from);
    for m in &fwd.plan.moves {
        for p in &m.from.nodes {
            if new_ids.contains(&(p.server.clone(), p.database.clone(), p.table.clone())) {
                continue;
            }
            conns
                .get(&p.ds)
                .await?
                .query_drop(format!("DROP TABLE IF EXISTS {}", p.qualified()))
                .await
                .map_err(|e| format!("drop {p}: {e}"))?;
        }
    }
    conns.close().await;
    Ok(())
}

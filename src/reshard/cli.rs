//! `shardgate reshard`: submit a job to a running proxy over its admin statements and
//! follow it. The job itself runs in the proxy: killing this command does not stop it, and
//! running it again follows the job where it is.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Row};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    Status,
    Verify,
    Cutover,
    Rollback,
    Complete,
    Cancel,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    pub action: Option<Action>,
    /// The new rules file.
    #[arg(long)]
    pub to: Option<std::path::PathBuf>,
    /// The proxy's MySQL address.
    #[arg(long, default_value = "127.0.0.1:3307")]
    pub proxy: String,
    /// An admin user of the proxy.
    #[arg(long, default_value = "root")]
    pub user: String,
    #[arg(long, default_value = "", env = "SHARDGATE_PASSWORD")]
    pub password: String,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// `auto`: switch as soon as the changes are applied and verified; `manual`: wait for
    /// `shardgate reshard cutover`.
    #[arg(long, default_value = "auto", value_parser = ["auto", "manual"])]
    pub cutover: String,
    /// Copy at most this many rows per second.
    #[arg(long)]
    pub max_rows_per_sec: Option<u64>,
}

async fn connect(a: &Args) -> Result<Conn, String> {
    let (host, port) = a
        .proxy
        .rsplit_once(':')
        .ok_or_else(|| format!("--proxy {}: expected HOST:PORT", a.proxy))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("--proxy {}: bad port", a.proxy))?;
    let opts = OptsBuilder::default()
        .ip_or_hostname(host.to_string())
        .tcp_port(port)
        .user(Some(a.user.clone()))
        .pass(Some(a.password.clone()))
        .prefer_socket(false);
    Conn::new(opts)
        .await
        .map_err(|e| format!("connect to the proxy at {}: {e}", a.proxy))
}

/// A SQL string literal of any text.
fn quoted(s: &str) -> String {
    crate::reshard::values::string_literal(s.as_bytes())
}

fn cell(r: &Row, i: usize) -> String {
    r.get::<Option<String>, _>(i).flatten().unwrap_or_default()
}

async fn status(c: &mut Conn) -> Result<Vec<(String, String)>, String> {
    let rows: Vec<Row> = c
        .query("SHOW RESHARD STATUS")
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows.iter().map(|r| (cell(r, 0), cell(r, 1))).collect())
}

fn get<'a>(s: &'a [(String, String)], k: &str) -> &'a str {
    s.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn confirm(question: &str) -> bool {
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).is_ok()
        && matches!(line.trim(), "y" | "Y" | "yes" | "YES")
}

pub async fn run(a: Args) -> Result<(), String> {
    let mut c = connect(&a).await?;
    let r = match (a.action, &a.to) {
        (None, Some(path)) => start(&mut c, &a, path).await,
        (None, None) => Err("give --to NEW_RULES, or an action (status, verify, cutover, rollback, complete, cancel)".into()),
        (Some(Action::Status), _) => {
            for (k, v) in status(&mut c).await? {
                println!("{k}: {v}");
            }
            Ok(())
        }
        (Some(Action::Verify), _) => verify(&mut c).await,
        (Some(Action::Cutover), _) => {
            send(&mut c, "RESHARD CUTOVER").await?;
            follow(&mut c, &["cut_over"]).await
        }
        (Some(Action::Rollback), _) => {
            send(&mut c, "RESHARD ROLLBACK").await?;
            follow(&mut c, &["rolled_back"]).await
        }
        (Some(Action::Cancel), _) => {
            send(&mut c, "RESHARD CANCEL").await?;
            follow(&mut c, &["cancelled"]).await
        }
        (Some(Action::Complete), _) => {
            let drop = a.yes
                || confirm("Stop reverse replication and DROP the old layout's physical tables?");
            let sql = if drop {
                "RESHARD COMPLETE DROP SOURCES"
            } else {
                "RESHARD COMPLETE"
            };
            send(&mut c, sql).await?;
            follow(&mut c, &["completed"]).await
        }
    };
    let _ = c.disconnect().await;
    r
}

async fn send(c: &mut Conn, sql: &str) -> Result<(), String> {
    c.query_drop(sql).await.map_err(|e| e.to_string())
}

async fn verify(c: &mut Conn) -> Result<(), String> {
    let rows: Vec<Row> = c.query("RESHARD VERIFY").await.map_err(|e| e.to_string())?;
    let mut equal = true;
    for r in &rows {
        let result = cell(r, 2);
        equal &= result == "equal";
        println!("{}: {} source rows: {result}", cell(r, 0), cell(r, 1));
        for (i, what) in [(3, "missing"), (4, "extra"), (5, "different")] {
            let v = cell(r, i);
            if !v.is_empty() {
                println!("  {what}: {v}");
            }
        }
    }
    if equal {
        Ok(())
    } else {
        Err("sources and targets differ".into())
    }
}

async fn start(c: &mut Conn, a: &Args, path: &std::path::Path) -> Result<(), String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    // A job already running (this command was killed, or runs twice): follow it.
    if let Ok(s) = status(c).await {
        let phase = get(&s, "phase").to_string();
        if !matches!(
            phase.as_str(),
            "" | "rolled_back" | "completed" | "failed" | "cancelled"
        ) {
            println!("a reshard job is running ({phase}); following it");
            return follow(c, &["cut_over", "waiting_for_cutover"]).await;
        }
    }
    let plan: Vec<Row> = c
        .query(format!("RESHARD PLAN {}", quoted(&text)))
        .await
        .map_err(|e| e.to_string())?;
    println!("plan ({}):", path.display());
    for r in &plan {
        println!(
            "  {}: {} -> {} (~{} rows)",
            cell(r, 0),
            cell(r, 1),
            cell(r, 2),
            cell(r, 3)
        );
    }
    if !a.yes && !confirm("Start resharding?") {
        return Err("not confirmed; nothing was changed".into());
    }
    let mut sql = format!("RESHARD START {}", quoted(&text));
    if a.cutover == "manual" {
        sql.push_str(" CUTOVER MANUAL");
    }
    if let Some(n) = a.max_rows_per_sec {
        sql.push_str(&format!(" MAX_ROWS_PER_SEC {n}"));
    }
    if let Err(e) = send(c, &sql).await {
        // A job resumed by a restarted proxy meanwhile: follow it.
        if !e.contains("a job is running") {
            return Err(e);
        }
        println!("a reshard job is running; following it");
    }
    follow(c, &["cut_over", "waiting_for_cutover"]).await
}

/// Print progress until the job reaches one of `until` (Ok) or ends otherwise (Err).
async fn follow(c: &mut Conn, until: &[&str]) -> Result<(), String> {
    let tty = std::io::stdout().is_terminal();
    let started = Instant::now();
    let mut last_line = String::new();
    loop {
        let s = status(c).await?;
        let phase = get(&s, "phase").to_string();
        let tables: Vec<String> = s
            .iter()
            .filter(|(k, _)| k.starts_with("table "))
            .map(|(k, v)| format!("{}: {v}", &k[6..]))
            .collect();
        let line = format!(
            "[{:>5.1}s] {phase}: {} rows copied ({} rows/s), {} changes applied{}",
            started.elapsed().as_secs_f64(),
            get(&s, "rows_copied"),
            get(&s, "copy_rows_per_sec"),
            get(&s, "changes_applied"),
            match get(&s, "error") {
                "" => String::new(),
                e => format!(" ({e})"),
            }
        );
        if line != last_line {
            if tty {
                print!("\r\x1b[2K{line}");
                let _ = std::io::stdout().flush();
            } else {
                println!("{line}");
            }
            last_line = line;
        }
        if until.contains(&phase.as_str()) {
            if tty {
                println!();
            }
            for t in tables {
                println!("  {t}");
            }
            if !get(&s, "verify").is_empty() {
                println!("verify: {}", get(&s, "verify"));
            }
            match phase.as_str() {
                "waiting_for_cutover" => {
                    println!("caught up and verified; run `shardgate reshard cutover` to switch")
                }
                "cut_over" | "rolled_back" => {
                    println!("write pause: {} ms", get(&s, "pause_ms"));
                }
                _ => println!("{}", get(&s, "message")),
            }
            return Ok(());
        }
        if matches!(
            phase.as_str(),
            "failed" | "cancelled" | "completed" | "rolled_back"
        ) {
            if tty {
                println!();
            }
            return Err(format!("reshard {phase}: {}", get(&s, "message")));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

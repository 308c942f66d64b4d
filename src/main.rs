use clap::{Parser, Subcommand};
use shardgate::server::{Server, Shared};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// mimalloc: the hot path allocates small, short-lived buffers per statement (parse trees,
/// plans, rows); glibc malloc/free were about a third of the proxy's instructions per query.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "shardgate",
    version,
    about = "SQL-aware MySQL-protocol sharding proxy"
)]
struct Cli {
    /// Tokio worker threads (default: one per CPU core).
    #[arg(long, global = true)]
    worker_threads: Option<usize>,
    /// Log lines as `text` or `json` (also SHARDGATE_LOG_FORMAT).
    #[arg(
        long,
        global = true,
        env = "SHARDGATE_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the proxy.
    Serve {
        #[arg(long, default_value = "rules/shardgate.toml")]
        config: PathBuf,
        /// Listen address (overrides [server].listen).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Validate a rules file and print a summary; with --diff, what changes from another
    /// rules file and how a running proxy takes each change.
    Check {
        #[arg(long, default_value = "rules/shardgate.toml")]
        config: PathBuf,
        /// The rules file in use now (compared with --config, the new one).
        #[arg(long)]
        diff: Option<PathBuf>,
    },
    /// Print the plan for a statement (route kind, nodes, SQL per node).
    Explain {
        #[arg(long, default_value = "rules/shardgate.toml")]
        config: PathBuf,
        /// Logical database (default: the only/first one).
        #[arg(long)]
        db: Option<String>,
        sql: String,
    },
    /// Resolve this proxy's in-doubt XA transactions (commit what the decision log says
    /// committed, roll back the rest) and report what was done.
    Recover {
        #[arg(long, default_value = "rules/shardgate.toml")]
        config: PathBuf,
    },
    /// Move a running proxy's data to new rules online (docs/resharding.md): with --to,
    /// plan, confirm and start a job, then follow it to the cutover; with an action, act on
    /// the job.
    Reshard(shardgate::reshard::cli::Args),
    /// Start two local MariaDB shards and the proxy with the e-commerce example.
    Demo {
        #[arg(long, default_value = "127.0.0.1:3307")]
        listen: String,
        /// Ports of the two local MariaDB shards ds_0 and ds_1.
        #[arg(long, default_value = "3316,3317")]
        shard_ports: String,
        /// Rules file to use instead of examples/ecommerce/rules.toml. It must define the
        /// data sources ds_0 and ds_1 (their host and port are replaced by the local shards')
        /// and a logical database `shop`, where the e-commerce schema and data are loaded.
        #[arg(long)]
        rules: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("SHARDGATE_LOG")
            .unwrap_or_else(|_| "info".into())
    };
    match cli.log_format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .init(),
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .enable_all()
        .thread_stack_size(shardgate::server::WORKER_STACK_SIZE);
    if let Some(n) = cli.worker_threads {
        builder.worker_threads(n.max(1));
    }
    let rt = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("shardgate: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.cmd)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shardgate: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cmd: Cmd) -> Result<(), String> {
    match cmd {
        Cmd::Recover { config } => {
            let c = shardgate::rules::load(&config).map_err(|e| e.to_string())?;
            let backends = shardgate::backend::Backends::from_config(&c);
            let txn =
                shardgate::txn::Coordinator::from_config(&c.server).map_err(|e| e.to_string())?;
            let report = txn.recover(&backends).await.map_err(|e| e.to_string())?;
            backends.disconnect_all().await;
            println!("{report}");
            if report.errors.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{} branch(es) could not be resolved",
                    report.errors.len()
                ))
            }
        }
        Cmd::Check { config, diff } => {
            let c = shardgate::rules::load(&config).map_err(|e| e.to_string())?;
            println!("{} is valid\n{}", config.display(), c.summary());
            if let Some(old) = diff {
                let read = |p: &PathBuf| {
                    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))
                };
                let changes = shardgate::rules::diff::diff_text(&read(&old)?, &read(&config)?)
                    .map_err(|e| e.to_string())?;
                if changes.is_empty() {
                    println!("no changes from {}", old.display());
                } else {
                    println!("changes from {}:", old.display());
                    for ch in &changes {
                        println!("  {ch}");
                    }
                }
            }
            Ok(())
        }
        Cmd::Explain { config, db, sql } => {
            let c = shardgate::rules::load(&config).map_err(|e| e.to_string())?;
            let d = match &db {
                Some(n) => c
                    .databases
                    .values()
                    .find(|d| d.name.eq_ignore_ascii_case(n)),
                None => c.databases.values().next(),
            }
            .ok_or_else(|| "no such logical database".to_string())?;
            let text = shardgate::plan::explain_text(d, &sql).map_err(|e| e.to_string())?;
            print!("{text}");
            Ok(())
        }
        Cmd::Serve { config, listen } => {
            let c = shardgate::rules::load(&config).map_err(|e| e.to_string())?;
            let text = std::fs::read_to_string(&config).map_err(|e| e.to_string())?;
            let addr = listen.unwrap_or_else(|| c.server.listen.clone());
            let shared = Arc::new(Shared::new(c).await.map_err(|e| e.to_string())?);
            shared.rules.set(Some(config.clone()), text);
            let server = Server::bind(&addr, shared)
                .await
                .map_err(|e| format!("listen on {addr}: {e}"))?;
            tracing::info!(
                "shardgate listening on {}",
                server.local_addr().map_err(|e| e.to_string())?
            );
            let (tx, rx) = tokio::sync::watch::channel(false);
            let task = tokio::spawn(server.run(rx));
            shardgate::demo::wait_for_signal().await;
            let _ = tx.send(true);
            let _ = task.await;
            Ok(())
        }
        Cmd::Reshard(args) => shardgate::reshard::cli::run(args).await,
        Cmd::Demo {
            listen,
            shard_ports,
            rules,
        } => {
            let ports = shardgate::demo::parse_shard_ports(&shard_ports)?;
            let rules = match &rules {
                Some(path) => Some((
                    std::fs::read_to_string(path)
                        .map_err(|e| format!("read {}: {e}", path.display()))?,
                    path.display().to_string(),
                )),
                None => None,
            };
            shardgate::demo::run(&listen, ports, rules).await
        }
    }
}

//! `tocsinctl`: command-line client of the Tocsin collector.

use std::io::Write;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use serde_json::Value;
use tocsin_collector::cli::client::{CliError, Client, Reply};
use tocsin_collector::cli::pretty::pretty;
use tocsin_collector::cli::{cmdb, promql};
use tocsin_collector::query::time::{format_timestamp, parse_duration, parse_time};

/// Command-line client of the Tocsin collector.
#[derive(Debug, Parser)]
#[command(name = "tocsinctl", version, about)]
struct Cli {
    /// Base URL of the collector's HTTP API.
    #[arg(
        long,
        global = true,
        env = "TOCSIN_URL",
        default_value = "http://127.0.0.1:7080"
    )]
    url: String,
    /// Print the server's JSON (pretty-printed) instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List configuration items.
    Cis,
    /// Show one configuration item: attributes, relations, change history.
    Ci {
        /// The CI's id.
        id: String,
    },
    /// Run a PromQL selector, e.g. `node_load1{host="web01"}`.
    Query {
        /// The selector.
        expr: String,
        /// Run a range query over this window ending now (or at --time), e.g. `1h`.
        #[arg(long)]
        range: Option<String>,
        /// Step of a range query (default: range/60, at least 1s), e.g. `30s`.
        #[arg(long, requires = "range")]
        step: Option<String>,
        /// Evaluation time (RFC 3339 or unix seconds); default now.
        #[arg(long)]
        time: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(out) => {
            // A closed pipe (`tocsinctl cis | head`) is not an error.
            let _ = std::io::stdout().lock().write_all(out.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(msg: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "tocsinctl: {msg}");
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> Result<String, CliError> {
    let client = Client::new(&cli.url)?;
    let (reply, render): (Reply, fn(&Value) -> String) = match cli.command {
        Command::Cis => (
            client.get(&["api", "v1", "cis"], &[]).await?,
            cmdb::render_cis,
        ),
        Command::Ci { id } => {
            let body = client
                .get(&["api", "v1", "cis", &id], &[])
                .await
                .map_err(|e| match e {
                    CliError::Api { status: 404, .. } => {
                        CliError::Other(format!("no CI with id {id}"))
                    }
                    other => other,
                })?;
            (body, cmdb::render_ci)
        }
        Command::Query {
            expr,
            range,
            step,
            time,
        } => (
            query(&client, &expr, range, step, time).await?,
            promql::render,
        ),
    };
    if cli.json {
        return Ok(pretty(&reply.text) + "\n");
    }
    Ok(render(&reply.json))
}

async fn query(
    client: &Client,
    expr: &str,
    range: Option<String>,
    step: Option<String>,
    time: Option<String>,
) -> Result<Reply, CliError> {
    let bad = |flag: &str, e: String| CliError::Other(format!("invalid --{flag}: {e}"));
    let at = match &time {
        Some(t) => parse_time(t).map_err(|e| bad("time", e))?,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    };
    let Some(range) = range else {
        let t = format_timestamp(at);
        return client
            .get(&["api", "v1", "query"], &[("query", expr), ("time", &t)])
            .await;
    };
    let range_ms = positive_duration(&range).map_err(|e| bad("range", e))?;
    let step_ms = match &step {
        Some(s) => positive_duration(s).map_err(|e| bad("step", e))?,
        None => promql::default_step_ms(range_ms),
    };
    let (start, end, step) = (
        format_timestamp(at - range_ms),
        format_timestamp(at),
        format_timestamp(step_ms),
    );
    let params = [
        ("query", expr),
        ("start", &start),
        ("end", &end),
        ("step", &step),
    ];
    client.get(&["api", "v1", "query_range"], &params).await
}

fn positive_duration(s: &str) -> Result<i64, String> {
    match parse_duration(s)? {
        ms if ms > 0 => Ok(ms),
        _ => Err(format!("{s:?} is not a positive duration")),
    }
}

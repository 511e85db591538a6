//! `tocsinctl`: command-line client of the Tocsin collector.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tocsin_api_types::cis::CiView;
use tocsin_api_types::maintenance::MaintenanceWindow;
use tocsin_api_types::notifications::{
    NotificationList, OutboxRecord, ReceiverView, TestAnswer, TestOutcome, TestRequest,
};
use tocsin_api_types::problems::Problem;
use tocsin_api_types::{Ci, DeviceEventRecord, Incident, IncidentDetail};
use tocsin_model::time::now_ms;
use tocsinctl::actions::{self, Action};
use tocsinctl::client::{CliError, Client, Reply};
use tocsinctl::maintenance::{self, NewWindowArgs};
use tocsinctl::pretty::pretty;
use tocsinctl::{cmdb, incident, incidents, notify, problems, promql, rules};

/// Turns the API's answer into text.
type Render = Box<dyn FnOnce(&Value) -> String>;

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
    /// Who acts, recorded in incident timelines and maintenance windows
    /// (default: $USER, else `tocsinctl`).
    #[arg(long, global = true)]
    actor: Option<String>,
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
    /// Show a CI's device events (SNMP traps), newest first.
    Events {
        /// The CI's id.
        id: String,
        /// How many (1-1000).
        #[arg(long, default_value_t = 50)]
        limit: usize,
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
    /// List incidents, newest first.
    Incidents(IncidentsArgs),
    /// Show one incident: CI, values, SLA, children, timeline.
    Incident {
        /// The incident's id.
        id: u64,
    },
    /// Acknowledge an incident.
    Ack {
        /// The incident's id.
        id: u64,
        /// A note for the timeline.
        #[arg(long)]
        note: Option<String>,
    },
    /// Assign an incident to an engineer.
    Assign {
        /// The incident's id.
        id: u64,
        /// Who works on it.
        assignee: String,
    },
    /// Add a comment to an incident's timeline.
    Comment {
        /// The incident's id.
        id: u64,
        /// The comment.
        text: String,
    },
    /// Resolve an incident by hand.
    Resolve {
        /// The incident's id.
        id: u64,
        /// What was done (required).
        #[arg(long)]
        note: String,
    },
    /// Close an incident (final).
    Close {
        /// The incident's id.
        id: u64,
        /// A note for the timeline.
        #[arg(long)]
        note: Option<String>,
    },
    /// Maintenance windows: list (the default), add, delete.
    Maintenance {
        #[command(subcommand)]
        action: Option<MaintenanceCommand>,
    },
    /// List problem records (recurring incidents of one rule on one CI).
    Problems,
    /// Notifications: list (the default), retry, test, receivers.
    Notify {
        #[command(subcommand)]
        action: Option<NotifyCommand>,
    },
    /// List the rules in force; `rules reload` re-reads the rules file.
    Rules {
        #[command(subcommand)]
        action: Option<RulesCommand>,
    },
}

#[derive(Debug, clap::Args)]
struct IncidentsArgs {
    /// Only these statuses (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_parser = ["open", "acknowledged", "resolved", "closed"])]
    status: Vec<String>,
    /// Only open and acknowledged incidents (same as --status open,acknowledged).
    #[arg(long, conflicts_with = "status")]
    active: bool,
    /// Only these severities (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_parser = ["warning", "general", "major"])]
    severity: Vec<String>,
    /// Only incidents of this CI (its id).
    #[arg(long)]
    ci: Option<String>,
    /// Opened at or after (RFC 3339 or unix seconds).
    #[arg(long)]
    from: Option<String>,
    /// Opened at or before (RFC 3339 or unix seconds).
    #[arg(long)]
    to: Option<String>,
    /// Leave out incidents attached to a parent incident.
    #[arg(long)]
    top_level: bool,
    /// At most this many (the newest).
    #[arg(long)]
    limit: Option<usize>,
}

#[derive(Debug, Subcommand)]
enum MaintenanceCommand {
    /// List maintenance windows.
    List,
    /// Add a window for a CI or a CI class.
    #[command(group = clap::ArgGroup::new("target").required(true).multiple(true).args(["ci", "class"]))]
    #[command(group = clap::ArgGroup::new("until").required(true).args(["end", "duration"]))]
    Add {
        /// The CI under maintenance (its id).
        #[arg(long)]
        ci: Option<String>,
        /// Every CI of this class (host, switch…).
        #[arg(long)]
        class: Option<String>,
        /// Start: RFC 3339, unix seconds or `now`.
        #[arg(long, default_value = "now")]
        start: String,
        /// End: RFC 3339 or unix seconds.
        #[arg(long)]
        end: Option<String>,
        /// Length instead of --end, e.g. `2h`, `1h30m`.
        #[arg(long)]
        duration: Option<String>,
        /// Why, e.g. the change ticket.
        #[arg(long)]
        reason: String,
    },
    /// Delete a window.
    Delete {
        /// The window's id.
        id: u64,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Re-read the rules file; on errors the running rules stay.
    Reload,
}

#[derive(Debug, Subcommand)]
enum NotifyCommand {
    /// List notifications, newest first.
    List {
        /// Only these statuses: pending, delivered, failed (repeatable).
        #[arg(long)]
        status: Vec<String>,
        /// How many (1-1000).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Make a failed notification due again.
    Retry {
        /// The notification's id.
        id: u64,
    },
    /// Send a test message to a receiver now.
    Test {
        /// The receiver's name.
        receiver: String,
    },
    /// List the configured receivers (no secrets).
    Receivers,
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
    let actor = actions::actor(cli.actor, std::env::var("USER").ok());
    let now = now_ms();
    let json = cli.json;
    let (reply, render): (Reply, Render) = match cli.command {
        Command::Cis => typed(
            client.get(&["api", "v1", "cis"], &[]).await?,
            json,
            |cis: &Vec<Ci>| cmdb::render_cis(cis),
        )?,
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
            typed(body, json, |ci: &CiView| cmdb::render_ci(ci))?
        }
        Command::Events { id, limit } => typed(
            client
                .get(
                    &["api", "v1", "cis", &id, "events"],
                    &[("limit", &limit.to_string())],
                )
                .await?,
            json,
            |events: &Vec<DeviceEventRecord>| cmdb::render_events(events),
        )?,
        Command::Query {
            expr,
            range,
            step,
            time,
        } => (
            promql::query(&client, &expr, range, step, time).await?,
            Box::new(promql::render),
        ),
        Command::Incidents(args) => typed(
            list_incidents(&client, args).await?,
            json,
            move |list: &Vec<Incident>| incidents::render_incidents(list, now),
        )?,
        Command::Incident { id } => typed(
            client
                .get(&["api", "v1", "incidents", &id.to_string()], &[])
                .await?,
            json,
            move |d: &IncidentDetail| incident::render_incident(d, now),
        )?,
        Command::Ack { id, note } => act(&client, id, Action::Ack(note), &actor).await?,
        Command::Assign { id, assignee } => {
            act(&client, id, Action::Assign(assignee), &actor).await?
        }
        Command::Comment { id, text } => act(&client, id, Action::Comment(text), &actor).await?,
        Command::Resolve { id, note } => act(&client, id, Action::Resolve(note), &actor).await?,
        Command::Close { id, note } => act(&client, id, Action::Close(note), &actor).await?,
        Command::Maintenance { action } => {
            maintenance_cmd(&client, action, &actor, now, json).await?
        }
        Command::Problems => typed(
            client.get(&["api", "v1", "problems"], &[]).await?,
            json,
            |list: &Vec<Problem>| problems::render_problems(list),
        )?,
        Command::Notify { action } => notify_cmd(&client, action, &actor, json).await?,
        Command::Rules { action: None } => typed(
            client.get(&["api", "v1", "rules"], &[]).await?,
            json,
            rules::render_rules,
        )?,
        Command::Rules {
            action: Some(RulesCommand::Reload),
        } => typed(
            client.post(&["api", "v1", "rules", "reload"], None).await?,
            json,
            rules::render_reload,
        )?,
    };
    if json {
        return Ok(pretty(&reply.text) + "\n");
    }
    Ok(render(&reply.json))
}

/// The answer with a renderer of its `data` as the typed body `T`. The
/// data is decoded only for tables: `--json` prints the server's text as is.
fn typed<T: DeserializeOwned + 'static>(
    reply: Reply,
    json: bool,
    render: impl FnOnce(&T) -> String + 'static,
) -> Result<(Reply, Render), CliError> {
    if json {
        return Ok((reply, Box::new(|_| String::new())));
    }
    let data: T = reply.data()?;
    Ok((reply, Box::new(move |_| render(&data))))
}

async fn notify_cmd(
    client: &Client,
    action: Option<NotifyCommand>,
    actor: &str,
    json: bool,
) -> Result<(Reply, Render), CliError> {
    let action = action.unwrap_or(NotifyCommand::List {
        status: Vec::new(),
        limit: 50,
    });
    Ok(match action {
        NotifyCommand::List { status, limit } => {
            let status = status.join(",");
            let limit = limit.to_string();
            let mut query = vec![("limit", limit.as_str())];
            if !status.is_empty() {
                query.push(("status", status.as_str()));
            }
            let reply = client.get(&["api", "v1", "notifications"], &query).await?;
            typed(reply, json, |records: &NotificationList| {
                notify::render_notifications(records)
            })?
        }
        NotifyCommand::Retry { id } => {
            let id = id.to_string();
            let reply = client
                .post(&["api", "v1", "notifications", &id, "retry"], None)
                .await?;
            typed(reply, json, |record: &OutboxRecord| {
                notify::render_retry(record)
            })?
        }
        NotifyCommand::Test { receiver } => {
            let request = TestRequest {
                actor: Some(actor.to_string()),
            };
            let reply = client
                .post_json(&["api", "v1", "receivers", &receiver, "test"], &request)
                .await?;
            let answer: TestAnswer = reply.data()?;
            // A test that did not reach the receiver is a failure of the command.
            if answer.outcome != TestOutcome::Delivered {
                return Err(CliError::Other(
                    notify::render_test(&answer).trim_end().to_string(),
                ));
            }
            (reply, Box::new(move |_| notify::render_test(&answer)))
        }
        NotifyCommand::Receivers => typed(
            client.get(&["api", "v1", "receivers"], &[]).await?,
            json,
            |receivers: &Vec<ReceiverView>| notify::render_receivers(receivers),
        )?,
    })
}

async fn list_incidents(client: &Client, a: IncidentsArgs) -> Result<Reply, CliError> {
    let status = if a.active {
        "open,acknowledged".to_string()
    } else {
        a.status.join(",")
    };
    let severity = a.severity.join(",");
    let limit = a.limit.map(|l| l.to_string());
    let optional = [
        ("status", Some(status)),
        ("severity", Some(severity)),
        ("ci", a.ci),
        ("from", a.from),
        ("to", a.to),
        ("limit", limit),
        ("top_level", a.top_level.then(|| "true".to_string())),
    ];
    let params: Vec<(&str, &str)> = optional
        .iter()
        .filter_map(|(k, v)| Some((*k, v.as_deref().filter(|v| !v.is_empty())?)))
        .collect();
    client.get(&["api", "v1", "incidents"], &params).await
}

async fn act(
    client: &Client,
    id: u64,
    action: Action,
    actor: &str,
) -> Result<(Reply, Render), CliError> {
    let path = ["api", "v1", "incidents", &id.to_string(), action.path()];
    let reply = client.post(&path, Some(&action.body(actor))).await?;
    Ok((reply, Box::new(move |_| action.confirmation(id))))
}

async fn maintenance_cmd(
    client: &Client,
    action: Option<MaintenanceCommand>,
    actor: &str,
    now: i64,
    json: bool,
) -> Result<(Reply, Render), CliError> {
    let window = |w: &MaintenanceWindow, verb| maintenance::confirmation(w, verb);
    match action.unwrap_or(MaintenanceCommand::List) {
        MaintenanceCommand::List => typed(
            client.get(&["api", "v1", "maintenance"], &[]).await?,
            json,
            move |list: &Vec<MaintenanceWindow>| maintenance::render_windows(list, now),
        ),
        MaintenanceCommand::Add {
            ci,
            class,
            start,
            end,
            duration,
            reason,
        } => {
            let args = NewWindowArgs {
                ci,
                class,
                start: Some(start),
                end,
                duration,
                reason,
            };
            let body = args.body(actor, now).map_err(CliError::Other)?;
            typed(
                client
                    .post_json(&["api", "v1", "maintenance"], &body)
                    .await?,
                json,
                move |w| window(w, "added"),
            )
        }
        MaintenanceCommand::Delete { id } => typed(
            client
                .delete(&["api", "v1", "maintenance", &id.to_string()])
                .await?,
            json,
            move |w| window(w, "deleted"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("tocsinctl").chain(args.iter().copied()))
    }

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn incident_commands_parse() {
        let cli = parse(&["incidents", "--status", "open,acknowledged", "--limit", "5"]).unwrap();
        let Command::Incidents(a) = cli.command else {
            panic!("{cli:?}")
        };
        assert_eq!(a.status, ["open", "acknowledged"]);
        assert_eq!(a.limit, Some(5));
        assert!(parse(&["incidents", "--status", "fixed"]).is_err());
        assert!(parse(&["incidents", "--active", "--status", "open"]).is_err());
        assert!(parse(&["incident", "x"]).is_err(), "ids are numbers");
        assert!(parse(&["resolve", "7"]).is_err(), "--note is required");
        let cli = parse(&["resolve", "7", "--note", "fixed", "--actor", "ann"]).unwrap();
        assert_eq!(cli.actor.as_deref(), Some("ann"));
        assert!(parse(&["assign", "7"]).is_err());
        assert!(parse(&["rules", "reload"]).is_ok());
    }

    #[test]
    fn maintenance_add_needs_target_and_end() {
        let ok = ["maintenance", "add", "--ci", "h1", "--duration", "2h"];
        assert!(parse(&[&ok[..], &["--reason", "CHG-1"]].concat()).is_ok());
        assert!(parse(&ok).is_err(), "--reason is required");
        let no_target = ["maintenance", "add", "--end", "1", "--reason", "r"];
        assert!(parse(&no_target).is_err());
        let both_ends = [
            "maintenance",
            "add",
            "--class",
            "switch",
            "--end",
            "1",
            "--duration",
            "1h",
            "--reason",
            "r",
        ];
        assert!(parse(&both_ends).is_err());
        assert!(parse(&["maintenance"]).is_ok(), "lists by default");
    }
}

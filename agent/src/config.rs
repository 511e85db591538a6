//! Configuration: the TOML file, command-line overrides, and validation that
//! reports every problem at once, each prefixed with the key it concerns.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::checks::{CheckConfig, checks_problems};
use crate::error::{Error, Result};
use crate::snmp::SnmpTarget;
use crate::snmp::trap::TrapConfig;
use crate::validate::{MAX_EXTRA_LABELS, check_label};

/// Collector URL used when neither the file nor the command line names one.
pub const DEFAULT_COLLECTOR: &str = "http://127.0.0.1:7070";
/// Collection interval used by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// Shortest collection interval accepted.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// State directory used by default (relative to the working directory).
pub const DEFAULT_STATE_DIR: &str = "./tocsin-agent-state";
/// Batches kept in memory while the collector is unreachable, by default.
pub const DEFAULT_MAX_BATCHES: usize = 1000;
/// Samples per batch, by default (the collector may ask for fewer).
pub const DEFAULT_MAX_BATCH_SAMPLES: usize = 5000;
/// The configuration file as written. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// gRPC URL of the collector, e.g. `http://collector.example:7070`.
    pub collector: Option<String>,
    /// How often metrics are collected, e.g. `10s`; at least `1s`.
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    /// Directory holding the agent's persistent state (its id).
    pub state_dir: Option<PathBuf>,
    /// Extra labels added to every series, e.g. `{ env = "prod", dc = "sh1" }`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The send queue.
    #[serde(default)]
    pub queue: QueueFile,
    /// Logging.
    #[serde(default)]
    pub log: LogFile,
    /// Devices polled by SNMP (`[[snmp]]` entries), each reported as its own CI.
    #[serde(default)]
    pub snmp: Vec<SnmpTarget>,
    /// The SNMP trap receiver (`[traps]`); absent = no receiver.
    #[serde(default)]
    pub traps: Option<TrapConfig>,
    /// Service checks (`[[check]]` entries).
    #[serde(default)]
    pub check: Vec<CheckConfig>,
}

/// The `[queue]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueFile {
    /// Most batches held while the collector is unreachable; the oldest is dropped beyond.
    pub max_batches: Option<usize>,
    /// Most samples in one batch (the collector's own limit also applies).
    pub max_batch_samples: Option<usize>,
}

/// The `[log]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFile {
    /// Level or filter directive (`info`, `debug`, `tocsin_agent=debug,warn`); `RUST_LOG` wins.
    pub level: Option<String>,
}

/// Values given on the command line; each replaces the file's value.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--collector`.
    pub collector: Option<String>,
    /// `--interval`.
    pub interval: Option<Duration>,
    /// `--state-dir`.
    pub state_dir: Option<PathBuf>,
}

/// Queue settings in force.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueConfig {
    /// Most batches held; the oldest is dropped beyond.
    pub max_batches: usize,
    /// Most samples in one batch, before the collector's limit is applied.
    pub max_batch_samples: usize,
}

/// The effective configuration: defaults, then the file, then the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// gRPC URL of the collector.
    pub collector: String,
    /// Collection interval.
    pub interval: Duration,
    /// Directory of the persistent state.
    pub state_dir: PathBuf,
    /// Extra labels for every series.
    pub labels: BTreeMap<String, String>,
    /// Queue settings.
    pub queue: QueueConfig,
    /// Log level or filter directive.
    pub log_level: String,
    /// Devices polled by SNMP.
    pub snmp: Vec<SnmpTarget>,
    /// The SNMP trap receiver, if configured.
    pub traps: Option<TrapConfig>,
    /// Service checks.
    pub checks: Vec<CheckConfig>,
}

impl Config {
    /// Reads `path` (if given), applies `overrides`, and validates the result.
    pub fn load(path: Option<&Path>, overrides: Overrides) -> Result<Self> {
        let file = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
                parse_file(&text)
                    .map_err(|e| Error::Config(vec![format!("{}: {e}", p.display())]))?
            }
            None => FileConfig::default(),
        };
        let config = Self::merge(file, overrides);
        let problems = config.problems();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(Error::Config(problems))
        }
    }

    /// Combines defaults, the file, and the command line, without validating.
    pub fn merge(file: FileConfig, cli: Overrides) -> Self {
        Self {
            collector: cli
                .collector
                .or(file.collector)
                .unwrap_or_else(|| DEFAULT_COLLECTOR.to_string()),
            interval: cli.interval.or(file.interval).unwrap_or(DEFAULT_INTERVAL),
            state_dir: cli
                .state_dir
                .or(file.state_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
            labels: file.labels,
            queue: QueueConfig {
                max_batches: file.queue.max_batches.unwrap_or(DEFAULT_MAX_BATCHES),
                max_batch_samples: file
                    .queue
                    .max_batch_samples
                    .unwrap_or(DEFAULT_MAX_BATCH_SAMPLES),
            },
            log_level: file.log.level.unwrap_or_else(|| "info".to_string()),
            snmp: file.snmp,
            traps: file.traps,
            checks: file.check,
        }
    }

    /// Every problem with this configuration, each as `key: what is wrong`.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Err(why) = check_collector_url(&self.collector) {
            p.push(format!("collector: {why}"));
        }
        if self.interval < MIN_INTERVAL {
            p.push(format!(
                "interval: must be at least {}, got {}",
                humantime::format_duration(MIN_INTERVAL),
                humantime::format_duration(self.interval)
            ));
        }
        if self.state_dir.as_os_str().is_empty() {
            p.push("state_dir: must not be empty".to_string());
        }
        if self.labels.len() > MAX_EXTRA_LABELS {
            p.push(format!(
                "labels: at most {MAX_EXTRA_LABELS} extra labels, got {}",
                self.labels.len()
            ));
        }
        for (name, value) in &self.labels {
            if let Err(why) = check_label(name, value) {
                p.push(format!("labels.{name}: {why}"));
            }
        }
        if !(1..=1_000_000).contains(&self.queue.max_batches) {
            p.push(format!(
                "queue.max_batches: must be between 1 and 1000000, got {}",
                self.queue.max_batches
            ));
        }
        if !(1..=1_000_000).contains(&self.queue.max_batch_samples) {
            p.push(format!(
                "queue.max_batch_samples: must be between 1 and 1000000, got {}",
                self.queue.max_batch_samples
            ));
        }
        if let Err(why) = check_log_level(&self.log_level) {
            p.push(format!("log.level: {why}"));
        }
        snmp_problems(&self.snmp, &mut p);
        if let Some(traps) = &self.traps {
            p.extend(traps.validate().into_iter().map(|x| format!("traps.{x}")));
        }
        let device_ids: Vec<String> = self.snmp.iter().map(SnmpTarget::device_id).collect();
        checks_problems(&self.checks, &device_ids, &mut p);
        p
    }
}

/// Problems of the `[[snmp]]` entries, each prefixed `snmp[i].`: those of each
/// target, plus device ids and `address:port` pairs used twice.
fn snmp_problems(targets: &[SnmpTarget], p: &mut Vec<String>) {
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut endpoints: BTreeMap<(String, u16), usize> = BTreeMap::new();
    for (i, t) in targets.iter().enumerate() {
        p.extend(t.validate().into_iter().map(|x| format!("snmp[{i}].{x}")));
        let id = t.device_id();
        if let Some(first) = ids.get(&id) {
            p.push(format!(
                "snmp[{i}].id: device id {id:?} is already used by snmp[{first}]; set a distinct `id`"
            ));
        } else {
            ids.insert(id, i);
        }
        let endpoint = (t.address.trim().to_ascii_lowercase(), t.port);
        if let Some(first) = endpoints.get(&endpoint) {
            p.push(format!(
                "snmp[{i}].address: {}:{} is already polled by snmp[{first}]",
                t.address.trim(),
                t.port
            ));
        } else {
            endpoints.insert(endpoint, i);
        }
    }
}

/// Parses the TOML text of a configuration file (syntax, types, unknown keys).
pub fn parse_file(text: &str) -> std::result::Result<FileConfig, toml::de::Error> {
    toml::from_str(text)
}

fn check_collector_url(url: &str) -> std::result::Result<(), String> {
    let uri: tonic::transport::Uri = url
        .parse()
        .map_err(|e| format!("{url:?} is not a valid URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(format!(
                "{url:?}: https is not supported by this build; use http://"
            ));
        }
        _ => {
            return Err(format!(
                "{url:?} is not a valid URL: expected http://host:port"
            ));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{url:?} has no host"));
    }
    Ok(())
}

fn check_log_level(level: &str) -> std::result::Result<(), String> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    // A bare word must be a level; anything else is an env-filter directive list.
    if !level.contains(['=', ',', '[']) && !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
        return Err(format!("{level:?} is not one of {}", LEVELS.join(", ")));
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(level)
        .map(drop)
        .map_err(|e| format!("{level:?} is not a valid filter directive: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_text(text: &str) -> Result<Config> {
        let file = parse_file(text).map_err(|e| Error::Config(vec![e.to_string()]))?;
        let c = Config::merge(file, Overrides::default());
        let p = c.problems();
        if p.is_empty() {
            Ok(c)
        } else {
            Err(Error::Config(p))
        }
    }

    fn problems(text: &str) -> Vec<String> {
        match from_text(text) {
            Err(Error::Config(p)) => p,
            other => panic!("expected config problems, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_valid() {
        let c = from_text("").unwrap();
        assert_eq!(c.collector, DEFAULT_COLLECTOR);
        assert_eq!(c.interval, Duration::from_secs(10));
        assert_eq!(c.state_dir, PathBuf::from(DEFAULT_STATE_DIR));
        assert_eq!(
            c.queue,
            QueueConfig {
                max_batches: 1000,
                max_batch_samples: 5000
            }
        );
        assert_eq!(c.log_level, "info");
        assert!(c.snmp.is_empty());
    }

    const V2C: &str = "[[snmp]]\naddress = \"10.0.0.1\"\nversion = \"v2c\"\ncommunity = \"public\"\nclass = \"switch\"\n";

    #[test]
    fn snmp_targets_are_read_with_defaults() {
        let c = from_text(&format!(
            "{V2C}[[snmp]]\nid = \"core-rtr\"\nname = \"Core router\"\naddress = \"2001:db8::1\"\n\
             version = \"v3\"\nuser = \"ops\"\nauth_protocol = \"sha256\"\nauth_password = \"authpass1\"\n\
             class = \"router\"\nicmp = false\n"
        ))
        .unwrap();
        assert_eq!(c.snmp.len(), 2);
        let (a, b) = (&c.snmp[0], &c.snmp[1]);
        assert_eq!(
            (a.device_id(), a.icmp, a.icmp_probes),
            ("10.0.0.1".into(), true, 3)
        );
        assert_eq!(a.interval, Duration::from_secs(60));
        assert_eq!(b.device_id(), "core-rtr");
        assert_eq!(b.display_name(), "Core router");
        assert!(!b.icmp);
    }

    #[test]
    fn snmp_problems_name_the_entry_and_duplicates() {
        let p = problems(&format!(
            "{V2C}{V2C}[[snmp]]\nid = \"bad/id\"\naddress = \"\"\nversion = \"v2c\"\nclass = \"ups\"\n\
             [[snmp]]\nname = \"10.0.0.1\"\naddress = \"10.0.0.2\"\nversion = \"v2c\"\ncommunity = \"c\"\nclass = \"ups\"\n"
        ));
        let joined = p.join("\n");
        for want in [
            "snmp[1].id: device id \"10.0.0.1\" is already used by snmp[0]",
            "snmp[1].address: 10.0.0.1:161 is already polled by snmp[0]",
            "snmp[2].id: \"bad/id\" is not a valid device id",
            "snmp[2].address: must not be empty",
            "snmp[2].community: required",
            "snmp[3].id: device id \"10.0.0.1\" is already used by snmp[0]",
        ] {
            assert!(
                p.iter().any(|l| l.starts_with(want)),
                "{want} missing in:\n{joined}"
            );
        }
        assert_eq!(p.len(), 6, "{joined}");
        // The same address on another port is another device (once the ids differ).
        let ok = from_text(&format!(
            "{V2C}{}",
            V2C.replace("class", "port = 1161\nid = \"b\"\nclass")
        ));
        assert!(ok.is_ok(), "{ok:?}");
        let e = parse_file("[[snmp]]\naddres = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("addres"), "{e}");
    }

    #[test]
    fn full_file_is_read() {
        let c = from_text(
            "collector = \"http://10.0.0.1:7070\"\ninterval = \"5m\"\nstate_dir = \"/var/lib/x\"\n\
             [labels]\nenv = \"prod\"\n[queue]\nmax_batches = 10\nmax_batch_samples = 100\n[log]\nlevel = \"debug\"\n",
        )
        .unwrap();
        assert_eq!(c.collector, "http://10.0.0.1:7070");
        assert_eq!(c.interval, Duration::from_secs(300));
        assert_eq!(c.state_dir, PathBuf::from("/var/lib/x"));
        assert_eq!(c.labels.get("env").map(String::as_str), Some("prod"));
        assert_eq!(
            c.queue,
            QueueConfig {
                max_batches: 10,
                max_batch_samples: 100
            }
        );
        assert_eq!(c.log_level, "debug");
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let p = problems(
            "collector = \"not a url\"\ninterval = \"500ms\"\n[labels]\nhost = \"x\"\n\"bad-name\" = \"y\"\n\
             [queue]\nmax_batches = 0\nmax_batch_samples = 0\n[log]\nlevel = \"loud=verbose=yes\"\n",
        );
        let joined = p.join("\n");
        assert!(
            p.contains(&"interval: must be at least 1s, got 500ms".to_string()),
            "{joined}"
        );
        for key in [
            "collector:",
            "labels.host:",
            "labels.bad-name:",
            "queue.max_batches:",
            "queue.max_batch_samples:",
            "log.level:",
        ] {
            assert!(
                p.iter().any(|l| l.starts_with(key)),
                "{key} missing in:\n{joined}"
            );
        }
        assert_eq!(p.len(), 7, "{joined}");
        assert!(problems("[log]\nlevel = \"verbose\"\n")[0].starts_with("log.level:"));
        assert!(from_text("[log]\nlevel = \"tocsin_agent=debug,warn\"\n").is_ok());
    }

    #[test]
    fn interval_below_one_second_is_rejected() {
        assert_eq!(
            problems("interval = \"999ms\"\n"),
            vec!["interval: must be at least 1s, got 999ms"]
        );
        assert!(from_text("interval = \"1s\"\n").is_ok());
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = parse_file("intervall = \"5s\"\n").unwrap_err().to_string();
        assert!(e.contains("intervall"), "{e}");
        let e = parse_file("[queue]\nmax_batchez = 5\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_batchez"), "{e}");
    }

    #[test]
    fn https_and_missing_host_are_rejected() {
        assert!(problems("collector = \"https://c:7070\"\n")[0].contains("https is not supported"));
        assert!(problems("collector = \"ftp://c:7070\"\n")[0].starts_with("collector:"));
        assert!(from_text("collector = \"http://[::1]:7070\"\n").is_ok());
    }

    #[test]
    fn command_line_overrides_file() {
        let file = parse_file("interval = \"30s\"\ncollector = \"http://a:1\"\n").unwrap();
        let cli = Overrides {
            interval: Some(Duration::from_secs(2)),
            ..Default::default()
        };
        let c = Config::merge(file, cli);
        assert_eq!(c.interval, Duration::from_secs(2));
        assert_eq!(c.collector, "http://a:1");
    }

    #[test]
    fn load_names_the_file_on_syntax_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        std::fs::write(&path, "interval = [\n").unwrap();
        let e = Config::load(Some(&path), Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("agent.toml"), "{e}");
        let missing = dir.path().join("nope.toml");
        let e = Config::load(Some(&missing), Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope.toml"), "{e}");
    }
}

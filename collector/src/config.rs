//! Collector configuration: TOML file, command-line overrides, validation
//! that reports every problem with its key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::ingest::Limits;
use tocsin_incidents::IncidentConfig;
use tocsin_incidents::problems::ProblemConfig;
use tocsin_notify::NotifyConfig;

/// The collector's configuration. Every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorConfig {
    /// Directory of the embedded RocksDB store.
    pub data_dir: PathBuf,
    /// Address of the gRPC ingest server.
    pub grpc_addr: SocketAddr,
    /// Address of the HTTP API, query API, `/metrics` and `/healthz`.
    pub http_addr: SocketAddr,
    /// Once both servers listen, write their bound addresses to this file as
    /// JSON, `{"grpc":"127.0.0.1:7070","http":"127.0.0.1:7080"}`, replacing it
    /// atomically: for supervisors and tests that bind port 0.
    pub ready_file: Option<PathBuf>,
    /// Storage tuning.
    pub storage: StorageConfig,
    /// Limits on ingested data.
    pub limits: LimitsConfig,
    /// Logging.
    pub log: LogConfig,
    /// Threshold rules file (TOML); without one the built-in host rules apply.
    /// Reloaded on SIGHUP and `POST /api/v1/rules/reload`.
    pub rules_file: Option<PathBuf>,
    /// Incidents: reopen window, priority matrix, SLA policy, topology.
    pub incidents: IncidentConfig,
    /// Problem records: how many incidents of one rule on one CI in which window raise one.
    pub problems: ProblemConfig,
    /// Notifications: receivers, routes, reminders, retries.
    pub notify: NotifyConfig,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./tocsin-data"),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 7070)),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 7080)),
            ready_file: None,
            storage: StorageConfig::default(),
            limits: LimitsConfig::default(),
            log: LogConfig::default(),
            rules_file: None,
            incidents: IncidentConfig::default(),
            problems: ProblemConfig::default(),
            notify: NotifyConfig::default(),
        }
    }
}

/// `[storage]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// fsync the write-ahead log before acknowledging a batch. With `false`
    /// an acknowledged batch survives a collector crash but not a power loss.
    pub sync_writes: bool,
    /// How often the in-memory head is written to chunks and the ingest log truncated.
    #[serde(with = "humantime_serde")]
    pub checkpoint_interval: Duration,
    /// Checkpoint early once this many samples were stored since the last
    /// one: bounds the memory of the head and the size of the ingest log.
    pub max_unpersisted_samples: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            sync_writes: true,
            checkpoint_interval: Duration::from_secs(60),
            max_unpersisted_samples: 5_000_000,
        }
    }
}

/// `[limits]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Most samples in one batch.
    pub max_batch_samples: usize,
    /// Most labels per series (not counting the metric name).
    pub max_labels: usize,
    /// Longest metric name in bytes.
    pub max_metric_name_bytes: usize,
    /// Longest label name in bytes.
    pub max_label_name_bytes: usize,
    /// Longest label value in bytes.
    pub max_label_value_bytes: usize,
    /// Largest gRPC message in bytes.
    pub max_message_bytes: usize,
    /// How far ahead of the collector's clock a sample timestamp may be.
    #[serde(with = "humantime_serde")]
    pub max_future_skew: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_batch_samples: 50_000,
            max_labels: 32,
            max_metric_name_bytes: 256,
            max_label_name_bytes: 128,
            max_label_value_bytes: 1024,
            max_message_bytes: 16 * 1024 * 1024,
            max_future_skew: Duration::from_secs(3600),
        }
    }
}

impl LimitsConfig {
    /// The ingest limits.
    pub fn limits(&self) -> Limits {
        Limits {
            max_batch_samples: self.max_batch_samples,
            max_labels: self.max_labels,
            max_metric_name_bytes: self.max_metric_name_bytes,
            max_label_name_bytes: self.max_label_name_bytes,
            max_label_value_bytes: self.max_label_value_bytes,
            max_future_ms: i64::try_from(self.max_future_skew.as_millis()).unwrap_or(i64::MAX),
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Default log filter (`error`, `warn`, `info`, `debug`, `trace`, or a
    /// tracing filter directive); `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
        }
    }
}

/// A configuration that failed to load or validate; every problem is listed.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration {path}:\n  {}", problems.join("\n  "))]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// One line per problem, each starting with the key.
    pub problems: Vec<String>,
}

impl CollectorConfig {
    /// Reads and validates a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let fail = |p: String| ConfigError {
            path: path.display().to_string(),
            problems: vec![p],
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read file: {e}")))?;
        Self::parse(&text).map_err(|problems| ConfigError {
            path: path.display().to_string(),
            problems,
        })
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Self, Vec<String>> {
        let config: Self = toml::from_str(text).map_err(|e| vec![describe_toml_error(&e)])?;
        config.validate()?;
        Ok(config)
    }

    /// Checks value ranges, reporting every problem.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Vec::new();
        let mut range = |key: &str, v: usize, lo: usize, hi: usize| {
            if !(lo..=hi).contains(&v) {
                p.push(format!("{key}: must be between {lo} and {hi}, got {v}"));
            }
        };
        let l = &self.limits;
        range(
            "limits.max_batch_samples",
            l.max_batch_samples,
            1,
            1_000_000,
        );
        range("limits.max_labels", l.max_labels, 1, 256);
        range(
            "limits.max_metric_name_bytes",
            l.max_metric_name_bytes,
            1,
            65_536,
        );
        range(
            "limits.max_label_name_bytes",
            l.max_label_name_bytes,
            1,
            65_536,
        );
        range(
            "limits.max_label_value_bytes",
            l.max_label_value_bytes,
            1,
            1 << 20,
        );
        range(
            "limits.max_message_bytes",
            l.max_message_bytes,
            1024,
            1 << 30,
        );
        if self.storage.max_unpersisted_samples < 1000 {
            p.push(format!(
                "storage.max_unpersisted_samples: must be at least 1000, got {}",
                self.storage.max_unpersisted_samples
            ));
        }
        if self.storage.checkpoint_interval < Duration::from_secs(1) {
            p.push(format!(
                "storage.checkpoint_interval: must be at least 1s, got {}",
                humantime::format_duration(self.storage.checkpoint_interval)
            ));
        }
        if self.grpc_addr.port() != 0 && self.grpc_addr == self.http_addr {
            p.push(format!(
                "http_addr: must differ from grpc_addr ({})",
                self.grpc_addr
            ));
        }
        if self.data_dir.as_os_str().is_empty() {
            p.push("data_dir: must not be empty".into());
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            p.push(format!(
                "log.level: {:?} is not a valid level or filter",
                self.log.level
            ));
        }
        p.extend(self.incidents.validate());
        if let Err(problems) = self.problems.validate("problems") {
            p.extend(problems);
        }
        p.extend(self.notify.validate());
        if let Some(path) = &self.rules_file
            && let Err(e) = tocsin_rules::load(path)
        {
            p.extend(
                e.problems
                    .into_iter()
                    .map(|e| format!("rules_file {}: {e}", path.display())),
            );
        }
        if p.is_empty() { Ok(()) } else { Err(p) }
    }
}

/// Names the key of a TOML/serde error where the message does not.
fn describe_toml_error(e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => format!("{msg} (at byte {}..{})", span.start, span.end),
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_without_a_file() {
        let c = CollectorConfig::parse("").unwrap();
        assert_eq!(c.grpc_addr.to_string(), "127.0.0.1:7070");
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:7080");
        assert_eq!(c.data_dir, PathBuf::from("./tocsin-data"));
    }

    #[test]
    fn parses_durations_and_sections() {
        let c = CollectorConfig::parse(
            "[storage]\ncheckpoint_interval = \"5m\"\nsync_writes = false\n",
        )
        .unwrap();
        assert_eq!(c.storage.checkpoint_interval, Duration::from_secs(300));
        assert!(!c.storage.sync_writes);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = CollectorConfig::parse("[storage]\nsync_writs = true\n").unwrap_err();
        assert!(err[0].contains("sync_writs"), "{err:?}");
    }

    #[test]
    fn reports_every_problem_with_its_key() {
        let text = "http_addr = \"127.0.0.1:7070\"\n[limits]\nmax_labels = 0\nmax_batch_samples = 0\n\
                    [storage]\ncheckpoint_interval = \"10ms\"\n[log]\nlevel = \"loud=[\"\n";
        let err = CollectorConfig::parse(text).unwrap_err();
        for key in [
            "limits.max_labels",
            "limits.max_batch_samples",
            "storage.checkpoint_interval",
            "http_addr",
            "log.level",
        ] {
            assert!(
                err.iter().any(|p| p.starts_with(key)),
                "missing {key} in {err:?}"
            );
        }
    }

    #[test]
    fn bad_address_is_reported() {
        let err = CollectorConfig::parse("grpc_addr = \"nowhere\"\n").unwrap_err();
        assert!(
            err[0].contains("socket address") || err[0].contains("grpc_addr"),
            "{err:?}"
        );
    }
}

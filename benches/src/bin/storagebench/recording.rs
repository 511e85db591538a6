//! The recording: a Prometheus/OpenMetrics text file with a timestamp on
//! every sample line, read whole (plain, or `.zst` through `zstd -dc`),
//! parsed into series and samples, cleaned of what no system would store
//! twice (a second sample of a series at the same timestamp), and written
//! back out in the text each system imports.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Unit of the timestamps in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TsUnit {
    /// Seconds, with an optional fraction (OpenMetrics).
    S,
    /// Milliseconds (Prometheus text exposition).
    Ms,
}

/// One series: metric name and labels sorted by name, without `__name__`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Metric name.
    pub metric: String,
    /// Labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// Metric kind as Tocsin's protocol numbers it (0 unknown, 1 gauge,
    /// 2 counter), from a `# TYPE` line when the file has one.
    pub kind: i32,
}

/// One sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Index into [`Recording::series`].
    pub series: u32,
    /// Milliseconds since the epoch.
    pub ts_ms: i64,
    /// The value.
    pub value: f64,
}

/// What loading found besides the samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadStats {
    /// Sample lines read.
    pub lines: u64,
    /// Samples dropped because their series already had one at that timestamp.
    pub duplicates: u64,
    /// Samples that came before an earlier line's sample of the same series.
    pub out_of_order: u64,
    /// NaN and infinite values (kept: Prometheus and VictoriaMetrics store them).
    pub non_finite: u64,
}

/// A parsed recording.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    /// Every series, in order of first appearance.
    pub series: Vec<Series>,
    /// Every sample, sorted by timestamp, then series; at most one per
    /// series and timestamp.
    pub samples: Vec<Sample>,
    /// What loading found.
    pub stats: LoadStats,
}

impl Recording {
    /// Reads `path` (decompressing `.zst` with `zstd -dc`) and parses it.
    pub fn load(path: &Path, unit: TsUnit) -> Result<Self> {
        let text = if path.extension().is_some_and(|e| e == "zst") {
            let out = Command::new("zstd")
                .arg("-dc")
                .arg(path)
                .output()
                .context("running zstd -dc (is zstd installed?)")?;
            if !out.status.success() {
                bail!(
                    "zstd -dc {} failed: {}",
                    path.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            String::from_utf8(out.stdout).context("the recording is not UTF-8")?
        } else {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        };
        Self::parse(&text, unit)
    }

    /// Parses exposition text: `name{labels} value timestamp` lines;
    /// `# TYPE` lines give kinds, other `#` lines and blank lines are skipped.
    pub fn parse(text: &str, unit: TsUnit) -> Result<Self> {
        let mut rec = Recording::default();
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut kinds: HashMap<String, i32> = HashMap::new();
        let mut last_ts: Vec<i64> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                let mut words = comment.split_whitespace();
                if let (Some("TYPE"), Some(name), Some(kind)) =
                    (words.next(), words.next(), words.next())
                {
                    let kind = match kind {
                        "counter" => 2,
                        "gauge" => 1,
                        _ => 0,
                    };
                    kinds.insert(name.to_string(), kind);
                }
                continue;
            }
            let parsed = parse_line(line, unit).with_context(|| format!("line {}", n + 1))?;
            rec.stats.lines += 1;
            if !parsed.value.is_finite() {
                rec.stats.non_finite += 1;
            }
            let key = series_key(&parsed.metric, &parsed.labels);
            let id = match index.get(&key) {
                Some(&id) => id,
                None => {
                    let id = u32::try_from(rec.series.len()).context("too many series")?;
                    index.insert(key, id);
                    rec.series.push(Series {
                        metric: parsed.metric,
                        labels: parsed.labels,
                        kind: 0,
                    });
                    last_ts.push(i64::MIN);
                    id
                }
            };
            let last = &mut last_ts[id as usize];
            if parsed.ts_ms < *last {
                rec.stats.out_of_order += 1;
            }
            *last = (*last).max(parsed.ts_ms);
            rec.samples.push(Sample {
                series: id,
                ts_ms: parsed.ts_ms,
                value: parsed.value,
            });
        }
        for s in &mut rec.series {
            s.kind = kind_of(&kinds, &s.metric);
        }
        // Keep the first sample of a series at a timestamp, as Prometheus
        // (duplicate sample refused) and Tocsin (not newer: skipped) do.
        rec.samples.sort_by_key(|s| (s.series, s.ts_ms));
        let before = rec.samples.len();
        rec.samples
            .dedup_by(|b, a| a.series == b.series && a.ts_ms == b.ts_ms);
        rec.stats.duplicates = (before - rec.samples.len()) as u64;
        rec.samples.sort_by_key(|s| (s.ts_ms, s.series));
        Ok(rec)
    }

    /// First and last timestamp (ms), if there is a sample.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        Some((self.samples.first()?.ts_ms, self.samples.last()?.ts_ms))
    }

    /// Writes the samples as OpenMetrics text (timestamps in seconds, with
    /// a fraction when not whole), ending with `# EOF`, as promtool reads it.
    pub fn write_openmetrics(&self, out: &mut impl std::io::Write) -> Result<()> {
        let mut buf = String::with_capacity(1 << 20);
        for s in &self.samples {
            self.push_line(&mut buf, s, TsUnit::S);
            if buf.len() >= 1 << 20 {
                out.write_all(buf.as_bytes())?;
                buf.clear();
            }
        }
        buf.push_str("# EOF\n");
        out.write_all(buf.as_bytes())?;
        Ok(())
    }

    /// The samples as Prometheus text with timestamps in milliseconds
    /// (VictoriaMetrics' `/api/v1/import/prometheus`), in pieces of about
    /// `piece_bytes` each, cut at line ends.
    pub fn prometheus_text_pieces(&self, piece_bytes: usize) -> Vec<String> {
        let mut pieces = Vec::new();
        let mut buf = String::new();
        for s in &self.samples {
            self.push_line(&mut buf, s, TsUnit::Ms);
            if buf.len() >= piece_bytes {
                pieces.push(std::mem::take(&mut buf));
            }
        }
        if !buf.is_empty() {
            pieces.push(buf);
        }
        pieces
    }

    fn push_line(&self, buf: &mut String, s: &Sample, unit: TsUnit) {
        let series = &self.series[s.series as usize];
        buf.push_str(&series.metric);
        if !series.labels.is_empty() {
            buf.push('{');
            for (i, (name, value)) in series.labels.iter().enumerate() {
                if i > 0 {
                    buf.push(',');
                }
                buf.push_str(name);
                buf.push_str("=\"");
                escape_into(buf, value);
                buf.push('"');
            }
            buf.push('}');
        }
        buf.push(' ');
        push_value(buf, s.value);
        buf.push(' ');
        match unit {
            TsUnit::Ms => {
                let _ = write!(buf, "{}", s.ts_ms);
            }
            TsUnit::S => {
                let (secs, ms) = (s.ts_ms.div_euclid(1000), s.ts_ms.rem_euclid(1000));
                let _ = if ms == 0 {
                    write!(buf, "{secs}")
                } else {
                    write!(buf, "{secs}.{ms:03}")
                };
            }
        }
        buf.push('\n');
    }
}

/// The kind of `metric` from the `# TYPE` lines: its own family, or the
/// family it is the `_total` sample of (OpenMetrics names counter families
/// without the suffix).
fn kind_of(kinds: &HashMap<String, i32>, metric: &str) -> i32 {
    kinds
        .get(metric)
        .or_else(|| metric.strip_suffix("_total").and_then(|f| kinds.get(f)))
        .copied()
        .unwrap_or(0)
}

fn series_key(metric: &str, labels: &[(String, String)]) -> String {
    let mut key = String::with_capacity(64);
    key.push_str(metric);
    for (n, v) in labels {
        key.push('\0');
        key.push_str(n);
        key.push('\0');
        key.push_str(v);
    }
    key
}

/// A value as both Prometheus parsers read it back exactly.
fn push_value(buf: &mut String, v: f64) {
    let _ = if v.is_nan() {
        write!(buf, "NaN")
    } else if v.is_infinite() {
        write!(buf, "{}", if v > 0.0 { "+Inf" } else { "-Inf" })
    } else {
        write!(buf, "{v:?}")
    };
}

fn escape_into(buf: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => buf.push_str("\\\\"),
            '"' => buf.push_str("\\\""),
            '\n' => buf.push_str("\\n"),
            c => buf.push(c),
        }
    }
}

struct Line {
    metric: String,
    labels: Vec<(String, String)>,
    value: f64,
    ts_ms: i64,
}

fn parse_line(line: &str, unit: TsUnit) -> Result<Line> {
    let name_end = line.find(['{', ' ', '\t']).unwrap_or(line.len());
    let mut metric = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = parse_labels(after, &mut labels)?;
    }
    if let Some(pos) = labels.iter().position(|(n, _)| n == "__name__") {
        let (_, name) = labels.remove(pos);
        if metric.is_empty() {
            metric = name;
        }
    }
    if metric.is_empty() {
        bail!("no metric name");
    }
    labels.sort();
    // An OpenMetrics exemplar (` # {...} ...`) follows the timestamp; drop it.
    let rest = rest.split(" # ").next().unwrap_or(rest);
    let mut fields = rest.split_whitespace();
    let value = fields.next().context("no value")?;
    let value: f64 = value
        .parse()
        .with_context(|| format!("value {value:?} is not a number"))?;
    let ts = fields
        .next()
        .context("no timestamp: the bench needs one on every sample")?;
    let ts_ms = match unit {
        TsUnit::S => seconds_to_ms(ts),
        TsUnit::Ms => ts.parse::<i64>().ok(),
    }
    .with_context(|| format!("timestamp {ts:?} is not a number of {unit:?}"))?;
    Ok(Line {
        metric,
        labels,
        value,
        ts_ms,
    })
}

/// `{`-less label list up to and including `}`; returns what follows.
fn parse_labels<'a>(mut s: &'a str, out: &mut Vec<(String, String)>) -> Result<&'a str> {
    loop {
        s = s.trim_start_matches([' ', ',']);
        if let Some(rest) = s.strip_prefix('}') {
            return Ok(rest);
        }
        let eq = s.find('=').context("label without '='")?;
        let name = s[..eq].trim().to_string();
        s = s[eq + 1..]
            .trim_start()
            .strip_prefix('"')
            .context("label value without '\"'")?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            match chars.next() {
                None => bail!("unterminated label value"),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => bail!("unterminated label value"),
                },
                Some((_, c)) => value.push(c),
            }
        };
        out.push((name, value));
        s = &s[end + 1..];
    }
}

/// Seconds (`1795404781`, `1795404781.5`, `1.7954047815e9`) to whole milliseconds.
fn seconds_to_ms(s: &str) -> Option<i64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if !frac.is_empty() && !frac.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<f64>().ok().map(|v| (v * 1000.0).round() as i64);
    }
    let secs: i64 = match int.parse() {
        Ok(v) => v,
        Err(_) => return s.parse::<f64>().ok().map(|v| (v * 1000.0).round() as i64),
    };
    let digits = |n: usize| frac.as_bytes().get(n).map_or(0, |b| i64::from(b - b'0'));
    let mut ms = digits(0) * 100 + digits(1) * 10 + digits(2);
    if digits(3) >= 5 {
        ms += 1;
    }
    let ms = if int.starts_with('-') { -ms } else { ms };
    secs.checked_mul(1000)?.checked_add(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_labels_and_timestamps_are_read() {
        let text = "# HELP x help\n# TYPE up gauge\n\
            up{job=\"a\",instance=\"h:9100\"} 1 1795404781\n\
            up{instance=\"h:9100\",job=\"a\"} 0 1795404782.25\n\
            info{v=\"a \\\"b\\\" \\\\ c\\n\",} 1.5e3 1795404781\n\
            plain 2 1795404781.0005 # {trace=\"x\"} 1\n\
            # EOF\n";
        let rec = Recording::parse(text, TsUnit::S).unwrap();
        assert_eq!(rec.series.len(), 3);
        assert_eq!(rec.series[0].kind, 1);
        assert_eq!(
            rec.series[0].labels,
            vec![
                ("instance".to_string(), "h:9100".to_string()),
                ("job".to_string(), "a".to_string())
            ]
        );
        assert_eq!(rec.series[1].labels[0].1, "a \"b\" \\ c\n");
        let got: Vec<_> = rec
            .samples
            .iter()
            .map(|s| (s.series, s.ts_ms, s.value))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 1_795_404_781_000, 1.0),
                (1, 1_795_404_781_000, 1500.0),
                (2, 1_795_404_781_001, 2.0),
                (0, 1_795_404_782_250, 0.0),
            ]
        );
    }

    #[test]
    fn duplicates_are_dropped_and_disorder_counted() {
        let text = "a 1 20\na 2 10\na 3 20\nb NaN 5\n";
        let rec = Recording::parse(text, TsUnit::Ms).unwrap();
        assert_eq!(rec.samples.len(), 3);
        assert_eq!(rec.stats.duplicates, 1);
        assert_eq!(rec.stats.out_of_order, 1);
        assert_eq!(rec.stats.non_finite, 1);
        // The first sample at 20 ms is kept.
        assert_eq!(rec.samples[2].value, 1.0);
    }

    /// Samples with their series spelled out, so series order does not matter.
    fn resolved(rec: &Recording) -> Vec<(i64, String, String)> {
        let mut out: Vec<_> = rec
            .samples
            .iter()
            .map(|s| {
                let series = &rec.series[s.series as usize];
                (s.ts_ms, format!("{series:?}"), format!("{:?}", s.value))
            })
            .collect();
        out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        out
    }

    #[test]
    fn written_text_parses_back_to_the_same_recording() {
        let text = "m{l=\"q\\\"x\"} 0.1 1795404781.5\nm{l=\"q\\\"x\"} -Inf 1795404782\nn 1e300 1795404781\nn NaN 1795404782\n";
        let rec = Recording::parse(text, TsUnit::S).unwrap();
        assert_eq!(rec.samples.len(), 4);
        let mut om = Vec::new();
        rec.write_openmetrics(&mut om).unwrap();
        let om = String::from_utf8(om).unwrap();
        assert!(om.ends_with("# EOF\n"), "{om}");
        let again = Recording::parse(&om, TsUnit::S).unwrap();
        assert_eq!(resolved(&again), resolved(&rec));
        let ms = rec.prometheus_text_pieces(10).concat();
        let again = Recording::parse(&ms, TsUnit::Ms).unwrap();
        assert_eq!(resolved(&again), resolved(&rec));
    }

    #[test]
    fn a_line_without_timestamp_is_an_error() {
        let err = Recording::parse("a 1\n", TsUnit::S).unwrap_err();
        assert!(format!("{err:#}").contains("no timestamp"), "{err:#}");
    }
}

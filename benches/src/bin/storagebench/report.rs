//! What each system stored and how the bench prints it: a table, or JSON.

use serde_json::{Value, json};

/// The result of loading the recording into one system.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The system's name in the table.
    pub system: &'static str,
    /// Bytes on disk that the headline counts (see `note`).
    pub bytes: u64,
    /// Samples the system says it stored, where it can tell.
    pub stored_samples: Option<u64>,
    /// Series the system says it stored, where it can tell.
    pub stored_series: Option<u64>,
    /// Seconds from the first sample sent to the data being on disk.
    pub load_secs: f64,
    /// What `bytes` is.
    pub note: String,
    /// Where the bytes are (files grouped by kind), for the details.
    pub parts: Vec<(String, u64)>,
    /// Anything surprising: rejections, mismatches, unclean stops.
    pub remarks: Vec<String>,
}

/// The recording's figures for the report.
#[derive(Debug, Clone)]
pub struct Input {
    /// File name.
    pub name: String,
    /// Distinct series.
    pub series: u64,
    /// Samples after dropping duplicates.
    pub samples: u64,
    /// First and last timestamp, ms.
    pub range_ms: (i64, i64),
    /// Loading remarks (duplicates, disorder, NaN).
    pub remarks: Vec<String>,
}

/// A system that could not be measured.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The system.
    pub system: &'static str,
    /// Why.
    pub error: String,
}

fn per_sample(bytes: u64, samples: u64) -> f64 {
    if samples == 0 {
        0.0
    } else {
        bytes as f64 / samples as f64
    }
}

/// Lines saying where a system's stored counts differ from the input.
pub fn mismatches(input: &Input, o: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(n) = o.stored_samples.filter(|&n| n != input.samples) {
        out.push(format!(
            "{}: stored {n} samples, the input has {} ({:+})",
            o.system,
            input.samples,
            n as i64 - input.samples as i64
        ));
    }
    if let Some(n) = o.stored_series.filter(|&n| n != input.series) {
        out.push(format!(
            "{}: stored {n} series, the input has {}",
            o.system, input.series
        ));
    }
    out
}

/// The table, the details and every remark, as text.
pub fn table(input: &Input, outcomes: &[Outcome], failures: &[Failure]) -> String {
    let mut s = format!(
        "recording: {}  series={} samples={}  span={:.0}s\n",
        input.name,
        input.series,
        input.samples,
        (input.range_ms.1 - input.range_ms.0) as f64 / 1000.0
    );
    s.push_str(&format!(
        "{:<17} {:>12} {:>9} {:>9} {:>7}   {}\n",
        "system", "bytes", "B/sample", "stored", "load_s", "note"
    ));
    for o in outcomes {
        s.push_str(&format!(
            "{:<17} {:>12} {:>9.3} {:>9} {:>7.1}   {}\n",
            o.system,
            o.bytes,
            per_sample(o.bytes, input.samples),
            o.stored_samples
                .map_or_else(|| "?".to_string(), |n| n.to_string()),
            o.load_secs,
            o.note
        ));
    }
    for f in failures {
        s.push_str(&format!("{:<17} failed: {}\n", f.system, f.error));
    }
    s.push('\n');
    for o in outcomes {
        let parts: Vec<String> = o.parts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.push_str(&format!("{}: {}\n", o.system, parts.join(" ")));
    }
    let remarks: Vec<String> = input
        .remarks
        .iter()
        .cloned()
        .chain(
            outcomes
                .iter()
                .flat_map(|o| mismatches(input, o).into_iter().chain(o.remarks.clone())),
        )
        .collect();
    if !remarks.is_empty() {
        s.push('\n');
        for r in remarks {
            s.push_str(&format!("note: {r}\n"));
        }
    }
    s
}

/// The same as [`table`], as JSON.
pub fn json(input: &Input, outcomes: &[Outcome], failures: &[Failure]) -> Value {
    let systems: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            json!({
                "system": o.system,
                "bytes": o.bytes,
                "bytes_per_sample": per_sample(o.bytes, input.samples),
                "stored_samples": o.stored_samples,
                "stored_series": o.stored_series,
                "load_secs": o.load_secs,
                "note": o.note,
                "parts": o.parts.iter().map(|(k, v)| json!({"name": k, "bytes": v})).collect::<Vec<_>>(),
                "remarks": mismatches(input, o).into_iter().chain(o.remarks.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "recording": {
            "name": input.name,
            "series": input.series,
            "samples": input.samples,
            "first_ms": input.range_ms.0,
            "last_ms": input.range_ms.1,
            "remarks": input.remarks,
        },
        "systems": systems,
        "failures": failures.iter().map(|f| json!({"system": f.system, "error": f.error})).collect::<Vec<_>>(),
    })
}

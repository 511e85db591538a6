//! Prometheus: the recording written as OpenMetrics (seconds, `# EOF`) and
//! backfilled with `promtool tsdb create-blocks-from openmetrics`; the
//! blocks it writes (chunks, index, meta.json, tombstones) are measured.
//! A running Prometheus would also keep a WAL and head chunks until the
//! data is compacted into a block; the blocks are what it keeps for good.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::disk;
use crate::recording::Recording;
use crate::report::Outcome;

/// Backfills `rec` with `promtool` into `work/blocks` and measures the blocks.
pub async fn run(rec: &Recording, work: &Path, promtool: &Path) -> Result<Outcome> {
    let input = work.join("recording.om");
    let blocks = work.join("blocks");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input)?);
        rec.write_openmetrics(&mut f)?;
        std::io::Write::flush(&mut f)?;
    }
    let started = Instant::now();
    let mut cmd = Command::new(promtool);
    cmd.args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(&blocks);
    let output = tokio::task::spawn_blocking(move || cmd.output())
        .await?
        .with_context(|| format!("running {}", promtool.display()))?;
    let load_secs = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "promtool failed ({}): {}{}",
            output.status,
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    std::fs::remove_file(&input)?;

    let listed = block_table(&stdout);
    let files = disk::files(&blocks)?;
    let bytes = disk::sum(&files, |_| true);
    let chunks = disk::sum(&files, |p| {
        p.components().any(|c| c.as_os_str() == "chunks")
    });
    let index = disk::sum(&files, |p| p.ends_with("index"));
    let mut remarks = Vec::new();
    let stored_series = match listed.as_slice() {
        [one] => Some(one.series),
        _ => {
            remarks.push(format!(
                "prometheus: {} blocks (series counted once per block)",
                listed.len()
            ));
            None
        }
    };
    Ok(Outcome {
        system: "prometheus",
        bytes,
        stored_samples: (!listed.is_empty()).then(|| listed.iter().map(|b| b.samples).sum()),
        stored_series,
        load_secs,
        note: format!("promtool backfill, {} block(s), no WAL", listed.len()),
        parts: vec![
            ("chunks".into(), chunks),
            ("index".into(), index),
            ("meta+tombstones".into(), bytes - chunks - index),
        ],
        remarks,
    })
}

/// One row of the table promtool prints for each block it wrote.
#[derive(Debug, PartialEq)]
struct Block {
    samples: u64,
    series: u64,
}

/// Rows `ULID MIN MAX DURATION SAMPLES CHUNKS SERIES SIZE` of promtool's output.
fn block_table(stdout: &str) -> Vec<Block> {
    stdout
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let ulid = f.first()?;
            if ulid.len() != 26 || !ulid.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return None;
            }
            Some(Block {
                samples: f.get(4)?.parse().ok()?,
                series: f.get(6)?.parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_table_is_read() {
        let out = "BLOCK ULID                  MIN TIME       MAX TIME       DURATION     NUM SAMPLES  NUM CHUNKS   NUM SERIES   SIZE\n\
            01M94QHH0YQB9VDYFD1ADJRT62  1795404781000  1795405980001  19m59.001s   593697       5070         507          944569\n";
        assert_eq!(
            block_table(out),
            vec![Block {
                samples: 593_697,
                series: 507
            }]
        );
    }
}

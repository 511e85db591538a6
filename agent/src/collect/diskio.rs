//! Disk I/O counters of whole block devices, from `/proc/diskstats`.

use std::collections::HashMap;
use std::path::Path;

use super::num;
use crate::series::Sample;

/// `/proc/diskstats` counts sectors of 512 bytes, whatever the device's sector size.
const SECTOR_BYTES: u64 = 512;

/// Counters of one line of `/proc/diskstats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskStat {
    /// Kernel device name (`sda`, `nvme0n1`, `dm-0`).
    pub name: String,
    /// Reads completed.
    pub reads: u64,
    /// Sectors read.
    pub read_sectors: u64,
    /// Writes completed.
    pub writes: u64,
    /// Sectors written.
    pub write_sectors: u64,
    /// Milliseconds spent doing I/O.
    pub io_ms: u64,
}

/// Parses a `/proc/diskstats` text; malformed lines are skipped.
pub fn parse_diskstats(text: &str) -> Vec<DiskStat> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 14 {
                return None;
            }
            let n = |i: usize| num(f.get(i).copied());
            Some(DiskStat {
                name: f[2].to_string(),
                reads: n(3),
                read_sectors: n(5),
                writes: n(7),
                write_sectors: n(9),
                io_ms: n(12),
            })
        })
        .collect()
}

/// Decides, once per device name, whether a device is reported: whole disks
/// (including device-mapper and md devices) are; partitions, loop, ram and
/// zram devices are not.
#[derive(Debug, Default)]
pub struct DiskFilter {
    decided: HashMap<String, bool>,
}

impl DiskFilter {
    /// Whether `name` is reported.
    pub fn keep(&mut self, name: &str) -> bool {
        if let Some(&k) = self.decided.get(name) {
            return k;
        }
        let k = Self::decide(name, Path::new("/sys/class/block"));
        self.decided.insert(name.to_string(), k);
        k
    }

    fn decide(name: &str, sys_block: &Path) -> bool {
        if ["loop", "ram", "zram", "fd"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            return false;
        }
        // In sysfs a '/' of the device name (cciss/c0d0) is written '!'.
        let dir = sys_block.join(name.replace('/', "!"));
        if dir.exists() {
            return !dir.join("partition").exists();
        }
        // Without sysfs, fall back on the usual partition naming.
        !looks_like_partition(name)
    }
}

fn looks_like_partition(name: &str) -> bool {
    let ends_with_digit = name.ends_with(|c: char| c.is_ascii_digit());
    let disk_style = ["sd", "hd", "vd", "xvd"]
        .iter()
        .any(|p| name.starts_with(p));
    let nvme_style = (name.starts_with("nvme") || name.starts_with("mmcblk")) && name.contains('p');
    (disk_style && ends_with_digit)
        || (nvme_style
            && name
                .rsplit('p')
                .next()
                .is_some_and(|s| s.parse::<u32>().is_ok()))
}

/// Read/write byte and operation counters of each kept device.
pub fn collect(stats: &[DiskStat], filter: &mut DiskFilter, out: &mut Vec<Sample>) {
    for d in stats.iter().filter(|d| filter.keep(&d.name)) {
        let s = |metric, v: u64| Sample::counter(metric, v as f64).label("device", d.name.clone());
        out.push(s(
            "node_disk_read_bytes_total",
            d.read_sectors.saturating_mul(SECTOR_BYTES),
        ));
        out.push(s(
            "node_disk_written_bytes_total",
            d.write_sectors.saturating_mul(SECTOR_BYTES),
        ));
        out.push(s("node_disk_reads_completed_total", d.reads));
        out.push(s("node_disk_writes_completed_total", d.writes));
        out.push(
            Sample::counter("node_disk_io_time_seconds_total", d.io_ms as f64 / 1000.0)
                .label("device", d.name.clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISKSTATS: &str = "\
   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 41566 7696 3778538 19377 14794 28890 6343528 28631 0 7780 48937 5596 102 1066888 815 1740 112
 254       1 vda1 40000 7000 3700000 19000 14000 28000 6300000 28000 0 7000 48000
 259       0 nvme0n1 10 0 80 1 20 0 160 2 0 3000 3 0 0 0 0
 253       0 dm-0 5 0 8 0 6 0 16 0 0 4 0
short line
";

    #[test]
    fn diskstats_are_parsed() {
        let d = parse_diskstats(DISKSTATS);
        assert_eq!(d.len(), 5, "{d:?}");
        let vda = &d[1];
        assert_eq!(
            vda,
            &DiskStat {
                name: "vda".into(),
                reads: 41566,
                read_sectors: 3_778_538,
                writes: 14794,
                write_sectors: 6_343_528,
                io_ms: 7780
            }
        );
        assert_eq!(d[3].name, "nvme0n1");
        assert_eq!((d[3].reads, d[3].writes, d[3].io_ms), (10, 20, 3000));
    }

    #[test]
    fn partitions_and_virtual_devices_are_skipped() {
        let none = Path::new("/nonexistent-sysfs");
        for (name, keep) in [
            ("loop0", false),
            ("ram0", false),
            ("zram0", false),
            ("vda", true),
            ("vda1", false),
            ("sda", true),
            ("sdb12", false),
            ("nvme0n1", true),
            ("nvme0n1p2", false),
            ("mmcblk0", true),
            ("mmcblk0p1", false),
            ("dm-0", true),
            ("md127", true),
        ] {
            assert_eq!(DiskFilter::decide(name, none), keep, "{name}");
        }
        // With a sysfs-like tree, the `partition` file decides.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("weird9")).unwrap();
        std::fs::create_dir_all(dir.path().join("weird9p1")).unwrap();
        std::fs::write(dir.path().join("weird9p1/partition"), "1").unwrap();
        assert!(DiskFilter::decide("weird9", dir.path()));
        assert!(!DiskFilter::decide("weird9p1", dir.path()));
    }

    #[test]
    fn counters_are_in_bytes_and_seconds() {
        let mut out = vec![];
        let stats = parse_diskstats(DISKSTATS);
        collect(&stats[1..2], &mut DiskFilter::default(), &mut out);
        let get = |m: &str| out.iter().find(|s| s.metric == m).map(|s| s.value);
        assert_eq!(get("node_disk_read_bytes_total"), Some(3_778_538.0 * 512.0));
        assert_eq!(get("node_disk_writes_completed_total"), Some(14794.0));
        assert_eq!(get("node_disk_io_time_seconds_total"), Some(7.78));
        assert!(
            out.iter()
                .all(|s| s.labels == vec![("device", "vda".to_string())])
        );
    }
}

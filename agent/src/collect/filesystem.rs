//! Mounted filesystems: size, usage and inodes via `statvfs`, for the real
//! filesystems listed in `/proc/self/mounts`.

use std::collections::HashSet;
use std::path::Path;

use crate::series::Sample;

/// Filesystem types that hold no user data and are never reported.
const PSEUDO_FS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fuse.gvfsd-fuse",
    "fuse.lxcfs",
    "fuse.portal",
    "fuse.snapfuse",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nfsd",
    "nsfs",
    "overlay",
    "overlayfs",
    "pipefs",
    "proc",
    "pstore",
    "ramfs",
    "rootfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "sockfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
];

/// Mount point prefixes whose filesystems belong to the kernel or to containers.
const SKIPPED_PREFIXES: &[&str] = &[
    "/proc/",
    "/sys/",
    "/dev/",
    "/run/credentials/",
    "/var/lib/docker/",
    "/snap/",
];

/// One line of the mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The mounted device or source (`/dev/sda1`, `server:/export`).
    pub device: String,
    /// Where it is mounted.
    pub mountpoint: String,
    /// Filesystem type.
    pub fstype: String,
}

/// The real filesystems of a `/proc/self/mounts` text: pseudo filesystems are
/// skipped, and a device mounted in several places (bind mounts) is reported
/// once, at its first mount point.
pub fn parse_mounts(text: &str) -> Vec<Mount> {
    let mut seen = HashSet::new();
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (device, mountpoint, fstype) = (f.next()?, f.next()?, f.next()?);
            Some(Mount {
                device: unescape(device),
                mountpoint: unescape(mountpoint),
                fstype: fstype.to_string(),
            })
        })
        .filter(|m| {
            !PSEUDO_FS.contains(&m.fstype.as_str())
                && m.fstype != "none"
                && !SKIPPED_PREFIXES.iter().any(|p| m.mountpoint.starts_with(p))
        })
        .filter(|m| seen.insert(m.device.clone()))
        .collect()
}

/// Undoes the octal escapes of the mount table (`\040` for a space, ...).
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Size, usage and inode samples for each mount (empty filesystems are skipped).
pub fn collect(mounts: &[Mount], out: &mut Vec<Sample>) {
    for m in mounts {
        let Ok(st) = crate::ffi::statvfs(Path::new(&m.mountpoint)) else {
            continue;
        };
        if st.size_bytes == 0 {
            continue;
        }
        let used = st.size_bytes.saturating_sub(st.free_bytes);
        // As `df`: the share of the space usable by ordinary users that is used.
        let usable = used + st.available_bytes;
        let pct = if usable > 0 {
            used as f64 / usable as f64 * 100.0
        } else {
            0.0
        };
        let s = |metric, v: f64| {
            Sample::gauge(metric, v)
                .label("mountpoint", m.mountpoint.clone())
                .label("device", m.device.clone())
                .label("fstype", m.fstype.clone())
        };
        out.push(s("node_filesystem_size_bytes", st.size_bytes as f64));
        out.push(s("node_filesystem_used_bytes", used as f64));
        out.push(s(
            "node_filesystem_available_bytes",
            st.available_bytes as f64,
        ));
        out.push(s("node_filesystem_used_percent", pct));
        if st.inodes > 0 {
            out.push(s("node_filesystem_inodes", st.inodes as f64));
            out.push(s("node_filesystem_inodes_free", st.inodes_free as f64));
        }
        if let Some(pct) = inodes_used_percent(st.inodes, st.inodes_free) {
            out.push(s("node_filesystem_inodes_used_percent", pct));
        }
    }
}

/// The share of the inodes in use, as `df -i` computes "IUse%":
/// `(inodes − free) / inodes × 100`. `None` for filesystems without a fixed
/// inode count (btrfs and others report 0 inodes).
fn inodes_used_percent(inodes: u64, inodes_free: u64) -> Option<f64> {
    (inodes > 0).then(|| inodes.saturating_sub(inodes_free) as f64 / inodes as f64 * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTS: &str = "\
proc /proc proc rw,relatime 0 0
sysfs /sys sysfs rw,relatime 0 0
/dev/vda / ext4 rw,relatime 0 0
tmpfs /run tmpfs rw 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0
/dev/vda /etc/hosts ext4 rw 0 0
/dev/sdb1 /mnt/my\\040disk xfs rw 0 0
overlay /var/lib/docker/overlay2/x/merged overlay rw 0 0
/dev/loop3 /snap/core/123 squashfs ro 0 0
server:/export /srv/nfs nfs4 rw 0 0
";

    #[test]
    fn pseudo_and_duplicate_mounts_are_skipped() {
        let m = parse_mounts(MOUNTS);
        let got: Vec<_> = m
            .iter()
            .map(|m| (m.device.as_str(), m.mountpoint.as_str(), m.fstype.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/dev/vda", "/", "ext4"),
                ("/dev/sdb1", "/mnt/my disk", "xfs"),
                ("server:/export", "/srv/nfs", "nfs4")
            ]
        );
    }

    #[test]
    fn inode_percent_is_computed_from_statvfs_counts() {
        assert_eq!(inodes_used_percent(0, 0), None);
        assert_eq!(inodes_used_percent(1000, 1000), Some(0.0));
        assert_eq!(inodes_used_percent(1000, 250), Some(75.0));
        assert_eq!(inodes_used_percent(1000, 0), Some(100.0));
        assert_eq!(inodes_used_percent(1000, 2000), Some(0.0));
    }

    #[test]
    fn root_filesystem_is_measured() {
        let mut out = vec![];
        collect(
            &[Mount {
                device: "root".into(),
                mountpoint: "/".into(),
                fstype: "x".into(),
            }],
            &mut out,
        );
        let get = |name: &str| {
            out.iter()
                .find(|s| s.metric == name)
                .map(|s| s.value)
                .unwrap()
        };
        let (size, used, avail) = (
            get("node_filesystem_size_bytes"),
            get("node_filesystem_used_bytes"),
            get("node_filesystem_available_bytes"),
        );
        assert!(size > 0.0 && used <= size && avail <= size);
        assert!((0.0..=100.0).contains(&get("node_filesystem_used_percent")));
        let inodes = out
            .iter()
            .find(|s| s.metric == "node_filesystem_inodes")
            .map(|s| s.value);
        let inodes_pct = out
            .iter()
            .find(|s| s.metric == "node_filesystem_inodes_used_percent");
        match inodes {
            Some(total) => {
                let free = get("node_filesystem_inodes_free");
                let p = inodes_pct.expect("inode percent with a fixed inode count");
                assert!((p.value - (total - free) / total * 100.0).abs() < 1e-9);
                assert!((0.0..=100.0).contains(&p.value));
                assert_eq!(p.labels, out[0].labels);
            }
            None => assert!(inodes_pct.is_none()),
        }
        let labels = &out[0].labels;
        assert_eq!(
            labels.iter().map(|l| l.0).collect::<Vec<_>>(),
            vec!["mountpoint", "device", "fstype"]
        );
    }
}

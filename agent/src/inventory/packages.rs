//! Installed software packages, from the dpkg database or from rpm. The list
//! is parsed again only when the package database changes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use tocsin_proto::v1::Package;

/// The dpkg database of installed packages.
pub const DPKG_STATUS: &str = "/var/lib/dpkg/status";
/// Where rpm keeps its database, in the order tried.
const RPM_DB_DIRS: &[&str] = &["/var/lib/rpm", "/usr/lib/sysimage/rpm"];

/// Remembers the package list and the database timestamp it was read at.
#[derive(Debug, Default)]
pub struct PackageCache {
    stamp: Option<(PathBuf, SystemTime)>,
    packages: Vec<Package>,
}

impl PackageCache {
    /// The installed packages, sorted by name; re-read only if the database changed.
    pub fn get(&mut self) -> Vec<Package> {
        let Some(stamp) = database_stamp() else {
            return Vec::new();
        };
        if self.stamp.as_ref() != Some(&stamp) {
            let packages = if stamp.0 == Path::new(DPKG_STATUS) {
                std::fs::read_to_string(DPKG_STATUS)
                    .map(|t| parse_dpkg_status(&t))
                    .ok()
            } else {
                rpm_packages()
            };
            match packages {
                Some(p) => {
                    tracing::debug!(count = p.len(), source = %stamp.0.display(), "read installed packages");
                    self.packages = p;
                    self.stamp = Some(stamp);
                }
                None => {
                    tracing::debug!(source = %stamp.0.display(), "cannot read installed packages")
                }
            }
        }
        self.packages.clone()
    }
}

/// Which package database this host has, and when it last changed.
fn database_stamp() -> Option<(PathBuf, SystemTime)> {
    if let Ok(m) = std::fs::metadata(DPKG_STATUS)
        && m.len() > 0
    {
        return Some((PathBuf::from(DPKG_STATUS), m.modified().ok()?));
    }
    for dir in RPM_DB_DIRS {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let newest = entries
            .flatten()
            .filter_map(|e| e.metadata().ok()?.modified().ok())
            .max();
        if let Some(t) = newest {
            return Some((PathBuf::from(dir), t));
        }
    }
    None
}

/// Parses the dpkg status database: one paragraph per package, keeping those
/// whose `Status` says they are installed. Sorted by name, one entry per name.
pub fn parse_dpkg_status(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let (mut name, mut version, mut installed) = (None, None, false);
        for line in para.lines() {
            if let Some(v) = line.strip_prefix("Package:") {
                name = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Version:") {
                version = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Status:") {
                // "want flag status": e.g. "install ok installed", "hold ok installed".
                let f: Vec<&str> = v.split_whitespace().collect();
                installed = f.len() == 3 && f[1] == "ok" && f[2] == "installed";
            }
        }
        if let (Some(n), Some(v), true) = (name, version, installed)
            && !n.is_empty()
        {
            out.push(Package {
                name: n.to_string(),
                version: v.to_string(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|b, a| a.name == b.name);
    out
}

/// Installed packages as `rpm -qa` lists them, if an `rpm` binary is on the PATH.
fn rpm_packages() -> Option<Vec<Package>> {
    let out = Command::new("rpm")
        .args([
            "-qa",
            "--qf",
            "%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(parse_rpm_output(&String::from_utf8_lossy(&out.stdout)))
}

/// Parses `name<TAB>version` lines.
pub fn parse_rpm_output(text: &str) -> Vec<Package> {
    let mut out: Vec<Package> = text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(n, _)| !n.is_empty() && *n != "gpg-pubkey")
        .map(|(n, v)| Package {
            name: n.to_string(),
            version: v.trim().to_string(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|b, a| a.name == b.name);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "\
Package: zlib1g
Status: install ok installed
Priority: required
Architecture: amd64
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime
 zlib is a library implementing the deflate compression method found
 in gzip and PKZIP.

Package: old-thing
Status: deinstall ok config-files
Version: 0.9

Package: bash
Essential: yes
Status: install ok installed
Version: 5.2.15-2+b2

Package: broken
Status: install reinstreq half-installed
Version: 1.0

Package: held
Status: hold ok installed
Version: 2.0
";

    #[test]
    fn dpkg_status_is_parsed() {
        let p = parse_dpkg_status(STATUS);
        let got: Vec<_> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("bash", "5.2.15-2+b2"),
                ("held", "2.0"),
                ("zlib1g", "1:1.2.13.dfsg-1")
            ]
        );
        assert!(parse_dpkg_status("").is_empty());
    }

    #[test]
    fn rpm_output_is_parsed() {
        let p = parse_rpm_output(
            "bash\t5.1.8-6.el9\ngpg-pubkey\t1-2\nkernel\t5.14.0-1\nkernel\t5.14.0-2\nnoise\n",
        );
        let got: Vec<_> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(got, vec![("bash", "5.1.8-6.el9"), ("kernel", "5.14.0-1")]);
    }

    #[test]
    fn this_hosts_packages_are_found_if_it_uses_dpkg() {
        if Path::new(DPKG_STATUS).exists() {
            let p = PackageCache::default().get();
            assert!(!p.is_empty(), "dpkg database present but no package parsed");
            assert!(p.windows(2).all(|w| w[0].name < w[1].name));
        }
    }
}

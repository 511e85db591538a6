//! The inventory: the facts of this host's CI (name, OS, hardware, network,
//! installed software), gathered at start and re-checked periodically.

mod packages;

pub use packages::{parse_dpkg_status, parse_rpm_output};

use sysinfo::Networks;
use tocsin_proto::v1::{Inventory, NetInterface};

/// A boot time moving by less than this many seconds is clock noise, not a reboot.
const BOOT_TIME_JITTER_SECS: i64 = 5;

/// Gathers inventories, keeping what is worth reusing between gatherings.
pub struct Gatherer {
    networks: Option<Networks>,
    packages: packages::PackageCache,
    last_boot_time: i64,
}

impl Default for Gatherer {
    fn default() -> Self {
        Self::new()
    }
}

impl Gatherer {
    /// A gatherer with nothing cached.
    pub fn new() -> Self {
        Self {
            networks: Networks::new().ok(),
            packages: packages::PackageCache::default(),
            last_boot_time: 0,
        }
    }

    /// The current inventory. Facts that cannot be read are left empty.
    pub fn gather(&mut self) -> Inventory {
        let hostname = hostname();
        let fqdn = fqdn(&hostname);
        let os = read("/etc/os-release")
            .or_else(|| read("/usr/lib/os-release"))
            .unwrap_or_default();
        let (os_name, os_version) = parse_os_release(&os);
        let (cpu_model, cpu_cores) = parse_cpuinfo(&read("/proc/cpuinfo").unwrap_or_default());
        let cpu_model = if cpu_model.is_empty() {
            fallback_cpu_model()
        } else {
            cpu_model
        };
        let cpu_cores = if cpu_cores == 0 {
            std::thread::available_parallelism()
                .map_or(0, |n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        } else {
            cpu_cores
        };
        let mut boot_time = read("/proc/stat").map_or(0, |t| parse_boot_time(&t));
        if (boot_time - self.last_boot_time).abs() < BOOT_TIME_JITTER_SECS {
            boot_time = self.last_boot_time;
        }
        self.last_boot_time = boot_time;
        Inventory {
            hostname,
            fqdn,
            os_name,
            os_version,
            kernel_version: read("/proc/sys/kernel/osrelease").unwrap_or_default(),
            arch: sysinfo::System::cpu_arch(),
            cpu_model,
            cpu_cores,
            memory_bytes: read("/proc/meminfo").map_or(0, |t| parse_mem_total(&t)),
            interfaces: self.interfaces(),
            machine_id: read("/etc/machine-id")
                .or_else(|| read("/var/lib/dbus/machine-id"))
                .unwrap_or_default(),
            dmi_vendor: read("/sys/class/dmi/id/sys_vendor").unwrap_or_default(),
            dmi_product: read("/sys/class/dmi/id/product_name").unwrap_or_default(),
            dmi_serial: read("/sys/class/dmi/id/product_serial").unwrap_or_default(),
            boot_time,
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            packages: self.packages.get(),
        }
    }

    /// Interfaces other than loopback, sorted by name, with their MAC and addresses.
    fn interfaces(&mut self) -> Vec<NetInterface> {
        let Some(networks) = self.networks.as_mut() else {
            return Vec::new();
        };
        networks.refresh(true);
        let mut out: Vec<NetInterface> = networks
            .iter()
            .filter(|(name, _)| name.as_os_str() != "lo")
            .map(|(name, data)| {
                let mac = data.mac_address();
                let mut ips: Vec<String> = data
                    .ip_networks()
                    .iter()
                    .map(|n| n.addr.to_string())
                    .collect();
                ips.sort();
                ips.dedup();
                NetInterface {
                    name: name.to_string_lossy().into_owned(),
                    mac: if mac.is_unspecified() {
                        String::new()
                    } else {
                        mac.to_string()
                    },
                    ips,
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

/// A small text file, trimmed; `None` if unreadable or empty.
fn read(path: &str) -> Option<String> {
    let t = std::fs::read_to_string(path).ok()?;
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The kernel's host name.
pub fn hostname() -> String {
    read("/proc/sys/kernel/hostname")
        .or_else(|| sysinfo::System::host_name().ok())
        .or_else(|| read("/etc/hostname"))
        .unwrap_or_default()
}

/// The fully qualified name, as `hostname -f` finds it: the resolver's
/// canonical name for the host name, else the host name itself.
fn fqdn(hostname: &str) -> String {
    if hostname.is_empty() {
        return String::new();
    }
    crate::ffi::canonical_name(hostname)
        .filter(|n| n != "localhost")
        .unwrap_or_else(|| hostname.to_string())
}

/// `(NAME, VERSION or VERSION_ID)` of an os-release file.
pub fn parse_os_release(text: &str) -> (String, String) {
    let get = |key: &str| {
        text.lines().find_map(|l| {
            let v = l.strip_prefix(key)?.strip_prefix('=')?.trim();
            Some(v.trim_matches(|c| c == '"' || c == '\'').to_string())
        })
    };
    let name = get("NAME").unwrap_or_default();
    let version = get("VERSION")
        .or_else(|| get("VERSION_ID"))
        .or_else(|| get("BUILD_ID"))
        .unwrap_or_default();
    (name, version)
}

/// `(model, logical CPU count)` of a `/proc/cpuinfo` text.
pub fn parse_cpuinfo(text: &str) -> (String, u32) {
    let field = |l: &str| {
        l.split_once(':')
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
    };
    let mut model = String::new();
    let mut count = 0u32;
    for (k, v) in text.lines().filter_map(field) {
        match k.as_str() {
            "processor" if v.parse::<u32>().is_ok() => count += 1,
            // x86 says "model name"; some ARM and other kernels "Model", "cpu model" or "Hardware".
            "model name" | "cpu model" | "Model" | "Hardware" if model.is_empty() => model = v,
            _ => {}
        }
    }
    (model, count)
}

fn fallback_cpu_model() -> String {
    let mut s = sysinfo::System::new().ok();
    if let Some(sys) = s.as_mut() {
        sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
    }
    s.and_then(|s| s.cpus().first().map(|c| c.brand().trim().to_string()))
        .unwrap_or_default()
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
pub fn parse_mem_total(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// `btime` (boot time, seconds since the epoch) of a `/proc/stat` text.
pub fn parse_boot_time(text: &str) -> i64 {
    text.lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_is_parsed() {
        let t = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n";
        assert_eq!(
            parse_os_release(t),
            ("Debian GNU/Linux".to_string(), "12 (bookworm)".to_string())
        );
        assert_eq!(
            parse_os_release("NAME=Arch\nBUILD_ID=rolling\n"),
            ("Arch".to_string(), "rolling".to_string())
        );
    }

    #[test]
    fn cpuinfo_is_parsed() {
        let t = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t: fpu\n\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) Processor\n";
        assert_eq!(
            parse_cpuinfo(t),
            ("Intel(R) Xeon(R) Processor".to_string(), 2)
        );
        let arm = "processor\t: 0\nBogoMIPS\t: 48.00\n\nHardware\t: BCM2835\nModel\t: Raspberry Pi 4 Model B Rev 1.4\n";
        assert_eq!(parse_cpuinfo(arm), ("BCM2835".to_string(), 1));
    }

    #[test]
    fn meminfo_and_btime_are_parsed() {
        assert_eq!(
            parse_mem_total("MemTotal:       24683656 kB\nMemFree: 1 kB\n"),
            24_683_656 * 1024
        );
        assert_eq!(
            parse_boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 5\n"),
            1_700_000_000
        );
    }

    #[test]
    fn this_hosts_inventory_is_filled() {
        let mut g = Gatherer::new();
        let inv = g.gather();
        assert_eq!(
            inv.hostname,
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .unwrap()
                .trim()
        );
        assert!(!inv.fqdn.is_empty());
        assert!(!inv.kernel_version.is_empty() && !inv.arch.is_empty());
        assert!(inv.cpu_cores as usize >= std::thread::available_parallelism().unwrap().get());
        assert!(inv.memory_bytes > 0);
        assert!(inv.boot_time > 1_000_000_000);
        assert_eq!(inv.agent_version, env!("CARGO_PKG_VERSION"));
        assert!(inv.interfaces.iter().all(|i| i.name != "lo"));
        // Gathering again without changes gives the same inventory.
        assert_eq!(g.gather(), inv);
    }
}

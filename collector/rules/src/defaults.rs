//! The built-in rules for hosts, SNMP-polled devices and checked services,
//! in the rules-file format, in the spirit of Zabbix's "Linux by agent" and
//! "Network generic device by SNMP" templates, the node-exporter mixin and
//! the blackbox-exporter alerts.
//!
//! A `[[rule]]` in the user's file with the same name replaces a built-in
//! whole; `name = "x"` + `enabled = false` switches one off;
//! `[defaults] enabled = false` drops them all. The no-data rule
//! (`agent_lost`) is configured in `[no_data]`.
//!
//! Three rules select metrics the agent does not report yet (see
//! docs/metrics.md): a rule cannot divide one series by another, and these
//! conditions are only meaningful as ratios. They match nothing (and cost
//! nothing) until the agent reports them:
//! - `swap_high` needs `node_swap_used_percent` (`used / total × 100`, not
//!   reported when the host has no swap);
//! - `filesystem_inodes` needs `node_filesystem_inodes_used_percent`;
//! - `load_high` needs `node_load5_per_cpu` (`node_load5` / logical CPUs):
//!   a load of 8 is idle for 64 cores and overload for 2, so an absolute
//!   threshold on `node_load5` would be wrong on most hosts.

use std::sync::OnceLock;

use super::config::parse_rules;
use super::rule::Rule;

/// The built-in rules as a rules file.
pub const BUILTIN_RULES_TOML: &str = r#"
[[rule]]
name = "cpu_high"
selector = "node_cpu_usage_percent"
thresholds = { warning = 85, general = 95 }
for = "5m"
recovery = 80
recover_for = "2m"
title = "CPU usage on {{ci}} is {{value}}%"
description = "CPU usage on {{ci}} has been above {{threshold}}% for 5 minutes; it is {{value}}% now."

[[rule]]
name = "memory_high"
selector = "node_memory_used_percent"
thresholds = { warning = 90, general = 95 }
for = "5m"
recovery = 85
recover_for = "2m"
title = "Memory usage on {{ci}} is {{value}}%"
description = "Memory in use on {{ci}} has been above {{threshold}}% for 5 minutes (it is {{value}}% now); processes may be swapped out or killed by the OOM killer."

[[rule]]
name = "filesystem_full"
selector = "node_filesystem_used_percent"
thresholds = { warning = 80, general = 90, major = 95 }
for = "1m"
recovery = 75
recover_for = "5m"
object_labels = ["mountpoint"]
title = "Filesystem {{labels.mountpoint}} on {{ci}} is {{value}}% full"
description = "Filesystem {{labels.mountpoint}} ({{labels.device}}, {{labels.fstype}}) on {{ci}} is {{value}}% full, above the {{severity}} threshold of {{threshold}}%."

[[rule]]
name = "filesystem_inodes"
selector = "node_filesystem_inodes_used_percent"
thresholds = { warning = 80, general = 90, major = 95 }
for = "1m"
recovery = 75
recover_for = "5m"
object_labels = ["mountpoint"]
title = "Filesystem {{labels.mountpoint}} on {{ci}} has used {{value}}% of its inodes"
description = "Filesystem {{labels.mountpoint}} ({{labels.device}}) on {{ci}} has used {{value}}% of its inodes; no new files can be created once they run out, however much space is free."

[[rule]]
name = "swap_high"
selector = "node_swap_used_percent"
thresholds = { warning = 50, general = 80 }
for = "10m"
recovery = 40
recover_for = "5m"
title = "Swap usage on {{ci}} is {{value}}%"
description = "{{value}}% of the swap space on {{ci}} is in use (threshold {{threshold}}%): the host is short of memory."

[[rule]]
name = "load_high"
selector = "node_load5_per_cpu"
thresholds = { warning = 1.5, general = 3 }
for = "10m"
recovery = 1.2
recover_for = "5m"
title = "Load on {{ci}} is {{value}} per CPU"
description = "The 5-minute load average on {{ci}} is {{value}} per CPU (threshold {{threshold}}): more work is runnable than the CPUs can serve."

[[rule]]
name = "disk_busy"
selector = "node_disk_io_time_seconds_total"
rate = "5m"
thresholds = { warning = 0.9 }
for = "15m"
recovery = 0.8
recover_for = "5m"
object_labels = ["device"]
title = "Disk {{labels.device}} on {{ci}} is saturated"
description = "Disk {{labels.device}} on {{ci}} was busy {{value}} of the time over 5 minutes (1 = 100%) for 15 minutes."

[[rule]]
name = "network_receive_errors"
selector = "node_network_receive_errors_total"
rate = "5m"
thresholds = { warning = 1, general = 10 }
for = "5m"
recovery = 0.5
recover_for = "5m"
object_labels = ["interface"]
title = "Interface {{labels.interface}} on {{ci}} receives {{value}} errors/s"
description = "Interface {{labels.interface}} on {{ci}} counts {{value}} receive errors per second over 5 minutes, above {{threshold}}/s: check the cable, the optics and the switch port."

[[rule]]
name = "network_transmit_errors"
selector = "node_network_transmit_errors_total"
rate = "5m"
thresholds = { warning = 1, general = 10 }
for = "5m"
recovery = 0.5
recover_for = "5m"
object_labels = ["interface"]
title = "Interface {{labels.interface}} on {{ci}} has {{value}} transmit errors/s"
description = "Interface {{labels.interface}} on {{ci}} counts {{value}} transmit errors per second over 5 minutes, above {{threshold}}/s."

# Devices polled by SNMP (agent/src/devices): the agent reports the derived
# series device_reachable and snmp_if_link_down, so each condition is one series.

[[rule]]
name = "device_unreachable"
selector = "device_reachable"
comparison = "<"
thresholds = { major = 1 }
recovery = 1
title = "{{ci}} is unreachable"
description = "{{ci}} answers neither SNMP nor ICMP echo from its poller: the device is down, powered off or cut off from the network."

[[rule]]
name = "device_interface_down"
selector = "snmp_if_link_down"
thresholds = { general = 0.5 }
recovery = 0.5
object_labels = ["interface"]
title = "Interface {{labels.interface}} on {{ci}} is down"
description = "Interface {{labels.interface}} ({{labels.alias}}) on {{ci}} is administratively up but its link is down."

[[rule]]
name = "device_interface_in_errors"
selector = "snmp_if_in_errors_total"
rate = "5m"
thresholds = { warning = 1, general = 10 }
for = "5m"
recovery = 0.5
recover_for = "5m"
object_labels = ["interface"]
title = "Interface {{labels.interface}} on {{ci}} receives {{value}} errors/s"
description = "Interface {{labels.interface}} ({{labels.alias}}) on {{ci}} counts {{value}} inbound errors per second over 5 minutes, above {{threshold}}/s: check the cable, the optics and the far end."

[[rule]]
name = "device_interface_out_errors"
selector = "snmp_if_out_errors_total"
rate = "5m"
thresholds = { warning = 1, general = 10 }
for = "5m"
recovery = 0.5
recover_for = "5m"
object_labels = ["interface"]
title = "Interface {{labels.interface}} on {{ci}} has {{value}} outbound errors/s"
description = "Interface {{labels.interface}} ({{labels.alias}}) on {{ci}} counts {{value}} outbound errors per second over 5 minutes, above {{threshold}}/s."

[[rule]]
name = "device_storage_full"
selector = 'snmp_hr_storage_used_percent{type=~"fixed_disk|network_disk|removable_disk|flash_memory"}'
thresholds = { warning = 85, general = 95 }
for = "5m"
recovery = 80
recover_for = "5m"
object_labels = ["storage"]
title = "Storage {{labels.storage}} on {{ci}} is {{value}}% used"
description = "Storage {{labels.storage}} ({{labels.type}}) on {{ci}} is {{value}}% used, above the {{severity}} threshold of {{threshold}}%."

[[rule]]
name = "device_rebooted"
selector = "snmp_uptime_seconds"
comparison = "<"
thresholds = { warning = 600 }
recovery = 600
title = "{{ci}} restarted {{value}} seconds ago"
description = "The SNMP uptime of {{ci}} is {{value}} s: the device (or its management agent) restarted within the last 10 minutes. The incident resolves itself once the uptime passes 10 minutes."

# Services an agent checks (ICMP, TCP, HTTP, DNS): every check reports probe_*
# series on the service CI (host = its CI id), labelled check, kind and target.

[[rule]]
name = "service_check_failed"
selector = "probe_success"
comparison = "<"
thresholds = { general = 1 }
critical_severity = "major"
recovery = 1
object_labels = ["check"]
title = "Check {{labels.check}} of {{ci}} fails"
description = "The {{labels.kind}} check {{labels.check}} of {{ci}} against {{labels.target}} fails. The reason (timeout, connection refused, HTTP status, certificate, body mismatch…) is in the CI's events: tocsinctl events {{labels.host}}. The incident is major when the CI's criticality is critical, and resolves itself when the check passes again."

[[rule]]
name = "service_check_slow"
selector = "probe_duration_threshold_ratio"
thresholds = { warning = 1 }
for = "1m"
recovery = 0.8
object_labels = ["check"]
title = "Check {{labels.check}} of {{ci}} is slow"
description = "The {{labels.kind}} check {{labels.check}} of {{ci}} against {{labels.target}} has taken longer than its slow_after for a minute: it takes {{value}} times that limit now (threshold {{threshold}}). The check still succeeds."

[[rule]]
name = "service_certificate_expiring"
selector = "probe_tls_cert_expiry_days"
comparison = "<"
thresholds = { warning = 14, general = 3 }
recovery = 14
object_labels = ["check"]
title = "Certificate of {{labels.target}} ({{ci}}) expires in {{value}} days"
description = "The TLS certificate served by {{labels.target}} (check {{labels.check}} of {{ci}}) expires in {{value}} days, less than {{threshold}}: renew it before clients refuse the connection. A negative number of days means it has expired already."
"#;

/// The built-in rules (parsed once).
pub fn builtin_rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let table: toml::Table = BUILTIN_RULES_TOML.parse().unwrap_or_default();
        let mut problems = Vec::new();
        let rules: Vec<Rule> = parse_rules(&table, &mut problems)
            .into_iter()
            .filter_map(|p| match p {
                super::validate::Parsed::Rule(r) => Some(*r),
                super::validate::Parsed::Disable(_) => None,
            })
            .map(|mut r| {
                r.builtin = true;
                r
            })
            .collect();
        debug_assert!(problems.is_empty(), "built-in rules: {problems:?}");
        rules
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_without_problems() {
        let table: toml::Table = BUILTIN_RULES_TOML.parse().unwrap();
        let mut problems = Vec::new();
        let n = parse_rules(&table, &mut problems).len();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(n, builtin_rules().len());
        let names: Vec<_> = builtin_rules().iter().map(|r| r.name.as_str()).collect();
        for want in [
            "cpu_high",
            "memory_high",
            "filesystem_full",
            "disk_busy",
            "device_unreachable",
            "device_interface_down",
            "device_storage_full",
            "device_rebooted",
            "service_check_failed",
            "service_check_slow",
            "service_certificate_expiring",
        ] {
            assert!(names.contains(&want), "{names:?}");
        }
        assert!(builtin_rules().iter().all(|r| r.builtin && r.enabled));
        let cpu = builtin_rules()
            .iter()
            .find(|r| r.name == "cpu_high")
            .unwrap();
        assert_eq!(cpu.thresholds.warning, Some(85.0));
        assert_eq!(cpu.thresholds.general, Some(95.0));
        assert_eq!(cpu.recovery, 80.0);
        assert_eq!(cpu.for_ms(), 300_000);
        assert_eq!(cpu.recover_for_ms(), 120_000);
    }

    fn builtin(name: &str) -> &'static Rule {
        builtin_rules().iter().find(|r| r.name == name).unwrap()
    }

    #[test]
    fn service_rules_as_specified() {
        use crate::rule::Comparison;
        use tocsin_model::event::Severity;

        let check = ["check".to_string()];
        let failed = builtin("service_check_failed");
        assert_eq!(failed.selector, "probe_success");
        assert_eq!(failed.comparison, Comparison::Lt);
        assert_eq!(
            failed.thresholds.iter().collect::<Vec<_>>(),
            [(Severity::General, 1.0)]
        );
        assert_eq!(failed.critical_severity, Some(Severity::Major));
        assert_eq!((failed.recovery, failed.for_ms()), (1.0, 0));
        assert_eq!(failed.object_labels.as_deref(), Some(&check[..]));
        assert!(failed.description.source().contains("tocsinctl events"));

        let slow = builtin("service_check_slow");
        assert_eq!(slow.selector, "probe_duration_threshold_ratio");
        assert_eq!(slow.comparison, Comparison::Gt);
        assert_eq!(
            slow.thresholds.iter().collect::<Vec<_>>(),
            [(Severity::Warning, 1.0)]
        );
        assert_eq!((slow.recovery, slow.for_ms()), (0.8, 60_000));
        assert_eq!(slow.critical_severity, None);
        assert_eq!(slow.object_labels.as_deref(), Some(&check[..]));

        let cert = builtin("service_certificate_expiring");
        assert_eq!(cert.selector, "probe_tls_cert_expiry_days");
        assert_eq!(cert.comparison, Comparison::Lt);
        assert_eq!(
            cert.thresholds.iter().collect::<Vec<_>>(),
            [(Severity::Warning, 14.0), (Severity::General, 3.0)]
        );
        assert_eq!(cert.recovery, 14.0);
        assert_eq!(cert.object_labels.as_deref(), Some(&check[..]));
        assert_eq!(cert.breached(2.5), Some((Severity::General, 3.0)));
        assert!(cert.cleared(20.0) && !cert.cleared(13.9));
    }
}

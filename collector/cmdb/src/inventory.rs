//! Maps an agent's inventory message to host CI attributes.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tocsin_proto::v1::Inventory;

use tocsin_model::time::rfc3339;

/// The attributes an agent owns on its host CI.
pub const AGENT_ATTRIBUTES: &[&str] = &[
    "hostname",
    "fqdn",
    "os_name",
    "os_version",
    "kernel_version",
    "arch",
    "cpu_model",
    "cpu_cores",
    "memory_bytes",
    "interfaces",
    "ip_addresses",
    "mac_addresses",
    "machine_id",
    "vendor",
    "model",
    "serial_number",
    "boot_time",
    "agent_version",
    "software",
];

/// Attributes discovered by an agent; facts it could not discover are absent.
pub fn inventory_attributes(inv: &Inventory) -> BTreeMap<String, Value> {
    let mut a = BTreeMap::new();
    let mut text = |k: &str, v: &str| {
        if !v.is_empty() {
            a.insert(k.to_string(), Value::from(v));
        }
    };
    text("hostname", &inv.hostname);
    text("fqdn", &inv.fqdn);
    text("os_name", &inv.os_name);
    text("os_version", &inv.os_version);
    text("kernel_version", &inv.kernel_version);
    text("arch", &inv.arch);
    text("cpu_model", &inv.cpu_model);
    text("machine_id", &inv.machine_id);
    text("vendor", &inv.dmi_vendor);
    text("model", &inv.dmi_product);
    text("serial_number", &inv.dmi_serial);
    text("agent_version", &inv.agent_version);
    if inv.cpu_cores > 0 {
        a.insert("cpu_cores".into(), json!(inv.cpu_cores));
    }
    if inv.memory_bytes > 0 {
        a.insert("memory_bytes".into(), json!(inv.memory_bytes));
    }
    if inv.boot_time > 0 {
        a.insert(
            "boot_time".into(),
            json!(rfc3339(inv.boot_time.saturating_mul(1000))),
        );
    }
    if !inv.interfaces.is_empty() {
        let ifaces: Vec<Value> = inv
            .interfaces
            .iter()
            .map(|i| json!({"name": i.name, "mac": i.mac, "ips": i.ips}))
            .collect();
        let mut ips: Vec<&str> = inv
            .interfaces
            .iter()
            .flat_map(|i| i.ips.iter().map(String::as_str))
            .collect();
        ips.retain(|ip| !ip.starts_with("127.") && *ip != "::1");
        ips.sort_unstable();
        ips.dedup();
        let mut macs: Vec<&str> = inv
            .interfaces
            .iter()
            .map(|i| i.mac.as_str())
            .filter(|m| !m.is_empty() && *m != "00:00:00:00:00:00")
            .collect();
        macs.sort_unstable();
        macs.dedup();
        a.insert("interfaces".into(), Value::Array(ifaces));
        a.insert("ip_addresses".into(), json!(ips));
        a.insert("mac_addresses".into(), json!(macs));
    }
    if !inv.packages.is_empty() {
        let software: serde_json::Map<String, Value> = inv
            .packages
            .iter()
            .map(|p| (p.name.clone(), Value::from(p.version.clone())))
            .collect();
        a.insert("software".into(), Value::Object(software));
    }
    a
}

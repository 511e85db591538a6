//! Text rendering of the CMDB API's answers (`/api/v1/cis`, `/api/v1/cis/{id}`).

use std::collections::BTreeMap;

use serde_json::Value;
use tocsin_api_types::cis::CiView;
use tocsin_api_types::{Ci, CiDetail, DeviceEventRecord};

use super::table::{Table, cell};

/// Attributes shown as an item count (they hold hundreds of entries).
const SUMMARISED: [&str; 2] = ["packages", "software"];

/// The CI list as a table: ID, CLASS, NAME, HOSTNAME, IP, OS, UPDATED.
pub fn render_cis(cis: &[Ci]) -> String {
    let mut t = Table::new(&["ID", "CLASS", "NAME", "HOSTNAME", "IP", "OS", "UPDATED"]);
    for ci in cis {
        let attrs = &ci.attributes;
        t.row([
            ci.id.clone(),
            ci.class.clone(),
            ci.name.clone(),
            first_of(attrs, &["hostname", "sysName"]),
            first_of(
                attrs,
                &["ip_addresses", "management_ip", "ip_address", "ip"],
            ),
            os(attrs),
            ci.updated_at.clone(),
        ]);
    }
    if t.is_empty() {
        return "no CIs\n".into();
    }
    t.render()
}

/// A CI's events as a table: AT, KIND, SOURCE, SUMMARY.
pub fn render_events(events: &[DeviceEventRecord]) -> String {
    let mut t = Table::new(&["AT", "KIND", "SOURCE", "SUMMARY"]).max_cell(100);
    for e in events {
        t.row([
            e.at.clone(),
            e.kind.clone(),
            e.source.clone(),
            e.summary.clone(),
        ]);
    }
    if t.is_empty() {
        return "no events\n".into();
    }
    t.render()
}

/// One CI: a header, its attributes, relations and change history.
pub fn render_ci(view: &CiView) -> String {
    let CiDetail {
        ci,
        relations,
        changes: history,
    } = &view.detail;
    let mut out = format!("CI {}  class {}  name {}\n", ci.id, ci.class, ci.name);
    out.push_str(&format!(
        "created {}  updated {}\n\n",
        dash(&ci.created_at),
        dash(&ci.updated_at)
    ));

    let mut attrs = Table::new(&["ATTRIBUTE", "VALUE"]);
    for (name, value) in &ci.attributes {
        attrs.row([name.clone(), attribute(name, value)]);
    }
    out.push_str(&section(attrs, "no attributes"));

    out.push_str("\nRELATIONS\n");
    let mut rels = Table::new(&["KIND", "TARGET", "CREATED"]);
    for r in relations {
        rels.row([r.kind.clone(), r.target.clone(), r.created_at.clone()]);
    }
    out.push_str(&section(rels, "(none)"));

    out.push_str("\nCHANGES\n");
    let mut changes = Table::new(&["TIME", "ATTRIBUTE", "OLD", "NEW", "SOURCE"]).max_cell(40);
    for c in history {
        changes.row([
            c.at.clone(),
            c.attribute.clone(),
            change_value(&c.attribute, &c.old),
            change_value(&c.attribute, &c.new),
            c.source.clone(),
        ]);
    }
    out.push_str(&section(changes, "(none)"));
    out
}

fn section(t: Table, empty: &str) -> String {
    if t.is_empty() {
        format!("{empty}\n")
    } else {
        t.render()
    }
}

/// The CI's attributes by name.
type Attributes = BTreeMap<String, Value>;

fn attr(attrs: &Attributes, name: &str) -> String {
    attrs.get(name).map(cell).unwrap_or_default()
}

fn first_of(attrs: &Attributes, names: &[&str]) -> String {
    names
        .iter()
        .map(|n| attr(attrs, n))
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

fn os(attrs: &Attributes) -> String {
    let parts = [attr(attrs, "os_name"), attr(attrs, "os_version")];
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

fn dash(s: &str) -> String {
    if s.is_empty() { "-".into() } else { s.into() }
}

/// An attribute value; long inventories as a count.
fn attribute(name: &str, value: &Value) -> String {
    match value {
        Value::Array(items) if SUMMARISED.contains(&name) => entries(items.len()),
        Value::Object(items) if SUMMARISED.contains(&name) => entries(items.len()),
        other => cell(other),
    }
}

fn entries(n: usize) -> String {
    if n == 1 {
        "1 entry".into()
    } else {
        format!("{n} entries")
    }
}

fn change_value(name: &str, value: &Value) -> String {
    if value.is_null() {
        "-".into()
    } else {
        attribute(name, value)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn typed<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    fn host() -> Value {
        json!({
            "id": "ci-1", "class": "host", "name": "web01",
            "attributes": {
                "hostname": "web01", "os_name": "Debian GNU/Linux", "os_version": "12",
                "ip_addresses": ["10.0.0.5", "10.0.1.5"], "cpu_cores": 8,
                "packages": [{"name": "bash"}, {"name": "curl"}, {"name": "vim"}]
            },
            "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T11:00:00Z"
        })
    }

    #[test]
    fn ci_list_table() {
        let out = render_cis(&typed::<Vec<Ci>>(json!([host(), {
            "id": "ci-2", "class": "switch", "name": "sw01", "attributes": {},
            "created_at": "", "updated_at": ""
        }])));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "ID    CLASS   NAME   HOSTNAME  IP                  OS                   UPDATED"
        );
        assert_eq!(
            lines[1],
            "ci-1  host    web01  web01     10.0.0.5, 10.0.1.5  Debian GNU/Linux 12  2026-11-23T11:00:00Z"
        );
        assert_eq!(lines[2], "ci-2  switch  sw01");
        assert_eq!(render_cis(&[]), "no CIs\n");
    }

    #[test]
    fn ci_detail_sections() {
        let mut ci = host();
        ci["relations"] = json!([{"kind": "connected_to", "target": "ci-2", "created_at": "2026-11-23T10:05:00Z"}]);
        ci["changes"] = json!([
            {"at": "2026-11-23T11:00:00Z", "attribute": "os_version", "old": "11", "new": "12", "source": "agent:a1"},
            {"at": "2026-11-23T10:00:00Z", "attribute": "packages", "old": null, "new": [1, 2], "source": "agent:a1"}
        ]);
        let out = render_ci(&typed(ci));
        assert!(
            out.starts_with("CI ci-1  class host  name web01\ncreated 2026-11-23T10:00:00Z"),
            "{out}"
        );
        assert!(out.contains("\ncpu_cores     8\n"), "{out}");
        assert!(
            out.contains("\nip_addresses  10.0.0.5, 10.0.1.5\n"),
            "{out}"
        );
        assert!(out.contains("\npackages      3 entries\n"), "{out}");
        assert!(out.contains("RELATIONS\nKIND          TARGET  CREATED\nconnected_to  ci-2    2026-11-23T10:05:00Z\n"), "{out}");
        assert!(
            out.contains("2026-11-23T11:00:00Z  os_version  11   12         agent:a1"),
            "{out}"
        );
        assert!(
            out.contains("2026-11-23T10:00:00Z  packages    -    2 entries  agent:a1"),
            "{out}"
        );
    }

    #[test]
    fn ci_without_relations_or_changes() {
        let out = render_ci(&typed(json!({
            "id": "x", "class": "host", "name": "n", "attributes": {},
            "created_at": "", "updated_at": "", "relations": [], "changes": []
        })));
        assert!(
            out.contains("no attributes\n\nRELATIONS\n(none)\n\nCHANGES\n(none)\n"),
            "{out}"
        );
    }
}

//! Text rendering of the CMDB API's answers (`/api/v1/cis`, `/api/v1/cis/{id}`).

use serde_json::Value;

use super::table::{Table, cell};

/// Attributes shown as an item count (they hold hundreds of entries).
const SUMMARISED: [&str; 2] = ["packages", "software"];

/// The CI list as a table: ID, CLASS, NAME, HOSTNAME, IP, OS, UPDATED.
pub fn render_cis(body: &Value) -> String {
    let mut t = Table::new(&["ID", "CLASS", "NAME", "HOSTNAME", "IP", "OS", "UPDATED"]);
    for ci in body["data"].as_array().into_iter().flatten() {
        let attrs = &ci["attributes"];
        t.row([
            cell(&ci["id"]),
            cell(&ci["class"]),
            cell(&ci["name"]),
            first_of(attrs, &["hostname", "sysName"]),
            first_of(
                attrs,
                &["ip_addresses", "management_ip", "ip_address", "ip"],
            ),
            os(attrs),
            cell(&ci["updated_at"]),
        ]);
    }
    if t.is_empty() {
        return "no CIs\n".into();
    }
    t.render()
}

/// A CI's events as a table: AT, KIND, SOURCE, SUMMARY.
pub fn render_events(body: &Value) -> String {
    let mut t = Table::new(&["AT", "KIND", "SOURCE", "SUMMARY"]).max_cell(100);
    for e in body["data"].as_array().into_iter().flatten() {
        t.row([
            cell(&e["at"]),
            cell(&e["kind"]),
            cell(&e["source"]),
            cell(&e["summary"]),
        ]);
    }
    if t.is_empty() {
        return "no events\n".into();
    }
    t.render()
}

/// One CI: a header, its attributes, relations and change history.
pub fn render_ci(body: &Value) -> String {
    let ci = &body["data"];
    let mut out = format!(
        "CI {}  class {}  name {}\n",
        cell(&ci["id"]),
        cell(&ci["class"]),
        cell(&ci["name"])
    );
    out.push_str(&format!(
        "created {}  updated {}\n\n",
        dash(&ci["created_at"]),
        dash(&ci["updated_at"])
    ));

    let mut attrs = Table::new(&["ATTRIBUTE", "VALUE"]);
    for (name, value) in ci["attributes"].as_object().into_iter().flatten() {
        attrs.row([name.clone(), attribute(name, value)]);
    }
    out.push_str(&section(attrs, "no attributes"));

    out.push_str("\nRELATIONS\n");
    let mut rels = Table::new(&["KIND", "TARGET", "CREATED"]);
    for r in ci["relations"].as_array().into_iter().flatten() {
        rels.row([cell(&r["kind"]), cell(&r["target"]), cell(&r["created_at"])]);
    }
    out.push_str(&section(rels, "(none)"));

    out.push_str("\nCHANGES\n");
    let mut changes = Table::new(&["TIME", "ATTRIBUTE", "OLD", "NEW", "SOURCE"]).max_cell(40);
    for c in ci["changes"].as_array().into_iter().flatten() {
        let name = c["attribute"].as_str().unwrap_or_default();
        changes.row([
            cell(&c["at"]),
            name.to_string(),
            change_value(name, &c["old"]),
            change_value(name, &c["new"]),
            cell(&c["source"]),
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

fn first_of(attrs: &Value, names: &[&str]) -> String {
    names
        .iter()
        .map(|n| cell(&attrs[*n]))
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

fn os(attrs: &Value) -> String {
    let parts = [cell(&attrs["os_name"]), cell(&attrs["os_version"])];
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

fn dash(v: &Value) -> String {
    let s = cell(v);
    if s.is_empty() { "-".into() } else { s }
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
        let out = render_cis(
            &json!({"data": [host(), {"id": "ci-2", "class": "switch", "name": "sw01", "attributes": {}}]}),
        );
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
        assert_eq!(render_cis(&json!({"data": []})), "no CIs\n");
    }

    #[test]
    fn ci_detail_sections() {
        let mut ci = host();
        ci["relations"] = json!([{"kind": "connected_to", "target": "ci-2", "created_at": "2026-11-23T10:05:00Z"}]);
        ci["changes"] = json!([
            {"at": "2026-11-23T11:00:00Z", "attribute": "os_version", "old": "11", "new": "12", "source": "agent:a1"},
            {"at": "2026-11-23T10:00:00Z", "attribute": "packages", "old": null, "new": [1, 2], "source": "agent:a1"}
        ]);
        let out = render_ci(&json!({ "data": ci }));
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
        let out = render_ci(
            &json!({"data": {"id": "x", "class": "host", "name": "n", "attributes": {}}}),
        );
        assert!(
            out.contains("no attributes\n\nRELATIONS\n(none)\n\nCHANGES\n(none)\n"),
            "{out}"
        );
    }
}

//! The service CIs that checks declare (`[check.ci]`), as the reports the
//! transport sends: one per CI id, merged from every check naming it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use tocsin_proto::v1::DeviceReport;

use super::config::{CheckConfig, CheckKind, CiDeclaration};
use super::tcp::split_address;

/// The report of every service CI the checks declare, by CI id.
pub fn service_reports(checks: &[CheckConfig], agent_id: &str) -> Vec<DeviceReport> {
    let mut by_id: BTreeMap<&str, Vec<&CheckConfig>> = BTreeMap::new();
    for c in checks {
        if let Some(id) = c.ci_id() {
            by_id.entry(id).or_default().push(c);
        }
    }
    by_id
        .into_iter()
        .map(|(id, checks)| report(id, &checks, agent_id))
        .collect()
}

/// One CI's report from the checks that name it (validation made sure
/// their declarations agree; the first value set wins).
fn report(id: &str, checks: &[&CheckConfig], agent_id: &str) -> DeviceReport {
    let decl = merged(checks.iter().filter_map(|c| c.ci.as_ref()));
    let first = checks[0];
    let mut attributes: BTreeMap<String, Value> = BTreeMap::new();
    attributes.insert("target".into(), json!(first.target()));
    if let Some(host) = target_host(first) {
        attributes.insert("target_host".into(), json!(host));
    }
    if let Some(url) = checks.iter().find(|c| c.kind() == CheckKind::Http) {
        attributes.insert("url".into(), json!(url.target()));
    }
    let names: BTreeSet<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    let kinds: BTreeSet<&str> = checks.iter().map(|c| c.kind().as_str()).collect();
    attributes.insert("checks".into(), json!(names));
    attributes.insert("check_kinds".into(), json!(kinds));
    attributes.insert("checker".into(), json!(agent_id));
    let configured = [
        ("owner", &decl.owner),
        ("location", &decl.location),
        ("criticality", &decl.criticality),
        ("description", &decl.description),
    ];
    for (key, value) in configured {
        if let Some(v) = value {
            attributes.insert(key.into(), json!(v.trim()));
        }
    }
    DeviceReport {
        device_id: id.to_owned(),
        class: decl.class.unwrap_or_default().as_str().to_owned(),
        name: decl.name.as_deref().map_or(id, str::trim).to_owned(),
        attributes_json: attributes
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect(),
        complete: true,
        neighbours: Vec::new(),
        runs_on: decl.runs_on.as_deref().map_or("", str::trim).to_owned(),
    }
}

/// Every key set by any declaration, the first value winning.
fn merged<'a>(decls: impl Iterator<Item = &'a CiDeclaration>) -> CiDeclaration {
    let mut out = CiDeclaration::default();
    for d in decls {
        out.class = out.class.or(d.class);
        let pairs = [
            (&mut out.name, &d.name),
            (&mut out.owner, &d.owner),
            (&mut out.location, &d.location),
            (&mut out.criticality, &d.criticality),
            (&mut out.description, &d.description),
            (&mut out.runs_on, &d.runs_on),
        ];
        for (mine, theirs) in pairs {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
    }
    out
}

/// The host name or address a check's target points at.
fn target_host(check: &CheckConfig) -> Option<String> {
    let target = check.target();
    match check.kind() {
        CheckKind::Http => reqwest::Url::parse(target)
            .ok()
            .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_owned())),
        CheckKind::Tcp => split_address(target).ok().map(|(h, _)| h.to_owned()),
        CheckKind::Icmp | CheckKind::Dns => Some(target.trim_matches(['[', ']']).to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::config::{ProbeConfig, ServiceClass};
    use crate::checks::{DnsCheckConfig, HttpCheckConfig, IcmpCheckConfig, TcpCheckConfig};

    fn check(name: &str, kind: CheckKind, target: &str, ci: Option<CiDeclaration>) -> CheckConfig {
        let probe: ProbeConfig = match kind {
            CheckKind::Http => HttpCheckConfig::new(target).into(),
            CheckKind::Tcp => TcpCheckConfig::new(target).into(),
            CheckKind::Icmp => IcmpCheckConfig::new(target).into(),
            CheckKind::Dns => DnsCheckConfig::new(target).into(),
        };
        let mut c = CheckConfig::new(name, probe);
        c.ci = ci;
        c
    }

    #[test]
    fn checks_of_one_ci_make_one_report() {
        let shop = CiDeclaration {
            id: Some("shop".into()),
            name: Some("Shop".into()),
            criticality: Some("critical".into()),
            runs_on: Some("web01".into()),
            ..Default::default()
        };
        let checks = [
            check(
                "shop-tcp",
                CheckKind::Tcp,
                "[::1]:8443",
                Some(CiDeclaration {
                    id: Some("shop".into()),
                    owner: Some("team-web".into()),
                    ..Default::default()
                }),
            ),
            check(
                "shop-home",
                CheckKind::Http,
                "https://shop.example:8443/",
                Some(shop),
            ),
            check("gw", CheckKind::Icmp, "10.0.0.1", None),
            check(
                "dns",
                CheckKind::Dns,
                "example.org",
                Some(CiDeclaration {
                    class: Some(ServiceClass::Service),
                    ..Default::default()
                }),
            ),
        ];
        let reports = service_reports(&checks, "agent-1");
        assert_eq!(reports.len(), 2, "the icmp check has no CI");
        let (dns, shop) = (&reports[0], &reports[1]);
        assert_eq!(
            (
                dns.device_id.as_str(),
                dns.class.as_str(),
                dns.name.as_str()
            ),
            ("dns", "service", "dns")
        );
        assert_eq!(dns.runs_on, "");
        assert_eq!(
            (
                shop.class.as_str(),
                shop.name.as_str(),
                shop.runs_on.as_str()
            ),
            ("application", "Shop", "web01")
        );
        assert!(shop.complete);
        let attr = |k: &str| serde_json::from_str::<Value>(&shop.attributes_json[k]).unwrap();
        assert_eq!(attr("checks"), json!(["shop-home", "shop-tcp"]));
        assert_eq!(attr("check_kinds"), json!(["http", "tcp"]));
        assert_eq!(attr("url"), json!("https://shop.example:8443/"));
        assert_eq!(attr("target"), json!("[::1]:8443"));
        assert_eq!(attr("target_host"), json!("::1"));
        assert_eq!(attr("owner"), json!("team-web"));
        assert_eq!(attr("criticality"), json!("critical"));
        assert_eq!(attr("checker"), json!("agent-1"));
        assert!(
            !shop.attributes_json.contains_key("location"),
            "only what is configured"
        );
    }
}

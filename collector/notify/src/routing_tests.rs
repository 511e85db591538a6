use serde_json::json;

use super::*;
use crate::fixtures::incident;

fn routes(toml_text: &str) -> Vec<Route> {
    #[derive(Deserialize)]
    struct File {
        route: Vec<Route>,
    }
    toml::from_str::<File>(toml_text).unwrap().route
}

const ROUTES: &str = r#"
[[route]]
name = "network majors"
severity = ["major"]
ci_class = ["switch", "router"]
receivers = ["noc-dingtalk"]
tiers = { "2" = ["l2-pager"], "3" = ["l3-mail"] }
continue = true

[[route]]
ci_attributes = { department = "network" }
receivers = ["netops-mail", "noc-dingtalk"]

[[route]]
rule = ["cpu_high"]
receivers = ["sysadmins"]
"#;

#[test]
fn first_match_decides_continue_adds_and_default_catches_the_rest() {
    let r = routes(ROUTES);
    let default = vec!["catch-all".to_string()];
    let sw = incident("device_unreachable", "sw1", "switch", json!({}));
    assert_eq!(
        receivers(&r, &default, &sw, NotifyEvent::Opened),
        vec!["noc-dingtalk", "netops-mail"],
        "route 1 continues into route 2; a receiver is told once"
    );
    let host = incident(
        "cpu_high",
        "web1",
        "host",
        json!({"ci": {"name": "web1", "class": "host"}}),
    );
    assert_eq!(
        receivers(&r, &default, &host, NotifyEvent::Opened),
        vec!["sysadmins"]
    );
    let other = incident("memory_high", "web1", "host", json!({"ci": null}));
    assert_eq!(
        receivers(&r, &default, &other, NotifyEvent::Opened),
        vec!["catch-all"]
    );
    let warning = incident(
        "device_unreachable",
        "sw1",
        "switch",
        json!({"severity": "warning"}),
    );
    assert_eq!(
        receivers(&r, &default, &warning, NotifyEvent::Opened),
        vec!["netops-mail", "noc-dingtalk"],
        "route 1 wants majors only"
    );
}

#[test]
fn escalations_go_to_the_tier_receivers() {
    let r = routes(ROUTES);
    let tier2 = incident("device_unreachable", "sw1", "switch", json!({"tier": 2}));
    assert_eq!(
        receivers(&r, &[], &tier2, NotifyEvent::Escalated),
        vec!["l2-pager", "netops-mail", "noc-dingtalk"]
    );
    assert_eq!(
        receivers(&r, &[], &tier2, NotifyEvent::Resolved),
        vec!["noc-dingtalk", "l2-pager", "netops-mail"],
        "the tier that took over hears how it ends"
    );
}

#[test]
fn problems_name_unknown_receivers_and_tiers() {
    let mut r = routes(ROUTES);
    r[0].tiers.insert("4".into(), vec!["l2-pager".into()]);
    let p = route_problems(
        &r,
        &["nobody".into()],
        &["noc-dingtalk", "l2-pager", "netops-mail", "sysadmins"],
    );
    assert!(
        p.contains(&"notify.default_receivers: no receiver named \"nobody\"".to_string()),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|x| x.starts_with("notify.route[0].tiers.3: no receiver named \"l3-mail\"")),
        "{p:?}"
    );
    assert!(
        p.iter().any(|x| x.contains("tier \"4\" must be 1, 2 or 3")),
        "{p:?}"
    );
}

//! Routes: which receivers hear about which incidents, in the spirit of
//! Alertmanager's routing tree flattened to a list. Routes are tried in
//! order; the first that matches decides (unless it says `continue = true`,
//! then later matching routes add their receivers too). No match: the
//! default receivers. An escalation to tier N goes to the route's
//! `tiers.N` receivers when it names some; they then also hear the
//! incident's later events.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::NotifyEvent;
use tocsin_incidents::Incident;
use tocsin_model::Severity;

/// One `[[notify.route]]`. Every condition given must hold; an empty list
/// or map matches everything.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// A name for logs and the API.
    #[serde(default)]
    pub name: Option<String>,
    /// Severities, e.g. `["major"]`.
    #[serde(default)]
    pub severity: Vec<Severity>,
    /// Priorities, e.g. `["P1", "P2"]`.
    #[serde(default)]
    pub priority: Vec<String>,
    /// CI classes, e.g. `["switch", "router"]`.
    #[serde(default)]
    pub ci_class: Vec<String>,
    /// CI attributes from the incident's CI snapshot (`owner`, `department`,
    /// `location`, `criticality`, `vendor`, `hostname`…) that must equal.
    #[serde(default)]
    pub ci_attributes: BTreeMap<String, String>,
    /// Rule names.
    #[serde(default)]
    pub rule: Vec<String>,
    /// Support tiers the incident is at (1-3).
    #[serde(default)]
    pub tier: Vec<u8>,
    /// Receivers told.
    pub receivers: Vec<String>,
    /// Receivers of an escalation to a tier, e.g. `{ "2" = ["l2-oncall"] }`.
    #[serde(default)]
    pub tiers: BTreeMap<String, Vec<String>>,
    /// Keep looking at later routes after this one matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
}

impl Route {
    /// Whether `inc` satisfies every condition of the route.
    pub fn matches(&self, inc: &Incident) -> bool {
        let ci = inc.ci.as_ref();
        let attribute = |name: &str| -> Option<String> {
            let ci = ci?;
            match name {
                "owner" => ci.owner.clone(),
                "department" => ci.department.clone(),
                "location" => ci.location.clone(),
                "criticality" => ci.criticality.clone(),
                "vendor" => ci.vendor.clone(),
                "model" => ci.model.clone(),
                "hostname" => ci.hostname.clone(),
                "os_name" => ci.os_name.clone(),
                "name" => Some(ci.name.clone()),
                _ => None,
            }
        };
        let priority = format!("{:?}", inc.priority);
        (self.severity.is_empty() || self.severity.contains(&inc.severity))
            && (self.priority.is_empty()
                || self
                    .priority
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(&priority)))
            && (self.ci_class.is_empty() || ci.is_some_and(|c| self.ci_class.contains(&c.class)))
            && self
                .ci_attributes
                .iter()
                .all(|(k, v)| attribute(k).is_some_and(|a| a == *v))
            && (self.rule.is_empty() || self.rule.contains(&inc.rule))
            && (self.tier.is_empty() || self.tier.contains(&inc.tier))
    }

    /// The receivers of `event` on this route: an escalation goes to the
    /// new tier's receivers; every other event to the route's receivers and
    /// to those of every tier the incident was escalated to, so a tier that
    /// took over also hears how it ends.
    fn receivers_for(&self, inc: &Incident, event: NotifyEvent) -> Vec<&String> {
        if event == NotifyEvent::Escalated
            && let Some(r) = self.tiers.get(&inc.tier.to_string())
        {
            return r.iter().collect();
        }
        let escalated = (2..=inc.tier).filter_map(|t| self.tiers.get(&t.to_string()));
        self.receivers.iter().chain(escalated.flatten()).collect()
    }
}

/// Every problem with `routes`, given the receiver names that exist.
pub fn route_problems(routes: &[Route], default: &[String], receivers: &[&str]) -> Vec<String> {
    let mut p = Vec::new();
    let mut check = |key: String, names: &[String]| {
        for n in names.iter().filter(|n| !receivers.contains(&n.as_str())) {
            p.push(format!("{key}: no receiver named {n:?}"));
        }
    };
    check("notify.default_receivers".into(), default);
    for (i, r) in routes.iter().enumerate() {
        check(format!("notify.route[{i}].receivers"), &r.receivers);
        for (tier, names) in &r.tiers {
            check(format!("notify.route[{i}].tiers.{tier}"), names);
        }
    }
    for (i, r) in routes.iter().enumerate() {
        for tier in r.tiers.keys() {
            if !matches!(tier.as_str(), "1" | "2" | "3") {
                p.push(format!(
                    "notify.route[{i}].tiers: tier {tier:?} must be 1, 2 or 3"
                ));
            }
        }
        if r.receivers.is_empty() && r.tiers.is_empty() {
            p.push(format!(
                "notify.route[{i}].receivers: must name at least one receiver"
            ));
        }
    }
    p
}

/// The receivers `event` of `inc` goes to (each once, in route order).
pub fn receivers(
    routes: &[Route],
    default: &[String],
    inc: &Incident,
    event: NotifyEvent,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut matched = false;
    for r in routes.iter().filter(|r| r.matches(inc)) {
        matched = true;
        for name in r.receivers_for(inc, event) {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        if !r.continue_matching {
            break;
        }
    }
    if !matched {
        out = default.to_vec();
    }
    out
}

#[cfg(test)]
#[path = "routing_tests.rs"]
mod tests;

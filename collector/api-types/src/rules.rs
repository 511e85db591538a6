//! `/api/v1/rules`: the rules in force ([`RulesAnswer`]) and
//! `POST /api/v1/rules/reload` (`Data<RulesReloaded>`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use tocsin_model::rule::{
    Comparison, FlapConfig, NoDataConfig, RuleInfo, Thresholds, Transform,
};

/// Answer of `GET /api/v1/rules`: the usual `{"data": …}` plus Prometheus'
/// `"status": "success"`, so Grafana's alerting pages, which ask every
/// Prometheus source for its rules, show nothing instead of an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulesAnswer {
    /// Always `success`.
    pub status: String,
    /// The rules.
    pub data: RulesInForce,
}

impl RulesAnswer {
    /// A successful answer carrying `data`.
    pub fn success(data: RulesInForce) -> Self {
        Self {
            status: "success".into(),
            data,
        }
    }
}

/// The `data` of [`RulesAnswer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulesInForce {
    /// Prometheus' rule groups: always empty (for Grafana).
    #[serde(default)]
    pub groups: Vec<Value>,
    /// Every rule, built-in and from the file, enabled or not, sorted by name.
    pub rules: Vec<RuleInfo>,
    /// Flap detection settings.
    pub flapping: FlapConfig,
    /// The no-data (`agent_lost`) rule.
    pub no_data: NoDataConfig,
}

/// Answer of `POST /api/v1/rules/reload`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesReloaded {
    /// Rules in force after the reload.
    pub rules: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rules_answer_round_trips_in_its_prometheus_shape() {
        let wire = json!({"status": "success", "data": {"groups": [], "rules": [
            {"name": "if_errors", "selector": "if_in_errors_total{ifName=~\"eth.*\"}",
             "ci_class": "switch", "comparison": ">=",
             "thresholds": {"warning": 0.5, "general": null, "major": 10.0},
             "critical_severity": "major",
             "for": "0s", "recovery": 0.0, "recover_for": "1m 30s", "transform": {"rate": "5m"},
             "object_labels": null, "title": "t {{ value }}", "description": "d",
             "enabled": false, "builtin": false}
        ],
        "flapping": {"enabled": true, "window": "10m", "max_transitions": 5},
        "no_data": {"enabled": false, "severity": "major", "min_silence": "1m",
                    "intervals": 3, "startup_grace": "2m"}}});
        let a: RulesAnswer = serde_json::from_value(wire.clone()).unwrap();
        let r = &a.data.rules[0];
        assert_eq!(r.comparison, Comparison::Ge);
        assert_eq!(
            r.transform,
            Some(Transform::Rate(std::time::Duration::from_secs(300)))
        );
        assert_eq!(r.recover_for.as_secs(), 90);
        assert_eq!(serde_json::to_value(&a).unwrap(), wire);
        let built = RulesAnswer::success(a.data.clone());
        assert_eq!(built, a);
    }

    #[test]
    fn a_reload_round_trips() {
        let r: RulesReloaded = serde_json::from_value(json!({"rules": 9})).unwrap();
        assert_eq!(r, RulesReloaded { rules: 9 });
        assert_eq!(serde_json::to_value(r).unwrap(), json!({"rules": 9}));
    }
}

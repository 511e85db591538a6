//! Opening a new incident: CI snapshot, priority, SLA clock, maintenance
//! suppression, topology parent, and the dependents it absorbs.

use std::collections::BTreeMap;

use serde_json::json;

use super::events::{Firing, critical_note, sys};
use super::manager::IncidentManager;
use super::sla_clock;
use super::state::{Live, State};
use super::store::Txn;
use super::topology;
use tocsin_model::event::RuleEvent;
use tocsin_model::incident::{CiSnapshot, Criticality, Incident, SlaState, Status, TimelineKind};
use tocsin_model::time::rfc3339;
use tocsin_storage::StorageError;

impl IncidentManager {
    /// Opens a new incident for a firing event (its key has no live incident
    /// and no reopenable one).
    pub(super) fn open_new(
        &self,
        st: &mut State,
        txn: &mut Txn,
        ev: &RuleEvent,
        f: &Firing<'_>,
        now: i64,
    ) -> Result<(), StorageError> {
        let ci = self.cmdb.get_ci(&ev.ci_id)?;
        let criticality =
            Criticality::from_attribute(ci.as_ref().and_then(|c| c.attributes.get("criticality")));
        let upstream = topology::upstream(self.store.db(), &self.config.topology, &ev.ci_id)?;
        let parent = topology::find_parent(st, &upstream, f.severity);
        let class = ci.as_ref().map(|c| c.class.as_str());
        let suppressed = self
            .suppressor
            .as_ref()
            .and_then(|s| s.suppress(&ev.ci_id, class, now));
        let id = st.next_id;
        st.next_id += 1;
        let value = if f.value.is_finite() {
            f.value
        } else {
            f.threshold
        };
        let mut inc = Incident {
            id,
            key: ev.key.clone(),
            rule: ev.rule.clone(),
            ci_id: ev.ci_id.clone(),
            ci: ci.as_ref().map(CiSnapshot::of),
            object: ev.object.iter().cloned().collect::<BTreeMap<_, _>>(),
            title: f.title.to_string(),
            description: f.description.to_string(),
            status: Status::Open,
            severity: f.severity,
            current_severity: f.severity,
            priority: self
                .config
                .priority_matrix
                .priority(f.severity, criticality),
            criticality,
            opened_at: now,
            acknowledged_at: None,
            acknowledged_by: None,
            assigned_to: None,
            assigned_at: None,
            resolved_at: None,
            resolved_by: None,
            closed_at: None,
            closed_by: None,
            last_value: value,
            peak_value: value,
            threshold: f.threshold,
            first_sample_at: ev.at_ms,
            last_sample_at: ev.at_ms,
            occurrences: 1,
            reopen_count: 0,
            flapping: false,
            flap_transitions: 0,
            condition_active: true,
            tier: 1,
            parent_id: parent,
            suppressed: suppressed.clone(),
            problem_id: None,
            sla: SlaState::default(),
            timeline_count: 0,
            updated_at: now,
        };
        sla_clock::start(&mut inc, &self.config, now);
        let mut msg = format!("opened: {}", inc.title);
        if let Some(crossed) = f.crossed {
            msg.push_str(&critical_note(crossed, f.severity));
        }
        if let Some(p) = parent {
            msg.push_str(&format!(
                " (attached to incident {p}: a CI it depends on has an open incident)"
            ));
        }
        let mut data = json!({"severity": f.severity, "value": f.value, "threshold": f.threshold,
                              "priority": inc.priority, "parent_id": parent, "sample_at": rfc3339(ev.at_ms)});
        if let Some(crossed) = f.crossed {
            data["crossed_severity"] = json!(crossed);
        }
        txn.entry(&mut inc, sys(now, TimelineKind::Opened, msg, data))?;
        if let Some(reason) = &suppressed {
            let msg = format!("suppressed: {reason}; no notification, no SLA");
            txn.entry(
                &mut inc,
                sys(
                    now,
                    TimelineKind::Suppressed,
                    msg,
                    json!({"reason": reason}),
                ),
            )?;
        }
        txn.index_new(&inc);
        txn.set_live(id, true);
        txn.put(&inc)?;
        tracing::info!(incident = id, key = %inc.key, severity = f.severity.as_str(), parent, "incident opened");
        if let Some(p) = parent {
            topology::note_child_attached(st, txn, p, &inc, now)?;
        }
        let ci_id = inc.ci_id.clone();
        st.remember(Live::new(inc, upstream, now));
        topology::attach_dependents(st, txn, &self.config, parent.unwrap_or(id), &ci_id, now)
    }
}

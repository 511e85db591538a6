//! People's actions on an incident. Each either applies completely (one
//! atomic write of the incident and its timeline entry) or changes nothing.
//!
//! | action  | allowed from                         | note                |
//! |---------|--------------------------------------|---------------------|
//! | ack     | open                                 | optional            |
//! | assign  | open, acknowledged                   | status unchanged    |
//! | comment | any                                  | text required       |
//! | resolve | open, acknowledged                   | required            |
//! | close   | resolved; open, acknowledged         | required unless resolved |
//!
//! Closing an open or acknowledged incident (a false alarm, a fault fixed
//! outside monitoring) also sets its resolution time. Resolving or closing
//! while the rule's condition still holds does not reopen the incident on
//! the next breaching sample: further samples of that fault are ignored
//! until the condition clears (see `condition_stale_after`).

use serde_json::{Value, json};

use super::error::IncidentError;
use super::manager::IncidentManager;
use super::sla_clock;
use super::state::{State, is_live};
use super::store::Txn;
use tocsin_model::incident::{Incident, Status, TimelineEntry, TimelineKind};

const MAX_TEXT: usize = 10_000;

fn illegal(inc: &Incident, action: &str) -> IncidentError {
    let message = match (inc.status, action) {
        (Status::Acknowledged, "acknowledged") => {
            format!("incident {} is already acknowledged", inc.id)
        }
        (s, _) => format!(
            "incident {} is {}; it cannot be {action}",
            inc.id,
            s.as_str()
        ),
    };
    IncidentError::IllegalTransition {
        id: inc.id,
        message,
    }
}

fn check_text(
    what: &str,
    value: Option<&str>,
    required: bool,
) -> Result<Option<String>, IncidentError> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    match value {
        None if required => Err(IncidentError::Invalid(format!("{what}: must not be empty"))),
        Some(v) if v.chars().count() > MAX_TEXT => Err(IncidentError::Invalid(format!(
            "{what}: longer than {MAX_TEXT} characters"
        ))),
        v => Ok(v.map(str::to_string)),
    }
}

fn entry(now: i64, actor: &str, kind: TimelineKind, message: String, data: Value) -> TimelineEntry {
    TimelineEntry {
        at: now,
        actor: actor.to_string(),
        kind,
        message,
        data,
    }
}

type Action<'a> =
    dyn FnOnce(&mut State, &mut Txn, &mut Incident, i64) -> Result<(), IncidentError> + 'a;

impl IncidentManager {
    /// Runs `action` on a copy of incident `id` and writes the result.
    fn act(&self, id: u64, action: Box<Action<'_>>) -> Result<Incident, IncidentError> {
        let now = self.now();
        let mut st = self.state.lock();
        let mut inc = match st.live.get(&id) {
            Some(l) => l.inc.clone(),
            None => self.store.get(id)?.ok_or(IncidentError::NotFound(id))?,
        };
        let was_live = is_live(&inc);
        let mut txn = Txn::new(&self.store);
        action(&mut st, &mut txn, &mut inc, now)?;
        let now_live = is_live(&inc);
        if was_live != now_live {
            txn.set_live(id, now_live);
        }
        txn.put(&inc)?;
        if now_live && let Some(l) = st.live.get_mut(&id) {
            l.inc = inc.clone();
            l.dirty = false;
        } else if !now_live {
            st.forget(id);
        }
        self.commit(st, txn, true)?;
        Ok(inc)
    }

    /// Acknowledges an open incident.
    pub fn ack(&self, id: u64, actor: &str, note: Option<&str>) -> Result<Incident, IncidentError> {
        let note = check_text("note", note, false)?;
        let actor = actor.to_string();
        self.act(
            id,
            Box::new(move |_, txn, inc, now| {
                if inc.status != Status::Open {
                    return Err(illegal(inc, "acknowledged"));
                }
                inc.status = Status::Acknowledged;
                inc.acknowledged_at.get_or_insert(now);
                inc.acknowledged_by = Some(actor.clone());
                sla_clock::on_ack(inc, now);
                let msg = match &note {
                    Some(n) => format!("acknowledged by {actor}: {n}"),
                    None => format!("acknowledged by {actor}"),
                };
                txn.entry(
                    inc,
                    entry(
                        now,
                        &actor,
                        TimelineKind::Acknowledged,
                        msg,
                        json!({"note": note}),
                    ),
                )?;
                Ok(())
            }),
        )
    }

    /// Assigns an open or acknowledged incident to an engineer.
    pub fn assign(&self, id: u64, actor: &str, assignee: &str) -> Result<Incident, IncidentError> {
        let assignee = check_text("assignee", Some(assignee), true)?.unwrap_or_default();
        let actor = actor.to_string();
        self.act(
            id,
            Box::new(move |_, txn, inc, now| {
                if !inc.status.is_active() {
                    return Err(illegal(inc, "assigned"));
                }
                let previous = inc.assigned_to.replace(assignee.clone());
                inc.assigned_at = Some(now);
                sla_clock::on_assign(inc, now);
                let msg = match &previous {
                    Some(p) if *p != assignee => {
                        format!("reassigned from {p} to {assignee} by {actor}")
                    }
                    _ => format!("assigned to {assignee} by {actor}"),
                };
                let data = json!({"assignee": assignee, "previous": previous});
                txn.entry(inc, entry(now, &actor, TimelineKind::Assigned, msg, data))?;
                Ok(())
            }),
        )
    }

    /// Adds a comment (in any status).
    pub fn comment(&self, id: u64, actor: &str, text: &str) -> Result<Incident, IncidentError> {
        let body = check_text("text", Some(text), true)?.unwrap_or_default();
        let actor = actor.to_string();
        self.act(
            id,
            Box::new(move |_, txn, inc, now| {
                txn.entry(
                    inc,
                    entry(now, &actor, TimelineKind::Comment, body, Value::Null),
                )?;
                Ok(())
            }),
        )
    }

    /// Resolves an open or acknowledged incident; a note is required.
    pub fn resolve(&self, id: u64, actor: &str, note: &str) -> Result<Incident, IncidentError> {
        let note = check_text("note", Some(note), true)?.unwrap_or_default();
        let actor = actor.to_string();
        self.act(
            id,
            Box::new(move |st, txn, inc, now| {
                if !inc.status.is_active() {
                    return Err(illegal(inc, "resolved"));
                }
                Self::mark_resolved(st, inc, &actor, now);
                let msg = format!("resolved by {actor}: {note}");
                let data = json!({"note": note, "condition_active": inc.condition_active});
                txn.entry(inc, entry(now, &actor, TimelineKind::Resolved, msg, data))?;
                Ok(())
            }),
        )
    }

    /// Closes a resolved incident, or an open/acknowledged one with a note.
    pub fn close(
        &self,
        id: u64,
        actor: &str,
        note: Option<&str>,
    ) -> Result<Incident, IncidentError> {
        let note = check_text("note", note, false)?;
        let actor = actor.to_string();
        self.act(
            id,
            Box::new(move |st, txn, inc, now| {
                let was = inc.status;
                match was {
                    Status::Resolved => {}
                    Status::Open | Status::Acknowledged if note.is_some() => {
                        Self::mark_resolved(st, inc, &actor, now);
                    }
                    Status::Open | Status::Acknowledged => {
                        return Err(IncidentError::Invalid(format!(
                            "note: required to close incident {id}, which is {} (not resolved)",
                            was.as_str()
                        )));
                    }
                    Status::Closed => return Err(illegal(inc, "closed")),
                }
                inc.status = Status::Closed;
                inc.closed_at = Some(now);
                inc.closed_by = Some(actor.clone());
                let msg = match &note {
                    Some(n) => format!("closed by {actor}: {n}"),
                    None => format!("closed by {actor}"),
                };
                let data = json!({"note": note, "from": was});
                txn.entry(inc, entry(now, &actor, TimelineKind::Closed, msg, data))?;
                Ok(())
            }),
        )
    }

    /// Links an incident to a problem record (called by the problem tracker).
    pub fn set_problem(
        &self,
        id: u64,
        actor: &str,
        problem_id: u64,
    ) -> Result<Incident, IncidentError> {
        let actor = actor.to_string();
        self.act(
            id,
            Box::new(move |_, txn, inc, now| {
                if inc.problem_id == Some(problem_id) {
                    return Ok(());
                }
                inc.problem_id = Some(problem_id);
                let msg = format!("linked to problem {problem_id}");
                txn.entry(
                    inc,
                    entry(
                        now,
                        &actor,
                        TimelineKind::ProblemLinked,
                        msg,
                        json!({"problem_id": problem_id}),
                    ),
                )?;
                Ok(())
            }),
        )
    }

    /// Records that a notification was sent (called by the notifier).
    pub fn record_notified(
        &self,
        id: u64,
        actor: &str,
        message: &str,
        data: Value,
    ) -> Result<Incident, IncidentError> {
        let message = check_text("message", Some(message), true)?.unwrap_or_default();
        let actor = actor.to_string();
        self.act(
            id,
            Box::new(move |_, txn, inc, now| {
                txn.entry(
                    inc,
                    entry(now, &actor, TimelineKind::Notified, message, data),
                )?;
                Ok(())
            }),
        )
    }
}

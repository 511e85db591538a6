//! Alerting: the step between ingest and incidents. Every stored batch goes
//! through the rule [`Evaluator`], every agent heartbeat through [`NoData`],
//! and the resulting rule events to the [`IncidentManager`] — before the
//! batch is acknowledged, so "acked" means "evaluated and persisted".

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use crate::error::Error;
use crate::ingest::{CiContext, ObservedSample, SampleObserver};
use crate::metrics::Metrics;
use tocsin_cmdb::Cmdb;
use tocsin_incidents::IncidentConfig;
use tocsin_incidents::maintenance::MaintenanceStore;
use tocsin_incidents::problems::{ProblemConfig, ProblemStore};
use tocsin_incidents::{IncidentError, IncidentFilter, IncidentManager};
use tocsin_model::incident::{SYSTEM, Status};
use tocsin_model::time::Clock;
use tocsin_rules::{AGENT_LOST, Evaluator, NoData, RuleEvent, RuleSet, RulesError, SeriesInfo};
use tocsin_storage::{Cf, Db, keys};

/// See the module docs.
pub struct Alerting {
    evaluator: Evaluator,
    nodata: NoData,
    incidents: Arc<IncidentManager>,
    rules_file: Option<PathBuf>,
    metrics: Arc<Metrics>,
    /// Events the incident manager failed to store, retried every tick (the
    /// evaluator has moved on, so dropping them could leave an incident open
    /// forever or an outage without one).
    retry: Mutex<Vec<RuleEvent>>,
    /// The incident manager's clock: startup grace, restore, the evaluation horizon.
    clock: Clock,
}

/// Most events kept for retry; beyond it the oldest are dropped (and logged).
const MAX_RETRY_EVENTS: usize = 100_000;

/// Samples further ahead of the collector's clock than this are stored but
/// not evaluated: one sample from a fast clock would otherwise make the
/// evaluator ignore its series until real time catches up.
const MAX_EVAL_FUTURE_MS: i64 = 60_000;

impl Alerting {
    /// Alerting with `rules` (already loaded from `rules_file`, if any),
    /// reading the time from `incidents`' clock.
    pub fn new(
        rules: RuleSet,
        rules_file: Option<PathBuf>,
        incidents: Arc<IncidentManager>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let clock = incidents.clock().clone();
        let nodata = NoData::new(rules.no_data, clock.now_ms());
        Self {
            evaluator: Evaluator::new(rules),
            nodata,
            incidents,
            rules_file,
            metrics,
            retry: Mutex::new(Vec::new()),
            clock,
        }
    }

    /// The clock alerting reads (its incident manager's); the server's
    /// [`tick`](Self::tick) loop reads it too.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Loads the rules file (or the built-ins alone when there is none).
    pub fn load_rules(rules_file: Option<&std::path::Path>) -> Result<RuleSet, RulesError> {
        match rules_file {
            Some(path) => tocsin_rules::load(path),
            None => tocsin_rules::parse(""),
        }
    }

    /// Carries state over a collector restart: incidents still open keep
    /// their rule state (so they resolve when the condition clears), agents
    /// already lost stay lost, and every agent is expected back (so it is
    /// reported lost if it never returns after the startup grace period) —
    /// except hosts that never had an agent and agents whose last loss a
    /// person resolved or closed (decommissioned), which would otherwise
    /// raise a false `agent_lost` after every restart.
    ///
    /// Incidents still open for a rule that no longer exists or is disabled
    /// are resolved (actor `system`), as a live reload would eventually do:
    /// no series would ever claim their rule state, so they would stay open
    /// forever.
    pub fn restore(&self, cmdb: &Cmdb, db: &Db) -> Result<(), Error> {
        self.resolve_orphaned()?;
        self.evaluator.restore_open(
            self.incidents
                .open_keys()
                .into_iter()
                .filter(|(k, _)| !k.starts_with(AGENT_LOST)),
        );
        let now = self.clock.now_ms();
        for ci in cmdb.list()? {
            let has_agent = db.get(Cf::Meta, &keys::agent(&ci.id))?.is_some();
            if !has_agent {
                continue;
            }
            let filter = IncidentFilter {
                ci_id: Some(ci.id.clone()),
                ..Default::default()
            };
            let last_loss = self
                .incidents
                .list(&filter)?
                .into_iter()
                .find(|i| i.rule == AGENT_LOST);
            let retired = last_loss.is_some_and(|i| {
                !i.status.is_active() && i.resolved_by.as_deref().is_some_and(|by| by != "system")
            });
            if !retired {
                self.nodata.expect(&ci.id, &ci.name, now);
            }
        }
        let filter = IncidentFilter {
            status: vec![Status::Open, Status::Acknowledged],
            ..Default::default()
        };
        for inc in self
            .incidents
            .list(&filter)?
            .into_iter()
            .filter(|i| i.rule == AGENT_LOST)
        {
            let name = cmdb
                .get_ci(&inc.ci_id)?
                .map_or_else(|| inc.ci_id.clone(), |c| c.name);
            self.nodata.restore_lost(&inc.ci_id, &name, inc.opened_at);
        }
        Ok(())
    }

    /// Resolves the open and acknowledged incidents whose rule (other than
    /// `agent_lost`) is absent from or disabled in the rules in force.
    fn resolve_orphaned(&self) -> Result<(), Error> {
        let rules = self.evaluator.rules();
        let filter = IncidentFilter {
            status: vec![Status::Open, Status::Acknowledged],
            ..Default::default()
        };
        for inc in self.incidents.list(&filter)? {
            if inc.rule == AGENT_LOST {
                continue;
            }
            let note = match rules.get(&inc.rule) {
                None => format!("rule {} no longer exists", inc.rule),
                Some(r) if !r.enabled => format!("rule {} is disabled", inc.rule),
                Some(_) => continue,
            };
            match self.incidents.resolve(inc.id, SYSTEM, &note) {
                Ok(_) => {
                    tracing::info!(incident = inc.id, rule = %inc.rule, "{note}; incident resolved")
                }
                // Resolved meanwhile (e.g. with a parent): nothing to do.
                Err(IncidentError::IllegalTransition { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Re-reads the rules file; on any problem the running rules stay.
    pub fn reload(&self) -> Result<usize, RulesError> {
        let set = Self::load_rules(self.rules_file.as_deref())?;
        let n = set.rules.iter().filter(|r| r.enabled).count();
        self.nodata.set_config(set.no_data);
        self.evaluator.reload(set);
        tracing::info!(rules = n, "rules reloaded");
        Ok(n)
    }

    /// The rules in force.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.evaluator.rules()
    }

    /// The incident manager.
    pub fn incidents(&self) -> &Arc<IncidentManager> {
        &self.incidents
    }

    /// Called every second: no-data detection, SLA clocks, coalesced writes.
    pub fn tick(&self, now: i64) {
        self.retry_failed();
        let events = self.nodata.tick(now);
        self.deliver(events, None);
        if let Err(e) = self.incidents.tick(now) {
            tracing::error!(error = %e, "incident tick failed");
        }
    }

    fn deliver(&self, events: Vec<RuleEvent>, received: Option<Instant>) {
        if events.is_empty() {
            return;
        }
        let n = events.len() as u64;
        match self.incidents.handle(events.clone()) {
            Ok(()) => {
                self.metrics.rule_events.inc_by(n);
                if let Some(t) = received {
                    self.metrics
                        .sample_to_incident
                        .observe(t.elapsed().as_secs_f64());
                }
            }
            Err(e) => {
                self.metrics.reject("incident_write_failed");
                tracing::error!(error = %e, events = n, "incident manager failed; events kept for retry");
                let mut retry = self.retry.lock();
                retry.extend(events);
                if retry.len() > MAX_RETRY_EVENTS {
                    let dropped = retry.len() - MAX_RETRY_EVENTS;
                    retry.drain(..dropped);
                    tracing::error!(dropped, "retry queue full; oldest rule events dropped");
                }
            }
        }
    }

    fn retry_failed(&self) {
        let events = std::mem::take(&mut *self.retry.lock());
        if !events.is_empty() {
            tracing::info!(events = events.len(), "retrying rule events");
            self.deliver(events, None);
        }
    }
}

/// What alerting is built from.
pub struct AlertingSetup {
    /// The rules in force.
    pub rules: RuleSet,
    /// Where they came from (reloaded from there).
    pub rules_file: Option<PathBuf>,
    /// Incident settings.
    pub incidents: IncidentConfig,
    /// Problem record settings.
    pub problems: ProblemConfig,
    /// Where incident changes stage their notifications (none: nobody is told).
    pub outbox: Option<Arc<dyn tocsin_incidents::OutboxHook>>,
}

/// Alerting with the stores it works with: what the server (and the benches)
/// build at startup.
pub struct AlertingParts {
    /// Rules and incidents.
    pub alerting: Arc<Alerting>,
    /// Maintenance windows (the incident manager's suppressor).
    pub maintenance: Arc<MaintenanceStore>,
    /// Problem records.
    pub problems: Arc<ProblemStore>,
}

impl AlertingParts {
    /// Opens the incident, maintenance and problem stores on `db`, wires them
    /// to `rules` (and the notification `outbox`, if any), and restores their
    /// state after a restart. Blocking.
    pub fn open(
        db: &Arc<Db>,
        cmdb: &Arc<Cmdb>,
        metrics: Arc<Metrics>,
        setup: AlertingSetup,
    ) -> Result<Self, Error> {
        Self::open_with_clock(db, cmdb, metrics, setup, Clock::system())
    }

    /// [`open`](Self::open) with another wall clock, shared by alerting,
    /// the incident manager and the maintenance windows (tests, simulations).
    pub fn open_with_clock(
        db: &Arc<Db>,
        cmdb: &Arc<Cmdb>,
        metrics: Arc<Metrics>,
        setup: AlertingSetup,
        clock: Clock,
    ) -> Result<Self, Error> {
        let AlertingSetup {
            rules,
            rules_file,
            incidents,
            problems,
            outbox,
        } = setup;
        let maintenance = Arc::new(MaintenanceStore::open_with_clock(
            db.clone(),
            clock.clone(),
        )?);
        let problems = Arc::new(ProblemStore::open(db.clone(), problems)?);
        let mut manager =
            IncidentManager::open_with_clock(db.clone(), cmdb.clone(), incidents, clock)?
                .with_suppressor(maintenance.clone())
                .with_problems(problems.clone());
        if let Some(outbox) = outbox {
            manager = manager.with_outbox(outbox);
        }
        let alerting = Arc::new(Alerting::new(rules, rules_file, Arc::new(manager), metrics));
        alerting.restore(cmdb, db)?;
        Ok(Self {
            alerting,
            maintenance,
            problems,
        })
    }
}

impl SampleObserver for Alerting {
    fn observe(&self, samples: &[ObservedSample<'_>], received: Instant) {
        let mut events = Vec::new();
        let horizon = self.clock.now_ms() + MAX_EVAL_FUTURE_MS;
        for s in samples.iter().filter(|s| s.ts_ms <= horizon) {
            let info = SeriesInfo {
                series_id: s.series,
                labels: &s.def.labels,
                ci_id: &s.ci.id,
                ci_class: &s.ci.class,
                ci_name: &s.ci.name,
            };
            events.extend(self.evaluator.observe(&info, s.ts_ms, s.value));
        }
        self.deliver(events, Some(received));
    }

    fn seen(&self, ci: &CiContext) {
        self.nodata.seen(&ci.id, &ci.name, 0, self.clock.now_ms());
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use tocsin_incidents::IncidentConfig;
    use tocsin_model::time::ManualClock;

    /// 2023-11-14T22:13:20Z, where every test's clock starts.
    const T0: i64 = 1_700_000_000_000;

    const RULES: &str = "[defaults]\nenabled = false\n[no_data]\nmin_silence = \"1s\"\nintervals = 1\nstartup_grace = \"1s\"\n";

    fn alerting(db: &Arc<Db>, cmdb: &Arc<Cmdb>, clock: &ManualClock) -> Alerting {
        alerting_with(db, cmdb, clock, RULES)
    }

    fn alerting_with(db: &Arc<Db>, cmdb: &Arc<Cmdb>, clock: &ManualClock, rules: &str) -> Alerting {
        let manager = IncidentManager::open_with_clock(
            db.clone(),
            cmdb.clone(),
            IncidentConfig::default(),
            clock.clock(),
        )
        .unwrap();
        let rules = tocsin_rules::parse(rules).unwrap();
        let a = Alerting::new(rules, None, Arc::new(manager), Arc::new(Metrics::default()));
        a.restore(cmdb, db).unwrap();
        a
    }

    fn lost(a: &Alerting, ci: &str) -> Vec<tocsin_incidents::Incident> {
        let filter = IncidentFilter {
            ci_id: Some(ci.into()),
            ..Default::default()
        };
        a.incidents()
            .list(&filter)
            .unwrap()
            .into_iter()
            .filter(|i| i.rule == AGENT_LOST)
            .collect()
    }

    #[test]
    fn a_restart_expects_agents_back_but_not_hosts_without_one_or_retired_ones() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let cmdb = Arc::new(Cmdb::new(db.clone()));
        cmdb.create("by-hand", "host", "no-agent-here", BTreeMap::new(), "ops")
            .unwrap();
        for id in ["agent-1", "agent-2"] {
            cmdb.upsert(id, "host", id, BTreeMap::new(), &[], "agent")
                .unwrap();
            let mut b = db.tx();
            b.put(Cf::Meta, keys::agent(id), 0u64.to_be_bytes());
            db.write(b, true).unwrap();
        }

        // First run: both agents stay silent past the grace period and the
        // limit (1 s each); lost once the silence is longer than the limit.
        let clock = ManualClock::new(T0);
        let a = alerting(&db, &cmdb, &clock);
        a.tick(clock.advance(1_000));
        assert!(lost(&a, "agent-1").is_empty(), "silent for just the limit");
        a.tick(clock.advance(1));
        assert_eq!(lost(&a, "agent-1").len(), 1);
        assert_eq!(lost(&a, "agent-2").len(), 1);
        assert!(
            lost(&a, "by-hand").is_empty(),
            "a host CI without an agent is never lost"
        );
        // agent-2 was decommissioned: a person closes its incident.
        let id = lost(&a, "agent-2")[0].id;
        a.incidents()
            .close(id, "ops", Some("host decommissioned"))
            .unwrap();
        drop(a);

        // After a restart: agent-1's incident is still open (not duplicated),
        // agent-2 is not reported again, the hand-made host still never.
        let a = alerting(&db, &cmdb, &clock);
        a.tick(clock.advance(10_000));
        assert_eq!(lost(&a, "agent-1").len(), 1);
        assert_eq!(
            lost(&a, "agent-2").len(),
            1,
            "a retired agent must not be reported again"
        );
        assert!(lost(&a, "by-hand").is_empty());
    }

    #[test]
    fn an_agent_is_seen_at_the_time_of_the_alerting_clock() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let cmdb = Arc::new(Cmdb::new(db.clone()));
        cmdb.upsert("agent-1", "host", "agent-1", BTreeMap::new(), &[], "agent")
            .unwrap();
        let mut b = db.tx();
        b.put(Cf::Meta, keys::agent("agent-1"), 0u64.to_be_bytes());
        db.write(b, true).unwrap();
        let clock = ManualClock::new(T0);
        let a = alerting(&db, &cmdb, &clock);
        clock.advance(800);
        let ci = CiContext {
            id: "agent-1".into(),
            class: "host".into(),
            name: "agent-1".into(),
        };
        a.seen(&ci);
        a.tick(clock.advance(1_000));
        assert!(
            lost(&a, "agent-1").is_empty(),
            "silent for just the limit since it was seen"
        );
        a.tick(clock.advance(1));
        assert_eq!(lost(&a, "agent-1").len(), 1, "seen 1001 ms ago");
    }

    fn firing(rule: &str, ci: &str) -> RuleEvent {
        use tocsin_model::event::{EventKind, Severity, dedup_key};
        RuleEvent {
            rule: rule.into(),
            ci_id: ci.into(),
            key: dedup_key(rule, ci, &[]),
            object: Vec::new(),
            at_ms: T0,
            kind: EventKind::Firing {
                severity: Severity::Major,
                value: 99.0,
                threshold: 95.0,
                critical_severity: None,
                title: format!("{rule} on {ci}"),
                description: String::new(),
            },
        }
    }

    #[test]
    fn a_restart_resolves_incidents_of_removed_or_disabled_rules() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let cmdb = Arc::new(Cmdb::new(db.clone()));
        let clock = ManualClock::new(T0);
        let manager = IncidentManager::open_with_clock(
            db.clone(),
            cmdb.clone(),
            IncidentConfig::default(),
            clock.clock(),
        )
        .unwrap();
        manager
            .handle(vec![
                firing("filesystem_full", "h1"),
                firing("cpu_high", "h1"),
                firing("gone_rule", "h1"),
                firing("gone_rule", "h2"),
                firing(AGENT_LOST, "h3"),
            ])
            .unwrap();
        // Acknowledged counts as open too.
        manager.ack(4, "ops", None).unwrap();
        drop(manager);

        // The built-ins stay, cpu_high is switched off, gone_rule is gone.
        let a = alerting_with(
            &db,
            &cmdb,
            &clock,
            "[[rule]]\nname = \"cpu_high\"\nenabled = false\n",
        );
        let inc = |id| a.incidents().get(id).unwrap();
        assert!(inc(1).incident.status.is_active(), "its rule is in force");
        assert!(
            inc(5).incident.status.is_active(),
            "agent_lost is not a rule"
        );
        for (id, note) in [
            (2, "rule cpu_high is disabled"),
            (3, "rule gone_rule no longer exists"),
            (4, "rule gone_rule no longer exists"),
        ] {
            let d = inc(id);
            assert_eq!(d.incident.status, Status::Resolved, "incident {id}");
            assert_eq!(d.incident.resolved_by.as_deref(), Some(SYSTEM));
            let last = d.timeline.last().unwrap();
            assert_eq!(last.actor, SYSTEM);
            assert_eq!(last.data["note"], serde_json::json!(note));
        }
        // Only incidents of rules in force are seeded into the evaluator.
        let keys: Vec<String> = a
            .incidents()
            .open_keys()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys.len(), 2);
        let entries = inc(3).timeline.len();
        drop(a);

        // A second restart changes nothing.
        let a = alerting_with(
            &db,
            &cmdb,
            &clock,
            "[[rule]]\nname = \"cpu_high\"\nenabled = false\n",
        );
        assert!(a.incidents().get(1).unwrap().incident.status.is_active());
        assert_eq!(a.incidents().get(3).unwrap().timeline.len(), entries);
    }
}

//! Alerting: the step between ingest and incidents. Every stored batch goes
//! through the rule [`Evaluator`], every agent heartbeat through [`NoData`],
//! and the resulting rule events to the [`IncidentManager`] — before the
//! batch is acknowledged, so "acked" means "evaluated and persisted".

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::cmdb::Cmdb;
use crate::incidents::IncidentFilter;
use crate::incidents::IncidentManager;
use crate::incidents::model::Status;
use crate::ingest::{CiContext, ObservedSample, SampleObserver};
use crate::metrics::Metrics;
use crate::rules::{AGENT_LOST, Evaluator, NoData, RuleEvent, RuleSet, SeriesInfo};
use crate::time::now_ms;

/// See the module docs.
pub struct Alerting {
    evaluator: Evaluator,
    nodata: NoData,
    incidents: Arc<IncidentManager>,
    rules_file: Option<PathBuf>,
    metrics: Arc<Metrics>,
}

impl Alerting {
    /// Alerting with `rules` (already loaded from `rules_file`, if any).
    pub fn new(
        rules: RuleSet,
        rules_file: Option<PathBuf>,
        incidents: Arc<IncidentManager>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let nodata = NoData::new(rules.no_data, now_ms());
        Self {
            evaluator: Evaluator::new(rules),
            nodata,
            incidents,
            rules_file,
            metrics,
        }
    }

    /// Loads the rules file (or the built-ins alone when there is none).
    pub fn load_rules(rules_file: Option<&std::path::Path>) -> Result<RuleSet, Vec<String>> {
        match rules_file {
            Some(path) => crate::rules::load(path),
            None => crate::rules::parse(""),
        }
    }

    /// Carries state over a collector restart: incidents still open keep
    /// their rule state (so they resolve when the condition clears), agents
    /// already lost stay lost, and every known host CI is expected back (so it
    /// is reported lost if it never returns after the startup grace period).
    pub fn restore(&self, cmdb: &Cmdb) -> anyhow::Result<()> {
        self.evaluator.restore_open(self.incidents.open_keys());
        let now = now_ms();
        for ci in cmdb.list()? {
            if ci.class == "host" {
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

    /// Re-reads the rules file; on any problem the running rules stay.
    pub fn reload(&self) -> Result<usize, Vec<String>> {
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
        match self.incidents.handle(events) {
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
                tracing::error!(error = %e, events = n, "incident manager failed; events lost");
            }
        }
    }
}

impl SampleObserver for Alerting {
    fn observe(&self, ci: &CiContext, samples: &[ObservedSample<'_>], received: Instant) {
        let mut events = Vec::new();
        for s in samples {
            let info = SeriesInfo {
                series_id: s.series,
                labels: &s.def.labels,
                ci_id: &ci.id,
                ci_class: &ci.class,
                ci_name: &ci.name,
            };
            events.extend(self.evaluator.observe(&info, s.ts_ms, s.value));
        }
        self.deliver(events, Some(received));
    }

    fn seen(&self, ci: &CiContext, now_ms: i64) {
        self.nodata.seen(&ci.id, &ci.name, 0, now_ms);
    }
}

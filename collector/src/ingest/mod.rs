//! Ingest: registration of agents and the batch path from a decoded gRPC
//! message to a durable write. Transport-independent, so the gRPC service and
//! the benches drive the same code.

mod agents;
mod devices;
mod observer;
mod service;
pub mod validate;

pub use observer::{CiContext, ObservedSample, SampleObserver};
pub use service::IngestService;
pub use validate::{Invalid, Limits};

use std::collections::HashMap;
use std::sync::Arc;

use tocsin_proto::v1::{
    BatchResult, Hello, Inventory, RegisterRequest, RegisterResponse, SampleBatch,
};

use crate::error::Error;
use crate::metrics::Metrics;
use agents::AgentStates;
use tocsin_cmdb::{AGENT_ATTRIBUTES, Cmdb, inventory_attributes};
use tocsin_model::time::now_ms;
use tocsin_query::SeriesId;
use tocsin_storage::{SeriesDef, Storage};

/// State of one open agent stream: which stream-local series ids map to which stored series.
pub struct StreamSession {
    /// The agent on the other end.
    pub agent_id: String,
    /// The CI the agent reports for.
    pub ci: Arc<CiContext>,
    /// Devices the agent reported on this stream, by CI id.
    devices: HashMap<String, Arc<CiContext>>,
    /// Stream-local id → the stored series it names.
    declared: HashMap<u32, Declared>,
}

/// A stream-local series id's meaning.
struct Declared {
    series: SeriesId,
    def: Arc<SeriesDef>,
    /// Fingerprint of the declaration, to spot conflicting redeclarations.
    fingerprint: u64,
    /// The CI the series belongs to.
    ci: Arc<CiContext>,
}

/// See the module docs.
pub struct Ingestor {
    storage: Arc<Storage>,
    cmdb: Arc<Cmdb>,
    agents: AgentStates,
    limits: Limits,
    metrics: Arc<Metrics>,
    observer: Option<Arc<dyn SampleObserver>>,
}

/// Agent ids become CI ids, so they follow the CMDB's id rules.
fn validate_agent_id(id: &str) -> Result<(), Error> {
    Ok(tocsin_cmdb::check_id("agent_id", id)?)
}

/// A cheap fingerprint of a series declaration, to spot conflicting redeclarations.
fn def_fingerprint(labels: &[(String, String)], kind: i32, ci_id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    labels.hash(&mut h);
    kind.hash(&mut h);
    ci_id.hash(&mut h);
    h.finish()
}

impl Ingestor {
    /// An ingestor writing to `storage` and `cmdb`.
    pub fn new(
        storage: Arc<Storage>,
        cmdb: Arc<Cmdb>,
        limits: Limits,
        metrics: Arc<Metrics>,
    ) -> Self {
        let agents = AgentStates::new(storage.db().clone());
        Self {
            storage,
            cmdb,
            agents,
            limits,
            metrics,
            observer: None,
        }
    }

    /// Sends every stored batch to `observer` (rule evaluation) before it is acknowledged.
    pub fn with_observer(mut self, observer: Arc<dyn SampleObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Registers an agent: creates or updates its host CI and tells it where its sequence numbers stand.
    pub fn register(&self, req: RegisterRequest) -> Result<RegisterResponse, Error> {
        validate_agent_id(&req.agent_id)?;
        let inventory = req.inventory.unwrap_or_default();
        self.update_ci(&req.agent_id, &inventory)?;
        let last = self.agents.ensure(&req.agent_id)?;
        tracing::info!(agent = %req.agent_id, hostname = %inventory.hostname, last_seq = last, "agent registered");
        Ok(RegisterResponse {
            ci_id: req.agent_id,
            last_acked_seq: last,
            max_batch_samples: u32::try_from(self.limits.max_batch_samples).unwrap_or(u32::MAX),
        })
    }

    fn update_ci(&self, agent_id: &str, inventory: &Inventory) -> Result<(), Error> {
        let name = if inventory.hostname.is_empty() {
            agent_id
        } else {
            &inventory.hostname
        };
        let attributes = inventory_attributes(inventory);
        self.cmdb.upsert(
            agent_id,
            "host",
            name,
            attributes,
            AGENT_ATTRIBUTES,
            &format!("agent:{agent_id}"),
        )?;
        Ok(())
    }

    /// Opens a stream for a registered agent.
    pub fn open_session(&self, hello: &Hello) -> Result<StreamSession, Error> {
        validate_agent_id(&hello.agent_id)?;
        if !self.agents.is_registered(&hello.agent_id)? {
            return Err(Error::Protocol(format!(
                "agent {} is not registered; call Register first",
                hello.agent_id
            )));
        }
        let (class, name) = self.cmdb.get_ci(&hello.agent_id)?.map_or_else(
            || ("host".to_string(), hello.agent_id.clone()),
            |ci| (ci.class, ci.name),
        );
        let ci = Arc::new(CiContext {
            id: hello.agent_id.clone(),
            class,
            name,
        });
        if let Some(o) = &self.observer {
            o.seen(&ci);
        }
        Ok(StreamSession {
            agent_id: hello.agent_id.clone(),
            ci,
            devices: HashMap::new(),
            declared: HashMap::new(),
        })
    }

    /// Applies an inventory update sent on the stream.
    pub fn update_inventory(&self, agent_id: &str, inventory: &Inventory) -> Result<(), Error> {
        self.update_ci(agent_id, inventory)
    }

    /// Validates, stores and acknowledges one batch. Never panics on bad
    /// input; the result says what happened.
    pub fn ingest(&self, session: &mut StreamSession, batch: SampleBatch) -> BatchResult {
        self.ingest_received(session, batch, std::time::Instant::now())
    }

    /// [`Ingestor::ingest`] for a batch that arrived at `received` (the
    /// sample → incident latency is measured from there).
    pub fn ingest_received(
        &self,
        session: &mut StreamSession,
        batch: SampleBatch,
        received: std::time::Instant,
    ) -> BatchResult {
        let seq = batch.seq;
        let result = self.try_ingest(session, batch, received);
        // Any batch proves the agent is alive, even a duplicate, a rejected one
        // or one the store failed to write: no-data detection is about the
        // agent, not about our own storage.
        if let Some(o) = &self.observer {
            o.seen(&session.ci);
        }
        match result {
            Ok(Ingested::Stored(n)) => {
                self.metrics.batches_accepted.inc();
                self.metrics.samples_ingested.inc_by(u64::from(n.stored));
                self.metrics.samples_skipped.inc_by(u64::from(n.skipped));
                BatchResult {
                    seq,
                    code: 0,
                    message: String::new(),
                    samples_stored: n.stored,
                }
            }
            Ok(Ingested::Duplicate) => {
                self.metrics.batches_duplicate.inc();
                BatchResult {
                    seq,
                    code: 0,
                    message: "duplicate batch: already stored".into(),
                    samples_stored: 0,
                }
            }
            Err(e) => {
                let reason = match &e {
                    Error::InvalidBatch(i) => i.reason(),
                    _ => "internal",
                };
                self.metrics.reject(reason);
                tracing::warn!(agent = %session.agent_id, seq, reason, error = %e, "batch rejected");
                BatchResult {
                    seq,
                    code: e.grpc_code() as i32,
                    message: e.public_message(),
                    samples_stored: 0,
                }
            }
        }
    }

    fn try_ingest(
        &self,
        session: &mut StreamSession,
        batch: SampleBatch,
        received: std::time::Instant,
    ) -> Result<Ingested, Error> {
        // Validate everything first: a rejected batch leaves nothing behind.
        let mut new_defs = Vec::with_capacity(batch.series.len());
        for def in &batch.series {
            let labels = validate::series_labels(def, &self.limits)?;
            let ci = session.ci_of(def)?;
            let fp = def_fingerprint(&labels, def.kind, &def.ci_id);
            if let Some(known) = session.declared.get(&def.id)
                && known.fingerprint != fp
            {
                return Err(Invalid::Redeclared { id: def.id }.into());
            }
            new_defs.push((def.id, labels, def.kind, fp, ci));
        }
        let in_batch: std::collections::HashSet<u32> = new_defs.iter().map(|d| d.0).collect();
        let now = now_ms();
        validate::samples(&batch, &self.limits, now, |id| {
            in_batch.contains(&id) || session.declared.contains_key(&id)
        })?;
        validate::events(&batch.events, now, self.limits.max_future_ms, |ci| {
            session.devices.contains_key(ci)
        })?;

        let sync = self.storage.sync_writes();
        let to_resolve: Vec<_> = new_defs
            .iter()
            .map(|(_, labels, kind, _, _)| (labels.as_slice(), *kind))
            .collect();
        let series = self.storage.series().resolve_all(&to_resolve, sync)?;
        for ((id, _, _, fingerprint, ci), series) in new_defs.into_iter().zip(series) {
            let def = self.storage.series().get(series).ok_or_else(|| {
                tocsin_storage::StorageError::Corrupt(format!(
                    "series {series} vanished from the index"
                ))
            })?;
            session.declared.insert(
                id,
                Declared {
                    series,
                    def,
                    fingerprint,
                    ci,
                },
            );
        }

        let agent = self.agents.lock(&session.agent_id)?;
        let mut last_seq = agent.lock();
        if batch.seq <= *last_seq {
            return Ok(Ingested::Duplicate);
        }
        let samples: Vec<_> = batch
            .series_ids
            .iter()
            .zip(&batch.timestamps_ms)
            .zip(&batch.values)
            .map(|((id, ts), v)| (session.declared[id].series, *ts, *v))
            .collect();
        let mut extra = self.agents.seq_record(&session.agent_id, batch.seq);
        self.add_events(session, &batch.events, &mut extra)?;
        let outcome = self.storage.append(&samples, extra)?;
        *last_seq = batch.seq;
        for e in &batch.events {
            self.metrics.device_event(&e.kind);
        }
        // Evaluate while still holding the agent's lock, so two streams of one
        // agent (during a reconnect) cannot have their batches evaluated out of order.
        if let Some(o) = &self.observer {
            let observed: Vec<ObservedSample<'_>> = batch
                .series_ids
                .iter()
                .zip(&samples)
                .map(|(local, &(series, ts_ms, value))| {
                    let declared = &session.declared[local];
                    ObservedSample {
                        ci: &declared.ci,
                        series,
                        def: &declared.def,
                        ts_ms,
                        value,
                    }
                })
                .collect();
            o.observe(&observed, received);
        }
        Ok(Ingested::Stored(outcome))
    }
}

enum Ingested {
    Stored(tocsin_storage::AppendOutcome),
    Duplicate,
}

#[cfg(test)]
mod tests;

//! Per-agent ingest state: the highest batch sequence number durably stored.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use tocsin_storage::{Cf, Db, StorageError, WriteTx, decode_u64, keys};

/// See the module docs. The per-agent mutex also serialises the batches of
/// an agent that (briefly) has two streams open, e.g. during a reconnect.
pub struct AgentStates {
    db: Arc<Db>,
    agents: Mutex<HashMap<String, Arc<Mutex<u64>>>>,
}

impl AgentStates {
    /// States stored in `db`.
    pub fn new(db: Arc<Db>) -> Self {
        Self {
            db,
            agents: Mutex::new(HashMap::new()),
        }
    }

    /// The agent's state, loaded on first use; `None` if it never registered.
    fn load(&self, agent_id: &str) -> Result<Option<Arc<Mutex<u64>>>, StorageError> {
        if let Some(s) = self.agents.lock().get(agent_id) {
            return Ok(Some(s.clone()));
        }
        let Some(v) = self.db.get(Cf::Meta, &keys::agent(agent_id))? else {
            return Ok(None);
        };
        let state = Arc::new(Mutex::new(decode_u64(&v)?));
        Ok(Some(
            self.agents
                .lock()
                .entry(agent_id.to_string())
                .or_insert(state)
                .clone(),
        ))
    }

    /// Makes sure the agent has a state record; returns its last stored sequence number.
    pub fn ensure(&self, agent_id: &str) -> Result<u64, StorageError> {
        if let Some(s) = self.load(agent_id)? {
            return Ok(*s.lock());
        }
        let mut batch = self.db.tx();
        batch.put(Cf::Meta, keys::agent(agent_id), 0u64.to_be_bytes());
        self.db.write(batch, true)?;
        self.agents
            .lock()
            .entry(agent_id.to_string())
            .or_insert_with(|| Arc::new(Mutex::new(0)));
        Ok(0)
    }

    /// Whether the agent registered.
    pub fn is_registered(&self, agent_id: &str) -> Result<bool, StorageError> {
        Ok(self.load(agent_id)?.is_some())
    }

    /// The agent's state cell (lock it for the duration of a batch).
    pub fn lock(&self, agent_id: &str) -> Result<Arc<Mutex<u64>>, StorageError> {
        self.load(agent_id)?
            .ok_or_else(|| StorageError::Corrupt(format!("agent {agent_id} has no state record")))
    }

    /// A write batch recording `seq` as stored; written atomically with the samples.
    pub fn seq_record(&self, agent_id: &str, seq: u64) -> WriteTx {
        let mut batch = self.db.tx();
        batch.put(Cf::Meta, keys::agent(agent_id), seq.to_be_bytes());
        batch
    }
}

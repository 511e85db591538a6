//! A scripted agent speaking the real gRPC protocol, for tests that need
//! exact control over what is sent (bad input, thresholds, silence).

use std::time::Duration;

use anyhow::Result;
use tocsin_proto::v1::agent_message::Msg;
use tocsin_proto::v1::ingest_client::IngestClient;
use tocsin_proto::v1::{
    AgentMessage, BatchResult, CollectorMessage, Hello, Inventory, Label, RegisterRequest,
    SampleBatch, SeriesDef, collector_message,
};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

/// An open agent stream.
pub struct Stream {
    tx: mpsc::Sender<AgentMessage>,
    rx: Streaming<CollectorMessage>,
}

impl Stream {
    /// Registers `agent_id` (hostname `<agent_id>-host`) and opens its stream.
    pub async fn open(url: &str, agent_id: &str) -> Result<Self> {
        let inventory = Inventory {
            hostname: format!("{agent_id}-host"),
            ..Default::default()
        };
        Self::open_with(url, agent_id, inventory).await
    }

    /// Registers `agent_id` with `inventory` and opens its stream.
    pub async fn open_with(url: &str, agent_id: &str, inventory: Inventory) -> Result<Self> {
        let mut client = IngestClient::connect(url.to_string()).await?;
        client
            .register(RegisterRequest {
                agent_id: agent_id.into(),
                agent_version: "test".into(),
                inventory: Some(inventory),
            })
            .await?;
        let (tx, rx) = mpsc::channel(16);
        tx.send(AgentMessage {
            msg: Some(Msg::Hello(Hello {
                agent_id: agent_id.into(),
            })),
        })
        .await?;
        let rx = client.stream(ReceiverStream::new(rx)).await?.into_inner();
        Ok(Self { tx, rx })
    }

    /// Sends one batch and waits for its result.
    pub async fn send(&mut self, batch: SampleBatch) -> Result<BatchResult> {
        self.tx
            .send(AgentMessage {
                msg: Some(Msg::Batch(batch)),
            })
            .await?;
        let reply = tokio::time::timeout(Duration::from_secs(10), self.rx.next()).await?;
        match reply {
            Some(Ok(m)) => match m.msg {
                Some(collector_message::Msg::Result(r)) => Ok(r),
                None => anyhow::bail!("empty reply"),
            },
            Some(Err(status)) => Err(status.into()),
            None => anyhow::bail!("stream closed"),
        }
    }
}

/// A gauge series declaration.
pub fn def(id: u32, metric: &str, labels: &[(&str, &str)]) -> SeriesDef {
    SeriesDef {
        id,
        metric: metric.into(),
        labels: labels
            .iter()
            .map(|(n, v)| Label {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect(),
        kind: 1,
        ci_id: String::new(),
    }
}

/// Now in ms since the epoch.
pub fn now_ms() -> i64 {
    (crate::now_secs() * 1000.0) as i64
}

/// A batch from (stream-local id, timestamp ms, value) triples.
pub fn batch(seq: u64, series: Vec<SeriesDef>, samples: &[(u32, i64, f64)]) -> SampleBatch {
    SampleBatch {
        seq,
        series,
        series_ids: samples.iter().map(|s| s.0).collect(),
        timestamps_ms: samples.iter().map(|s| s.1).collect(),
        values: samples.iter().map(|s| s.2).collect(),
        events: Vec::new(),
    }
}

//! The tonic gRPC service: protocol framing around [`Ingestor`].

use std::sync::Arc;

use tocsin_proto::v1::agent_message::Msg;
use tocsin_proto::v1::ingest_server::Ingest;
use tocsin_proto::v1::{
    AgentMessage, CollectorMessage, RegisterRequest, RegisterResponse, collector_message,
};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::{Ingestor, StreamSession};
use crate::error::Error;
use crate::metrics::Metrics;

/// gRPC service for the `tocsin.v1.Ingest` API.
#[derive(Clone)]
pub struct IngestService {
    ingestor: Arc<Ingestor>,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
}

impl IngestService {
    /// A service over `ingestor`; open streams end when `shutdown` turns true,
    /// so a graceful stop does not wait for agents to hang up.
    pub fn new(
        ingestor: Arc<Ingestor>,
        metrics: Arc<Metrics>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            ingestor,
            metrics,
            shutdown,
        }
    }
}

type Outbound = mpsc::Sender<Result<CollectorMessage, Status>>;

#[tonic::async_trait]
impl Ingest for IngestService {
    async fn register(
        &self,
        request: Request<RegisterRequest>,
    ) -> Result<Response<RegisterResponse>, Status> {
        let ingestor = self.ingestor.clone();
        let req = request.into_inner();
        let resp = tokio::task::spawn_blocking(move || ingestor.register(req))
            .await
            .map_err(Error::from)??;
        Ok(Response::new(resp))
    }

    type StreamStream = ReceiverStream<Result<CollectorMessage, Status>>;

    async fn stream(
        &self,
        request: Request<Streaming<AgentMessage>>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        let mut inbound = request.into_inner();
        let hello = match inbound.message().await? {
            Some(AgentMessage {
                msg: Some(Msg::Hello(h)),
            }) => h,
            _ => {
                self.metrics.reject("protocol");
                return Err(
                    Error::Protocol("the first message on a stream must be Hello".into()).into(),
                );
            }
        };
        let ingestor = self.ingestor.clone();
        let session = tokio::task::spawn_blocking(move || ingestor.open_session(&hello))
            .await
            .map_err(Error::from)??;
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(run_stream(
            self.ingestor.clone(),
            self.metrics.clone(),
            session,
            inbound,
            tx,
            self.shutdown.clone(),
        ));
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

/// Decrements the connected-agents gauge when a stream ends, however it ends.
struct Connected(Arc<Metrics>);

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.agents_connected.dec();
    }
}

async fn run_stream(
    ingestor: Arc<Ingestor>,
    metrics: Arc<Metrics>,
    mut session: StreamSession,
    mut inbound: Streaming<AgentMessage>,
    tx: Outbound,
    mut stop: watch::Receiver<bool>,
) {
    metrics.agents_connected.inc();
    let _connected = Connected(metrics.clone());
    let agent = session.agent_id.clone();
    tracing::info!(agent = %agent, "agent stream opened");
    loop {
        let next = tokio::select! {
            m = inbound.message() => m,
            () = shutting_down(&mut stop) => {
                let shutting = Error::Unavailable("collector is shutting down; reconnect later".into());
                let _ = tx.send(Err(shutting.into())).await;
                break;
            }
        };
        let msg = match next {
            Ok(Some(AgentMessage { msg: Some(m) })) => m,
            Ok(Some(AgentMessage { msg: None })) => {
                metrics.reject("protocol");
                let _ = tx
                    .send(Err(Error::Protocol("empty message".into()).into()))
                    .await;
                break;
            }
            Ok(None) => break,
            Err(status) => {
                // Includes messages over the size limit (tonic rejects them while decoding).
                if status.code() != tonic::Code::Cancelled {
                    metrics.reject("stream_error");
                }
                tracing::warn!(agent = %agent, error = %status, "agent stream failed");
                // Tell the agent why, when the transport still allows it.
                let _ = tx.send(Err(status)).await;
                break;
            }
        };
        let reply = match msg {
            Msg::Batch(batch) => {
                let received = std::time::Instant::now();
                let ing = ingestor.clone();
                match tokio::task::spawn_blocking(move || {
                    let result = ing.ingest_received(&mut session, batch, received);
                    (session, result)
                })
                .await
                {
                    Ok((s, result)) => {
                        session = s;
                        Ok(CollectorMessage {
                            msg: Some(collector_message::Msg::Result(result)),
                        })
                    }
                    Err(e) => {
                        // The session went down with the task; the agent must reconnect.
                        let _ = tx.send(Err(Status::from(Error::from(e)))).await;
                        return;
                    }
                }
            }
            Msg::Inventory(inventory) => {
                let ing = ingestor.clone();
                let agent_id = session.agent_id.clone();
                let res = tokio::task::spawn_blocking(move || {
                    ing.update_inventory(&agent_id, &inventory)
                })
                .await;
                match res {
                    Ok(Ok(())) => continue,
                    Ok(Err(e)) => Err(Status::from(e)),
                    Err(e) => Err(Status::from(Error::from(e))),
                }
            }
            Msg::Device(report) => {
                let ing = ingestor.clone();
                let res = tokio::task::spawn_blocking(move || {
                    let result = ing.update_device(&mut session, &report);
                    (session, result)
                })
                .await;
                match res {
                    Ok((s, result)) => {
                        session = s;
                        match result {
                            Ok(()) => continue,
                            Err(e) => {
                                // The stream goes on: the agent's own data and
                                // its other devices keep flowing; this device's
                                // batches are refused as `unknown_ci`.
                                metrics.reject("device_report");
                                tracing::warn!(agent = %agent, error = %e, "device report refused");
                                continue;
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(Error::from(e)))).await;
                        return;
                    }
                }
            }
            Msg::Hello(_) => {
                metrics.reject("protocol");
                Err(
                    Error::Protocol("Hello may only be the first message of a stream".into())
                        .into(),
                )
            }
        };
        let failed = reply.is_err();
        if tx.send(reply).await.is_err() || failed {
            break;
        }
    }
    tracing::info!(agent = %agent, "agent stream closed");
}

/// Resolves once shutdown was requested.
async fn shutting_down(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

//! `/api/v1/notifications` and `/api/v1/receivers`: the outbox and the receivers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};

use super::AppState;
use crate::error::Error;
use tocsin_api_types::Data;
use tocsin_api_types::notifications::{TestAnswer, TestOutcome, TestRequest};
use tocsin_model::notification::{DeliveryStatus, OutboxRecord};
use tocsin_model::receiver::ReceiverView;
use tocsin_notify::channels::DeliveryOutcome;

/// Most notifications one request returns.
const MAX_LIMIT: usize = 1000;

/// `GET /api/v1/notifications?status=pending,failed&limit=N`: newest first.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Data<Vec<OutboxRecord>>>, Error> {
    if let Some(key) = q
        .keys()
        .find(|k| !["status", "limit"].contains(&k.as_str()))
    {
        return Err(Error::InvalidRequest(format!("unknown parameter {key:?}")));
    }
    let mut statuses = Vec::new();
    for s in q
        .get("status")
        .into_iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
    {
        statuses.push(match s {
            "pending" => DeliveryStatus::Pending,
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            "grouped" => DeliveryStatus::Grouped,
            other => {
                return Err(Error::InvalidRequest(format!(
                    "status: must be pending, delivered, failed or grouped, got {other:?}"
                )));
            }
        });
    }
    let limit = match q.get("limit") {
        None => 100,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                Error::InvalidRequest(format!(
                    "limit: must be a number from 1 to {MAX_LIMIT}, got {l:?}"
                ))
            })?,
    };
    let records =
        tokio::task::spawn_blocking(move || state.notifications.list(&statuses, limit)).await??;
    Ok(Json(Data::new(records)))
}

/// `POST /api/v1/notifications/{id}/retry`: a failed notification is due again.
pub async fn retry(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Data<OutboxRecord>>, Error> {
    let id: u64 = id
        .parse()
        .map_err(|_| Error::InvalidRequest(format!("id: not a notification id: {id:?}")))?;
    let rec = tokio::task::spawn_blocking(move || state.notifications.retry(id)).await??;
    Ok(Json(Data::new(rec)))
}

/// `GET /api/v1/receivers`: the configured receivers, without secrets.
pub async fn receivers(State(state): State<Arc<AppState>>) -> Json<Data<Vec<ReceiverView>>> {
    Json(Data::new(state.notifications.receivers()))
}

/// `POST /api/v1/receivers/{name}/test`: sends a test message now and says
/// what became of it.
pub async fn test(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Data<TestAnswer>>, Error> {
    let request: TestRequest = if body.is_empty() {
        TestRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| Error::InvalidRequest(format!("body: {e}")))?
    };
    let actor = request.actor.unwrap_or_else(|| "api".to_string());
    let outcome = state.notifications.test(&name, &actor).await?;
    let (outcome, error) = match outcome {
        DeliveryOutcome::Delivered => (TestOutcome::Delivered, None),
        DeliveryOutcome::Retry { error, .. } => (TestOutcome::Retry, Some(error)),
        DeliveryOutcome::Failed { error } => (TestOutcome::Failed, Some(error)),
    };
    Ok(Json(Data::new(TestAnswer {
        receiver: name,
        outcome,
        error,
    })))
}

//! `/api/v1/notifications` and `/api/v1/receivers`: the outbox and the receivers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use super::AppState;
use crate::error::Error;
use tocsin_notify::channels::DeliveryOutcome;
use tocsin_notify::outbox::DeliveryStatus;

/// Most notifications one request returns.
const MAX_LIMIT: usize = 1000;

/// `GET /api/v1/notifications?status=pending,failed&limit=N`: newest first.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Error> {
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
    Ok(Json(json!({ "data": records })))
}

/// `POST /api/v1/notifications/{id}/retry`: a failed notification is due again.
pub async fn retry(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let id: u64 = id
        .parse()
        .map_err(|_| Error::InvalidRequest(format!("id: not a notification id: {id:?}")))?;
    let rec = tokio::task::spawn_blocking(move || state.notifications.retry(id)).await??;
    Ok(Json(json!({ "data": rec })))
}

/// `GET /api/v1/receivers`: the configured receivers, without secrets.
pub async fn receivers(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({ "data": state.notifications.receivers() }))
}

/// Body of `POST /api/v1/receivers/{name}/test`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    #[serde(default)]
    actor: Option<String>,
}

/// `POST /api/v1/receivers/{name}/test`: sends a test message now and says
/// what became of it.
pub async fn test(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, Error> {
    let request: TestRequest = if body.is_empty() {
        TestRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| Error::InvalidRequest(format!("body: {e}")))?
    };
    let actor = request.actor.unwrap_or_else(|| "api".to_string());
    let outcome = state.notifications.test(&name, &actor).await?;
    let (outcome, error) = match outcome {
        DeliveryOutcome::Delivered => ("delivered", None),
        DeliveryOutcome::Retry { error, .. } => ("retry", Some(error)),
        DeliveryOutcome::Failed { error } => ("failed", Some(error)),
    };
    Ok(Json(
        json!({ "data": {"receiver": name, "outcome": outcome, "error": error} }),
    ))
}

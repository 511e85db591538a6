//! `/api/v1/cis`: configuration items as JSON.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::AppState;
use crate::error::Error;

/// `GET /api/v1/cis`: every CI with its attributes.
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<Value>, Error> {
    let cis = tokio::task::spawn_blocking(move || state.cmdb.list()).await??;
    Ok(Json(json!({ "data": cis })))
}

/// `GET /api/v1/cis/{id}`: one CI with relations and change history.
pub async fn detail(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let lookup = id.clone();
    let ci = tokio::task::spawn_blocking(move || state.cmdb.detail(&lookup)).await??;
    match ci {
        Some(ci) => Ok(Json(json!({ "data": ci }))),
        None => Err(Error::NotFound(format!("no CI with id {id}"))),
    }
}

//! `/api/v1/cis`: configuration items as JSON.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use tocsin_api_types::cis::{AttributeChange, CiView, NewCi, NewRelation, actor_or_api as actor};
use tocsin_api_types::{Ci, CiDetail, Data, DeviceEventRecord};

use super::{ApiJson, AppState};
use crate::error::Error;

/// `GET /api/v1/cis`: every CI with its attributes.
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<Data<Vec<Ci>>>, Error> {
    let cis = tokio::task::spawn_blocking(move || state.cmdb.list()).await??;
    Ok(Json(Data::new(cis)))
}

/// `GET /api/v1/cis/{id}`: one CI with relations and change history.
pub async fn detail(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Data<CiView>>, Error> {
    let lookup = id.clone();
    let s = state.clone();
    let ci = tokio::task::spawn_blocking(move || s.cmdb.detail(&lookup)).await??;
    match ci {
        Some(detail) => {
            let open_incidents =
                tokio::task::spawn_blocking(move || state.alerting.incidents().open_for_ci(&id))
                    .await?;
            Ok(Json(Data::new(CiView {
                detail,
                open_incidents,
            })))
        }
        None => Err(Error::NotFound(format!("no CI with id {id}"))),
    }
}

/// Most events `GET /api/v1/cis/{id}/events` returns at once.
pub const MAX_EVENTS_LIMIT: usize = 1000;

/// `GET /api/v1/cis/{id}/events?limit=N`: the CI's device events (SNMP
/// traps), newest first; 100 unless `limit` says otherwise.
pub async fn events(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<Data<Vec<DeviceEventRecord>>>, Error> {
    if let Some(key) = q.keys().find(|k| k.as_str() != "limit") {
        return Err(Error::InvalidRequest(format!("unknown parameter {key:?}")));
    }
    let limit = match q.get("limit") {
        None => 100,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=MAX_EVENTS_LIMIT).contains(&n) => n,
            _ => {
                return Err(Error::InvalidRequest(format!(
                    "limit: must be a number from 1 to {MAX_EVENTS_LIMIT}, got {l:?}"
                )));
            }
        },
    };
    let events = tokio::task::spawn_blocking(move || {
        if state.cmdb.get_ci(&id)?.is_none() {
            return Err(Error::NotFound(format!("no CI with id {id}")));
        }
        Ok(state.cmdb.events(&id, limit)?)
    })
    .await??;
    Ok(Json(Data::new(events)))
}

/// `POST /api/v1/cis`: creates a CI by hand.
pub async fn create(
    State(state): State<Arc<AppState>>,
    ApiJson(b): ApiJson<NewCi>,
) -> Result<Json<Data<Ci>>, Error> {
    let ci = tokio::task::spawn_blocking(move || {
        state
            .cmdb
            .create(&b.id, &b.class, &b.name, b.attributes, &actor(b.actor))
    })
    .await??;
    Ok(Json(Data::new(ci)))
}

/// `PATCH /api/v1/cis/{id}`: sets attributes people own (null removes one).
pub async fn patch(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AttributeChange>,
) -> Result<Json<Data<Ci>>, Error> {
    let ci = tokio::task::spawn_blocking(move || {
        state
            .cmdb
            .set_attributes(&id, b.attributes, &actor(b.actor))
    })
    .await??;
    Ok(Json(Data::new(ci)))
}

/// `POST /api/v1/cis/{id}/relations`: adds `id --kind--> target`.
pub async fn add_relation(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<NewRelation>,
) -> Result<Json<Data<Option<CiDetail>>>, Error> {
    let view = id.clone();
    let s = state.clone();
    tokio::task::spawn_blocking(move || {
        s.cmdb
            .add_relation(&id, &b.kind, &b.target, &actor(b.actor))
    })
    .await??;
    let ci = tokio::task::spawn_blocking(move || state.cmdb.detail(&view)).await??;
    Ok(Json(Data::new(ci)))
}

/// `DELETE /api/v1/cis/{id}/relations/{kind}/{target}`.
pub async fn remove_relation(
    State(state): State<Arc<AppState>>,
    Path((id, kind, target)): Path<(String, String, String)>,
) -> Result<Json<Data<()>>, Error> {
    tokio::task::spawn_blocking(move || state.cmdb.remove_relation(&id, &kind, &target, "api"))
        .await??;
    Ok(Json(Data::new(())))
}

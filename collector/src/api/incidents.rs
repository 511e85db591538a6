//! `/api/v1/incidents`, `/api/v1/maintenance`, `/api/v1/problems`,
//! `/api/v1/rules`: working incidents and what shapes them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::json;

use super::{ApiJson, AppState};
use crate::error::Error;
use tocsin_api_types::cis::actor_or_api;
use tocsin_api_types::incidents::IncidentAction;
use tocsin_api_types::maintenance::{MaintenanceWindow, NewWindow};
use tocsin_api_types::problems::Problem;
use tocsin_api_types::rules::{RulesAnswer, RulesInForce, RulesReloaded};
use tocsin_api_types::{Data, Incident, IncidentDetail};
use tocsin_incidents::IncidentFilter;
use tocsin_model::incident::Status;
use tocsin_rules::Severity;

fn parse_id(raw: &str, what: &str) -> Result<u64, Error> {
    raw.parse().map_err(|_| {
        Error::InvalidRequest(format!("{what} id must be a positive integer, got {raw:?}"))
    })
}

fn parse_list<T>(
    raw: Option<&String>,
    key: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, Error> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            parse(s.trim())
                .ok_or_else(|| Error::InvalidRequest(format!("{key}: unknown value {s:?}")))
        })
        .collect()
}

fn parse_time(raw: Option<&String>, key: &str) -> Result<Option<i64>, Error> {
    raw.map(|r| {
        tocsin_model::prom_time::parse_time(r).map_err(|_| {
            Error::InvalidRequest(format!(
                "{key}: expected RFC 3339 or unix seconds, got {r:?}"
            ))
        })
    })
    .transpose()
}

/// `GET /api/v1/incidents?status=open,acknowledged&severity=major&ci=<id>&from=&to=&limit=`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Data<Vec<Incident>>>, Error> {
    for key in q.keys() {
        if ![
            "status",
            "severity",
            "ci",
            "from",
            "to",
            "limit",
            "top_level",
        ]
        .contains(&key.as_str())
        {
            return Err(Error::InvalidRequest(format!("unknown parameter {key:?}")));
        }
    }
    let filter = IncidentFilter {
        status: parse_list(q.get("status"), "status", |s| {
            serde_json::from_value::<Status>(json!(s)).ok()
        })?,
        severity: parse_list(q.get("severity"), "severity", |s| {
            serde_json::from_value::<Severity>(json!(s)).ok()
        })?,
        ci_id: q.get("ci").cloned(),
        opened_from_ms: parse_time(q.get("from"), "from")?,
        opened_to_ms: parse_time(q.get("to"), "to")?,
        top_level_only: q.get("top_level").is_some_and(|v| v == "true"),
        limit: q
            .get("limit")
            .map(|l| {
                l.parse()
                    .map_err(|_| Error::InvalidRequest(format!("limit: not a number: {l:?}")))
            })
            .transpose()?,
    };
    let incidents =
        tokio::task::spawn_blocking(move || state.alerting.incidents().list(&filter)).await??;
    Ok(Json(Data::new(incidents)))
}

/// `GET /api/v1/incidents/{id}`: with CI snapshot, timeline, SLA state, children.
pub async fn detail(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Data<IncidentDetail>>, Error> {
    let id = parse_id(&id, "incident")?;
    let detail = tokio::task::spawn_blocking(move || state.alerting.incidents().get(id)).await??;
    Ok(Json(Data::new(detail)))
}

/// `POST /api/v1/incidents/{id}/{action}`: ack, assign, comment, resolve, close.
pub async fn act(
    State(state): State<Arc<AppState>>,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<Data<Incident>>, Error> {
    let id = parse_id(&id, "incident")?;
    // The body is optional (`ack` needs none); when present it must be valid.
    let b: IncidentAction = if body.iter().all(u8::is_ascii_whitespace) {
        IncidentAction::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| Error::InvalidRequest(format!("invalid JSON body: {e}")))?
    };
    let actor = actor_or_api(b.actor);
    let incident = tokio::task::spawn_blocking(move || {
        let m = state.alerting.incidents();
        let note = b.note.as_deref();
        match action.as_str() {
            "ack" => m.ack(id, &actor, note),
            "assign" => m.assign(id, &actor, b.assignee.as_deref().unwrap_or_default()),
            "comment" => m.comment(id, &actor, note.unwrap_or_default()),
            "resolve" => m.resolve(id, &actor, note.unwrap_or_default()),
            "close" => m.close(id, &actor, note),
            other => Err(tocsin_incidents::IncidentError::Invalid(format!(
                "unknown action {other:?}; use ack, assign, comment, resolve or close"
            ))),
        }
    })
    .await??;
    Ok(Json(Data::new(incident)))
}

/// `GET /api/v1/maintenance`.
pub async fn maintenance_list(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Data<Vec<MaintenanceWindow>>>, Error> {
    let list = tokio::task::spawn_blocking(move || state.maintenance.list()).await?;
    Ok(Json(Data::new(list)))
}

/// `POST /api/v1/maintenance`: `{ci_id | ci_class, starts_at, ends_at, reason, created_by}`.
pub async fn maintenance_add(
    State(state): State<Arc<AppState>>,
    ApiJson(new): ApiJson<NewWindow>,
) -> Result<Json<Data<MaintenanceWindow>>, Error> {
    let w = tokio::task::spawn_blocking(move || state.maintenance.add(new)).await??;
    Ok(Json(Data::new(w)))
}

/// `DELETE /api/v1/maintenance/{id}`.
pub async fn maintenance_delete(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Data<MaintenanceWindow>>, Error> {
    let id = parse_id(&id, "maintenance window")?;
    let w = tokio::task::spawn_blocking(move || state.maintenance.delete(id)).await??;
    Ok(Json(Data::new(w)))
}

/// `GET /api/v1/problems`.
pub async fn problems(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Data<Vec<Problem>>>, Error> {
    let list = tokio::task::spawn_blocking(move || state.problems.list()).await?;
    Ok(Json(Data::new(list)))
}

/// `GET /api/v1/rules`: the rules in force, built-in and from the file.
/// The envelope also carries Prometheus' `status` and an empty `groups`, so
/// Grafana's alerting pages, which ask every Prometheus source for its
/// rules, show nothing instead of an error.
pub async fn rules(State(state): State<Arc<AppState>>) -> Json<RulesAnswer> {
    let set = state.alerting.rules();
    Json(RulesAnswer::success(RulesInForce {
        groups: Vec::new(),
        rules: set.rules.iter().map(|r| r.info()).collect(),
        flapping: set.flapping,
        no_data: set.no_data,
    }))
}

/// `POST /api/v1/rules/reload`: re-reads the rules file; on errors the running rules stay.
pub async fn reload(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Data<RulesReloaded>>, Error> {
    let rules = tokio::task::spawn_blocking(move || state.alerting.reload()).await??;
    Ok(Json(Data::new(RulesReloaded { rules })))
}

//! The HTTP API: health, the collector's own metrics, the CMDB, and the
//! Prometheus-compatible query API (in [`prom`]).

mod cis;
pub mod prom;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::cmdb::Cmdb;
use crate::metrics::Metrics;
use crate::query::SeriesSource;
use crate::storage::Storage;

/// What the handlers share.
pub struct AppState {
    /// The store.
    pub storage: Arc<Storage>,
    /// The CMDB.
    pub cmdb: Arc<Cmdb>,
    /// The collector's own metrics.
    pub metrics: Arc<Metrics>,
}

/// Every HTTP route of the collector.
pub fn router(state: Arc<AppState>) -> Router {
    let source: Arc<dyn SeriesSource> = state.storage.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/cis", get(cis::list))
        .route("/api/v1/cis/{id}", get(cis::detail))
        .with_state(state)
        .merge(prom::router(source))
}

async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let body = state.metrics.render(&state.storage);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}

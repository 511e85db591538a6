//! The HTTP API: health, the collector's own metrics, the CMDB, and the
//! Prometheus-compatible query API (in [`prom`]).

mod cis;
mod incidents;
mod notifications;
pub mod prom;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::alerting::Alerting;
use crate::metrics::Metrics;
use tocsin_cmdb::Cmdb;
use tocsin_incidents::maintenance::MaintenanceStore;
use tocsin_incidents::problems::ProblemStore;
use tocsin_query::SeriesSource;
use tocsin_storage::Storage;

/// What the handlers share.
pub struct AppState {
    /// The store.
    pub storage: Arc<Storage>,
    /// The CMDB.
    pub cmdb: Arc<Cmdb>,
    /// The collector's own metrics.
    pub metrics: Arc<Metrics>,
    /// Rules and incidents.
    pub alerting: Arc<Alerting>,
    /// Maintenance windows.
    pub maintenance: Arc<MaintenanceStore>,
    /// Problem records.
    pub problems: Arc<ProblemStore>,
    /// Notifications: outbox and receivers.
    pub notifications: Arc<tocsin_notify::Notifications>,
}

/// Every HTTP route of the collector.
pub fn router(state: Arc<AppState>) -> Router {
    let source: Arc<dyn SeriesSource> = state.storage.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/cis", get(cis::list).post(cis::create))
        .route("/api/v1/cis/{id}", get(cis::detail).patch(cis::patch))
        .route("/api/v1/cis/{id}/events", get(cis::events))
        .route(
            "/api/v1/cis/{id}/relations",
            axum::routing::post(cis::add_relation),
        )
        .route(
            "/api/v1/cis/{id}/relations/{kind}/{target}",
            axum::routing::delete(cis::remove_relation),
        )
        .route("/api/v1/incidents", get(incidents::list))
        .route("/api/v1/incidents/{id}", get(incidents::detail))
        .route(
            "/api/v1/incidents/{id}/{action}",
            axum::routing::post(incidents::act),
        )
        .route(
            "/api/v1/maintenance",
            get(incidents::maintenance_list).post(incidents::maintenance_add),
        )
        .route(
            "/api/v1/maintenance/{id}",
            axum::routing::delete(incidents::maintenance_delete),
        )
        .route("/api/v1/problems", get(incidents::problems))
        .route("/api/v1/notifications", get(notifications::list))
        .route(
            "/api/v1/notifications/{id}/retry",
            axum::routing::post(notifications::retry),
        )
        .route("/api/v1/receivers", get(notifications::receivers))
        .route(
            "/api/v1/receivers/{name}/test",
            axum::routing::post(notifications::test),
        )
        .route("/api/v1/rules", get(incidents::rules))
        .route(
            "/api/v1/rules/reload",
            axum::routing::post(incidents::reload),
        )
        .with_state(state)
        .merge(prom::router(source))
}

async fn healthz() -> axum::Json<tocsin_api_types::Health> {
    axum::Json(tocsin_api_types::Health {
        status: "ok".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
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

/// A JSON request body whose rejections (bad JSON, unknown field, wrong
/// content type) become the API's own error shape instead of plain text.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = crate::error::Error;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(|e| crate::error::Error::InvalidRequest(e.body_text()))
    }
}

//! Prometheus-compatible HTTP query API (`/api/v1/query`, `query_range`,
//! `series`, `labels`, `label/{name}/values`, `status/buildinfo`,
//! `metadata`, `query_exemplars`, `format_query`, `rules`) so Grafana and
//! promtool can use the collector as a Prometheus data source. Endpoint
//! semantics live in [`tocsin_query::request`]; this module is the axum
//! glue.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tocsin_api_types::prom::{BuildInfo, PromSuccess};

use tocsin_query::request::{self, Params};
use tocsin_query::{QueryError, SeriesSource, format};

use crate::error::PromError;
use tocsin_model::time::now_ms;

type Source = Arc<dyn SeriesSource>;

/// The Prometheus API routes over `source`, state applied.
pub fn router(source: Arc<dyn SeriesSource>) -> Router {
    Router::new()
        .route("/api/v1/query", get(query).post(query))
        .route("/api/v1/query_range", get(query_range).post(query_range))
        .route("/api/v1/series", get(series).post(series))
        .route("/api/v1/labels", get(labels).post(labels))
        .route(
            "/api/v1/label/{name}/values",
            get(label_values).post(label_values),
        )
        .route(
            "/api/v1/query_exemplars",
            get(query_exemplars).post(query_exemplars),
        )
        .route("/api/v1/format_query", get(format_query).post(format_query))
        .route("/api/v1/status/buildinfo", get(buildinfo))
        .route("/api/v1/metadata", get(metadata))
        .with_state(source)
}

/// The request's parameters: the query string and, for form posts, the
/// body (body values first, as in Go's `ParseForm`).
struct FormParams(Params);

impl<S: Send + Sync> FromRequest<S> for FormParams {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().unwrap_or_default().to_string();
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(FormParams(if is_form {
            Params::parse(&[&body, query.as_bytes()])
        } else {
            Params::parse(&[query.as_bytes()])
        }))
    }
}

/// Runs an endpoint on the blocking pool (storage reads block) and wraps
/// its data in the success envelope.
async fn run<F>(source: Source, f: F) -> Result<Response, PromError>
where
    F: FnOnce(&dyn SeriesSource) -> Result<String, QueryError> + Send + 'static,
{
    let data = tokio::task::spawn_blocking(move || f(source.as_ref()))
        .await
        .map_err(|e| QueryError::Internal(format!("query task failed: {e}")))??;
    Ok(json_response(format::success(&data)))
}

async fn query(State(s): State<Source>, FormParams(p): FormParams) -> Result<Response, PromError> {
    let now = now_ms();
    run(s, move |src| request::query(src, &p, now)).await
}

async fn query_range(
    State(s): State<Source>,
    FormParams(p): FormParams,
) -> Result<Response, PromError> {
    run(s, move |src| request::query_range(src, &p)).await
}

async fn series(State(s): State<Source>, FormParams(p): FormParams) -> Result<Response, PromError> {
    run(s, move |src| request::series(src, &p)).await
}

async fn labels(State(s): State<Source>, FormParams(p): FormParams) -> Result<Response, PromError> {
    run(s, move |src| request::labels(src, &p)).await
}

async fn label_values(
    State(s): State<Source>,
    Path(name): Path<String>,
    FormParams(p): FormParams,
) -> Result<Response, PromError> {
    run(s, move |src| request::label_values(src, &name, &p)).await
}

/// No storage access, so no blocking pool.
async fn query_exemplars(FormParams(p): FormParams) -> Result<Response, PromError> {
    Ok(json_response(format::success(&request::query_exemplars(
        &p,
    )?)))
}

async fn format_query(FormParams(p): FormParams) -> Result<Response, PromError> {
    Ok(json_response(format::success(&request::format_query(&p)?)))
}

/// Grafana reads the build info to pick the data source flavour and the API
/// features it may use. Tocsin implements a subset of the Prometheus API, so
/// it announces a fixed Prometheus release (2.45, a long-term-support
/// release whose API shape Tocsin follows) and names itself in `revision`
/// and `branch` for humans.
async fn buildinfo() -> Response {
    let body = PromSuccess::new(BuildInfo {
        version: "2.45.0".to_string(),
        revision: concat!("tocsin-", env!("CARGO_PKG_VERSION")).to_string(),
        branch: "tocsin".to_string(),
        build_user: "tocsin".to_string(),
        build_date: String::new(),
        go_version: "none (Tocsin collector, Rust)".to_string(),
    });
    axum::Json(body).into_response()
}

/// No metric metadata (TYPE/HELP) is kept; Prometheus answers `{}` then too.
async fn metadata() -> Response {
    json_response(format::success("{}"))
}

/// Tocsin evaluates no recording or alerting rules. Grafana's alerting
/// pages list the rules of every Prometheus data source and report an
/// error on a 404, so answer with Prometheus' empty rule list.
fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode};
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;
    use tocsin_query::mem::MemSource;

    const T0: i64 = 1_700_000_000_000;

    fn app() -> Router {
        let mut s = MemSource::default();
        s.add(
            &[("__name__", "cpu"), ("host", "a")],
            &[(T0, 42.0), (T0 + 60_000, 43.5)],
        );
        s.add(&[("__name__", "cpu"), ("host", "b")], &[(T0, 1.0)]);
        s.add(
            &[("__name__", "mem"), ("host", "c"), ("dc", "x")],
            &[(T0, 7.0)],
        );
        router(Arc::new(s))
    }

    async fn send(app: Router, req: Request<Body>) -> (StatusCode, String) {
        let resp = app.oneshot(req).await.unwrap();
        let status = resp.status();
        let body = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    async fn get(uri: &str) -> (StatusCode, String) {
        send(app(), Request::get(uri).body(Body::empty()).unwrap()).await
    }

    async fn post(uri: &str, form: &str) -> (StatusCode, String) {
        let req = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_string()))
            .unwrap();
        send(app(), req).await
    }

    fn json(body: &str) -> Value {
        serde_json::from_str(body).unwrap()
    }

    #[tokio::test]
    async fn instant_query_get_exact_json() {
        let (status, body) =
            get("/api/v1/query?query=cpu%7Bhost%3D%22a%22%7D&time=1700000030.5").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"cpu","host":"a"},"value":[1700000030.500,"42"]}]}}"#
        );
    }

    #[tokio::test]
    async fn instant_query_post_form() {
        let (status, body) = post("/api/v1/query", "query=cpu&time=1700000060&timeout=5s").await;
        assert_eq!(status, StatusCode::OK);
        let v = json(&body);
        let result = v["data"]["result"].as_array().unwrap();
        assert_eq!(result.len(), 2);
        assert_eq!(result[0]["value"], json(r#"[1700000060,"43.5"]"#));
    }

    #[tokio::test]
    async fn range_query_get_and_post() {
        let q = "query=cpu&start=1700000000&end=1700000120&step=60";
        let (status, body) = get(&format!("/api/v1/query_range?{q}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            concat!(
                r#"{"status":"success","data":{"resultType":"matrix","result":["#,
                r#"{"metric":{"__name__":"cpu","host":"a"},"values":[[1700000000,"42"],[1700000060,"43.5"],[1700000120,"43.5"]]},"#,
                r#"{"metric":{"__name__":"cpu","host":"b"},"values":[[1700000000,"1"],[1700000060,"1"],[1700000120,"1"]]}]}}"#
            )
        );
        let (status, posted) = post("/api/v1/query_range", &q.replace("step=60", "step=1m")).await;
        assert_eq!((status, posted), (StatusCode::OK, body));
    }

    #[tokio::test]
    async fn range_query_errors_like_prometheus() {
        let (status, body) = get("/api/v1/query_range?query=cpu&start=100&end=50&step=10").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"end\": end timestamp must not be before start time"}"#
        );
        let (_, body) = get("/api/v1/query_range?query=cpu&start=0&end=86400&step=1").await;
        assert!(
            json(&body)["error"]
                .as_str()
                .unwrap()
                .starts_with("exceeded maximum resolution of 11,000 points")
        );
        let (_, body) = get("/api/v1/query_range?query=cpu&start=0&end=10&step=abc").await;
        assert_eq!(
            json(&body)["error"],
            r#"invalid parameter "step": cannot parse "abc" to a valid duration"#
        );
        let (_, body) = get("/api/v1/query_range?query=cpu&end=10&step=1").await;
        assert_eq!(
            json(&body)["error"],
            r#"invalid parameter "start": cannot parse "" to a valid timestamp"#
        );
    }

    #[tokio::test]
    async fn bad_queries_are_bad_data() {
        let (status, body) = get("/api/v1/query?query=rate(cpu%5B5m%5D)").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let v = json(&body);
        assert_eq!(
            (v["status"].as_str(), v["errorType"].as_str()),
            (Some("error"), Some("bad_data"))
        );
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .starts_with("invalid parameter \"query\": 1:5: parse error: ")
        );
        let (status, body) = post("/api/v1/query", "query=%7Bjob%3D~%22.*%22%7D").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            json(&body)["error"]
                .as_str()
                .unwrap()
                .ends_with("vector selector must contain at least one non-empty matcher")
        );
        let (_, body) = get("/api/v1/query?query=cpu&time=yesterday").await;
        assert_eq!(
            json(&body)["error"],
            r#"invalid parameter "time": cannot parse "yesterday" to a valid timestamp"#
        );
    }

    /// Grafana's "Save & test": `promlib` posts `1+1` as an instant query
    /// at the end of a fixed 1s..4s range, form-encoded.
    #[tokio::test]
    async fn grafana_health_check() {
        let (status, body) = post("/api/v1/query", "query=1%2B1&time=4").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#
        );
        // The same with a configured query timeout, and as a GET.
        let (_, posted) = post("/api/v1/query", "query=1%2B1&time=4&timeout=60s").await;
        assert_eq!(posted, body);
        let (_, got) = get("/api/v1/query?query=1%2B1&time=4").await;
        assert_eq!(got, body);
    }

    #[tokio::test]
    async fn scalar_range_query() {
        let (status, body) = post(
            "/api/v1/query_range",
            "query=(1%2B2)*3&start=1700000000&end=1700000060&step=30",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"9"],[1700000030,"9"],[1700000060,"9"]]}]}}"#
        );
    }

    #[tokio::test]
    async fn arithmetic_on_selectors_is_rejected() {
        let (status, body) = get("/api/v1/query?query=cpu%20%2B%201").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let v = json(&body);
        assert_eq!(v["errorType"], "bad_data");
        let msg = v["error"].as_str().unwrap();
        assert!(
            msg.starts_with(
                r#"invalid parameter "query": 1:5: operator "+" on a vector selector is not supported; only instant vector selectors"#
            ),
            "{msg}"
        );
        assert!(msg.contains("arithmetic on number literals"), "{msg}");
    }

    #[tokio::test]
    async fn exemplars_format_query_and_rules() {
        let (status, body) = post(
            "/api/v1/query_exemplars",
            "query=cpu&start=1700000000&end=1700003600",
        )
        .await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, r#"{"status":"success","data":[]}"#)
        );
        let (status, _) = get("/api/v1/query_exemplars?query=cpu(").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, body) = post("/api/v1/format_query", "query=1%2B%20%201").await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, r#"{"status":"success","data":"1 + 1"}"#)
        );
        let (_, body) = get("/api/v1/format_query?query=cpu%7Bhost%3D%22a%22%7D").await;
        assert_eq!(json(&body)["data"], r#"cpu{host="a"}"#);
    }

    #[tokio::test]
    async fn series_with_repeated_match() {
        let (status, body) =
            get("/api/v1/series?match[]=mem&match%5B%5D=cpu%7Bhost%3D%22b%22%7D&match[]=mem").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            r#"{"status":"success","data":[{"__name__":"cpu","host":"b"},{"__name__":"mem","dc":"x","host":"c"}]}"#
        );
        // With a time range, only series with samples in it.
        let (_, body) = post(
            "/api/v1/series",
            "match[]=cpu&start=1700000030&end=1700000090",
        )
        .await;
        assert_eq!(
            json(&body)["data"],
            json(r#"[{"__name__":"cpu","host":"a"}]"#)
        );
        let (status, body) = get("/api/v1/series").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json(&body)["error"], "no match[] parameter provided");
    }

    #[tokio::test]
    async fn label_names_and_values() {
        let (_, body) = get("/api/v1/labels").await;
        assert_eq!(
            body,
            r#"{"status":"success","data":["__name__","dc","host"]}"#
        );
        let (_, body) = post("/api/v1/labels", "match[]=cpu").await;
        assert_eq!(json(&body)["data"], json(r#"["__name__","host"]"#));
        let (_, body) = get("/api/v1/label/host/values").await;
        assert_eq!(body, r#"{"status":"success","data":["a","b","c"]}"#);
        let (_, body) =
            get("/api/v1/label/__name__/values?match[]=%7Bhost%3D~%22a%7Cc%22%7D").await;
        assert_eq!(json(&body)["data"], json(r#"["cpu","mem"]"#));
        let (_, body) = post("/api/v1/label/dc/values", "match[]=cpu").await;
        assert_eq!(json(&body)["data"], json("[]"));
        let (status, body) = get("/api/v1/label/1bad/values").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json(&body)["error"], r#"invalid label name: "1bad""#);
    }

    #[tokio::test]
    async fn internal_errors_are_generic() {
        let app = router(Arc::new(MemSource::failing()));
        let (status, body) = send(
            app,
            Request::get("/api/v1/labels").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let v = json(&body);
        assert_eq!(v["errorType"], "internal");
        assert!(
            !body.contains("disk on fire"),
            "storage details must not leak: {body}"
        );
    }

    #[tokio::test]
    async fn execution_errors_are_422() {
        let resp = PromError(QueryError::Execution("too many samples".into())).into_response();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json(r#"{"status":"error","errorType":"execution","error":"too many samples"}"#)
        );
    }

    #[tokio::test]
    async fn buildinfo_and_metadata() {
        let (status, body) = get("/api/v1/status/buildinfo").await;
        assert_eq!(status, StatusCode::OK);
        let v = json(&body);
        assert_eq!(v["data"]["version"], "2.45.0");
        for field in ["revision", "branch", "buildUser", "buildDate", "goVersion"] {
            assert!(v["data"][field].is_string(), "{field}");
        }
        assert_eq!(
            get("/api/v1/metadata").await.1,
            r#"{"status":"success","data":{}}"#
        );
    }
}

//! The typed API bodies (`tocsin-api-types`) read every answer of the real
//! collector exactly: each answer decodes into its type, and the type
//! writes it back to the same JSON, so a field the server sends and the
//! type lacks (or the reverse) fails here. The other suites check the wire
//! keys themselves, as an outside client sees them.

use anyhow::{Context, Result, ensure};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tocsin_api_types::cis::CiView;
use tocsin_api_types::maintenance::NewWindow;
use tocsin_api_types::notifications::{
    NotificationList, ReceiverView, TestAnswer, TestOutcome, TestRequest,
};
use tocsin_api_types::prom::{
    BuildInfo, LabelsAnswer, MatrixSeries, PromErrorBody, PromSuccess, QueryData, SeriesAnswer,
    VectorSample,
};
use tocsin_api_types::rules::{RulesAnswer, RulesReloaded};
use tocsin_api_types::{
    Ci, Data, DeviceEventRecord, ErrorBody, Health, Incident, IncidentDetail, MaintenanceWindow,
    Problem,
};
use tocsin_e2e::notify::{Probe, WAIT, start, webhook_config};
use tocsin_e2e::receivers::HttpReceiver;

/// GETs `path` and returns the HTTP status and the JSON body.
async fn get(base: &str, path: &str) -> Result<(u16, Value)> {
    let r = reqwest::get(format!("{base}{path}")).await?;
    let status = r.status().as_u16();
    let body = r
        .json()
        .await
        .with_context(|| format!("GET {path}: body is not JSON"))?;
    Ok((status, body))
}

/// `body` decoded as `T`, after checking that `T` writes it back unchanged.
fn exact<T: DeserializeOwned + Serialize>(what: &str, body: &Value) -> Result<T> {
    let typed: T = serde_json::from_value(body.clone())
        .with_context(|| format!("{what}: does not decode: {body}"))?;
    let again = serde_json::to_value(&typed)?;
    ensure!(
        &again == body,
        "{what}: the type does not write the answer back\n sent: {body}\ntyped: {again}"
    );
    Ok(typed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_answer_reads_exactly_into_its_type() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start().await?;
    let c = start(
        dir.path(),
        &webhook_config(&hook.url("/hook"), "0s", "", ""),
    )
    .await?;
    let base = c.http_url.clone();
    let mut p = Probe::open(&c, "h1").await?;
    p.send(60.0).await?;
    hook.wait_for(WAIT, "the opened notification", |r| {
        r.json()["event"] == "opened"
    })
    .await?;

    let ok = |(status, body): (u16, Value)| -> Result<Value> {
        ensure!(status == 200, "HTTP {status}: {body}");
        Ok(body)
    };
    let health: Health = exact("healthz", &ok(get(&base, "/healthz").await?)?)?;
    assert_eq!(health.status, "ok");

    let cis: Data<Vec<Ci>> = exact("cis", &ok(get(&base, "/api/v1/cis").await?)?)?;
    assert!(cis.data.iter().any(|ci| ci.id == "h1"), "{cis:?}");
    let ci: Data<CiView> = exact("ci", &ok(get(&base, "/api/v1/cis/h1").await?)?)?;
    let events: Data<Vec<DeviceEventRecord>> =
        exact("events", &ok(get(&base, "/api/v1/cis/h1/events").await?)?)?;
    assert!(events.data.is_empty(), "{events:?}");

    let list: Data<Vec<Incident>> =
        exact("incidents", &ok(get(&base, "/api/v1/incidents").await?)?)?;
    assert_eq!(list.data.len(), 1, "{list:?}");
    let id = list.data[0].id;
    let detail: Data<IncidentDetail> = exact(
        "incident",
        &ok(get(&base, &format!("/api/v1/incidents/{id}")).await?)?,
    )?;
    assert_eq!(detail.data.incident.rule, "probe_high");
    let _ = ci;

    // Requests are typed too.
    let window = NewWindow {
        ci_id: Some("h1".into()),
        ci_class: None,
        starts_at: p.ts,
        ends_at: p.ts + 3_600_000,
        reason: "CHG-1".into(),
        created_by: "ann".into(),
    };
    let (status, body) = c
        .post_json("/api/v1/maintenance", &serde_json::to_value(&window)?)
        .await?;
    ensure!(status == 201 || status == 200, "HTTP {status}: {body}");
    let added: Data<MaintenanceWindow> = exact("maintenance added", &body)?;
    let windows: Data<Vec<MaintenanceWindow>> = exact(
        "maintenance",
        &ok(get(&base, "/api/v1/maintenance").await?)?,
    )?;
    assert_eq!(windows.data, vec![added.data]);
    let _: Data<Vec<Problem>> = exact("problems", &ok(get(&base, "/api/v1/problems").await?)?)?;

    let rules: RulesAnswer = exact("rules", &ok(get(&base, "/api/v1/rules").await?)?)?;
    assert!(rules.data.rules.iter().any(|r| r.name == "probe_high"));
    let (status, body) = c.post_json("/api/v1/rules/reload", &json!({})).await?;
    ensure!(status == 200, "HTTP {status}: {body}");
    let reloaded: Data<RulesReloaded> = exact("reload", &body)?;
    assert_eq!(reloaded.data.rules, 1);

    let sent: Data<NotificationList> = exact(
        "notifications",
        &ok(get(&base, "/api/v1/notifications").await?)?,
    )?;
    assert!(!sent.data.is_empty());
    let receivers: Data<Vec<ReceiverView>> =
        exact("receivers", &ok(get(&base, "/api/v1/receivers").await?)?)?;
    assert_eq!(receivers.data[0].name, "hook");
    let request = TestRequest {
        actor: Some("ann".into()),
    };
    let (status, body) = c
        .post_json(
            "/api/v1/receivers/hook/test",
            &serde_json::to_value(&request)?,
        )
        .await?;
    ensure!(status == 200, "HTTP {status}: {body}");
    let test: Data<TestAnswer> = exact("receiver test", &body)?;
    assert_eq!(test.data.outcome, TestOutcome::Delivered);

    let q = "/api/v1/query?query=tocsin_test_value";
    let vector: PromSuccess<QueryData<Vec<VectorSample>>> = exact(
        "query",
        &ok(get(&base, &format!("{q}&time={}", p.ts / 1000 + 1)).await?)?,
    )?;
    assert_eq!(vector.data.result_type, "vector");
    assert_eq!(vector.data.result.len(), 1, "{vector:?}");
    let range = format!(
        "/api/v1/query_range?query=tocsin_test_value&start={}&end={}&step=1",
        p.ts / 1000 - 60,
        p.ts / 1000 + 1
    );
    let matrix: PromSuccess<QueryData<Vec<MatrixSeries>>> =
        exact("query_range", &ok(get(&base, &range).await?)?)?;
    assert_eq!(matrix.data.result_type, "matrix");
    let series: SeriesAnswer = exact(
        "series",
        &ok(get(&base, "/api/v1/series?match[]=tocsin_test_value").await?)?,
    )?;
    assert_eq!(series.data.len(), 1, "{series:?}");
    let labels: LabelsAnswer = exact("labels", &ok(get(&base, "/api/v1/labels").await?)?)?;
    assert!(labels.data.contains(&"probe".to_string()), "{labels:?}");
    let _: LabelsAnswer = exact(
        "label values",
        &ok(get(&base, "/api/v1/label/probe/values").await?)?,
    )?;
    let _: PromSuccess<BuildInfo> = exact(
        "buildinfo",
        &ok(get(&base, "/api/v1/status/buildinfo").await?)?,
    )?;

    // Errors have their own two shapes.
    let (status, body) = get(&base, "/api/v1/incidents/999999").await?;
    assert_eq!(status, 404, "{body}");
    let missing: ErrorBody = exact("not found", &body)?;
    assert_eq!(missing.error.code, "not_found");
    let (status, body) = get(&base, "/api/v1/query?query=rate(").await?;
    assert_eq!(status, 400, "{body}");
    let bad: PromErrorBody = exact("bad query", &body)?;
    assert_eq!(bad.error_type, "bad_data");
    Ok(())
}

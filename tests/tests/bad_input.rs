//! Malformed batches get a clear status and a counter, never a crash and
//! never partial data; resent batches are stored once.

use anyhow::Result;
use tocsin_e2e::api::urlencode;
use tocsin_e2e::grpc::{Stream, batch, def, now_ms};
use tocsin_e2e::{Collector, metric_value};
use tocsin_proto::v1::agent_message::Msg;
use tocsin_proto::v1::ingest_client::IngestClient;
use tocsin_proto::v1::{AgentMessage, Hello, SampleBatch};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Points of `expr` on a 1 s grid from `start_ms` to `end_ms` (both inclusive).
async fn points(c: &Collector, expr: &str, start_ms: i64, end_ms: i64) -> Result<usize> {
    let body = c
        .get_json(&format!(
            "/api/v1/query_range?query={}&start={}&end={}&step=1",
            urlencode(expr),
            start_ms as f64 / 1000.0,
            end_ms as f64 / 1000.0
        ))
        .await?;
    let result = body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(result
        .iter()
        .map(|s| s["values"].as_array().map_or(0, Vec::len))
        .sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_batches_are_rejected_whole_and_counted() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let c = Collector::start(&dir.path().join("data"), dir.path()).await?;
    let mut s = Stream::open(&c.grpc_url, "bad-agent").await?;
    let t = now_ms();

    // A valid series plus one NaN sample: the whole batch is refused, nothing is stored.
    let good = def(1, "test_value", &[("host", "bad-agent-host")]);
    let r = s
        .send(batch(
            1,
            vec![good.clone()],
            &[(1, t - 2000, 1.0), (1, t - 1000, f64::NAN)],
        ))
        .await?;
    assert_eq!(r.code, tonic::Code::InvalidArgument as i32, "{r:?}");
    assert!(r.message.contains("not a finite number"), "{}", r.message);

    let cases: Vec<(SampleBatch, &str, &str)> = vec![
        (
            batch(2, vec![def(2, "", &[])], &[(2, t, 1.0)]),
            "empty_metric_name",
            "metric name is empty",
        ),
        (
            batch(3, vec![def(3, "bad-name", &[])], &[(3, t, 1.0)]),
            "invalid_metric_name",
            "invalid metric name",
        ),
        (
            batch(
                4,
                vec![def(4, "m", &[("v", &"x".repeat(5000))])],
                &[(4, t, 1.0)],
            ),
            "label_value_too_long",
            "the limit is 1024 bytes",
        ),
        (
            batch(
                5,
                vec![def(
                    5,
                    "m",
                    &(0..40).map(|_| ("l", "v")).collect::<Vec<_>>(),
                )],
                &[(5, t, 1.0)],
            ),
            "too_many_labels",
            "the limit is 32",
        ),
        (
            batch(6, vec![good.clone()], &[(1, 0, 1.0)]),
            "invalid_timestamp",
            "outside the accepted range",
        ),
        (
            batch(7, vec![], &[(99, t, 1.0)]),
            "undeclared_series",
            "not declared",
        ),
    ];
    for (b, reason, text) in cases {
        let r = s.send(b).await?;
        assert_eq!(
            r.code,
            tonic::Code::InvalidArgument as i32,
            "{reason}: {r:?}"
        );
        assert!(r.message.contains(text), "{reason}: {}", r.message);
        let m = c.metrics_text().await?;
        let series = format!("tocsin_ingest_batches_rejected_total{{reason=\"{reason}\"}}");
        assert_eq!(metric_value(&m, &series), Some(1.0), "{series} in\n{m}");
    }
    assert_eq!(
        points(&c, "test_value", t - 3000, t).await?,
        0,
        "a rejected batch must leave nothing behind"
    );

    // The stream survives rejections: a valid batch is stored, and resending it
    // (as after a lost ack) is acknowledged without storing anything twice.
    let ok = batch(
        10,
        vec![good.clone()],
        &[(1, t - 3000, 1.0), (1, t - 2000, 2.0)],
    );
    let r = s.send(ok.clone()).await?;
    assert_eq!((r.code, r.samples_stored), (0, 2), "{r:?}");
    let r = s.send(ok.clone()).await?;
    assert_eq!((r.code, r.samples_stored), (0, 0), "{r:?}");
    // Same samples under a new sequence number (agent restarted and resent): skipped as duplicates.
    let mut again = ok.clone();
    again.seq = 11;
    again.series.clear();
    let r = s.send(again).await?;
    assert_eq!((r.code, r.samples_stored), (0, 0), "{r:?}");
    let m = c.metrics_text().await?;
    assert_eq!(
        metric_value(&m, "tocsin_ingest_batches_duplicate_total"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        metric_value(&m, "tocsin_ingest_samples_total"),
        Some(2.0),
        "{m}"
    );

    // A message over the size limit ends the stream with a status, not a crash.
    let huge = batch(12, vec![def(8, "big", &[("v", &"y".repeat(1000))])], &[]);
    let mut huge = huge;
    huge.series = (0..20_000)
        .map(|i| def(100 + i, "big", &[("v", &"y".repeat(1000))]))
        .collect();
    let err = s
        .send(huge)
        .await
        .expect_err("a 20 MB message must be refused");
    assert!(err.to_string().to_lowercase().contains("message"), "{err}");

    // The collector is still alive and the stored data is intact.
    c.get_json("/healthz").await?;
    // Two samples, one second apart: a 1 s grid over exactly that second has two points.
    assert_eq!(points(&c, "test_value", t - 3000, t - 2000).await?, 2);

    // A stream that does not start with Hello is refused with a clear status.
    let mut client = IngestClient::connect(c.grpc_url.clone()).await?;
    let (tx, rx) = mpsc::channel(1);
    tx.send(AgentMessage {
        msg: Some(Msg::Batch(batch(1, vec![], &[]))),
    })
    .await?;
    let status = client
        .stream(ReceiverStream::new(rx))
        .await
        .expect_err("must be refused");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(status.message().contains("must be Hello"), "{status}");

    // An unregistered agent cannot stream.
    let (tx, rx) = mpsc::channel(1);
    tx.send(AgentMessage {
        msg: Some(Msg::Hello(Hello {
            agent_id: "never-registered".into(),
        })),
    })
    .await?;
    let status = client
        .stream(ReceiverStream::new(rx))
        .await
        .expect_err("must be refused");
    assert!(status.message().contains("not registered"), "{status}");
    Ok(())
}

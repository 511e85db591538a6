//! Wires the agent together: the collection loop on its own tick, the
//! periodic inventory check, one task per SNMP device, and the transport,
//! until SIGINT or SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use tocsin_proto::v1::Inventory;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use crate::clock::now_ms;
use crate::collect::Collector;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::inventory::Gatherer;
use crate::queue::{MemoryQueue, split};
use crate::series::Registry;
use crate::snmp::trap::TrapReceiver;
use crate::stats::Stats;
use crate::{Shared, checks, devices, state, transport};

/// How often the inventory is gathered again to look for changes.
pub const INVENTORY_INTERVAL: Duration = Duration::from_secs(300);
/// Least time between two "queue full" warnings.
const DROP_WARNING_EVERY: Duration = Duration::from_secs(60);

/// Runs the agent until SIGINT or SIGTERM.
pub async fn run(config: Config) -> Result<()> {
    let agent_id = state::load_or_create_agent_id(&config.state_dir)?;
    let (gatherer, inventory) = tokio::task::spawn_blocking(|| {
        let mut g = Gatherer::new();
        let inv = g.gather();
        (g, inv)
    })
    .await
    .map_err(|e| Error::Protocol(format!("inventory task failed: {e}")))?;
    let host = if inventory.hostname.is_empty() {
        agent_id.clone()
    } else {
        inventory.hostname.clone()
    };
    tracing::info!(
        agent_id = %agent_id,
        host = %host,
        collector = %config.collector,
        interval = %humantime::format_duration(config.interval),
        packages = inventory.packages.len(),
        devices = config.snmp.len(),
        checks = config.checks.len(),
        "tocsin-agent starting"
    );

    let stats = Arc::new(Stats::default());
    let collector = Collector::new(stats.clone())?;
    let common = std::iter::once(("host".to_string(), host)).chain(config.labels.clone());
    let (inventory_tx, inventory_rx) = watch::channel(Arc::new(inventory));
    let shared = Arc::new(Shared::new(
        agent_id,
        Box::new(MemoryQueue::new(config.queue.max_batches)),
        Registry::new(common),
        inventory_rx,
        stats,
        config.queue.max_batch_samples,
    ));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);

    let mut collecting = tokio::spawn(collect_loop(
        collector,
        config.interval,
        shared.clone(),
        shutdown_rx.clone(),
    ));
    let inventory_task = tokio::spawn(inventory_loop(gatherer, inventory_tx, shutdown_rx.clone()));
    let resources = devices::PollResources::default();
    let mut device_tasks = devices::spawn_all(&config.snmp, &resources, &shared, &shutdown_rx);
    device_tasks.extend(checks::spawn_all(
        &config.checks,
        &resources.pinger,
        &shared,
        &shutdown_rx,
    ));
    if let Some(traps) = &config.traps {
        let receiver = TrapReceiver::bind(traps)
            .await
            .map_err(|e| Error::Config(vec![format!("traps.listen: {e}")]))?;
        tracing::info!(listen = %receiver.local_addr(), "SNMP trap receiver listening");
        device_tasks.push(tokio::spawn(devices::traps::run(
            receiver,
            shared.clone(),
            shutdown_rx.clone(),
        )));
    }
    let transport = tokio::spawn(transport::run(
        config.collector.clone(),
        shared.clone(),
        shutdown_rx,
    ));

    let outcome = tokio::select! {
        signal = shutdown_signal() => {
            tracing::info!(signal, "shutting down");
            Ok(())
        }
        res = &mut collecting => match res {
            Ok(Err(e)) => Err(e),
            Ok(Ok(())) => Ok(()),
            Err(e) => Err(Error::Protocol(format!("collection task failed: {e}"))),
        },
    };
    let _ = shutdown_tx.send(true);
    inventory_task.abort();
    if !collecting.is_finished() {
        let _ = collecting.await;
    }
    for task in device_tasks {
        let _ = task.await;
    }
    let _ = transport.await;
    tracing::info!("stopped");
    outcome
}

/// Collects on every tick, turns the samples into batches, and queues them.
async fn collect_loop(
    mut collector: Collector,
    interval: Duration,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_drop_warning: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return Ok(()),
        }
        let ts_ms = now_ms();
        let (c, samples) = tokio::task::spawn_blocking(move || {
            let samples = collector.collect();
            (collector, samples)
        })
        .await
        .map_err(|e| Error::Protocol(format!("collection panicked: {e}")))?;
        collector = c;
        let pairs = shared.registry().intern(samples);
        let batches = split(&pairs, ts_ms, shared.max_batch_samples());
        let (mut dropped, mut dropped_total) = (0, 0);
        {
            let mut q = shared.queue();
            for b in batches {
                dropped += q.push(b)?;
            }
            if dropped > 0 {
                dropped_total = q.dropped();
            }
        }
        shared.update_queue_stats();
        shared.new_batch.notify_one();
        tracing::debug!(
            samples = pairs.len(),
            series = shared.registry().len(),
            "collected"
        );
        if dropped > 0 && last_drop_warning.is_none_or(|t| t.elapsed() >= DROP_WARNING_EVERY) {
            last_drop_warning = Some(Instant::now());
            tracing::warn!(
                dropped_total,
                queued_batches = shared.queue().len(),
                "send queue full: dropping the oldest batches"
            );
        }
    }
}

/// Gathers the inventory again every [`INVENTORY_INTERVAL`] and publishes it when it changed.
async fn inventory_loop(
    mut gatherer: Gatherer,
    tx: watch::Sender<Arc<Inventory>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick =
        tokio::time::interval_at(Instant::now() + INVENTORY_INTERVAL, INVENTORY_INTERVAL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let Ok((g, inv)) = tokio::task::spawn_blocking(move || {
            let inv = gatherer.gather();
            (gatherer, inv)
        })
        .await
        else {
            tracing::error!("inventory gathering panicked; inventory updates stop");
            return;
        };
        gatherer = g;
        if **tx.borrow() != inv {
            tracing::info!("inventory changed");
            tx.send_replace(Arc::new(inv));
        }
    }
}

/// Waits for SIGINT or SIGTERM and names the one received.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the agent");
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    }
}

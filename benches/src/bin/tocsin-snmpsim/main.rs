//! `tocsin-snmpsim`: simulates many SNMP v2c switches in one process, each on
//! its own UDP port (base-port + i), for polling benchmarks and demos.
//!
//! Every device serves, GETNEXT/GETBULK-walkable in OID order, the SNMPv2-MIB
//! system group, IF-MIB ifNumber, ifTable and ifXTable (K interfaces, counters
//! that advance with time), HOST-RESOURCES hrSystemUptime, hrStorageTable and
//! hrProcessorTable, the ENTITY-MIB chassis and a power supply, and LLDP local
//! ports and a few remote neighbours. The OID table is built once per shape
//! and shared; values are computed on request.
//!
//! Prints `ready <devices> <first-port> <last-port>` on stdout once every
//! device is listening. Stops after `--lifetime`, on Ctrl-C, or (with
//! `--exit-on-stdin-eof`) when its parent closes stdin.

mod mib;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use async_snmp::agent::Agent;
use async_snmp::handler::{
    BoxFuture, GetNextResult, GetResult, HandlerResult, MibHandler, RequestContext,
};
use async_snmp::{Oid, VarBind};
use clap::Parser;

use mib::{Device, Shape};

#[derive(Parser, Debug)]
#[command(
    name = "tocsin-snmpsim",
    about = "Simulates many SNMP v2c switches, one UDP port each"
)]
struct Args {
    /// Number of simulated devices.
    #[arg(long, default_value_t = 200)]
    devices: u32,
    /// UDP port of device 0; device i listens on base-port + i.
    #[arg(long, default_value_t = 20161)]
    base_port: u16,
    /// Interfaces per device.
    #[arg(long, default_value_t = 48)]
    interfaces: u32,
    /// Accepted v2c community.
    #[arg(long, default_value = "public")]
    community: String,
    /// Address to listen on (keep it on loopback).
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// Tokio worker threads (0: a current-thread runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Stop after this long, e.g. `30m`.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    lifetime: Duration,
    /// Exit when standard input reaches end of file (for a parent that spawns it).
    #[arg(long)]
    exit_on_stdin_eof: bool,
}

/// Serves one device's OIDs from the shared shape.
struct DeviceHandler {
    shape: Arc<Shape>,
    device: Device,
}

impl MibHandler for DeviceHandler {
    fn get<'a>(
        &'a self,
        _ctx: &'a RequestContext,
        oid: &'a Oid,
    ) -> BoxFuture<'a, HandlerResult<GetResult>> {
        let result = match self.shape.get(oid) {
            Some(cell) => GetResult::Value(self.device.value(cell)),
            None => GetResult::NoSuchObject,
        };
        Box::pin(std::future::ready(Ok(result)))
    }

    fn get_next<'a>(
        &'a self,
        _ctx: &'a RequestContext,
        oid: &'a Oid,
    ) -> BoxFuture<'a, HandlerResult<GetNextResult>> {
        let result = match self.shape.next(oid) {
            Some((next, cell)) => {
                GetNextResult::Value(VarBind::new(next.clone(), self.device.value(cell)))
            }
            None => GetNextResult::EndOfMibView,
        };
        Box::pin(std::future::ready(Ok(result)))
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    anyhow::ensure!(args.devices > 0, "--devices must be at least 1");
    anyhow::ensure!(
        u32::from(args.base_port) + args.devices - 1 <= u32::from(u16::MAX),
        "--base-port + --devices exceeds 65535"
    );
    let runtime = if args.threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()?
    };
    let result = runtime.block_on(run(args));
    // The stdin watcher may still be blocked in read(2): do not wait for it.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn run(args: Args) -> Result<()> {
    let shape = Arc::new(Shape::new(args.interfaces));
    let started = Instant::now();
    let mut agents = Vec::with_capacity(args.devices as usize);
    for index in 0..args.devices {
        let port = u32::from(args.base_port) + index;
        let device = Device {
            index,
            interfaces: args.interfaces,
            started,
            uptime_offset: f64::from(86_400 * (1 + index % 90)),
        };
        let handler = Arc::new(DeviceHandler {
            shape: Arc::clone(&shape),
            device,
        });
        let agent = Agent::builder()
            .bind(format!("{}:{port}", args.bind))
            .community(args.community.as_str())
            // One handler for everything (LLDP lives under 1.0.8802, the rest
            // under 1.3.6.1): every GETNEXT step probes every handler.
            .handler(Oid::from_slice(&[1]), handler)
            .without_builtin_handlers()
            .allow_all_access()
            .recv_buffer_size(Some(256 * 1024))
            .build()
            .await
            .map_err(|e| anyhow::anyhow!("device {index} on port {port}: {e}"))?;
        agents.push(agent);
    }
    for agent in &agents {
        let agent = agent.clone();
        tokio::spawn(async move {
            if let Err(e) = agent.run().await {
                eprintln!(
                    "tocsin-snmpsim: agent on {} stopped: {e}",
                    agent.local_addr()
                );
            }
        });
    }
    let last = u32::from(args.base_port) + args.devices - 1;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready {} {} {last}", args.devices, args.base_port)?;
        out.flush().context("stdout")?;
    }
    let banner = format!(
        "tocsin-snmpsim: {} devices × {} interfaces ({} OIDs each) on {}:{}..{last}, community {:?}",
        args.devices,
        args.interfaces,
        shape.len(),
        args.bind,
        args.base_port,
        args.community
    );
    eprintln!("{banner}");

    let stdin_eof = async {
        if args.exit_on_stdin_eof {
            // A blocking read on the blocking pool: returns at EOF (parent gone).
            let _ = tokio::task::spawn_blocking(|| {
                let mut sink = Vec::new();
                let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
            })
            .await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = tokio::time::sleep(args.lifetime) => eprintln!("tocsin-snmpsim: lifetime reached"),
        _ = tokio::signal::ctrl_c() => {}
        () = stdin_eof => {}
    }
    for agent in &agents {
        agent.cancel();
    }
    Ok(())
}

//! A scripted agent for the incident and notification tests: one series
//! `tocsin_test_value{probe="p1"}` whose values the test chooses, from an
//! agent registered with a small inventory (hostname, OS, serial, one NIC).

use anyhow::{Result, ensure};
use tocsin_proto::v1::{Inventory, NetInterface};

use crate::Collector;
use crate::grpc::{Stream, batch, def, now_ms};

/// A scripted agent with one series `tocsin_test_value{probe="p1"}`.
pub struct Probe {
    agent: String,
    stream: Stream,
    /// Sequence number of the last batch sent.
    pub seq: u64,
    declared: bool,
    /// Timestamp (ms) of the last sample sent.
    pub ts: i64,
}

impl Probe {
    /// Registers `agent` with an inventory and opens its stream.
    pub async fn open(c: &Collector, agent: &str) -> Result<Self> {
        let inventory = Inventory {
            hostname: format!("{agent}-host"),
            os_name: "Debian GNU/Linux".into(),
            os_version: "12".into(),
            dmi_serial: format!("SN-{agent}"),
            interfaces: vec![NetInterface {
                name: "eth0".into(),
                mac: "02:00:00:00:00:01".into(),
                ips: vec!["10.9.8.7".into()],
            }],
            ..Default::default()
        };
        Ok(Self {
            agent: agent.to_string(),
            stream: Stream::open_with(&c.grpc_url, agent, inventory).await?,
            seq: 0,
            declared: false,
            ts: now_ms() - 60_000,
        })
    }

    /// Sends one sample of the probe series.
    pub async fn send(&mut self, value: f64) -> Result<()> {
        self.seq += 1;
        self.ts += 100;
        let defs = if self.declared {
            vec![]
        } else {
            vec![def(
                1,
                "tocsin_test_value",
                &[("host", &self.agent), ("probe", "p1")],
            )]
        };
        self.declared = true;
        let r = self
            .stream
            .send(batch(self.seq, defs, &[(1, self.ts, value)]))
            .await?;
        ensure!(r.code == 0, "batch rejected: {r:?}");
        Ok(())
    }
}

//! A network namespace joined to the host by a veth pair: a device or a
//! gateway the tests can cut off the network (`ip`, from iproute2).

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, bail};

/// A network namespace joined to the host by a veth pair, deleted on drop.
pub struct Netns {
    /// Namespace name.
    pub name: String,
    /// The host side of the veth pair.
    host_if: String,
    /// The namespace side of the veth pair.
    ns_if: String,
    /// The namespace's address, reachable from the host.
    pub address: String,
}

impl Netns {
    /// Creates a namespace with `lo` up and a /30 link to the host.
    pub fn create() -> Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let subnet = (std::process::id() * 3 + n * 7) % 250 + 1;
        let name = format!("tocsin-{}-{n}", std::process::id());
        let host_if = format!("tch{}x{n}", std::process::id() % 100_000);
        let ns_if = format!("tcn{}x{n}", std::process::id() % 100_000);
        let ns = Self {
            name: name.clone(),
            host_if: host_if.clone(),
            ns_if: ns_if.clone(),
            address: format!("10.213.{subnet}.2"),
        };
        ip(&["netns", "add", &name])?;
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if,
        ])?;
        ip(&["link", "set", &ns_if, "netns", &name])?;
        ip(&[
            "addr",
            "add",
            &format!("10.213.{subnet}.1/30"),
            "dev",
            &host_if,
        ])?;
        ip(&["link", "set", &host_if, "up"])?;
        let in_ns = |args: &[&str]| {
            let mut all = vec!["netns", "exec", &name, "ip"];
            all.extend_from_slice(args);
            ip(&all)
        };
        in_ns(&["link", "set", "lo", "up"])?;
        in_ns(&["addr", "add", &format!("{}/30", ns.address), "dev", &ns_if])?;
        in_ns(&["link", "set", &ns_if, "up"])?;
        Ok(ns)
    }

    /// Takes the namespace's side of the link down (`false`) or up again
    /// (`true`), like a device losing its uplink. (Taking the host side
    /// down instead would send the packets out of the default route, and
    /// some sandboxes answer pings to any address there.)
    pub fn set_link(&self, up: bool) -> Result<()> {
        ip(&[
            "netns",
            "exec",
            &self.name,
            "ip",
            "link",
            "set",
            &self.ns_if,
            if up { "up" } else { "down" },
        ])
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.host_if]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

//! A real net-snmp `snmpd` for the device tests (Debian packages `snmpd` and
//! `snmp`), started with a generated config holding one v2c community and
//! one v3 authPriv user — on a free loopback port, or inside a network
//! namespace the test creates, so that the test can cut the device off the
//! network (ICMP and SNMP both stop answering).

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::{Proc, wait_for};

/// The v2c community every test snmpd accepts.
pub const COMMUNITY: &str = "tocsin-ro";
/// The v3 user (SHA + AES) every test snmpd accepts.
pub const USER: &str = "tocsinv3";
/// Its authentication password.
pub const AUTH_PASS: &str = "authpass-123";
/// Its privacy password.
pub const PRIV_PASS: &str = "privpass-456";
/// The sysName every test snmpd reports.
pub const SYS_NAME: &str = "tocsin-test-device";

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

/// A running snmpd, killed on drop.
pub struct Snmpd {
    /// The process.
    pub proc: Proc,
    /// Address the agent polls.
    pub address: String,
    /// UDP port.
    pub port: u16,
    dir: PathBuf,
    netns: Option<String>,
    extra: String,
    starts: u32,
}

impl Snmpd {
    /// Starts snmpd on a free loopback port, with `extra` config lines.
    pub async fn start(dir: &Path, extra: &str) -> Result<Self> {
        let port = UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
        Self::launch(dir, "127.0.0.1".into(), port, None, extra).await
    }

    /// Starts snmpd inside `ns`, listening on the namespace's address.
    pub async fn start_in(ns: &Netns, dir: &Path, extra: &str) -> Result<Self> {
        let port = 16_100 + u16::try_from(std::process::id() % 1000).unwrap_or(0);
        Self::launch(dir, ns.address.clone(), port, Some(ns.name.clone()), extra).await
    }

    async fn launch(
        dir: &Path,
        address: String,
        port: u16,
        netns: Option<String>,
        extra: &str,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut s = Self {
            proc: Proc::placeholder(dir.join("snmpd-0.log")),
            address,
            port,
            dir: dir.to_path_buf(),
            netns,
            extra: extra.to_string(),
            starts: 0,
        };
        s.restart_with(extra).await?;
        Ok(s)
    }

    /// Restarts snmpd with other `extra` config lines (a "firmware upgrade").
    pub async fn restart_with(&mut self, extra: &str) -> Result<()> {
        self.proc.crash();
        self.starts += 1;
        self.extra = extra.to_string();
        let conf = self.dir.join("snmpd.conf");
        std::fs::write(
            &conf,
            format!(
                "agentaddress udp:{}:{}\n\
                 rocommunity {COMMUNITY}\n\
                 createUser {USER} SHA \"{AUTH_PASS}\" AES \"{PRIV_PASS}\"\n\
                 rouser {USER} authpriv\n\
                 sysName {SYS_NAME}\n\
                 sysLocation rack-42, room 7\n\
                 sysContact ops@example.test\n{}\n",
                self.address, self.port, self.extra
            ),
        )?;
        let persist = self.dir.join(format!("persist-{}", self.starts));
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(snmpd_binary()?);
                c
            }
            None => Command::new(snmpd_binary()?),
        };
        cmd.args(["-f", "-Lo", "-C", "-c"])
            .arg(&conf)
            .arg("-p")
            .arg(self.dir.join("snmpd.pid"))
            .arg(format!("--persistentDir={}", persist.display()))
            .env("MIBS", "")
            .stdin(Stdio::null());
        self.proc = Proc::spawn(cmd, self.dir.join(format!("snmpd-{}.log", self.starts)))?;
        let target = format!("{}:{}", self.address, self.port);
        wait_for(Duration::from_secs(15), || async {
            let out = Command::new("snmpget")
                .args(["-v2c", "-c", COMMUNITY, "-t", "0.3", "-r", "0", "-On"])
                .arg(&target)
                .arg("1.3.6.1.2.1.1.5.0")
                .env("MIBS", "")
                .output()?;
            Ok(out.status.success().then_some(()))
        })
        .await
        .with_context(|| format!("snmpd did not answer; log:\n{}", self.proc.log()))
    }

    /// The `[[snmp]]` agent-config entry for this device, v2c.
    pub fn v2c_target(&self, id: &str, community: &str, extra: &str) -> String {
        format!(
            "[[snmp]]\nid = \"{id}\"\naddress = \"{}\"\nport = {}\nversion = \"v2c\"\ncommunity = \"{community}\"\nclass = \"switch\"\ninterval = \"2s\"\ntimeout = \"500ms\"\nretries = 0\n{extra}\n",
            self.address, self.port
        )
    }

    /// The `[[snmp]]` agent-config entry for this device, v3 authPriv.
    pub fn v3_target(&self, id: &str, auth_pass: &str, extra: &str) -> String {
        format!(
            "[[snmp]]\nid = \"{id}\"\naddress = \"{}\"\nport = {}\nversion = \"v3\"\nuser = \"{USER}\"\nauth_protocol = \"sha\"\nauth_password = \"{auth_pass}\"\npriv_protocol = \"aes\"\npriv_password = \"{PRIV_PASS}\"\nclass = \"router\"\ninterval = \"2s\"\ntimeout = \"500ms\"\nretries = 0\n{extra}\n",
            self.address, self.port
        )
    }
}

fn snmpd_binary() -> Result<PathBuf> {
    ["/usr/sbin/snmpd", "/usr/local/sbin/snmpd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .context("snmpd not found: apt-get install -y snmpd snmp")
}

//! A real net-snmp `snmpd` for the device tests (Debian packages `snmpd` and
//! `snmp`), started with a generated config holding one v2c community and
//! one v3 authPriv user — on a free loopback port, or inside a network
//! namespace the test creates, so that the test can cut the device off the
//! network (ICMP and SNMP both stop answering).
//!
//! The one snmpd harness of the workspace: the end-to-end tests here and the
//! agent's own SNMP integration tests (`agent/tests/`) both start it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::Proc;
pub use crate::netns::Netns;

/// The v2c community every test snmpd accepts.
pub const COMMUNITY: &str = "tocsin-ro";
/// The v3 user (SHA + AES) every test snmpd accepts.
pub const USER: &str = "tocsinv3";
/// Its authentication password.
pub const AUTH_PASS: &str = "authpass-123";
/// Its privacy password.
pub const PRIV_PASS: &str = "privpass-456";
/// What snmpd logs when its UDP port is already taken.
const PORT_TAKEN: &str = "Error opening specified endpoint";

/// The sysName every test snmpd reports.
pub const SYS_NAME: &str = "tocsin-test-device";

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
    /// The directory [`Snmpd::start_temp`] made; removed after the process is killed.
    _temp: Option<tempfile::TempDir>,
}

impl Snmpd {
    /// Starts snmpd on a free loopback port, with `extra` config lines.
    ///
    /// The port is picked by binding port 0 and closing it again, so another
    /// process may take it before snmpd binds it; snmpd then exits with
    /// "Error opening specified endpoint" and another port is tried.
    pub async fn start(dir: &Path, extra: &str) -> Result<Self> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = crate::process::pre_picked_udp_port();
            match Self::launch(dir, "127.0.0.1".into(), port, None, extra).await {
                Err(e) if attempt < 5 && format!("{e:#}").contains(PORT_TAKEN) => continue,
                other => return other,
            }
        }
    }

    /// Starts snmpd on a free loopback port, with `extra` config lines, in a
    /// temporary directory of its own that goes away with it.
    pub async fn start_temp(extra: &str) -> Result<Self> {
        let temp = tempfile::tempdir()?;
        let mut s = Self::start(temp.path(), extra).await?;
        s._temp = Some(temp);
        Ok(s)
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
            _temp: None,
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
        let deadline = Instant::now() + Duration::from_secs(15);
        let answered = loop {
            let out = Command::new("snmpget")
                .args(["-v2c", "-c", COMMUNITY, "-t", "0.3", "-r", "0", "-On"])
                .arg(&target)
                .arg("1.3.6.1.2.1.1.5.0")
                .env("MIBS", "")
                .output()?;
            if out.status.success() {
                break Ok(());
            }
            if let Some(status) = self.proc.exited() {
                break Err(anyhow::anyhow!("snmpd exited ({status})"));
            }
            if Instant::now() > deadline {
                break Err(anyhow::anyhow!("timed out after 15 s"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        answered.with_context(|| format!("snmpd did not answer; log:\n{}", self.proc.log()))
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

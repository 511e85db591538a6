//! A real net-snmp `snmpd` for the agent's SNMP tests (Debian packages
//! `snmpd` and `snmp`), on a free loopback port with a generated config:
//! one v2c community and one v3 authPriv user.
#![allow(dead_code)] // each test file uses a different part

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tocsin_agent::snmp::config::{AuthProtocol, PrivProtocol};
use tocsin_agent::snmp::mibs::system;
use tocsin_agent::snmp::session::Session;
use tocsin_agent::snmp::{SnmpTarget, SnmpVersion};

pub const COMMUNITY: &str = "tocsin-ro";
pub const USER: &str = "tocsinv3";
pub const AUTH_PASS: &str = "authpass-123";
pub const PRIV_PASS: &str = "privpass-456";

/// A running snmpd, killed on drop.
pub struct Snmpd {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Snmpd {
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    /// Starts snmpd with `extra` lines appended to the generated config.
    pub async fn start_with(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("free port")
            .port();
        let conf = dir.path().join("snmpd.conf");
        std::fs::write(
            &conf,
            format!(
                "agentaddress udp:127.0.0.1:{port}\n\
                 rocommunity {COMMUNITY} 127.0.0.1\n\
                 createUser {USER} SHA \"{AUTH_PASS}\" AES \"{PRIV_PASS}\"\n\
                 rouser {USER} authpriv\n\
                 sysName tocsin-test-device\n\
                 sysLocation rack-42, room 7\n\
                 sysContact ops@example.test\n{extra}\n"
            ),
        )
        .expect("write snmpd.conf");
        let log = std::fs::File::create(dir.path().join("snmpd.log")).expect("log file");
        let child = Command::new(snmpd_binary())
            .arg("-f")
            .arg("-Lo")
            .arg("-C")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path().join("snmpd.pid"))
            .arg(format!(
                "--persistentDir={}",
                dir.path().join("persist").display()
            ))
            .env("MIBS", "")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start snmpd (apt-get install -y snmpd snmp)");
        let mut snmpd = Self {
            child: Some(child),
            port,
            dir,
        };
        snmpd.wait_ready().await;
        snmpd
    }

    pub async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut probe = self.v2c(COMMUNITY);
        probe.timeout = Duration::from_millis(200);
        probe.retries = 0;
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("snmpd exited with {status}: {}", self.log());
            }
            // A GET of the system group only: a full poll could queue slow requests.
            if let Ok(session) = Session::open(&probe).await
                && session.get(&system::oids()).await.is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("snmpd did not answer within 15 s: {}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("snmpd.log")).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn v2c(&self, community: &str) -> SnmpTarget {
        let mut t = SnmpTarget::v2c("127.0.0.1", self.port, community);
        t.timeout = Duration::from_millis(500);
        t.retries = 1;
        t.interval = Duration::from_secs(20);
        t
    }

    pub fn v3(&self, auth_pass: &str) -> SnmpTarget {
        let mut t = self.v2c("unused");
        t.version = SnmpVersion::V3;
        t.community = None;
        t.user = Some(USER.to_owned());
        t.auth_protocol = Some(AuthProtocol::Sha);
        t.auth_password = Some(tocsin_agent::snmp::Secret::new(auth_pass));
        t.priv_protocol = Some(PrivProtocol::Aes);
        t.priv_password = Some(tocsin_agent::snmp::Secret::new(PRIV_PASS));
        t
    }
}

impl Drop for Snmpd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn snmpd_binary() -> PathBuf {
    ["/usr/sbin/snmpd", "/usr/local/sbin/snmpd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("snmpd"))
}

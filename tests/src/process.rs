//! The process harness shared by the end-to-end tests and the benches:
//! where the binaries are, a child process killed when dropped, waiting for
//! the file in which a process reports where it listens, and the one
//! documented way to pre-pick a port for processes that cannot report it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::de::DeserializeOwned;

/// Directory holding the built binaries.
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TOCSIN_BIN_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test binary has a parent directory");
    deps.parent().expect("deps has a parent").to_path_buf()
}

/// Full path of one binary, with a helpful panic if it was not built.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} not found: build the binaries first (cargo build --release --bins)",
        p.display()
    );
    p
}

/// A loopback UDP port that was free a moment ago, for a process that must
/// be told its port because it cannot bind port 0 and report the bound one:
/// net-snmp's `snmpd`, and the agent's trap receiver (`traps.listen`
/// refuses port 0, since devices are configured with a fixed trap
/// destination). Racy by nature: another process may take the port before
/// the one it is meant for binds it. Everything of Tocsin's that can bind
/// port 0 does, and reports the port instead (the collector's ready file).
pub fn pre_picked_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0")
}

/// How often the harness looks again at a file or a log it waits for.
const POLL: Duration = Duration::from_millis(50);

/// A child process that is killed when dropped; its output goes to a log file.
pub struct Proc {
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    /// A process slot with nothing running yet.
    pub fn placeholder(log: PathBuf) -> Self {
        Self { child: None, log }
    }

    /// Spawns `cmd` with stdout and stderr going to `log`.
    pub fn spawn(mut cmd: Command, log: PathBuf) -> Result<Self> {
        let out = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        cmd.stdout(out.try_clone()?)
            .stderr(out)
            .stdin(Stdio::null());
        let child = cmd.spawn().with_context(|| format!("spawning {cmd:?}"))?;
        Ok(Self {
            child: Some(child),
            log,
        })
    }

    /// Everything the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Where the process logs.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// How the process ended, if it has (reaping it); `None` while it runs
    /// or when nothing was started.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Kills the process hard (SIGKILL), like a crash.
    pub fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits for a clean exit; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }

    /// Waits until the process has written the JSON file `path` (written
    /// atomically by the process, e.g. the collector's `--ready-file`) and
    /// parses it. Fails with the log if the process exits first or the file
    /// does not appear within `timeout`. Remove a stale file before spawning.
    pub async fn wait_for_json_file<T: DeserializeOwned>(
        &mut self,
        path: &Path,
        timeout: Duration,
    ) -> Result<T> {
        let deadline = Instant::now() + timeout;
        loop {
            match std::fs::read(path) {
                Ok(bytes) => {
                    return serde_json::from_slice(&bytes)
                        .with_context(|| format!("{} is not the expected JSON", path.display()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => bail!("cannot read {}: {e}", path.display()),
            }
            self.check_running(deadline, timeout, &format!("{}", path.display()))?;
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the process's log satisfies `ready` and returns the log.
    /// Fails, with the log, if the process exits first or `timeout` passes.
    pub async fn wait_for_log(
        &mut self,
        timeout: Duration,
        what: &str,
        ready: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            if ready(&log) {
                return Ok(log);
            }
            self.check_running(deadline, timeout, what)?;
            tokio::time::sleep(POLL).await;
        }
    }

    /// Fails, with the log, if the process ended or `deadline` passed.
    fn check_running(&mut self, deadline: Instant, timeout: Duration, what: &str) -> Result<()> {
        if let Some(status) = self.exited() {
            bail!(
                "process exited with {status} before {what} appeared; log:\n{}",
                self.log()
            );
        }
        if Instant::now() > deadline {
            bail!("no {what} after {timeout:?}; log:\n{}", self.log());
        }
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.crash();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, log: &Path) -> Result<Proc> {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        Proc::spawn(cmd, log.to_path_buf())
    }

    #[tokio::test]
    async fn json_file_is_read_once_written() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("ready.json");
        let script = format!(
            "sleep 0.2; echo '{{\"port\":4242}}' > {0}.tmp; mv {0}.tmp {0}; sleep 30",
            file.display()
        );
        let mut p = sh(&script, &dir.path().join("log"))?;
        let v: serde_json::Value = p.wait_for_json_file(&file, Duration::from_secs(10)).await?;
        assert_eq!(v["port"], 4242);
        Ok(())
    }

    #[tokio::test]
    async fn a_log_line_is_waited_for_and_an_exit_ends_the_wait() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let mut p = sh("sleep 0.2; echo ready now; sleep 30", &dir.path().join("a"))?;
        let log = p
            .wait_for_log(Duration::from_secs(10), "ready", |l| l.contains("ready"))
            .await?;
        assert!(log.contains("ready now"), "{log}");
        let mut q = sh("echo nope; exit 4", &dir.path().join("b"))?;
        let err = q
            .wait_for_log(Duration::from_secs(10), "ready", |l| l.contains("ready"))
            .await
            .err()
            .context("the process exited, yet waiting succeeded")?;
        assert!(format!("{err:#}").contains("exit status: 4"), "{err:#}");
        Ok(())
    }

    #[tokio::test]
    async fn waiting_fails_with_the_log_when_the_process_exits() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let mut p = sh("echo cannot listen; exit 3", &dir.path().join("log"))?;
        let err = p
            .wait_for_json_file::<serde_json::Value>(
                &dir.path().join("never.json"),
                Duration::from_secs(10),
            )
            .await
            .err()
            .context("no file, yet waiting succeeded")?;
        let text = format!("{err:#}");
        assert!(text.contains("exit status: 3"), "{text}");
        assert!(text.contains("cannot listen"), "{text}");
        Ok(())
    }
}

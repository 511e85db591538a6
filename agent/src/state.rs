//! The agent's persistent state: its identity, created once and kept in
//! `<state_dir>/agent_id` so a restarted agent reports as the same CI.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Name of the file holding the agent id inside the state directory.
pub const AGENT_ID_FILE: &str = "agent_id";

/// Reads the agent id from `state_dir`, creating the directory and a new
/// random id on first start.
pub fn load_or_create_agent_id(state_dir: &Path) -> Result<String> {
    std::fs::create_dir_all(state_dir).map_err(|e| {
        Error::io(
            state_dir,
            std::io::Error::new(e.kind(), format!("cannot create the state directory: {e}")),
        )
    })?;
    let path = state_dir.join(AGENT_ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let id = text.trim().to_string();
            if !is_valid_agent_id(&id) {
                return Err(Error::State {
                    path,
                    reason: format!(
                        "does not hold a valid agent id ({id:?}); restore it or delete the file to register as a new host"
                    ),
                });
            }
            Ok(id)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = new_agent_id();
            write_atomically(&path, &format!("{id}\n"))?;
            tracing::info!(agent_id = %id, path = %path.display(), "created a new agent id");
            Ok(id)
        }
        Err(e) => Err(Error::io(path, e)),
    }
}

/// A new random 128-bit id, formatted like a version-4 UUID.
pub fn new_agent_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Whether `id` is acceptable to the collector: 1-128 characters of `[A-Za-z0-9._:-]`.
pub fn is_valid_agent_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// Writes `text` to a temporary file, syncs it, and renames it over `path`,
/// so a crash never leaves a half-written id behind.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let tmp: PathBuf = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            // Make the rename itself durable; not every filesystem allows it.
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    };
    write().map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("nested").join("state");
        let first = load_or_create_agent_id(&state).unwrap();
        assert!(is_valid_agent_id(&first));
        assert_eq!(first.len(), 36);
        let second = load_or_create_agent_id(&state).unwrap();
        assert_eq!(first, second, "a restart must keep the id");
        let on_disk = std::fs::read_to_string(state.join(AGENT_ID_FILE)).unwrap();
        assert_eq!(on_disk.trim(), first);
    }

    #[test]
    fn ids_are_random_uuid_like() {
        let a = new_agent_id();
        let b = new_agent_id();
        assert_ne!(a, b);
        let parts: Vec<_> = a.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12]);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn corrupt_id_file_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(AGENT_ID_FILE), "not valid!\n").unwrap();
        let e = load_or_create_agent_id(dir.path()).unwrap_err().to_string();
        assert!(e.contains(AGENT_ID_FILE), "{e}");
    }

    #[test]
    fn unusable_state_dir_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let e = load_or_create_agent_id(&file.join("sub"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("a-file") && e.contains("state directory"), "{e}");
    }
}

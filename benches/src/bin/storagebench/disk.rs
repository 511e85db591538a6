//! What a directory holds on disk: the apparent size (sum of file lengths)
//! of every regular file under it, grouped as each system needs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// One regular file under a directory.
#[derive(Debug, Clone)]
pub struct FileSize {
    /// Path relative to the directory measured.
    pub path: PathBuf,
    /// Length in bytes.
    pub bytes: u64,
}

/// Every regular file under `dir`, recursively (symlinks are not followed).
pub fn files(dir: &Path) -> Result<Vec<FileSize>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                todo.push(entry.path());
            } else if meta.is_file() {
                let path = entry.path();
                out.push(FileSize {
                    path: path.strip_prefix(dir).unwrap_or(&path).to_path_buf(),
                    bytes: meta.len(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Total bytes of the files `keep` selects.
pub fn sum(files: &[FileSize], keep: impl Fn(&Path) -> bool) -> u64 {
    files
        .iter()
        .filter(|f| keep(&f.path))
        .map(|f| f.bytes)
        .sum()
}

/// Whether `path`'s name ends with `.ext`.
pub fn has_ext(path: &Path, ext: &str) -> bool {
    path.extension().is_some_and(|e| e == ext)
}

/// Whether `path`'s file name starts with `prefix`.
pub fn name_starts(path: &Path, prefix: &str) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
}

/// Whether `path`'s first component is `name`.
pub fn under(path: &Path, name: &str) -> bool {
    path.components()
        .next()
        .is_some_and(|c| c.as_os_str() == name)
}

/// Total bytes under `dir`, 0 if it does not exist yet.
pub fn total(dir: &Path) -> u64 {
    files(dir).map_or(0, |f| sum(&f, |_| true))
}

//! The only calls into libc that need `unsafe`, each in one small function
//! with its safety argument. Everything else in the agent is safe code.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Block and inode counts of a mounted filesystem, in bytes and inodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsStats {
    /// Total size in bytes.
    pub size_bytes: u64,
    /// Free bytes, including those reserved for root.
    pub free_bytes: u64,
    /// Bytes available to unprivileged users.
    pub available_bytes: u64,
    /// Total inodes.
    pub inodes: u64,
    /// Free inodes.
    pub inodes_free: u64,
}

/// `statvfs(2)` on `path`.
#[allow(unsafe_code)]
#[allow(clippy::useless_conversion)] // the statvfs field types differ between targets
pub fn statvfs(path: &Path) -> std::io::Result<FsStats> {
    let c_path = CString::new(path.as_os_str().as_bytes())?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call,
    // and `st` points to writable memory of the right size; statvfs only
    // writes into it.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it fully initialised `st`.
    let st = unsafe { st.assume_init() };
    let frsize = u64::from(st.f_frsize);
    Ok(FsStats {
        size_bytes: u64::from(st.f_blocks).saturating_mul(frsize),
        free_bytes: u64::from(st.f_bfree).saturating_mul(frsize),
        available_bytes: u64::from(st.f_bavail).saturating_mul(frsize),
        inodes: u64::from(st.f_files),
        inodes_free: u64::from(st.f_ffree),
    })
}

/// The canonical name of `host` from the resolver (`getaddrinfo` with
/// `AI_CANONNAME`), as `hostname -f` does. `None` when it does not resolve.
#[allow(unsafe_code)]
pub fn canonical_name(host: &str) -> Option<String> {
    let c_host = CString::new(host).ok()?;
    // SAFETY: an all-zero addrinfo is the documented "no hints" value; the
    // fields set below are plain integers.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call; on success `res` points to a
    // list owned by libc that is released with freeaddrinfo below, after the
    // canonical name has been copied out of it.
    unsafe {
        if libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut res) != 0
            || res.is_null()
        {
            return None;
        }
        let name_ptr = (*res).ai_canonname;
        let name =
            (!name_ptr.is_null()).then(|| CStr::from_ptr(name_ptr).to_string_lossy().into_owned());
        libc::freeaddrinfo(res);
        name.filter(|n| !n.is_empty())
    }
}

/// Clock ticks per second, the unit of CPU times in `/proc` (`USER_HZ`).
#[allow(unsafe_code)]
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).ok().filter(|&h| h > 0).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statvfs_of_root_is_sane() {
        let s = statvfs(Path::new("/")).unwrap();
        assert!(s.size_bytes > 0);
        assert!(s.free_bytes <= s.size_bytes && s.available_bytes <= s.free_bytes);
        assert!(statvfs(Path::new("/definitely/not/here")).is_err());
    }

    #[test]
    fn localhost_resolves() {
        assert!(canonical_name("localhost").is_some());
        assert!(clock_ticks_per_second() >= 1);
    }
}

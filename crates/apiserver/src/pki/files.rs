//! Small file helpers for the PKI: atomic writes with a given mode, optional reads and
//! permission repair. All errors are plain `std::io::Error`s; the caller adds the path.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode for private keys, tokens and kubeconfigs.
pub const PRIVATE: u32 = 0o600;
/// Mode for certificates.
pub const PUBLIC: u32 = 0o644;

/// Create `dir` (and parents) with mode 0700 if it does not exist.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Write `contents` to `path` atomically: a temporary file in the same directory,
/// created with `mode`, is written, fsynced and renamed over `path`; then the
/// directory is fsynced so the rename survives a crash.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);

    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        // The mode given to open() is filtered by the umask and ignored for an existing
        // file: set it explicitly.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        // Best effort: do not leave temporary files behind.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Read `path` as UTF-8; `Ok(None)` if it does not exist.
pub fn read_optional(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Make sure an existing private file is not readable by group or others; returns
/// whether the mode had to be changed.
pub fn restrict_mode(path: &Path) -> io::Result<bool> {
    let meta = fs::metadata(path)?;
    if meta.permissions().mode() & 0o077 == 0 {
        return Ok(false);
    }
    fs::set_permissions(path, fs::Permissions::from_mode(PRIVATE))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_sets_mode_and_replaces() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("secret");
        write_atomic(&p, b"one", PRIVATE)?;
        assert_eq!(fs::read_to_string(&p)?, "one");
        assert_eq!(fs::metadata(&p)?.permissions().mode() & 0o777, 0o600);
        write_atomic(&p, b"two", PRIVATE)?;
        assert_eq!(read_optional(&p)?.as_deref(), Some("two"));
        assert_eq!(read_optional(&dir.path().join("missing"))?, None);
        // Only the target file remains.
        assert_eq!(fs::read_dir(dir.path())?.count(), 1);

        fs::set_permissions(&p, fs::Permissions::from_mode(0o644))?;
        assert!(restrict_mode(&p)?);
        assert!(!restrict_mode(&p)?);
        assert_eq!(fs::metadata(&p)?.permissions().mode() & 0o777, 0o600);
        Ok(())
    }
}

//! Where the node's credentials live under the agent's data directory, and
//! crash-safe writes of them.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use super::{JoinError, JoinInfo, NodeCredentials};

/// Mode of the private key.
pub const PRIVATE: u32 = 0o600;
/// Mode of certificates and `join.json`.
pub const PUBLIC: u32 = 0o644;

/// The credential files under a data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialPaths {
    /// `DIR/tls` (0700).
    pub tls_dir: PathBuf,
    /// `DIR/tls/ca.crt`: the cluster CA the token pinned.
    pub ca: PathBuf,
    /// `DIR/tls/node.crt`: the node's client certificate.
    pub cert: PathBuf,
    /// `DIR/tls/node.key`: its private key (0600).
    pub key: PathBuf,
    /// `DIR/join.json`: server URL, node name and link port; written last.
    pub info: PathBuf,
}

impl CredentialPaths {
    /// The paths under `dir`.
    pub fn new(dir: &Path) -> Self {
        let tls = dir.join("tls");
        Self {
            ca: tls.join("ca.crt"),
            cert: tls.join("node.crt"),
            key: tls.join("node.key"),
            tls_dir: tls,
            info: dir.join("join.json"),
        }
    }

    /// Where a renewed certificate waits before it replaces [`Self::cert`].
    pub fn cert_next(&self) -> PathBuf {
        with_suffix(&self.cert, ".new")
    }

    /// Where a renewed key waits before it replaces [`Self::key`].
    pub fn key_next(&self) -> PathBuf {
        with_suffix(&self.key, ".new")
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Wraps an I/O error with its path.
pub fn io_err(path: &Path) -> impl FnOnce(io::Error) -> JoinError + '_ {
    move |source| JoinError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates `dir` (mode 0700) if missing.
pub fn ensure_private_dir(dir: &Path) -> Result<(), JoinError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err(dir))
}

/// Reads `path`; `None` if it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, JoinError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Writes `path` with `mode` without syncing its directory (see [`sync_dir`]):
/// a temporary file in the same directory is written, fsynced and renamed.
pub fn write_file(path: &Path, contents: &str, mode: u32) -> Result<(), JoinError> {
    let tmp = with_suffix(path, &format!(".tmp.{}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        // The umask filters the mode given to open(): set it explicitly.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err(path))
}

/// Fsyncs a directory so renames in it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<(), JoinError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// Writes a renewed pair: both go to `.new` files first, then the key and then
/// the certificate are renamed into place. [`finish_renewal`] repairs a crash
/// between the steps.
pub fn replace_pair(
    paths: &CredentialPaths,
    cert_pem: &str,
    key_pem: &str,
) -> Result<(), JoinError> {
    let (cert_next, key_next) = (paths.cert_next(), paths.key_next());
    write_file(&key_next, key_pem, PRIVATE)?;
    write_file(&cert_next, cert_pem, PUBLIC)?;
    sync_dir(&paths.tls_dir)?;
    fs::rename(&key_next, &paths.key).map_err(io_err(&paths.key))?;
    fs::rename(&cert_next, &paths.cert).map_err(io_err(&paths.cert))?;
    sync_dir(&paths.tls_dir)
}

/// Completes or rolls back a renewal a crash interrupted: with both `.new` files
/// present nothing was replaced yet (drop them); with only the certificate's, the
/// key was already replaced (move the certificate too).
pub fn finish_renewal(paths: &CredentialPaths) -> Result<(), JoinError> {
    let (cert_next, key_next) = (paths.cert_next(), paths.key_next());
    if !cert_next.exists() {
        if key_next.exists() {
            fs::remove_file(&key_next).map_err(io_err(&key_next))?;
        }
        return Ok(());
    }
    if key_next.exists() {
        fs::remove_file(&key_next).map_err(io_err(&key_next))?;
        fs::remove_file(&cert_next).map_err(io_err(&cert_next))?;
    } else {
        tracing::info!(path = %paths.cert.display(), "finishing an interrupted certificate renewal");
        fs::rename(&cert_next, &paths.cert).map_err(io_err(&paths.cert))?;
    }
    sync_dir(&paths.tls_dir)
}

/// Stores all credentials; `join.json` last, so it only exists beside a full set.
pub fn store(dir: &Path, creds: &NodeCredentials) -> Result<(), JoinError> {
    let paths = CredentialPaths::new(dir);
    ensure_private_dir(&paths.tls_dir)?;
    write_file(&paths.ca, &creds.ca_pem, PUBLIC)?;
    replace_pair(&paths, &creds.cert_pem, &creds.key_pem)?;
    let info = JoinInfo {
        server_url: creds.server_url.clone(),
        node_name: creds.node_name.clone(),
        link_port: creds.link_port,
    };
    let json = serde_json::to_string_pretty(&info).map_err(|e| JoinError::Cert(e.to_string()))?;
    write_file(&paths.info, &format!("{json}\n"), PUBLIC)?;
    sync_dir(dir)
}

/// Stores a renewed certificate and its key (both replaced crash-safely). The pair
/// must belong together, name the joined node and chain to the stored CA.
pub fn store_renewed(dir: &Path, cert_pem: &str, key_pem: &str) -> Result<(), JoinError> {
    let paths = CredentialPaths::new(dir);
    let creds = super::load(dir)?.ok_or_else(|| JoinError::NotJoined {
        dir: dir.to_owned(),
    })?;
    super::check_node_cert(cert_pem, key_pem, &creds.ca_pem, &creds.node_name)
        .map_err(|reason| JoinError::Cert(format!("renewed certificate refused: {reason}")))?;
    replace_pair(&paths, cert_pem, key_pem)?;
    tracing::info!(path = %paths.cert.display(), "stored renewed node certificate");
    Ok(())
}

//! The subset of the kubeconfig format brink writes (and reads back): one cluster,
//! one user with inline client certificate data, one context.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

/// Name of the cluster and context in brink's kubeconfigs.
pub const CLUSTER_NAME: &str = "brink";

/// Why a kubeconfig could not be produced or understood.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// The YAML could not be serialised or parsed.
    #[error("kubeconfig YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    /// A `*-data` field is not valid base64.
    #[error("kubeconfig field {field} is not valid base64: {source}")]
    Base64 {
        /// The field name.
        field: &'static str,
        /// The decoder's error.
        source: base64::DecodeError,
    },
    /// The current context, or the cluster or user it names, is missing.
    #[error("kubeconfig has no {0} for the current context")]
    Missing(&'static str),
}

/// A kubeconfig document (`kind: Config`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Kubeconfig {
    /// Always `v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Always `Config`.
    pub kind: String,
    /// Known clusters.
    #[serde(default)]
    pub clusters: Vec<NamedCluster>,
    /// Known contexts.
    #[serde(default)]
    pub contexts: Vec<NamedContext>,
    /// The context in use.
    #[serde(default)]
    pub current_context: String,
    /// Known users.
    #[serde(default)]
    pub users: Vec<NamedUser>,
}

/// A cluster entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedCluster {
    /// Entry name.
    pub name: String,
    /// The cluster.
    pub cluster: Cluster,
}

/// Where a cluster is and which CA it uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Cluster {
    /// Base64 of the CA certificate PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority_data: Option<String>,
    /// The API server URL.
    pub server: String,
}

/// A context entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedContext {
    /// Entry name.
    pub name: String,
    /// The context.
    pub context: Context,
}

/// A (cluster, user) pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// Cluster entry name.
    pub cluster: String,
    /// User entry name.
    pub user: String,
}

/// A user entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedUser {
    /// Entry name.
    pub name: String,
    /// The credentials.
    pub user: User,
}

/// Credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct User {
    /// Base64 of the client certificate PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_data: Option<String>,
    /// Base64 of the client private key PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_data: Option<String>,
    /// A bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// The PEM material a kubeconfig's current context carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextData {
    /// The API server URL.
    pub server: String,
    /// CA certificate PEM, if present.
    pub ca_pem: Option<String>,
    /// Client certificate PEM, if present.
    pub client_cert_pem: Option<String>,
    /// Client key PEM, if present.
    pub client_key_pem: Option<String>,
    /// Bearer token, if present.
    pub token: Option<String>,
}

impl Kubeconfig {
    /// A kubeconfig for `user` authenticating with a client certificate.
    pub fn with_client_cert(
        server_url: &str,
        ca_pem: &str,
        user: &str,
        cert_pem: &str,
        key_pem: &str,
    ) -> Self {
        Self {
            api_version: "v1".into(),
            kind: "Config".into(),
            clusters: vec![NamedCluster {
                name: CLUSTER_NAME.into(),
                cluster: Cluster {
                    certificate_authority_data: Some(BASE64.encode(ca_pem)),
                    server: server_url.into(),
                },
            }],
            contexts: vec![NamedContext {
                name: CLUSTER_NAME.into(),
                context: Context {
                    cluster: CLUSTER_NAME.into(),
                    user: user.into(),
                },
            }],
            current_context: CLUSTER_NAME.into(),
            users: vec![NamedUser {
                name: user.into(),
                user: User {
                    client_certificate_data: Some(BASE64.encode(cert_pem)),
                    client_key_data: Some(BASE64.encode(key_pem)),
                    token: None,
                },
            }],
        }
    }

    /// Serialise to YAML.
    pub fn to_yaml(&self) -> Result<String, KubeconfigError> {
        Ok(serde_norway::to_string(self)?)
    }

    /// Parse YAML.
    pub fn from_yaml(s: &str) -> Result<Self, KubeconfigError> {
        Ok(serde_norway::from_str(s)?)
    }

    /// Resolve the current context and decode its inline data.
    pub fn current(&self) -> Result<ContextData, KubeconfigError> {
        let ctx = self
            .contexts
            .iter()
            .find(|c| c.name == self.current_context)
            .ok_or(KubeconfigError::Missing("context"))?;
        let cluster = self
            .clusters
            .iter()
            .find(|c| c.name == ctx.context.cluster)
            .ok_or(KubeconfigError::Missing("cluster"))?;
        let user = self
            .users
            .iter()
            .find(|u| u.name == ctx.context.user)
            .ok_or(KubeconfigError::Missing("user"))?;
        Ok(ContextData {
            server: cluster.cluster.server.clone(),
            ca_pem: decode(
                "certificate-authority-data",
                &cluster.cluster.certificate_authority_data,
            )?,
            client_cert_pem: decode(
                "client-certificate-data",
                &user.user.client_certificate_data,
            )?,
            client_key_pem: decode("client-key-data", &user.user.client_key_data)?,
            token: user.user.token.clone(),
        })
    }
}

fn decode(field: &'static str, v: &Option<String>) -> Result<Option<String>, KubeconfigError> {
    let Some(v) = v else { return Ok(None) };
    let bytes = BASE64
        .decode(v.trim())
        .map_err(|source| KubeconfigError::Base64 { field, source })?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() -> anyhow::Result<()> {
        let k = Kubeconfig::with_client_cert("https://h:6443", "CA", "me", "CERT", "KEY");
        let yaml = k.to_yaml()?;
        assert!(yaml.contains("current-context: brink"));
        assert!(yaml.contains("certificate-authority-data:"));
        assert!(yaml.contains("client-key-data:"));
        assert!(yaml.contains("apiVersion: v1"));
        let back = Kubeconfig::from_yaml(&yaml)?;
        assert_eq!(back, k);
        let cur = back.current()?;
        assert_eq!(cur.server, "https://h:6443");
        assert_eq!(cur.ca_pem.as_deref(), Some("CA"));
        assert_eq!(cur.client_cert_pem.as_deref(), Some("CERT"));
        assert_eq!(cur.client_key_pem.as_deref(), Some("KEY"));
        Ok(())
    }

    #[test]
    fn missing_context_is_an_error() -> anyhow::Result<()> {
        let mut k = Kubeconfig::with_client_cert("https://h", "CA", "me", "C", "K");
        k.current_context = "other".into();
        assert!(matches!(
            k.current(),
            Err(KubeconfigError::Missing("context"))
        ));
        Ok(())
    }
}

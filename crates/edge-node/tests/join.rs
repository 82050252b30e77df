//! Joining a real in-process API server: node token, bootstrap tokens, refusals.

mod join_support;

use anyhow::Context as _;
use apiserver::join::bootstrap;
use edge_node::join;
use join_support::{Cluster, LINK_PORT, refused, subject};
use link::token::JoinToken;
use serde_json::json;

#[tokio::test]
async fn join_with_the_node_token() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let dir = c.agent_dir("agent");
    let token = c.node_token()?.to_string();
    let creds = join::join(&c.url, &token, "gw-1", &dir).await?;
    assert_eq!(creds.node_name, "gw-1");
    assert_eq!(creds.link_port, LINK_PORT);
    assert_eq!(creds.ca_pem, c.ca_pem()?);
    assert_eq!(
        subject(&creds.cert_pem)?,
        ("system:node:gw-1".into(), vec!["system:nodes".into()])
    );
    join::check_node_cert(&creds.cert_pem, &creds.key_pem, &c.ca_pem()?, "gw-1")
        .map_err(anyhow::Error::msg)?;
    let key_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.join("tls/node.key"))?.permissions(),
    );
    assert_eq!(key_mode & 0o777, 0o600);

    // A later start reuses what was stored, without a token.
    let loaded = join::load(&dir)?.context("stored credentials")?;
    assert_eq!(loaded, creds);
    let again = join::load_or_join(&c.url, None, "gw-1", &dir).await?;
    assert_eq!(again, creds);
    assert!(!join::expires_within(
        &creds.cert_pem,
        join::RENEW_WITHIN,
        std::time::SystemTime::now()
    )?);

    // The node certificate authenticates as system:node:gw-1 against the API.
    assert!(loaded.client_tls_config().is_ok());
    let review = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    let path = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
    let node = Some((creds.cert_pem.clone(), creds.key_pem.clone()));
    let (code, body) = c.request(node, "POST", path, &[], Some(review)).await?;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["status"]["userInfo"]["username"], "system:node:gw-1");
    assert!(
        body["status"]["userInfo"]["groups"]
            .as_array()
            .is_some_and(|g| g.contains(&json!("system:nodes")))
    );
    let (code, body) = c.request(None, "GET", "/cacerts", &[], None).await?;
    assert_eq!((code, body.as_str()), (200, Some(c.ca_pem()?.as_str())));
    Ok(())
}

#[tokio::test]
async fn refusals() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let dir = c.agent_dir("agent");
    let mut token = c.node_token()?;
    token.secret = "0123456789abcdef0123456789abcdef".into();
    let (code, message) = refused(join::join(&c.url, &token.to_string(), "gw-1", &dir).await)?;
    assert_eq!(
        (code, message.as_str()),
        (401, "wrong secret for join token \"node\"")
    );

    let mut unknown = JoinToken::generate_bootstrap(b"")?;
    unknown.ca_hash = token.ca_hash;
    let (code, message) = refused(join::join(&c.url, &unknown.to_string(), "gw-1", &dir).await)?;
    assert_eq!(code, 401);
    assert_eq!(
        message,
        format!(
            "join token \"{}\" is not valid: no such token (was it revoked?)",
            unknown.id
        )
    );
    assert!(join::load(&dir)?.is_none(), "nothing stored after refusals");

    // Server-side checks of the request itself.
    let auth = format!("Bearer {}", c.node_token()?.credentials());
    let hdr = [("authorization", auth.as_str())];
    let (csr, _) = join::new_csr("gw-1")?;
    let bad_name = json!({"nodeName": "GW_1", "csrPem": csr});
    let (code, status) = c
        .request(None, "POST", "/brink/v1/join", &hdr, Some(bad_name))
        .await?;
    assert_eq!(code, 400, "{status}");
    assert!(
        status["message"]
            .as_str()
            .unwrap_or("")
            .contains("invalid node name \"GW_1\"")
    );
    let other_cn = json!({"nodeName": "gw-2", "csrPem": csr});
    let (code, status) = c
        .request(None, "POST", "/brink/v1/join", &hdr, Some(other_cn))
        .await?;
    assert_eq!(code, 400, "{status}");
    assert_eq!(status["kind"], "Status");
    let good = json!({"nodeName": "gw-1", "csrPem": csr});
    let (code, status) = c
        .request(None, "POST", "/brink/v1/join", &[], Some(good))
        .await?;
    assert_eq!(
        (code, status["reason"].as_str()),
        (401, Some("Unauthorized"))
    );
    let (code, _) = c.request(None, "GET", "/brink/v1/join", &hdr, None).await?;
    assert_eq!(code, 405);
    Ok(())
}

#[tokio::test]
async fn bootstrap_tokens_join_expire_and_revoke() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let in_an_hour = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let token = c.create_bootstrap(Some(in_an_hour)).await?;
    let creds = join::join(&c.url, &token, "gw-2", &c.agent_dir("a2")).await?;
    assert_eq!(subject(&creds.cert_pem)?.0, "system:node:gw-2");

    // Revoked: the Secret is deleted.
    let id = JoinToken::parse(&token)?.id;
    let path = format!(
        "/api/v1/namespaces/kube-system/secrets/{}",
        bootstrap::secret_name(&id)
    );
    assert_eq!(
        c.request(Some(c.admin()?), "DELETE", &path, &[], None)
            .await?
            .0,
        200
    );
    let (code, message) = refused(join::join(&c.url, &token, "gw-3", &c.agent_dir("a3")).await)?;
    assert_eq!(code, 401);
    assert!(message.contains("(was it revoked?)"), "{message}");

    // Expired.
    let an_hour_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let expired = c.create_bootstrap(Some(an_hour_ago)).await?;
    let err = join::join(&c.url, &expired, "gw-4", &c.agent_dir("a4")).await;
    let text = err
        .as_ref()
        .map_err(ToString::to_string)
        .err()
        .unwrap_or_default();
    let (code, message) = refused(err)?;
    assert_eq!(code, 401);
    assert!(
        message.contains("expired at") && message.contains("brink token create"),
        "{message}"
    );
    assert!(
        text.contains("ask the cluster admin for a new token"),
        "{text}"
    );

    // No expiry at all.
    let forever = c.create_bootstrap(None).await?;
    join::join(&c.url, &forever, "gw-5", &c.agent_dir("a5")).await?;
    Ok(())
}

//! `brink token`: join tokens for agents, kept as Kubernetes bootstrap-token
//! Secrets and managed through the API with the admin kubeconfig.

use crate::cli::{TokenCommand, TokenCreateArgs, TokenTarget};
use anyhow::{Context, bail};
use apiserver::join::bootstrap;
use apiserver::pki::Kubeconfig;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ListParams, PostParams};
use link::token::JoinToken;

/// Attempts at finding an unused random token id.
const CREATE_ATTEMPTS: usize = 3;

/// Runs a `brink token` subcommand.
pub fn run(cmd: TokenCommand) -> anyhow::Result<()> {
    if let TokenCommand::Create(args) = &cmd
        && args.node_token
    {
        return print_node_token(&args.target);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async {
        match cmd {
            TokenCommand::Create(args) => create(&args).await,
            TokenCommand::List(target) => list(&target).await,
            TokenCommand::Delete(args) => delete(&args.target, &args.id).await,
        }
    })
}

/// The old `brink token create`: the server's permanent node token.
fn print_node_token(target: &TokenTarget) -> anyhow::Result<()> {
    let path = target.data_dir.join("node-token");
    let token = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (start `brink server --data-dir {}` once first)",
            path.display(),
            target.data_dir.display()
        )
    })?;
    println!("{}", token.trim());
    Ok(())
}

/// A client for the cluster of `target`'s kubeconfig and that cluster's CA (PEM).
async fn client(target: &TokenTarget) -> anyhow::Result<(kube::Client, String)> {
    let path = target.kubeconfig_path();
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (pass --data-dir of a brink server, or --kubeconfig)",
            path.display()
        )
    })?;
    let ca_pem = Kubeconfig::from_yaml(&text)
        .and_then(|k| k.current())
        .with_context(|| format!("{}: not a usable kubeconfig", path.display()))?
        .ca_pem
        .with_context(|| {
            format!(
                "{}: the current cluster has no certificate-authority-data (agents need the CA's hash)",
                path.display()
            )
        })?;
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&text)
        .with_context(|| format!("{}: not a kubeconfig", path.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .with_context(|| format!("{}: unusable kubeconfig", path.display()))?;
    Ok((kube::Client::try_from(config)?, ca_pem))
}

fn secrets(client: kube::Client) -> kube::Api<Secret> {
    kube::Api::namespaced(client, bootstrap::NAMESPACE)
}

/// `brink token create`: a new bootstrap token; prints the agent's token.
async fn create(args: &TokenCreateArgs) -> anyhow::Result<()> {
    let ttl = parse_ttl(&args.ttl)?;
    let (client, ca_pem) = client(&args.target).await?;
    let ca_hash = link::token::ca_hash_from_pem(&ca_pem)?;
    let expiration = ttl.map(|d| Timestamp::now() + d);
    let api = secrets(client);
    for _ in 0..CREATE_ATTEMPTS {
        let mut token = JoinToken::generate_bootstrap(&[])?;
        token.ca_hash = ca_hash;
        let secret: Secret =
            serde_json::from_value(bootstrap::new_secret(&token, expiration, &args.description))?;
        match api.create(&PostParams::default(), &secret).await {
            Ok(_) => {
                println!("{token}");
                return Ok(());
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => return Err(e).context("creating the token's Secret"),
        }
    }
    bail!("could not find an unused token id; try again")
}

/// `brink token list`: the bootstrap tokens (ids only, never secrets).
async fn list(target: &TokenTarget) -> anyhow::Result<()> {
    let (client, _) = client(target).await?;
    let all = secrets(client)
        .list(&ListParams::default())
        .await
        .context("listing the token Secrets")?;
    let now = Timestamp::now();
    let mut rows = vec![[
        "ID".to_string(),
        "TTL".into(),
        "EXPIRES".into(),
        "DESCRIPTION".into(),
    ]];
    for s in &all.items {
        let Some(info) = serde_json::to_value(s)
            .ok()
            .as_ref()
            .and_then(bootstrap::info)
        else {
            continue;
        };
        let (ttl, expires) = match &info.expiration {
            None => ("<forever>".to_string(), "<never>".to_string()),
            Some(at) => match at.parse::<Timestamp>() {
                Ok(t) if t <= now => ("<expired>".into(), at.clone()),
                Ok(t) => (
                    api::table::human_duration_signed(t.duration_since(now)),
                    at.clone(),
                ),
                Err(_) => ("<invalid>".into(), at.clone()),
            },
        };
        rows.push([info.id, ttl, expires, info.description.unwrap_or_default()]);
    }
    if rows.len() == 1 {
        eprintln!("no join tokens (create one with \"brink token create\")");
        return Ok(());
    }
    print!("{}", table(&rows));
    Ok(())
}

/// Left-aligned columns three spaces apart, as kubectl prints them.
fn table(rows: &[[String; 4]]) -> String {
    let mut widths = [0usize; 4];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}   "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `brink token delete ID`: revokes a bootstrap token.
async fn delete(target: &TokenTarget, given: &str) -> anyhow::Result<()> {
    let id = token_id(given)?;
    let (client, _) = client(target).await?;
    match secrets(client)
        .delete(&bootstrap::secret_name(&id), &DeleteParams::default())
        .await
    {
        Ok(_) => {
            println!("join token \"{id}\" deleted");
            Ok(())
        }
        Err(kube::Error::Api(s)) if s.code == 404 => bail!("no join token \"{id}\""),
        Err(e) => Err(e).context("deleting the token's Secret"),
    }
}

/// The id of `given`: an id, `id:secret`, or a whole `K10…` token.
fn token_id(given: &str) -> anyhow::Result<String> {
    let given = given.trim();
    let id = if given.starts_with(link::token::TOKEN_PREFIX) && given.contains("::") {
        JoinToken::parse(given)?.id
    } else {
        given.split(':').next().unwrap_or("").to_owned()
    };
    if id == link::token::NODE_TOKEN_ID {
        bail!("the node token cannot be deleted; it lives in DATA_DIR/node-token");
    }
    if !link::token::is_bootstrap_part(&id, link::token::BOOTSTRAP_ID_LEN) {
        bail!("{id:?} is not a join token id (6 characters a-z, 0-9; see \"brink token list\")");
    }
    Ok(id)
}

/// `24h`, `30m`, `1h30m`, `90s`, `7d` (Go-style units plus days); `0` means no
/// expiry (`None`).
pub fn parse_ttl(s: &str) -> anyhow::Result<Option<SignedDuration>> {
    let s = s.trim();
    let bad = || {
        anyhow::anyhow!(
            "invalid --ttl {s:?}: use a duration such as 24h, 30m, 1h30m or 7d, or 0 for no expiry"
        )
    };
    if s == "0" {
        return Ok(None);
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() || s.is_empty() {
        return Err(bad());
    }
    Ok((total > 0).then(|| SignedDuration::from_secs(total)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls() {
        let secs = |s: &str| parse_ttl(s).ok().map(|d| d.map(|d| d.as_secs()));
        assert_eq!(secs("24h"), Some(Some(86_400)));
        assert_eq!(secs("1h30m"), Some(Some(5_400)));
        assert_eq!(secs("7d"), Some(Some(604_800)));
        assert_eq!(secs("90s"), Some(Some(90)));
        assert_eq!(secs("0"), Some(None));
        assert_eq!(secs("0h"), Some(None));
        for bad in ["", "h", "24", "24x", "-1h", "1.5h", "99999999999999999999d"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids() {
        let hash = "ab".repeat(32);
        assert_eq!(token_id("abc123").ok().as_deref(), Some("abc123"));
        assert_eq!(
            token_id("abc123:0123456789abcdef").ok().as_deref(),
            Some("abc123")
        );
        let full = format!("K10{hash}::abc123:0123456789abcdef");
        assert_eq!(token_id(&full).ok().as_deref(), Some("abc123"));
        assert!(token_id("node").is_err());
        assert!(token_id("ABC123").is_err());
        assert!(token_id("abc").is_err());
    }

    #[test]
    fn tables_align() {
        let rows = [
            [
                "ID".to_string(),
                "TTL".into(),
                "EXPIRES".into(),
                "DESCRIPTION".into(),
            ],
            [
                "abcdef".to_string(),
                "23h".into(),
                "2026-01-01T00:00:00Z".into(),
                String::new(),
            ],
        ];
        assert_eq!(
            table(&rows),
            "ID       TTL   EXPIRES                DESCRIPTION\nabcdef   23h   2026-01-01T00:00:00Z\n"
        );
    }
}

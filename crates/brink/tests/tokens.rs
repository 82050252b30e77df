//! End-to-end: `brink token create | list | delete` against a running server.

mod common;

use common::Server;
use link::token::JoinToken;
use std::process::Command;

/// Runs `brink token ARGS --data-dir DIR`; returns (success, stdout, stderr).
fn brink_token(server: &Server, args: &[&str]) -> (bool, String, String) {
    let mut all = args.to_vec();
    let dir = server.data_dir().display().to_string();
    if !args.contains(&"--kubeconfig") {
        all.extend(["--data-dir", &dir]);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_brink"))
        .arg("token")
        .args(&all)
        .env_remove("BRINK_DATA_DIR")
        .env("BRINK_LOG", "warn")
        .output()
        .expect("running brink token");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn ok(server: &Server, args: &[&str]) -> String {
    let (success, stdout, stderr) = brink_token(server, args);
    assert!(success, "brink token {args:?} failed:\n{stderr}");
    stdout
}

#[test]
fn create_list_delete() -> anyhow::Result<()> {
    let server = Server::start()?;
    let ca_pem = std::fs::read_to_string(server.data_dir().join("tls/ca.crt"))?;

    // The permanent node token, as before.
    let node = ok(&server, &["create", "--node-token"]);
    assert_eq!(node.trim(), server.node_token());

    // A bootstrap token pinned to the server's CA.
    let printed = ok(&server, &["create", "--description", "gateways in hall 3"]);
    let token = JoinToken::parse(printed.trim())?;
    assert!(token.is_bootstrap(), "{printed}");
    assert_eq!(token.ca_hash, link::token::ca_hash_from_pem(&ca_pem)?);
    let forever = JoinToken::parse(ok(&server, &["create", "--ttl", "0"]).trim())?;

    let listed = ok(&server, &["list"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("EXPIRES"),
        "{listed}"
    );
    let row = lines
        .iter()
        .find(|l| l.starts_with(&token.id))
        .unwrap_or_else(|| panic!("{} not listed:\n{listed}", token.id));
    assert!(
        row.contains("gateways in hall 3") && row.contains("23h"),
        "{row}"
    );
    let row = lines
        .iter()
        .find(|l| l.starts_with(&forever.id))
        .unwrap_or_else(|| panic!("{} not listed:\n{listed}", forever.id));
    assert!(row.contains("<forever>"), "{row}");
    assert!(!listed.contains(&token.secret), "secrets are never listed");

    let out = ok(&server, &["delete", &token.id]);
    assert!(out.contains("deleted"), "{out}");
    let listed = ok(&server, &["list"]);
    assert!(!listed.contains(&token.id), "{listed}");
    let (success, _, stderr) = brink_token(&server, &["delete", &token.id]);
    assert!(!success && stderr.contains("no join token"), "{stderr}");
    let (success, _, stderr) = brink_token(&server, &["create", "--ttl", "soon"]);
    assert!(!success && stderr.contains("invalid --ttl"), "{stderr}");
    Ok(())
}

#[test]
fn kubeconfig_flag_and_secret_shape() -> anyhow::Result<()> {
    let server = Server::start()?;
    // Any admin kubeconfig will do, wherever it is.
    let copy = server.dir.path().join("elsewhere.kubeconfig");
    std::fs::copy(server.kubeconfig(), &copy)?;
    let copy = copy.display().to_string();
    let printed = ok(&server, &["create", "--kubeconfig", &copy, "--ttl", "2h"]);
    let token = JoinToken::parse(printed.trim())?;

    let kubectl = server.kubectl("1.33");
    let name = format!("bootstrap-token-{}", token.id);
    let ty = kubectl.ok(&[
        "-n",
        "kube-system",
        "get",
        "secret",
        &name,
        "-o",
        "jsonpath={.type}",
    ]);
    assert_eq!(ty, "bootstrap.kubernetes.io/token");
    let usage = kubectl.ok(&[
        "-n",
        "kube-system",
        "get",
        "secret",
        &name,
        "-o",
        "jsonpath={.data.usage-bootstrap-authentication}",
    ]);
    assert_eq!(usage, "dHJ1ZQ==", "base64 of \"true\"");

    // The whole token names it too; the node token cannot be deleted.
    let (success, _, stderr) = brink_token(&server, &["delete", "node"]);
    assert!(
        !success && stderr.contains("node token cannot be deleted"),
        "{stderr}"
    );
    ok(&server, &["delete", printed.trim(), "--kubeconfig", &copy]);
    kubectl.fails(&["-n", "kube-system", "get", "secret", &name]);

    // A missing kubeconfig says what to pass.
    let (success, _, stderr) = brink_token(&server, &["list", "--kubeconfig", "/nonexistent"]);
    assert!(!success && stderr.contains("/nonexistent"), "{stderr}");
    Ok(())
}

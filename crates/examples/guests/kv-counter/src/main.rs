//! `kv-counter`: counts its runs in the node-local key-value store that
//! brink offers beyond WASI (`brink:edge/kv`, WIT in `crates/wit/wit`).
//! Each run adds a step to `COUNTER` (default `runs`) and prints the count;
//! the count survives pod deletion, agent restarts and reboots of the node.
//! The step is key `step` of the ConfigMap `counter-settings` when the pod
//! references it (`brink:edge/config`), else 1.

wit_bindgen::generate!({
    path: "../../../wit/wit",
    world: "brink:edge/host",
});

use brink::edge::{config, kv};

fn main() {
    let key = std::env::var("COUNTER").unwrap_or_else(|_| "runs".into());
    let before: u64 = kv::get(&key)
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let step: u64 = config::get("counter-settings", "step")
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1);
    let now = before + step;
    if let Err(e) = kv::set(&key, now.to_string().as_bytes()) {
        eprintln!("cannot store the count: {e}");
        std::process::exit(1);
    }
    println!("{key} = {now}");
}

//! Crash safety: a child process (this test binary, re-executed) runs a write
//! storm and prints every acknowledged write; the parent SIGKILLs it mid-storm,
//! reopens the file and checks that every acknowledged write is there, at the
//! revision it was acknowledged with. Several rounds on the same file.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use store::{RedbStore, RedbStoreConfig, Revision, Store};

/// Set in the child: the database path.
const CHILD_PATH: &str = "BRINK_STORE_CRASH_CHILD";
/// Set in the child: the round number (keys are distinct per round).
const CHILD_ROUND: &str = "BRINK_STORE_CRASH_ROUND";
const TEST_NAME: &str = "acknowledged_writes_survive_sigkill";
const ROUNDS: u32 = 3;
const MIN_ACKS: usize = 3000;
const MIN_RUN: Duration = Duration::from_millis(1500);
const DEADLINE: Duration = Duration::from_secs(120);

/// One acknowledged write as the child reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ack {
    key: String,
    revision: Revision,
    hash: u64,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn value_for(key: &str, version: u32) -> Bytes {
    let len = 100 + (fnv1a(key.as_bytes()) % 900) as usize;
    let pattern = format!("{key}@{version};");
    Bytes::from(pattern.repeat(len / pattern.len() + 1).into_bytes())
}

fn config(path: &Path) -> RedbStoreConfig {
    RedbStoreConfig {
        path: path.to_owned(),
        history_keep: 100_000_000,
        max_batch: 1024,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    if let Ok(path) = std::env::var(CHILD_PATH) {
        let round = std::env::var(CHILD_ROUND)
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        child_storm(Path::new(&path), round);
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("crash.redb");
    let mut all_acks = Vec::new();
    for round in 0..ROUNDS {
        let acks = run_child_and_kill(&path, round);
        all_acks.extend(acks);
        verify(&path, &all_acks, round);
    }
}

/// Kills the child if the parent fails before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_child_and_kill(path: &Path, round: u32) -> Vec<Ack> {
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = KillOnDrop(
        Command::new(exe)
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads", "1"])
            .env(CHILD_PATH, path)
            .env(CHILD_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the child"),
    );
    let stdout = child.0.stdout.take().expect("child stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(ack) = parse_ack(&line)
                && tx.send(ack).is_err()
            {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut acks = Vec::new();
    while acks.len() < MIN_ACKS || started.elapsed() < MIN_RUN {
        let left = DEADLINE.checked_sub(started.elapsed()).unwrap_or_default();
        match rx.recv_timeout(left.min(Duration::from_secs(10))) {
            Ok(ack) => acks.push(ack),
            Err(e) => panic!(
                "round {round}: child stopped acknowledging after {} acks: {e}",
                acks.len()
            ),
        }
    }
    // SIGKILL: no destructor, no flush, no close runs in the child.
    child.0.kill().expect("kill the child");
    child.0.wait().expect("reap the child");
    reader.join().expect("reader thread");
    // Lines already in the pipe were acknowledged before the kill too.
    acks.extend(rx.try_iter());
    eprintln!(
        "round {round}: {} acknowledged writes before SIGKILL after {:?}",
        acks.len(),
        started.elapsed()
    );
    acks
}

fn parse_ack(line: &str) -> Option<Ack> {
    let mut parts = line.strip_prefix("ACK ")?.split(' ');
    let key = parts.next()?.to_owned();
    let revision = parts.next()?.parse().ok()?;
    let hash = parts.next()?.parse().ok()?;
    Some(Ack {
        key,
        revision,
        hash,
    })
}

/// Reopens the file; every acknowledged write must be in the history at its
/// revision, and the current state must be at least as new.
fn verify(path: &Path, acks: &[Ack], round: u32) {
    runtime().block_on(async {
        let store = RedbStore::open(config(path)).expect("reopen after SIGKILL");
        let newest = acks.iter().map(|a| a.revision).max().unwrap_or(0);
        assert!(
            store.current_revision() >= newest,
            "round {round}: current revision went back"
        );
        let mut history: HashMap<Revision, (String, u64)> = HashMap::new();
        let mut watch = store
            .watch("/crash/", 0)
            .await
            .expect("watch the whole history");
        let current = store.current_revision();
        while history.len() < current as usize {
            match tokio::time::timeout(Duration::from_secs(20), watch.next()).await {
                Ok(Some(Ok(event))) => {
                    history.insert(
                        event.revision(),
                        (event.kv.key.clone(), fnv1a(&event.kv.value)),
                    );
                }
                other => panic!(
                    "round {round}: history replay stopped at {} events: {other:?}",
                    history.len()
                ),
            }
        }
        let mut newest_per_key: HashMap<&str, Revision> = HashMap::new();
        for ack in acks {
            let stored = history.get(&ack.revision);
            assert_eq!(
                stored,
                Some(&(ack.key.clone(), ack.hash)),
                "round {round}: acknowledged write {ack:?} is not in the history at its revision"
            );
            let newest = newest_per_key.entry(&ack.key).or_default();
            *newest = (*newest).max(ack.revision);
        }
        for (key, revision) in newest_per_key {
            let kv = store
                .get(key)
                .await
                .expect("get")
                .unwrap_or_else(|| panic!("round {round}: {key} lost"));
            assert!(
                kv.mod_revision >= revision,
                "round {round}: {key} went back to {}",
                kv.mod_revision
            );
        }
        store.close().await;
    });
}

/// The child: writers creating then updating keys, printing each
/// acknowledgement, until killed.
fn child_storm(path: &Path, round: u32) {
    runtime().block_on(async {
        let store: Arc<RedbStore> = RedbStore::open(config(path)).expect("open in the child");
        let writers: Vec<_> = (0..64)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0u64.. {
                        let key = format!("/crash/{round}/{w}/{i}");
                        let value = value_for(&key, 0);
                        let kv = store.create(&key, value.clone()).await.expect("create");
                        report(&key, kv.mod_revision, &value);
                        let value = value_for(&key, 1);
                        let kv = store
                            .update(&key, value.clone(), Some(kv.mod_revision))
                            .await
                            .expect("update");
                        report(&key, kv.mod_revision, &value);
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.expect("writer");
        }
    });
}

fn report(key: &str, revision: Revision, value: &[u8]) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "ACK {key} {revision} {}", fnv1a(value)).expect("write ack");
    out.flush().expect("flush ack");
}

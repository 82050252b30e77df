//! The wasm runtime on real wasmtime: modules and components written in WAT,
//! side-loaded into the image cache.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::PullPolicy;
use crate::cri_log::parse_line;

/// A WASI preview 1 command that writes `text` to fd `fd`, then exits with `code`.
fn hello_module(text: &str, fd: u32, code: u32) -> Vec<u8> {
    let len = text.len();
    let text = text.replace('\n', "\\n");
    wat::parse_str(format!(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
          (memory (export "memory") 1)
          (data (i32.const 64) "{text}")
          (func (export "_start")
            (i32.store (i32.const 0) (i32.const 64))
            (i32.store (i32.const 4) (i32.const {len}))
            (drop (call $fd_write (i32.const {fd}) (i32.const 0) (i32.const 1) (i32.const 8)))
            (if (i32.ne (i32.const {code}) (i32.const 0)) (then (call $proc_exit (i32.const {code}))))))"#
    ))
    .unwrap()
}

/// A module that grows its memory by one page (64 KiB) forever.
const MEMORY_HOG: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $l (drop (memory.grow (i32.const 1))) (br $l))))"#;

/// A module that spins forever.
const BUSY: &str = r#"(module (func (export "_start") (loop $l (br $l))))"#;

/// A preview 2 command component whose `run` returns `ok` or `err`.
fn command_component(ok: bool) -> Vec<u8> {
    let disc = if ok { 0 } else { 1 };
    wat::parse_str(format!(
        r#"(component
          (core module $m (func (export "run") (result i32) i32.const {disc}))
          (core instance $i (instantiate $m))
          (func $run (result (result)) (canon lift (core func $i "run")))
          (instance $run-inst (export "run" (func $run)))
          (export "wasi:cli/run@0.2.0" (instance $run-inst)))"#
    ))
    .unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    logs: PathBuf,
    rt: WasmRuntime,
    sandbox: String,
    sandbox_config: PodSandboxConfig,
}

impl Fixture {
    async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let rt = WasmRuntime::new(&dir.path().join("wasm"), Vec::new()).unwrap();
        let logs = dir.path().join("pods");
        let sandbox_config = PodSandboxConfig {
            namespace: "default".into(),
            name: "p".into(),
            uid: "u1".into(),
            log_directory: Some(logs.clone()),
            runtime_handler: "wasmtime".into(),
            ..Default::default()
        };
        let sandbox = rt.run_pod_sandbox(&sandbox_config).await.unwrap();
        Fixture {
            _dir: dir,
            logs,
            rt,
            sandbox,
            sandbox_config,
        }
    }

    fn import(&self, reference: &str, wasm: &[u8]) {
        self.rt.images().import(reference, wasm).unwrap();
    }

    fn config(&self, name: &str, image: &str) -> ContainerConfig {
        ContainerConfig {
            name: name.into(),
            image: image.into(),
            pull_policy: PullPolicy::Never,
            log_path: Some(PathBuf::from(format!("{name}/0.log"))),
            ..Default::default()
        }
    }

    async fn create(&self, config: &ContainerConfig) -> Result<String> {
        self.rt
            .create_container(&self.sandbox, config, &self.sandbox_config)
            .await
    }

    async fn run(&self, config: &ContainerConfig) -> String {
        let id = self.create(config).await.unwrap();
        self.rt.start_container(&id).await.unwrap();
        id
    }

    async fn wait_exit(&self, id: &str) -> ContainerStatus {
        for _ in 0..500 {
            let s = self.rt.container_status(id).await.unwrap();
            if s.is_exited() {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("container {id} never exited");
    }

    fn log_lines(&self, name: &str) -> Vec<(String, String)> {
        read_log(&self.logs.join(name).join("0.log"))
    }
}

fn read_log(path: &Path) -> Vec<(String, String)> {
    std::fs::read(path)
        .unwrap_or_default()
        .split(|&b| b == b'\n')
        .filter_map(parse_line)
        .map(|r| {
            let stream = format!("{:?}", r.stream).to_lowercase();
            (stream, String::from_utf8_lossy(r.content).into_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_runs_to_completion_and_logs_its_output() {
    let f = Fixture::new().await;
    f.import("local/hello:1", &hello_module("hello from wasm\n", 1, 0));
    let id = f.run(&f.config("hello", "local/hello:1")).await;
    let s = f.wait_exit(&id).await;
    assert_eq!(s.exit_code, Some(0));
    assert_eq!(s.reason, "Completed");
    assert!(s.started_at.is_some() && s.finished_at.is_some());
    assert!(s.image_ref.contains("@sha256:"), "{}", s.image_ref);
    assert_eq!(
        f.log_lines("hello"),
        [("stdout".to_owned(), "hello from wasm".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_and_stderr_are_kept() {
    let f = Fixture::new().await;
    f.import("local/fail:1", &hello_module("bad things\n", 2, 3));
    let id = f.run(&f.config("fail", "local/fail:1")).await;
    let s = f.wait_exit(&id).await;
    assert_eq!(s.exit_code, Some(3));
    assert_eq!(s.reason, "Error");
    assert_eq!(
        f.log_lines("fail"),
        [("stderr".to_owned(), "bad things".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_run_their_wasi_cli_run_export() {
    let f = Fixture::new().await;
    f.import("local/ok:1", &command_component(true));
    f.import("local/err:1", &command_component(false));
    let ok = f.run(&f.config("ok", "local/ok:1")).await;
    let err = f.run(&f.config("err", "local/err:1")).await;
    assert_eq!(f.wait_exit(&ok).await.exit_code, Some(0));
    let s = f.wait_exit(&err).await;
    assert_eq!((s.exit_code, s.reason.as_str()), (Some(1), "Error"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_over_the_limit_is_oom_killed() {
    let f = Fixture::new().await;
    f.import("local/hog:1", &wat::parse_str(MEMORY_HOG).unwrap());
    let mut config = f.config("hog", "local/hog:1");
    config.memory_limit = Some(4 << 20);
    let id = f.run(&config).await;
    let s = f.wait_exit(&id).await;
    assert_eq!((s.exit_code, s.reason.as_str()), (Some(137), "OOMKilled"));
    assert!(s.message.contains("4194304"), "{}", s.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_guest_is_killed_after_the_grace_period_and_does_not_starve_others() {
    let f = Fixture::new().await;
    f.import("local/busy:1", &wat::parse_str(BUSY).unwrap());
    f.import("local/hello:1", &hello_module("hi\n", 1, 0));
    let busy: Vec<String> = futures_ids(&f, 4).await;
    // four spinning guests on two threads: another pod still runs at once
    let started = std::time::Instant::now();
    let hello = f.run(&f.config("hello", "local/hello:1")).await;
    assert_eq!(f.wait_exit(&hello).await.exit_code, Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let stop_started = std::time::Instant::now();
    f.rt.stop_container(&busy[0], Duration::from_millis(200))
        .await
        .unwrap();
    let s = f.rt.container_status(&busy[0]).await.unwrap();
    assert_eq!((s.exit_code, s.reason.as_str()), (Some(137), "Error"));
    assert!(stop_started.elapsed() >= Duration::from_millis(200));
    f.rt.stop_pod_sandbox(&f.sandbox).await.unwrap();
    for id in &busy {
        assert!(f.rt.container_status(id).await.unwrap().is_exited());
    }
}

async fn futures_ids(f: &Fixture, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(f.run(&f.config(&format!("busy{i}"), "local/busy:1")).await);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_images_are_image_errors_with_a_clear_message() {
    let f = Fixture::new().await;
    let err =
        f.rt.images()
            .import("local/text:1", b"#!/bin/sh\necho hi\n");
    assert!(matches!(err, Err(RuntimeError::Image { .. })), "{err:?}");
    f.import(
        "local/nostart:1",
        &wat::parse_str("(module (func (export \"main\")))").unwrap(),
    );
    let err = f
        .create(&f.config("c", "local/nostart:1"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("_start"), "{err}");
    let err = f
        .create(&f.config("c", "local/missing:1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RuntimeError::Image { message, .. } if message.contains("Never")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_code_is_cached_on_disk_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = hello_module("x\n", 1, 0);
    {
        let rt = WasmRuntime::new(dir.path(), Vec::new()).unwrap();
        rt.images().import("local/x:1", &wasm).unwrap();
        let img = rt
            .images()
            .get("local/x:1", PullPolicy::Never, None)
            .await
            .unwrap();
        rt.engine()
            .unwrap()
            .load(&img.wasm_digest, img.bytes)
            .await
            .unwrap();
    }
    let cached: Vec<_> = std::fs::read_dir(dir.path().join("compiled"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(cached.len(), 1);
    let rt = WasmRuntime::new(dir.path(), Vec::new()).unwrap();
    let img = rt
        .images()
        .get("local/x:1", PullPolicy::Never, None)
        .await
        .unwrap();
    let program = rt
        .engine()
        .unwrap()
        .load(&img.wasm_digest, img.bytes)
        .await
        .unwrap();
    instantiate_only(rt.engine().unwrap(), &program)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_move_forward_only() {
    let f = Fixture::new().await;
    f.import("local/hello:1", &hello_module("x\n", 1, 0));
    let id = f.run(&f.config("hello", "local/hello:1")).await;
    f.wait_exit(&id).await;
    let err = f.rt.start_container(&id).await.unwrap_err();
    assert!(matches!(err, RuntimeError::InvalidState { .. }), "{err:?}");
    f.rt.remove_container(&id).await.unwrap();
    f.rt.remove_container(&id).await.unwrap();
    assert!(matches!(
        f.rt.container_status(&id).await,
        Err(RuntimeError::NotFound { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_started_together_share_one_compile() {
    let dir = tempfile::tempdir().unwrap();
    let rt = WasmRuntime::new(dir.path(), Vec::new()).unwrap();
    let engine = rt.engine().unwrap().clone();
    let bytes: std::sync::Arc<[u8]> = hello_module("x\n", 1, 0).into();
    let loads: Vec<_> = (0..8)
        .map(|_| {
            let (engine, bytes) = (engine.clone(), bytes.clone());
            tokio::spawn(async move { engine.load("sha256:same", bytes).await.unwrap() })
        })
        .collect();
    let mut programs = Vec::new();
    for l in loads {
        programs.push(l.await.unwrap());
    }
    assert!(
        programs
            .windows(2)
            .all(|w| std::sync::Arc::ptr_eq(&w[0], &w[1])),
        "every load got the one compiled program"
    );
}

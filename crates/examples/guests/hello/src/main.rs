//! `hello`: the smallest brink wasm workload. A WASI preview 2 command that
//! prints a greeting (`GREETING`, default "hello"), its arguments, and the
//! pod it runs in (`POD_NAME`, from the downward API), then exits. With
//! `EXIT_CODE` set to anything but 0 it writes to stderr and fails (a
//! preview 2 command can only fail with exit code 1). With `COUNT=N` it
//! prints N numbered lines, `SLEEP_MS` apart. With `ALLOC_MB=N` it
//! allocates and touches N MiB first (to try memory limits). With
//! `SHOW_FILE=PATH` each numbered line also shows that file's content (to
//! watch a mounted ConfigMap change), and `WRITE_FILE=PATH` appends a line
//! to a file (to try writable volumes). `SPIN_MS=N` burns the CPU for N ms
//! first (to try CPU limits and fairness).

use std::time::Duration;

fn main() {
    if let Some(ms) = std::env::var("SPIN_MS").ok().and_then(|m| m.parse::<u64>().ok()) {
        let until = std::time::Instant::now() + Duration::from_millis(ms);
        let mut x: u64 = 1;
        while std::time::Instant::now() < until {
            for _ in 0..1_000_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            }
        }
        println!("spun ({x})");
    }
    if let Some(mb) = std::env::var("ALLOC_MB").ok().and_then(|m| m.parse::<usize>().ok()) {
        let mut held: Vec<Vec<u8>> = Vec::new();
        for i in 0..mb {
            held.push(vec![u8::try_from(i % 251).unwrap_or(0); 1 << 20]);
        }
        println!("allocated {} MiB", held.len());
    }
    let greeting = std::env::var("GREETING").unwrap_or_else(|_| "hello".into());
    let pod = std::env::var("POD_NAME").unwrap_or_else(|_| "an unnamed pod".into());
    println!("{greeting} from {pod} on wasm");
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.is_empty() {
        println!("args: {}", args.join(" "));
    }
    let count: u32 = std::env::var("COUNT").ok().and_then(|c| c.parse().ok()).unwrap_or(0);
    let sleep = std::env::var("SLEEP_MS").ok().and_then(|c| c.parse().ok()).unwrap_or(0);
    if let Ok(path) = std::env::var("WRITE_FILE") {
        use std::io::Write as _;
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "written by {pod}"));
        match written {
            Ok(()) => println!("wrote {path}"),
            Err(e) => println!("cannot write {path}: {e}"),
        }
    }
    let show = std::env::var("SHOW_FILE").ok();
    for i in 1..=count {
        match &show {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => println!("line {i}: {path} = {}", text.trim()),
                Err(e) => println!("line {i}: {path}: {e}"),
            },
            None => println!("line {i}"),
        }
        if sleep > 0 {
            std::thread::sleep(Duration::from_millis(sleep));
        }
    }
    if std::env::var("EXIT_CODE").is_ok_and(|c| c != "0") {
        eprintln!("failing as asked (EXIT_CODE)");
        std::process::exit(1);
    }
}

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
//! first (to try CPU limits and fairness). `FETCH=http://HOST:PORT/PATH`
//! makes an outbound `wasi:http` GET and `CONNECT=IP:PORT` opens a TCP
//! connection with `wasi:sockets`; each prints what came of it (to try the
//! pod's outbound rules).

use std::time::Duration;

fn main() {
    if let Some(ms) = std::env::var("SPIN_MS")
        .ok()
        .and_then(|m| m.parse::<u64>().ok())
    {
        let until = std::time::Instant::now() + Duration::from_millis(ms);
        let mut x: u64 = 1;
        while std::time::Instant::now() < until {
            for _ in 0..1_000_000 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
            }
        }
        println!("spun ({x})");
    }
    if let Some(mb) = std::env::var("ALLOC_MB")
        .ok()
        .and_then(|m| m.parse::<usize>().ok())
    {
        let mut held: Vec<Vec<u8>> = Vec::new();
        for i in 0..mb {
            held.push(vec![u8::try_from(i % 251).unwrap_or(0); 1 << 20]);
        }
        println!("allocated {} MiB", held.len());
    }
    if let Ok(url) = std::env::var("FETCH") {
        match fetch(&url) {
            Ok((status, body)) => println!("fetched {url}: {status} {}", body.trim()),
            Err(e) => println!("cannot fetch {url}: {e}"),
        }
    }
    if let Ok(addr) = std::env::var("CONNECT") {
        match connect(&addr) {
            Ok(()) => println!("connected to {addr}"),
            Err(e) => println!("cannot connect to {addr}: {e}"),
        }
    }
    let greeting = std::env::var("GREETING").unwrap_or_else(|_| "hello".into());
    let pod = std::env::var("POD_NAME").unwrap_or_else(|_| "an unnamed pod".into());
    println!("{greeting} from {pod} on wasm");
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.is_empty() {
        println!("args: {}", args.join(" "));
    }
    let count: u32 = std::env::var("COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let sleep = std::env::var("SLEEP_MS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
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

/// An outbound `wasi:http` GET: the status and the body.
fn fetch(url: &str) -> Result<(u16, String), String> {
    use wasip2::http::types::{Fields, OutgoingBody, OutgoingRequest, Scheme};
    let (scheme, rest) = url.split_once("://").ok_or("the URL has no scheme")?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let request = OutgoingRequest::new(Fields::new());
    let scheme = if scheme == "https" {
        Scheme::Https
    } else {
        Scheme::Http
    };
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| "bad scheme")?;
    request
        .set_authority(Some(authority))
        .map_err(|()| "bad authority")?;
    request
        .set_path_with_query(Some(path))
        .map_err(|()| "bad path")?;
    let body = request.body().map_err(|()| "no request body")?;
    let future =
        wasip2::http::outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    OutgoingBody::finish(body, None).map_err(|e| format!("{e:?}"))?;
    future.subscribe().block();
    let response = future
        .get()
        .ok_or("no response")?
        .map_err(|()| "response taken twice")?
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let incoming = response.consume().map_err(|()| "no response body")?;
    let stream = incoming.stream().map_err(|()| "no body stream")?;
    let mut text = Vec::new();
    while let Ok(chunk) = stream.blocking_read(64 * 1024) {
        text.extend(chunk);
    }
    Ok((status, String::from_utf8_lossy(&text).into_owned()))
}

/// A TCP connection with `wasi:sockets` to an IPv4 `ADDRESS:PORT`.
fn connect(addr: &str) -> Result<(), String> {
    use wasip2::sockets::network::{IpAddressFamily, IpSocketAddress, Ipv4SocketAddress};
    let addr: std::net::SocketAddrV4 = addr.parse().map_err(|e| format!("{e}"))?;
    let [a, b, c, d] = addr.ip().octets();
    let socket = wasip2::sockets::tcp_create_socket::create_tcp_socket(IpAddressFamily::Ipv4)
        .map_err(|e| format!("{e:?}"))?;
    let network = wasip2::sockets::instance_network::instance_network();
    let remote = IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port: addr.port(),
        address: (a, b, c, d),
    });
    socket
        .start_connect(&network, remote)
        .map_err(|e| format!("{e:?}"))?;
    loop {
        socket.subscribe().block();
        match socket.finish_connect() {
            Ok(_streams) => return Ok(()),
            Err(wasip2::sockets::network::ErrorCode::WouldBlock) => {}
            Err(e) => return Err(format!("{e:?}")),
        }
    }
}

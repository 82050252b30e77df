//! A UDP relay owned by the tests, between agents and the hub: it can cut
//! the link (drop everything both ways), restore it, and rebind its upstream
//! socket (the hub then sees the node's packets from a new address, as after
//! a NAT rebinding or a new uplink).

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running relay; stops when dropped.
pub struct Relay {
    pub addr: SocketAddr,
    state: Arc<State>,
}

struct State {
    upstream: SocketAddr,
    cut: AtomicBool,
    stop: AtomicBool,
    /// Bumped by `rebind`: every client gets a new upstream socket.
    generation: AtomicU64,
    dropped: AtomicU64,
    forwarded: AtomicU64,
}

impl Relay {
    /// Listens on 127.0.0.1 and forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> std::io::Result<Relay> {
        let front = UdpSocket::bind("127.0.0.1:0")?;
        front.set_read_timeout(Some(Duration::from_millis(50)))?;
        let addr = front.local_addr()?;
        let state = Arc::new(State {
            upstream,
            cut: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
        });
        let s = state.clone();
        std::thread::spawn(move || front_loop(front, s));
        Ok(Relay { addr, state })
    }

    /// Drops every packet both ways until `restore`.
    pub fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
    }

    pub fn restore(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
    }

    /// Moves every client to a new upstream socket (new source port).
    pub fn rebind(&self) {
        self.state.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Packets dropped while cut, and forwarded.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.state.dropped.load(Ordering::Relaxed),
            self.state.forwarded.load(Ordering::Relaxed),
        )
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
    }
}

struct Client {
    generation: u64,
    socket: Arc<UdpSocket>,
}

fn front_loop(front: UdpSocket, state: Arc<State>) {
    let front = Arc::new(front);
    let clients: Arc<Mutex<HashMap<SocketAddr, Client>>> = Arc::default();
    let mut buf = vec![0u8; 65536];
    while !state.stop.load(Ordering::SeqCst) {
        let (n, from) = match front.recv_from(&mut buf) {
            Ok(x) => x,
            Err(_) => continue,
        };
        if state.cut.load(Ordering::SeqCst) {
            state.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let generation = state.generation.load(Ordering::SeqCst);
        let socket = {
            let mut map = clients.lock().unwrap();
            let fresh = map.get(&from).is_none_or(|c| c.generation != generation);
            if fresh {
                let Ok(sock) = UdpSocket::bind("127.0.0.1:0") else {
                    continue;
                };
                let _ = sock.set_read_timeout(Some(Duration::from_millis(50)));
                let sock = Arc::new(sock);
                let (f, s, st) = (front.clone(), sock.clone(), state.clone());
                std::thread::spawn(move || back_loop(f, s, from, st, generation));
                map.insert(
                    from,
                    Client {
                        generation,
                        socket: sock,
                    },
                );
            }
            map[&from].socket.clone()
        };
        state.forwarded.fetch_add(1, Ordering::Relaxed);
        let _ = socket.send_to(&buf[..n], state.upstream);
    }
}

/// Hub → client for one upstream socket, until it is replaced or the relay stops.
fn back_loop(
    front: Arc<UdpSocket>,
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    state: Arc<State>,
    generation: u64,
) {
    let mut buf = vec![0u8; 65536];
    while !state.stop.load(Ordering::SeqCst) {
        let received = socket.recv_from(&mut buf);
        // after a rebind the old address is gone: the hub must answer the new one
        if state.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        let Ok((n, _)) = received else {
            continue;
        };
        if state.cut.load(Ordering::SeqCst) {
            state.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        state.forwarded.fetch_add(1, Ordering::Relaxed);
        let _ = front.send_to(&buf[..n], client);
    }
}

#!/usr/bin/env bash
# Builds the example guests for wasm32-wasip2 and pushes each to REGISTRY as
# a wasm OCI artifact with `brink push`:
#   REGISTRY/brink/hello:0.1        a WASI command (prints, exits)
#   REGISTRY/brink/hello-http:0.1   a wasi:http server
#   REGISTRY/brink/kv-counter:0.1   counts its runs in the node's brink:edge/kv store
# Usage: crates/examples/push.sh [REGISTRY]   (default 127.0.0.1:5000)
# Set BRINK to the brink binary (default: target/release/brink, built if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
registry=${1:-127.0.0.1:5000}
brink=${BRINK:-target/release/brink}
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  echo "==> adding the rust target wasm32-wasip2" >&2
  rustup target add wasm32-wasip2
fi
echo "==> building the guests" >&2
cargo build --release --target wasm32-wasip2 \
  --manifest-path crates/examples/guests/Cargo.toml --target-dir target/guests
if [ ! -x "$brink" ]; then
  echo "==> building brink" >&2
  cargo build --release -p brink
fi
out=target/guests/wasm32-wasip2/release
"$brink" push "$out/hello.wasm" "$registry/brink/hello:0.1"
"$brink" push "$out/hello_http.wasm" "$registry/brink/hello-http:0.1"
"$brink" push "$out/kv-counter.wasm" "$registry/brink/kv-counter:0.1"

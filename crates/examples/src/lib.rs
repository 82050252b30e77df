//! Example manifests (and, later, wasm guest workloads) for brink.

/// Folder holding the example manifests.
pub const MANIFESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/manifests");

#[cfg(test)]
mod tests {
    #[test]
    fn every_manifest_is_a_kubernetes_object() {
        let mut seen = 0;
        for entry in std::fs::read_dir(super::MANIFESTS).expect("manifests folder") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("readable");
            let v: serde_json::Value = serde_norway::from_str(&text).expect("valid YAML");
            assert!(
                v["apiVersion"].is_string() && v["kind"].is_string(),
                "{}",
                path.display()
            );
            assert!(v["metadata"]["name"].is_string(), "{}", path.display());
            seen += 1;
        }
        assert!(seen >= 2);
    }
}

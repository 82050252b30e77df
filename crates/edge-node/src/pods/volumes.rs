//! Pod volumes on the node, as the kubelet prepares them before a container
//! starts: each volume is a folder under `<volume root>/<pod uid>/<volume>`
//! (hostPath volumes are the host's own folder), and each `volumeMount`
//! becomes a [`Mount`] the runtime maps into the container (a WASI preopen
//! for wasm, a bind mount for CRI).
//!
//! ConfigMap, Secret, downward API and projected volumes are written the
//! kubelet's way, so that a reader never sees half an update: the files live
//! in a timestamped folder, `..data` is a symlink to it, and each top-level
//! name is a symlink through `..data`; an update writes a new folder and
//! swaps `..data` with one rename. They are written again whenever the
//! objects they come from change.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

use runtime_shim::config::Mount;
use serde_json::Value;

use super::env::{ConfigError, Objects, field_ref, object, object_data, resource_ref};

/// Files of a generated volume: relative path → (content, mode).
type Files = BTreeMap<String, (Vec<u8>, u32)>;

/// What `prepare` needs to know about the pod's place.
pub struct PodContext<'a> {
    pub objects: &'a dyn Objects,
    pub host_ip: &'a str,
    pub pod_ip: &'a str,
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A relative path that stays inside its folder.
fn safe_relative(path: &str) -> Result<(), ConfigError> {
    let p = Path::new(path);
    if path.is_empty()
        || p.is_absolute()
        || p.components().any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(format!(
            "invalid path {path:?}: must be relative and may not contain '..'"
        ));
    }
    Ok(())
}

fn mode_of(v: &Value, default: u32) -> u32 {
    v.get("mode")
        .and_then(Value::as_u64)
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(default)
}

/// The files of a configMap or secret source: every key, or its `items`.
fn keyed_files(
    ctx: &PodContext<'_>,
    ns: &str,
    kind: &str,
    src: &Value,
    name: &str,
    default_mode: u32,
    out: &mut Files,
) -> Result<(), ConfigError> {
    let optional = src.get("optional").and_then(Value::as_bool) == Some(true);
    let obj = match object(ctx.objects, ns, kind, name) {
        Ok(o) => o,
        Err(_) if optional => return Ok(()),
        Err(e) => return Err(e),
    };
    let data = object_data(&obj, kind)?;
    match src.get("items").and_then(Value::as_array) {
        None => {
            for (k, v) in data {
                out.insert(k, (v, default_mode));
            }
        }
        Some(items) => {
            for item in items {
                let key = str_of(item, "key");
                let path = str_of(item, "path");
                safe_relative(path)?;
                match data.get(key) {
                    Some(v) => {
                        out.insert(path.to_owned(), (v.clone(), mode_of(item, default_mode)));
                    }
                    None if optional => {}
                    None => {
                        return Err(format!("couldn't find key {key} in {kind} {ns}/{name}"));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Labels or annotations in the downward API's `key="value"` lines.
fn map_lines(map: &Value) -> Vec<u8> {
    let mut lines: Vec<String> = map
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={:?}", v.as_str().unwrap_or("")))
        .collect();
    lines.sort();
    lines.join("\n").into_bytes()
}

fn downward_files(
    ctx: &PodContext<'_>,
    pod: &Value,
    items: &[Value],
    default_mode: u32,
    out: &mut Files,
) -> Result<(), ConfigError> {
    for item in items {
        let path = str_of(item, "path");
        safe_relative(path)?;
        let content = if let Some(f) = item.get("fieldRef") {
            match str_of(f, "fieldPath") {
                "metadata.labels" => map_lines(&pod["metadata"]["labels"]),
                "metadata.annotations" => map_lines(&pod["metadata"]["annotations"]),
                fp => field_ref(pod, fp, ctx.host_ip, ctx.pod_ip)?.into_bytes(),
            }
        } else if let Some(r) = item.get("resourceFieldRef") {
            let name = str_of(r, "containerName");
            let container = api::meta::get_array(pod, "spec.containers")
                .iter()
                .find(|c| str_of(c, "name") == name)
                .ok_or_else(|| format!("resourceFieldRef: no container {name:?}"))?;
            resource_ref(container, r)?.into_bytes()
        } else {
            continue;
        };
        out.insert(path.to_owned(), (content, mode_of(item, default_mode)));
    }
    Ok(())
}

/// The files a generated volume holds, or `None` for folder volumes.
fn generated(ctx: &PodContext<'_>, pod: &Value, vol: &Value) -> Result<Option<Files>, ConfigError> {
    let ns = api::meta::namespace(pod).unwrap_or("default");
    let mut files = Files::new();
    if let Some(cm) = vol.get("configMap") {
        let mode = mode_of_default(cm);
        keyed_files(
            ctx,
            ns,
            "ConfigMap",
            cm,
            str_of(cm, "name"),
            mode,
            &mut files,
        )?;
    } else if let Some(s) = vol.get("secret") {
        let mode = mode_of_default(s);
        keyed_files(
            ctx,
            ns,
            "Secret",
            s,
            str_of(s, "secretName"),
            mode,
            &mut files,
        )?;
    } else if let Some(d) = vol.get("downwardAPI") {
        downward_files(ctx, pod, items(d), mode_of_default(d), &mut files)?;
    } else if let Some(p) = vol.get("projected") {
        let mode = mode_of_default(p);
        for src in p
            .get("sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(cm) = src.get("configMap") {
                keyed_files(
                    ctx,
                    ns,
                    "ConfigMap",
                    cm,
                    str_of(cm, "name"),
                    mode,
                    &mut files,
                )?;
            } else if let Some(s) = src.get("secret") {
                keyed_files(ctx, ns, "Secret", s, str_of(s, "name"), mode, &mut files)?;
            } else if let Some(d) = src.get("downwardAPI") {
                downward_files(ctx, pod, items(d), mode, &mut files)?;
            }
        }
    } else {
        return Ok(None);
    }
    Ok(Some(files))
}

/// A downward API source's `items`.
fn items(v: &Value) -> &[Value] {
    v.get("items")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

fn mode_of_default(v: &Value) -> u32 {
    v.get("defaultMode")
        .and_then(Value::as_u64)
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(0o644)
}

/// Makes every volume of `pod` under `root/<uid>/` and returns each
/// volume's host folder by name. Safe to call again: folders are kept,
/// generated volumes are rewritten only when their content changed.
pub fn prepare(
    root: &Path,
    pod: &Value,
    ctx: &PodContext<'_>,
) -> Result<HashMap<String, PathBuf>, ConfigError> {
    let uid = api::meta::uid(pod).unwrap_or("unknown");
    let pod_dir = root.join(uid);
    let mut out = HashMap::new();
    for vol in api::meta::get_array(pod, "spec.volumes") {
        let name = str_of(vol, "name");
        safe_relative(name)?;
        let dir = if let Some(hp) = vol.get("hostPath") {
            host_path(hp)?
        } else {
            let dir = pod_dir.join(name);
            match generated(ctx, pod, vol)? {
                Some(files) => {
                    write_atomic_dir(&dir, &files).map_err(|e| format!("volume {name:?}: {e}"))?
                }
                None if vol.get("emptyDir").is_some() => {
                    std::fs::create_dir_all(&dir).map_err(|e| format!("volume {name:?}: {e}"))?
                }
                None => {
                    return Err(format!(
                        "volume {name:?}: this node supports emptyDir, hostPath, configMap, secret, downwardAPI and projected volumes"
                    ));
                }
            }
            dir
        };
        out.insert(name.to_owned(), dir);
    }
    Ok(out)
}

fn host_path(hp: &Value) -> Result<PathBuf, ConfigError> {
    let path = PathBuf::from(str_of(hp, "path"));
    match str_of(hp, "type") {
        "" | "Directory" | "DirectoryOrCreate" => {}
        other => {
            return Err(format!(
                "hostPath type {other:?} of {}: wasm pods can mount folders only",
                path.display()
            ));
        }
    }
    if str_of(hp, "type") == "DirectoryOrCreate" {
        std::fs::create_dir_all(&path).map_err(|e| format!("hostPath {}: {e}", path.display()))?;
    }
    if !path.is_dir() {
        return Err(format!(
            "hostPath {} is not a folder on the node",
            path.display()
        ));
    }
    Ok(path)
}

/// The mounts of one container from its `volumeMounts`.
pub fn mounts(
    container: &Value,
    volumes: &HashMap<String, PathBuf>,
) -> Result<Vec<Mount>, ConfigError> {
    let mut out = Vec::new();
    for m in container
        .get("volumeMounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = str_of(m, "name");
        let dir = volumes
            .get(name)
            .ok_or_else(|| format!("volumeMount {name:?}: no such volume in the pod"))?;
        let sub = str_of(m, "subPath");
        let host = if sub.is_empty() {
            dir.clone()
        } else {
            safe_relative(sub)?;
            let p = dir.join(sub);
            std::fs::create_dir_all(&p).map_err(|e| format!("subPath {sub:?}: {e}"))?;
            p
        };
        out.push(Mount {
            host_path: host,
            container_path: str_of(m, "mountPath").to_owned(),
            read_only: m.get("readOnly").and_then(Value::as_bool) == Some(true),
        });
    }
    Ok(out)
}

/// Removes a pod's volume folders (hostPath folders are the host's, untouched).
pub fn remove(root: &Path, uid: &str) -> std::io::Result<()> {
    match std::fs::remove_dir_all(root.join(uid)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Writes `files` into `dir` behind the `..data` symlink, unless they are
/// already there.
fn write_atomic_dir(dir: &Path, files: &Files) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    let data = dir.join("..data");
    if let Ok(current) = std::fs::read_link(&data)
        && same_files(&dir.join(&current), files)
    {
        return Ok(());
    }
    let stamp = jiff::Timestamp::now()
        .strftime("..%Y_%m_%d_%H_%M_%S.%N")
        .to_string();
    let fresh = dir.join(&stamp);
    std::fs::create_dir_all(&fresh)?;
    for (rel, (content, mode)) in files {
        let path = fresh.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode & 0o777))?;
    }
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&stamp, &tmp)?;
    let old = std::fs::read_link(&data).ok();
    std::fs::rename(&tmp, &data)?;
    // top-level names point through ..data; stale ones go
    let tops: std::collections::BTreeSet<String> = files
        .keys()
        .filter_map(|k| k.split('/').next().map(str::to_owned))
        .collect();
    for top in &tops {
        let link = dir.join(top);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(Path::new("..data").join(top), &link)?;
        }
    }
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("..") && !tops.contains(&name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if let Some(old) = old
        && old != Path::new(&stamp)
    {
        let _ = std::fs::remove_dir_all(dir.join(old));
    }
    Ok(())
}

/// Whether `dir` holds exactly `files`.
fn same_files(dir: &Path, files: &Files) -> bool {
    files
        .iter()
        .all(|(rel, (content, _))| std::fs::read(dir.join(rel)).is_ok_and(|c| &c == content))
        && count_files(dir) == files.len()
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { count_files(&p) } else { 1 }
        })
        .sum()
}

#[cfg(test)]
mod tests;

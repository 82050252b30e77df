//! The scheduler's configuration file: a subset of Kubernetes'
//! `KubeSchedulerConfiguration` (`kubescheduler.config.k8s.io/v1`) in YAML.
//!
//! Read: `percentageOfNodesToScore`, `podInitialBackoffSeconds`,
//! `podMaxBackoffSeconds`, `profiles` (`schedulerName`; `plugins` at the
//! `filter`, `score` and `multiPoint` extension points, and `postFilter`
//! where `DefaultPreemption` may be disabled; `pluginConfig`) and
//! `extenders` (see [`extenders`]). Accepted and ignored: `leaderElection`,
//! `clientConnection`, `parallelism`, and the `args` of `pluginConfig`
//! entries, which must name a plugin brink has or a Kubernetes default
//! plugin brink lacks (no brink plugin takes arguments yet). Any other field,
//! or a wrong `apiVersion` or `kind`, is an error.
//!
//! Plugin sets work as in Kubernetes: a profile starts from every default
//! plugin, `disabled` removes plugins (`"*"`: all of that extension point),
//! `enabled` adds a plugin or re-weights it, and `multiPoint` applies at
//! every extension point the plugin implements unless that point disables
//! it. Unlike Kubernetes, score weights must be 1–100, and Kubernetes
//! plugins brink lacks may be disabled but not enabled.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::algorithm::Profile;
use crate::extender::ExtenderConfig;
use crate::plugins::Plugin;
use crate::queue::QueueConfig;

pub const API_VERSION: &str = "kubescheduler.config.k8s.io/v1";
pub const KIND: &str = "KubeSchedulerConfiguration";
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// Kubernetes' default plugins that brink does not have: disabling or
/// configuring them is accepted (and changes nothing).
#[rustfmt::skip]
const KUBERNETES_ONLY: [&str; 9] = [
    "PrioritySort", "SchedulingGates", "DefaultPreemption", "DefaultBinder", "VolumeBinding",
    "VolumeRestrictions", "VolumeZone", "NodeVolumeLimits", "DynamicResources",
];

/// The scheduler's settings, from a configuration file or the defaults.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// At least one; `schedulerName`s are unique.
    pub profiles: Vec<Profile>,
    /// 0 = adaptive.
    pub percentage_of_nodes_to_score: u32,
    pub queue: QueueConfig,
    pub extenders: Vec<ExtenderConfig>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            profiles: vec![Profile::default_named(DEFAULT_SCHEDULER_NAME)],
            percentage_of_nodes_to_score: 0,
            queue: QueueConfig::default(),
            extenders: Vec::new(),
        }
    }
}

/// A configuration file that cannot be read or used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {error}", .path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A problem in the file at `path`.
    #[error("{}: {error}", .path.display())]
    File {
        path: PathBuf,
        error: Box<ConfigError>,
    },
    /// Not YAML, or not the shape of a configuration (serde's message with
    /// the field path and line).
    #[error("{0}")]
    Parse(serde_norway::Error),
    /// A value that is wrong where it stands; `at` is its path.
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
}

fn invalid(at: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        at: at.into(),
        message: message.into(),
    }
}

impl SchedulerConfig {
    /// Parses and checks a `KubeSchedulerConfiguration` document.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = serde_norway::from_str(text).map_err(ConfigError::Parse)?;
        raw.build()
    }

    /// Reads the configuration file at `path`; errors name the file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        Self::from_yaml(&text).map_err(|e| ConfigError::File {
            path: path.to_owned(),
            error: Box::new(e),
        })
    }

    /// The profile of pods with `spec.schedulerName == scheduler_name`.
    pub fn profile(&self, scheduler_name: &str) -> Option<&Profile> {
        self.profiles
            .iter()
            .find(|p| p.scheduler_name == scheduler_name)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawConfig {
    api_version: Option<String>,
    kind: Option<String>,
    #[serde(default, rename = "leaderElection")]
    _leader_election: IgnoredAny,
    #[serde(default, rename = "clientConnection")]
    _client_connection: IgnoredAny,
    #[serde(default, rename = "parallelism")]
    _parallelism: IgnoredAny,
    percentage_of_nodes_to_score: Option<i64>,
    pod_initial_backoff_seconds: Option<i64>,
    pod_max_backoff_seconds: Option<i64>,
    profiles: Option<Vec<RawProfile>>,
    extenders: Option<Vec<RawExtender>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawProfile {
    scheduler_name: Option<String>,
    plugins: Option<RawPlugins>,
    plugin_config: Option<Vec<RawPluginConfig>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawPlugins {
    filter: Option<RawPluginSet>,
    post_filter: Option<RawPluginSet>,
    score: Option<RawPluginSet>,
    multi_point: Option<RawPluginSet>,
}

/// The one `postFilter` plugin: preemption.
const PREEMPTION: &str = "DefaultPreemption";

impl RawPlugins {
    /// Whether `DefaultPreemption` stays on: `postFilter` or `multiPoint`
    /// may disable it (by name or `*`); `postFilter.enabled` may name only it.
    fn preemption(&self, at: &str) -> Result<bool, ConfigError> {
        let names = |set: &Option<RawPluginSet>,
                     list: fn(&RawPluginSet) -> &Option<Vec<RawPlugin>>| {
            set.as_ref()
                .and_then(|s| list(s).as_ref())
                .map(|v| v.iter().map(|p| p.name.clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let enabled = names(&self.post_filter, |s| &s.enabled);
        if let Some((j, other)) = enabled.iter().enumerate().find(|(_, n)| *n != PREEMPTION) {
            let msg = format!("unknown postFilter plugin {other:?} (known: {PREEMPTION})");
            return Err(invalid(format!("{at}.postFilter.enabled[{j}]"), msg));
        }
        let refused = names(&self.post_filter, |s| &s.disabled);
        if let Some((j, other)) = refused
            .iter()
            .enumerate()
            .find(|(_, n)| *n != PREEMPTION && *n != "*")
        {
            let msg = format!("unknown postFilter plugin {other:?} (known: {PREEMPTION})");
            return Err(invalid(format!("{at}.postFilter.disabled[{j}]"), msg));
        }
        let off = |set: &Option<RawPluginSet>| {
            names(set, |s| &s.disabled)
                .iter()
                .any(|n| n == PREEMPTION || n == "*")
        };
        let disabled = off(&self.post_filter) || off(&self.multi_point);
        Ok(!disabled || !enabled.is_empty())
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPluginSet {
    enabled: Option<Vec<RawPlugin>>,
    disabled: Option<Vec<RawPlugin>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlugin {
    name: String,
    weight: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPluginConfig {
    name: String,
    #[serde(default, rename = "args")]
    _args: IgnoredAny,
}

impl RawConfig {
    fn build(self) -> Result<SchedulerConfig, ConfigError> {
        expect_exactly("apiVersion", self.api_version.as_deref(), API_VERSION)?;
        expect_exactly("kind", self.kind.as_deref(), KIND)?;
        let pct = self.percentage_of_nodes_to_score.unwrap_or(0);
        let pct = u32::try_from(pct)
            .ok()
            .filter(|p| *p <= 100)
            .ok_or_else(|| {
                invalid(
                    "percentageOfNodesToScore",
                    format!("{pct} is not between 0 and 100"),
                )
            })?;
        let initial = self.pod_initial_backoff_seconds.unwrap_or(1);
        if initial <= 0 {
            let msg = format!("must be greater than 0, got {initial}");
            return Err(invalid("podInitialBackoffSeconds", msg));
        }
        let max = self.pod_max_backoff_seconds.unwrap_or(10);
        if max < initial {
            let msg = format!("{max} is less than podInitialBackoffSeconds ({initial})");
            return Err(invalid("podMaxBackoffSeconds", msg));
        }
        let queue = QueueConfig {
            initial_backoff: Duration::from_secs(initial.unsigned_abs()),
            max_backoff: Duration::from_secs(max.unsigned_abs()),
            ..QueueConfig::default()
        };

        let mut profiles: Vec<Profile> = Vec::new();
        for (i, raw) in self.profiles.unwrap_or_default().into_iter().enumerate() {
            let profile = raw.build(i)?;
            if profiles
                .iter()
                .any(|p| p.scheduler_name == profile.scheduler_name)
            {
                let msg = format!("duplicate {:?}", profile.scheduler_name);
                return Err(invalid(format!("profiles[{i}].schedulerName"), msg));
            }
            profiles.push(profile);
        }
        if profiles.is_empty() {
            profiles.push(Profile::default_named(DEFAULT_SCHEDULER_NAME));
        }

        let mut extenders: Vec<ExtenderConfig> = Vec::new();
        for (i, raw) in self.extenders.unwrap_or_default().into_iter().enumerate() {
            let ext = raw.build(i)?;
            if let Some(j) = extenders.iter().position(|e| e.bind_verb.is_some())
                && ext.bind_verb.is_some()
            {
                let msg = format!("only one extender may bind; extenders[{j}] already does");
                return Err(invalid(format!("extenders[{i}].bindVerb"), msg));
            }
            extenders.push(ext);
        }
        Ok(SchedulerConfig {
            profiles,
            percentage_of_nodes_to_score: pct,
            queue,
            extenders,
        })
    }
}

fn expect_exactly(at: &str, got: Option<&str>, want: &str) -> Result<(), ConfigError> {
    match got {
        Some(g) if g == want => Ok(()),
        Some(g) => Err(invalid(at, format!("expected {want:?}, got {g:?}"))),
        None => Err(invalid(at, format!("missing; expected {want:?}"))),
    }
}

fn unknown_plugin(at: String, name: &str) -> ConfigError {
    let known: Vec<&str> = Plugin::ALL.iter().map(|p| p.name()).collect();
    invalid(
        at,
        format!("unknown plugin {name:?} (known: {})", known.join(", ")),
    )
}

/// An extension point's set with its names looked up.
#[derive(Default)]
struct PluginSet {
    /// (plugin, weight, index in `enabled`)
    enabled: Vec<(Plugin, Option<i64>, usize)>,
    disabled: Vec<Plugin>,
    disable_all: bool,
}

impl PluginSet {
    fn resolve(raw: Option<RawPluginSet>, at: &str, weights: bool) -> Result<Self, ConfigError> {
        let raw = raw.unwrap_or_default();
        let mut set = PluginSet::default();
        for (j, p) in raw.enabled.unwrap_or_default().into_iter().enumerate() {
            let at = format!("{at}.enabled[{j}]");
            let plugin =
                Plugin::from_name(&p.name).ok_or_else(|| unknown_plugin(at.clone(), &p.name))?;
            if set.enabled.iter().any(|(q, ..)| *q == plugin) {
                return Err(invalid(at, format!("plugin {:?} is listed twice", p.name)));
            }
            if let Some(w) = p.weight.filter(|_| weights)
                && !(1..=100).contains(&w)
            {
                return Err(invalid(
                    format!("{at}.weight"),
                    format!("{w} is not between 1 and 100"),
                ));
            }
            set.enabled.push((plugin, p.weight, j));
        }
        for (j, p) in raw.disabled.unwrap_or_default().into_iter().enumerate() {
            match Plugin::from_name(&p.name) {
                _ if p.name == "*" => set.disable_all = true,
                Some(plugin) => set.disabled.push(plugin),
                None if KUBERNETES_ONLY.contains(&p.name.as_str()) => {}
                None => return Err(unknown_plugin(format!("{at}.disabled[{j}]"), &p.name)),
            }
        }
        Ok(set)
    }

    fn disables(&self, plugin: Plugin) -> bool {
        self.disable_all || self.disabled.contains(&plugin)
    }
}

/// The plugins of one extension point (with weights; 0 for filters).
fn merge(
    defaults: Vec<(Plugin, i64)>,
    multi: &PluginSet,
    own: &PluginSet,
    supports: fn(Plugin) -> bool,
    at: &str,
    verb: &str,
) -> Result<Vec<(Plugin, i64)>, ConfigError> {
    let mut list = defaults;
    list.retain(|(p, _)| !multi.disables(*p) && !own.disables(*p));
    let upsert = |list: &mut Vec<(Plugin, i64)>, p: Plugin, w: Option<i64>| {
        let w = w.unwrap_or_else(|| p.default_weight().unwrap_or(1));
        match list.iter_mut().find(|(q, _)| *q == p) {
            Some(entry) => entry.1 = w,
            None => list.push((p, w)),
        }
    };
    for &(p, w, _) in &multi.enabled {
        if supports(p) && !own.disables(p) {
            upsert(&mut list, p, w);
        }
    }
    for &(p, w, j) in &own.enabled {
        if !supports(p) {
            let msg = format!("plugin {:?} does not {verb}", p.name());
            return Err(invalid(format!("{at}.enabled[{j}]"), msg));
        }
        upsert(&mut list, p, w);
    }
    Ok(list)
}

impl RawProfile {
    fn build(self, i: usize) -> Result<Profile, ConfigError> {
        let at = format!("profiles[{i}]");
        let name = self
            .scheduler_name
            .unwrap_or_else(|| DEFAULT_SCHEDULER_NAME.to_owned());
        if name.is_empty() {
            return Err(invalid(format!("{at}.schedulerName"), "must not be empty"));
        }
        let mut profile = Profile::default_named(&name);
        if let Some(plugins) = self.plugins {
            let at = format!("{at}.plugins");
            profile.preemption = plugins.preemption(&at)?;
            let multi = PluginSet::resolve(plugins.multi_point, &format!("{at}.multiPoint"), true)?;
            let (filter_at, score_at) = (format!("{at}.filter"), format!("{at}.score"));
            let filter = PluginSet::resolve(plugins.filter, &filter_at, false)?;
            let score = PluginSet::resolve(plugins.score, &score_at, true)?;
            let filters = profile.filters.iter().map(|p| (*p, 0)).collect();
            let filters = merge(
                filters,
                &multi,
                &filter,
                Plugin::filters,
                &filter_at,
                "filter",
            )?;
            profile.filters = filters.into_iter().map(|(p, _)| p).collect();
            let scores = std::mem::take(&mut profile.scores);
            let scores_ok = |p: Plugin| p.default_weight().is_some();
            profile.scores = merge(scores, &multi, &score, scores_ok, &score_at, "score")?;
        }
        let mut seen: Vec<String> = Vec::new();
        let configs = self.plugin_config.unwrap_or_default();
        for (j, pc) in configs.into_iter().enumerate() {
            let at = format!("{at}.pluginConfig[{j}]");
            if Plugin::from_name(&pc.name).is_none() && !KUBERNETES_ONLY.contains(&pc.name.as_str())
            {
                return Err(unknown_plugin(at, &pc.name));
            }
            if seen.contains(&pc.name) {
                let msg = format!("duplicate entry for plugin {:?}", pc.name);
                return Err(invalid(at, msg));
            }
            seen.push(pc.name);
        }
        Ok(profile)
    }
}

#[path = "config_extenders.rs"]
mod extenders;

use extenders::RawExtender;
pub use extenders::parse_go_duration;

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;

use std::time::Duration;

use super::*;
use crate::extender::DEFAULT_HTTP_TIMEOUT;
use crate::plugins::Plugin::*;

const HEAD: &str = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n";

fn parse(body: &str) -> Result<SchedulerConfig, ConfigError> {
    SchedulerConfig::from_yaml(&format!("{HEAD}{body}"))
}

fn err(body: &str) -> String {
    match parse(body) {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn known() -> String {
    Plugin::ALL.map(|p| p.name()).join(", ")
}

#[test]
fn defaults() {
    for c in [
        SchedulerConfig::default(),
        parse("").unwrap(),
        parse("profiles: []\n").unwrap(),
    ] {
        assert_eq!(
            c.profiles,
            vec![Profile::default_named("default-scheduler")]
        );
        assert_eq!(c.percentage_of_nodes_to_score, 0);
        assert_eq!(c.queue.initial_backoff, Duration::from_secs(1));
        assert_eq!(c.queue.max_backoff, Duration::from_secs(10));
        assert_eq!(c.queue.max_unschedulable, Duration::from_secs(300));
        assert!(c.extenders.is_empty());
        assert!(c.profile("default-scheduler").is_some());
        assert!(c.profile("other").is_none());
    }
}

#[test]
fn top_level_settings_and_ignored_fields() {
    let c = parse(
        "percentageOfNodesToScore: 40\npodInitialBackoffSeconds: 2\npodMaxBackoffSeconds: 30\n\
         parallelism: 16\nleaderElection:\n  leaderElect: false\nclientConnection:\n  qps: 50\n",
    )
    .unwrap();
    assert_eq!(c.percentage_of_nodes_to_score, 40);
    assert_eq!(c.queue.initial_backoff, Duration::from_secs(2));
    assert_eq!(c.queue.max_backoff, Duration::from_secs(30));
}

#[test]
fn disable_all_scores_and_enable_one() {
    let c = parse(
        "profiles:\n- schedulerName: packer\n  plugins:\n    score:\n      disabled: [{name: '*'}]\n      \
         enabled: [{name: NodeResourcesFit, weight: 5}, {name: ImageLocality}]\n",
    )
    .unwrap();
    let p = c.profile("packer").unwrap();
    assert_eq!(p.scores, vec![(NodeResourcesFit, 5), (ImageLocality, 1)]);
    assert_eq!(p.filters, Profile::default_named("x").filters);
    assert!(c.profile("default-scheduler").is_none());
}

#[test]
fn reweight_keeps_position_and_disable_removes() {
    let c = parse(
        "profiles:\n- plugins:\n    score:\n      enabled: [{name: NodeAffinity, weight: 10}]\n      \
         disabled: [{name: ImageLocality}, {name: VolumeBinding}]\n    filter:\n      \
         disabled: [{name: NodePorts}]\n",
    )
    .unwrap();
    let mut want = Profile::default_named("default-scheduler");
    for s in &mut want.scores {
        if s.0 == NodeAffinity {
            s.1 = 10;
        }
    }
    want.scores.retain(|s| s.0 != ImageLocality);
    want.filters.retain(|p| *p != NodePorts);
    assert_eq!(c.profiles, vec![want]);
}

#[test]
fn multi_point() {
    let c = parse(
        "profiles:\n- schedulerName: a\n  plugins:\n    multiPoint:\n      disabled: [{name: TaintToleration}]\n\
         - schedulerName: b\n  plugins:\n    multiPoint:\n      disabled: [{name: '*'}]\n      \
         enabled: [{name: NodeAffinity, weight: 7}, {name: ImageLocality}]\n    score:\n      \
         disabled: [{name: ImageLocality}]\n",
    )
    .unwrap();
    let a = c.profile("a").unwrap();
    assert!(!a.filters.contains(&TaintToleration));
    assert!(!a.scores.iter().any(|s| s.0 == TaintToleration));
    let b = c.profile("b").unwrap();
    assert_eq!(b.filters, vec![NodeAffinity]);
    assert_eq!(b.scores, vec![(NodeAffinity, 7)]);
}

#[test]
fn plugin_errors() {
    let unknown =
        err("profiles:\n- plugins: {}\n- plugins:\n    score:\n      enabled: [{name: Foo}]\n");
    let want = format!(
        "profiles[1].plugins.score.enabled[0]: unknown plugin \"Foo\" (known: {})",
        known()
    );
    assert_eq!(unknown, want);
    assert_eq!(
        err("profiles:\n- plugins:\n    filter:\n      enabled: [{name: ImageLocality}]\n"),
        "profiles[0].plugins.filter.enabled[0]: plugin \"ImageLocality\" does not filter"
    );
    assert_eq!(
        err("profiles:\n- plugins:\n    score:\n      enabled: [{name: NodeName}]\n"),
        "profiles[0].plugins.score.enabled[0]: plugin \"NodeName\" does not score"
    );
    assert_eq!(
        err(
            "profiles:\n- plugins:\n    score:\n      enabled: [{name: NodeAffinity, weight: 0}]\n"
        ),
        "profiles[0].plugins.score.enabled[0].weight: 0 is not between 1 and 100"
    );
    assert_eq!(
        err("profiles:\n- plugins:\n    multiPoint:\n      disabled: [{name: Nope}]\n"),
        format!(
            "profiles[0].plugins.multiPoint.disabled[0]: unknown plugin \"Nope\" (known: {})",
            known()
        )
    );
    assert_eq!(
        err(
            "profiles:\n- pluginConfig:\n  - name: DefaultPreemption\n    args: {minCandidateNodesPercentage: 5}\n  - name: Bar\n"
        ),
        format!(
            "profiles[0].pluginConfig[1]: unknown plugin \"Bar\" (known: {})",
            known()
        )
    );
    assert!(err("profiles:\n- plugins:\n    preScore: {}\n").contains("unknown field `preScore`"));
}

#[test]
fn top_level_errors() {
    assert_eq!(
        err("profiles:\n- schedulerName: x\n- {}\n- schedulerName: x\n"),
        "profiles[2].schedulerName: duplicate \"x\""
    );
    assert_eq!(
        err("percentageOfNodesToScore: 101\n"),
        "percentageOfNodesToScore: 101 is not between 0 and 100"
    );
    assert_eq!(
        err("podInitialBackoffSeconds: 0\n"),
        "podInitialBackoffSeconds: must be greater than 0, got 0"
    );
    assert_eq!(
        err("podInitialBackoffSeconds: 20\n"),
        "podMaxBackoffSeconds: 10 is less than podInitialBackoffSeconds (20)"
    );
    assert!(
        err("foo: 1\n").contains("unknown field `foo`"),
        "{}",
        err("foo: 1\n")
    );
    let wrong = SchedulerConfig::from_yaml(
        "apiVersion: kubescheduler.config.k8s.io/v1beta3\nkind: KubeSchedulerConfiguration\n",
    );
    assert_eq!(
        wrong.unwrap_err().to_string(),
        "apiVersion: expected \"kubescheduler.config.k8s.io/v1\", got \"kubescheduler.config.k8s.io/v1beta3\""
    );
    let kind =
        SchedulerConfig::from_yaml("apiVersion: kubescheduler.config.k8s.io/v1\nkind: Pod\n");
    assert_eq!(
        kind.unwrap_err().to_string(),
        "kind: expected \"KubeSchedulerConfiguration\", got \"Pod\""
    );
    let none = SchedulerConfig::from_yaml("kind: KubeSchedulerConfiguration\n");
    assert_eq!(
        none.unwrap_err().to_string(),
        "apiVersion: missing; expected \"kubescheduler.config.k8s.io/v1\""
    );
}

#[test]
fn extenders() {
    let c = parse(
        "extenders:\n- urlPrefix: http://127.0.0.1:8888/sched\n  filterVerb: filter\n  prioritizeVerb: prio\n  \
         weight: 3\n  httpTimeout: 1m30s\n  nodeCacheCapable: true\n  ignorable: true\n  enableHTTPS: false\n  \
         managedResources: [{name: example.com/gpu, ignoredByScheduler: true}]\n\
         - urlPrefix: http://binder\n  bindVerb: bind\n  preemptVerb: ''\n",
    )
    .unwrap();
    assert_eq!(
        c.extenders,
        vec![
            ExtenderConfig {
                url_prefix: "http://127.0.0.1:8888/sched".into(),
                filter_verb: Some("filter".into()),
                prioritize_verb: Some("prio".into()),
                bind_verb: None,
                weight: 3,
                http_timeout: Duration::from_secs(90),
                node_cache_capable: true,
                ignorable: true,
                managed_resources: vec!["example.com/gpu".into()],
            },
            ExtenderConfig {
                url_prefix: "http://binder".into(),
                bind_verb: Some("bind".into()),
                ..ExtenderConfig::default()
            },
        ]
    );
    assert_eq!(c.extenders[1].http_timeout, Duration::from_secs(5));
    let t = |s: &str| {
        parse(&format!(
            "extenders:\n- urlPrefix: http://x\n  httpTimeout: {s}\n"
        ))
        .unwrap()
        .extenders[0]
            .http_timeout
    };
    assert_eq!(t("500ms"), Duration::from_millis(500));
    assert_eq!(t("'0'"), DEFAULT_HTTP_TIMEOUT);
}

#[test]
fn extender_errors() {
    let e = |body: &str| err(&format!("extenders:\n- urlPrefix: http://x\n{body}"));
    assert_eq!(
        e("  enableHTTPS: true\n"),
        "extenders[0].enableHTTPS: HTTPS is not supported; only plain http:// extenders are implemented"
    );
    assert_eq!(
        e("  prioritizeVerb: prio\n"),
        "extenders[0].weight: an extender with a prioritizeVerb needs a positive weight, got 0"
    );
    assert_eq!(
        e("  httpTimeout: 30\n"),
        "extenders[0].httpTimeout: \"30\": missing unit (ns, us, ms, s, m, h)"
    );
    assert_eq!(
        e("  preemptVerb: preempt\n"),
        "extenders[0].preemptVerb: extender preemption is not supported"
    );
    assert_eq!(
        e("  bindVerb: b\n- urlPrefix: http://y\n- urlPrefix: http://z\n  bindVerb: b\n"),
        "extenders[2].bindVerb: only one extender may bind; extenders[0] already does"
    );
    assert_eq!(
        err("extenders:\n- urlPrefix: https://x\n"),
        "extenders[0].urlPrefix: \"https://x\": only plain http:// extenders are implemented"
    );
    assert_eq!(
        err("extenders:\n- urlPrefix: x:80\n"),
        "extenders[0].urlPrefix: \"x:80\" is not an http:// URL"
    );
    assert!(err("extenders:\n- filterVerb: f\n").contains("missing field `urlPrefix`"));
}

#[test]
fn go_durations() {
    let ok = |s: &str| parse_go_duration(s).unwrap();
    assert_eq!(ok("5s"), Duration::from_secs(5));
    assert_eq!(ok("1.5h"), Duration::from_secs(5400));
    assert_eq!(ok("2m3.25s"), Duration::from_millis(123_250));
    assert_eq!(ok("10us"), Duration::from_micros(10));
    assert_eq!(ok("7µs"), Duration::from_micros(7));
    assert_eq!(ok("+.5s"), Duration::from_millis(500));
    assert_eq!(ok("0"), Duration::ZERO);
    for bad in ["", "s", "-1s", "5", "5x", "1.2.3s", "."] {
        assert!(parse_go_duration(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn load_names_the_file() {
    let dir = std::env::temp_dir().join(format!("brink-sched-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.yaml");
    std::fs::write(&path, format!("{HEAD}percentageOfNodesToScore: 200\n")).unwrap();
    let e = SchedulerConfig::load(&path).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: percentageOfNodesToScore: 200 is not between 0 and 100",
            path.display()
        )
    );
    std::fs::write(&path, format!("{HEAD}percentageOfNodesToScore: 20\n")).unwrap();
    assert_eq!(
        SchedulerConfig::load(&path)
            .unwrap()
            .percentage_of_nodes_to_score,
        20
    );
    let missing = dir.join("missing.yaml");
    let e = SchedulerConfig::load(&missing).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("cannot read {}: ", missing.display())),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn preemption_can_be_turned_off_per_profile() {
    let c = parse(
        "profiles:\n- schedulerName: a\n- schedulerName: b\n  plugins:\n    postFilter:\n      disabled: [{name: DefaultPreemption}]\n- schedulerName: c\n  plugins:\n    multiPoint:\n      disabled: [{name: '*'}]\n",
    )
    .unwrap();
    let on = |name: &str| c.profile(name).unwrap().preemption;
    assert!(on("a"));
    assert!(!on("b"));
    assert!(!on("c"));
    assert_eq!(
        err("profiles:\n- plugins:\n    postFilter:\n      enabled: [{name: Foo}]\n"),
        "profiles[0].plugins.postFilter.enabled[0]: unknown postFilter plugin \"Foo\" (known: DefaultPreemption)"
    );
    assert_eq!(
        err("profiles:\n- plugins:\n    postFilter:\n      disabled: [{name: Bar}]\n"),
        "profiles[0].plugins.postFilter.disabled[0]: unknown postFilter plugin \"Bar\" (known: DefaultPreemption)"
    );
}

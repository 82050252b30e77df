//! Pod conditions and the times they keep.

use super::{T0, T1, build, cases, cond};

/// (case name, PodReadyToStartContainers, Initialized, Ready + ContainersReady, reason, message)
#[test]
fn conditions() {
    let table: [(&str, &str, &str, &str, &str, &str); 6] = [
        (
            "before the sandbox",
            "False",
            "True",
            "False",
            "ContainersNotReady",
            "containers with unready status: [app]",
        ),
        ("running", "True", "True", "True", "", ""),
        (
            "crash loop under Always",
            "True",
            "True",
            "False",
            "ContainersNotReady",
            "containers with unready status: [app]",
        ),
        (
            "OnFailure, exit 0",
            "False",
            "True",
            "False",
            "PodCompleted",
            "",
        ),
        (
            "init container running",
            "True",
            "False",
            "False",
            "ContainersNotReady",
            "containers with unready status: [app]",
        ),
        ("init container done", "True", "True", "True", "", ""),
    ];
    let cases = cases();
    for (name, sandbox, initialized, ready, reason, message) in table {
        let case = cases.iter().find(|c| c.name == name).expect("case");
        let s = build(case, None, T1);
        let kinds: Vec<&str> = s["conditions"]
            .as_array()
            .map(|cs| cs.iter().filter_map(|c| c["type"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            kinds,
            [
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled"
            ]
        );
        assert_eq!(
            cond(&s, "PodReadyToStartContainers")["status"],
            sandbox,
            "{name}"
        );
        assert_eq!(cond(&s, "Initialized")["status"], initialized, "{name}");
        for kind in ["Ready", "ContainersReady"] {
            let c = cond(&s, kind);
            assert_eq!(c["status"], ready, "{name} {kind}");
            assert_eq!(c["reason"].as_str().unwrap_or(""), reason, "{name} {kind}");
            assert_eq!(
                c["message"].as_str().unwrap_or(""),
                message,
                "{name} {kind}"
            );
        }
        // The scheduler's condition is kept as it was.
        assert_eq!(cond(&s, "PodScheduled")["lastTransitionTime"], T0, "{name}");
    }
    let init = cases
        .iter()
        .find(|c| c.name == "init container running")
        .expect("case");
    assert_eq!(
        cond(&build(init, None, T1), "Initialized")["message"],
        "containers with incomplete status: [setup]"
    );
}

#[test]
fn transition_times_and_start_time_are_kept_while_unchanged() {
    let cases = cases();
    let running = cases.iter().find(|c| c.name == "running").expect("case");
    let crashed = cases
        .iter()
        .find(|c| c.name == "crash loop under Always")
        .expect("case");
    let first = build(running, None, T0);
    assert_eq!(cond(&first, "Ready")["lastTransitionTime"], T0);

    let again = build(running, Some(&first), T1);
    assert_eq!(again, first, "nothing changed, nothing moves");

    let later = build(crashed, Some(&first), T1);
    assert_eq!(cond(&later, "Ready")["lastTransitionTime"], T1);
    assert_eq!(cond(&later, "Initialized")["lastTransitionTime"], T0);
    assert_eq!(later["startTime"], T0);
}

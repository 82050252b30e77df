use super::*;
use serde_json::json;

fn labels(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[test]
fn parses_and_prints_canonically() {
    let cases: &[(&str, &str)] = &[
        ("", ""),
        ("a=b", "a=b"),
        ("a==b", "a==b"),
        (" a != b ", "a!=b"),
        ("x,!y", "x,!y"),
        ("!b,a", "a,!b"),
        (
            "env in (prod, dev),tier notin (cache)",
            "env in (dev,prod),tier notin (cache)",
        ),
        ("a=", "a="),
        ("a in ()", "a in ()"),
        ("n>5,m<3", "m<3,n>5"),
        ("in in (in)", "in in (in)"),
        ("example.com/app=web", "example.com/app=web"),
    ];
    for (input, want) in cases {
        let sel = LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(sel.to_string(), *want, "{input:?}");
    }
}

#[test]
fn parse_errors_use_apimachinery_text() {
    let cases: &[(&str, &str)] = &[
        (
            "a b",
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt",
        ),
        ("a=b,", "found '', expected: identifier after ','"),
        (
            "=b",
            "found '=', expected: !, identifier, or 'end of string'",
        ),
        (
            "a in b",
            "unable to parse requirement: found 'b' expected: '('",
        ),
        (
            "a in (b c)",
            "unable to parse requirement: found 'c', expected: ',' or ')'",
        ),
        (
            "a ~ b",
            "unable to parse requirement: found '~', expected: in, notin, =, ==, !=, gt, lt",
        ),
        (
            "a notin b c",
            "unable to parse requirement: found 'b' expected: '('",
        ),
        (
            "a,b c",
            "unable to parse requirement: found 'c', expected: in, notin, =, ==, !=, gt, lt",
        ),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ];
    for (input, want) in cases {
        assert_eq!(
            LabelSelector::parse(input),
            Err(SelectorError::LabelSyntax(want.to_string())),
            "{input:?}"
        );
    }
    let err = LabelSelector::parse("Bad_=x")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with(
            "unable to parse requirement: <nil>: Invalid value: \"Bad_\": name part must consist"
        ),
        "{err}"
    );
    let err = LabelSelector::parse("a=-x")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with(
            "unable to parse requirement: values[0][a]: Invalid value: \"-x\": a valid label"
        ),
        "{err}"
    );
}

#[test]
fn matching() {
    let l = labels(json!({"app": "web", "env": "prod", "n": "7"}));
    let cases: &[(&str, bool)] = &[
        ("", true),
        ("app=web", true),
        ("app=db", false),
        ("app!=db", true),
        ("missing!=x", true),
        ("env in (prod,dev)", true),
        ("env notin (prod)", false),
        ("missing notin (x)", true),
        ("app", true),
        ("!app", false),
        ("!missing", true),
        ("n>5", true),
        ("n<5", false),
        ("app>1", false),
        ("app=web,env=dev", false),
    ];
    for (input, want) in cases {
        let sel = LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(sel.matches(Some(&l)), *want, "{input:?}");
    }
    assert!(LabelSelector::parse("!app").unwrap().matches(None));
}

#[test]
fn label_selector_objects() {
    let sel = LabelSelector::from_value(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["b", "a"]},
            {"key": "canary", "operator": "DoesNotExist"}
        ]
    }))
    .unwrap();
    assert_eq!(sel.to_string(), "app=web,!canary,tier in (a,b)");
    assert!(sel.matches(Some(&labels(json!({"app": "web", "tier": "a"})))));
    assert!(!sel.matches(Some(&labels(
        json!({"app": "web", "tier": "a", "canary": "1"})
    ))));
    assert_eq!(sel.exact_match("app"), Some("web"));
    assert!(
        LabelSelector::from_value(&Value::Null)
            .unwrap()
            .is_nothing()
    );
    assert!(
        !LabelSelector::from_value(&Value::Null)
            .unwrap()
            .matches(None)
    );
    assert!(
        LabelSelector::from_value(&json!({}))
            .unwrap()
            .is_everything()
    );
    let err =
        LabelSelector::from_value(&json!({"matchExpressions": [{"key": "a", "operator": "Foo"}]}));
    assert_eq!(
        err,
        Err(SelectorError::InvalidLabelSelector(
            "\"Foo\" is not a valid label selector operator".into()
        ))
    );
    let err =
        LabelSelector::from_value(&json!({"matchExpressions": [{"key": "a", "operator": "In"}]}));
    assert_eq!(
        err.err().map(|e| e.to_string()),
        Some("values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty".into())
    );
}

#[test]
fn format_labels_sorts_or_says_none() {
    assert_eq!(format_labels(None), "<none>");
    assert_eq!(
        format_labels(Some(&labels(json!({"b": "2", "a": "1"})))),
        "a=1,b=2"
    );
    let sel = LabelSelector::from_map(&labels(json!({"b": "2", "a": "1"})));
    assert_eq!(sel.to_string(), "a=1,b=2");
}

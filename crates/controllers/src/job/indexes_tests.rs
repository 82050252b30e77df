use super::indexes::Indexes;

#[test]
fn compressed_form() {
    let cases: &[(&str, i32, &str, i32)] = &[
        ("", 5, "", 0),
        ("0,1,2,5", 10, "0-2,5", 4),
        ("3,4", 10, "3,4", 2),
        ("0-2,3-4,7", 10, "0-4,7", 6),
        ("5-9", 7, "5,6", 2),
        ("8", 7, "", 0),
        ("x,1,2-y,4", 10, "1,4", 2),
        ("2-1", 10, "", 0),
    ];
    for (text, completions, want, total) in cases {
        let ix = Indexes::parse(text, *completions);
        assert_eq!(ix.to_string(), *want, "{text}");
        assert_eq!(ix.total(), *total, "{text}");
    }
}

#[test]
fn insert_merges_neighbours() {
    let mut ix = Indexes::parse("0,2", 10);
    ix.insert(1);
    assert_eq!(ix.to_string(), "0-2");
    ix.insert(9);
    ix.insert(2);
    assert_eq!(ix.to_string(), "0-2,9");
    assert!(ix.contains(1) && ix.contains(9) && !ix.contains(5));
}

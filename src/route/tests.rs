use super::pick_copy;

#[test]
fn reference_reads_prefer_the_transaction_then_a_healthy_copy() {
    let copies = vec!["ds_0".to_string(), "ds_1".to_string(), "ds_2".to_string()];
    // (held, down, chosen)
    let cases: &[(&[&str], &[&str], &str)] = &[
        (&[], &[], "ds_0"),
        (&["ds_1"], &[], "ds_1"),
        (&["ds_2", "ds_1"], &[], "ds_1"),
        (&[], &["ds_0"], "ds_1"),
        (&["ds_0"], &["ds_0"], "ds_0"),
        (&["ds_9"], &["ds_0", "ds_1"], "ds_2"),
        (&[], &["ds_0", "ds_1", "ds_2"], "ds_0"),
    ];
    for (held, down, want) in cases {
        let got = pick_copy(
            &copies,
            "ds_0",
            |d| held.contains(&d),
            |d| down.contains(&d),
        );
        assert_eq!(got, *want, "held {held:?} down {down:?}");
    }
    assert_eq!(pick_copy(&[], "ds_7", |_| true, |_| false), "ds_7");
}

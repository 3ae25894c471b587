//! Rule configuration: the defaults, overrides and additions, errors, durations.

use super::*;

#[test]
fn the_default_rules_parse_and_follow_the_design() {
    let rules = default_rules();
    assert!(rules.iter().all(|r| !r.when.terms.is_empty()), "{rules:#?}");
    let find = |n: &str| rules.iter().find(|r| r.name == n).unwrap();
    assert_eq!(find("cpu-warning").when.to_string(), "cpu > 80");
    assert_eq!(find("cpu-critical").when.to_string(), "cpu > 95");
    assert_eq!(find("memory-warning").when.to_string(), "memory > 85");
    assert_eq!(find("memory-critical").when.to_string(), "memory > 95");
    assert_eq!(find("disk-full").when.to_string(), "disk > 90");
    assert_eq!(find("node-unreachable").severity, Severity::Critical);
    assert_eq!(find("load-imbalance").when.to_string(), "load_spread > 30");
    assert_eq!(find("scale-up").when.to_string(), "cpu > 85 or memory > 90");
    assert_eq!(
        find("scale-down").when.to_string(),
        "fleet_cpu < 30 and fleet_memory < 40"
    );
}

#[test]
fn config_entries_patch_defaults_and_add_rules() {
    let entries: AlertsConfig = toml::from_str(
        r#"
[[rules]]
name = "cpu-warning"
threshold = 70
for = "2m"

[[rules]]
name = "api-hot"
when = "container_cpu >= 150"
for = "30s"
severity = "critical"

[[rules]]
name = "disk-full"
enabled = false
"#,
    )
    .unwrap();
    let rules = rules_from_config(&entries.rules).unwrap();
    let cpu = rules.iter().find(|r| r.name == "cpu-warning").unwrap();
    assert_eq!(cpu.when.to_string(), "cpu > 70");
    assert_eq!(cpu.for_, Duration::from_secs(120));
    let api = rules.last().unwrap();
    assert_eq!(api.name, "api-hot");
    assert_eq!(api.when.scope(), Scope::Container);
    assert_eq!(api.severity, Severity::Critical);
    assert!(
        !rules
            .iter()
            .find(|r| r.name == "disk-full")
            .unwrap()
            .enabled
    );
}

#[test]
fn bad_rules_say_what_is_wrong() {
    let err = |toml: &str| {
        toml::from_str::<AlertsConfig>(toml)
            .unwrap_err()
            .to_string()
    };
    assert!(err("[[rules]]\nname=\"x\"\nwhen = \"cpux > 3\"").contains("unknown metric `cpux`"));
    assert!(err("[[rules]]\nname=\"x\"\nwhen = \"cpu = 3\"").contains("not a comparison"));
    assert!(err("[[rules]]\nname=\"x\"\nwhen = \"cpu > lots\"").contains("not a number"));
    assert!(err("[[rules]]\nname=\"x\"\nwhen = \"cpu > 1 and restarts > 1\"").contains("mixes"));
    assert!(
        err("[[rules]]\nname=\"x\"\nwhen = \"cpu > 1 and cpu < 3 or disk > 1\"")
            .contains("mixes `and` and `or`")
    );
    assert!(err("[[rules]]\nname=\"x\"\nfor = \"5\"").contains("not a duration"));
    assert!(err("[[rules]]\nname=\"x\"\nseverity = \"page\"").contains("unknown variant"));
    assert!(err("[[rules]]\nname=\"x\"\nthreshhold = 1").contains("unknown field"));
    let missing = rules_from_config(&[RuleConfig {
        name: "mine".into(),
        ..RuleConfig::default()
    }])
    .unwrap_err();
    assert!(missing.to_string().contains("needs a `when`"), "{missing}");
    let wrong = rules_from_config(&[RuleConfig {
        name: "cpu-warning".into(),
        recommend: Some(Recommend::Rebalance),
        ..RuleConfig::default()
    }])
    .unwrap_err();
    assert!(
        wrong
            .to_string()
            .contains("does not fit a rule about a node"),
        "{wrong}"
    );
}

#[test]
fn durations_parse_and_print() {
    for (text, secs) in [
        ("0s", 0),
        ("90s", 90),
        ("5m", 300),
        ("1h30m", 5400),
        ("2d", 172_800),
    ] {
        assert_eq!(
            parse_duration(text).unwrap(),
            Duration::from_secs(secs),
            "{text}"
        );
    }
    assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
    for bad in ["", "5", "m", "5x", "1h-2m", "-3s"] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
    assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    assert_eq!(format_duration(Duration::from_secs(45)), "45s");
    assert_eq!(format_duration(Duration::ZERO), "0s");
}

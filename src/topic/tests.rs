//! Tests of validation, `matches` and `parse_shared` against the examples and normative statements
//! of MQTT 5.0 §4.7 / §4.8.2 and MQTT 3.1.1 §4.7.

use super::{MAX_TOPIC_LEN, TopicError, matches, parse_shared, validate_subscription, validate_topic_filter, validate_topic_name};

#[test]
fn topic_name_must_not_be_empty_mqtt_4_7_3_1() {
    assert_eq!(validate_topic_name(""), Err(TopicError::Empty));
    assert_eq!(validate_topic_filter(""), Err(TopicError::Empty));
}

#[test]
fn length_limit_is_65535_bytes_mqtt_4_7_3_3() {
    let max = "a".repeat(MAX_TOPIC_LEN);
    let over = "a".repeat(MAX_TOPIC_LEN + 1);
    assert_eq!(validate_topic_name(&max), Ok(()));
    assert_eq!(validate_topic_name(&over), Err(TopicError::TooLong));
    assert_eq!(validate_topic_filter(&max), Ok(()));
    assert_eq!(validate_topic_filter(&over), Err(TopicError::TooLong));
    // Bytes, not characters: 21,845 three-byte characters = 65,535 bytes; one more is too long.
    let wide = "€".repeat(MAX_TOPIC_LEN / 3);
    assert_eq!(validate_topic_name(&wide), Ok(()));
    assert_eq!(validate_topic_name(&format!("{wide}a")), Err(TopicError::TooLong));
    // A filter of 32,768 empty levels is valid and exactly at the limit.
    let slashes = "/".repeat(MAX_TOPIC_LEN);
    assert_eq!(validate_topic_name(&slashes), Ok(()));
    assert_eq!(validate_topic_filter(&slashes), Ok(()));
}

#[test]
fn null_character_is_rejected_mqtt_4_7_3_2() {
    assert_eq!(validate_topic_name("a\0b"), Err(TopicError::NullCharacter));
    assert_eq!(validate_topic_name("\0"), Err(TopicError::NullCharacter));
    assert_eq!(validate_topic_filter("a/\0/#"), Err(TopicError::NullCharacter));
}

#[test]
fn wildcards_are_not_allowed_in_topic_names_mqtt_4_7_0_1() {
    // MQTT 5.0 MQTT-4.7.0-1 = MQTT 3.1.1 MQTT-4.7.1-1.
    for name in ["#", "+", "a/#", "a/+/b", "a+", "sport/tennis#", "+/x"] {
        assert_eq!(validate_topic_name(name), Err(TopicError::WildcardInTopicName), "{name}");
    }
}

#[test]
fn valid_topic_names_include_empty_levels_spaces_and_dollar() {
    for name in ["/", "//", "a//b", "/a", "a/", "Accounts payable", "$SYS/broker", "ü/€/𝄞", " "] {
        assert_eq!(validate_topic_name(name), Ok(()), "{name}");
    }
}

#[test]
fn multi_level_wildcard_must_be_last_and_alone_mqtt_4_7_1_1() {
    // MQTT 5.0 MQTT-4.7.1-1 = MQTT 3.1.1 MQTT-4.7.1-2; examples of §4.7.1.2.
    for ok in ["#", "sport/tennis/#", "sport/#", "/#", "+/#", "a//#", "$SYS/#"] {
        assert_eq!(validate_topic_filter(ok), Ok(()), "{ok}");
    }
    for bad in ["sport/tennis#", "sport/tennis/#/ranking", "#/a", "a#", "#a", "##", "a/#/", "/#/"] {
        assert_eq!(validate_topic_filter(bad), Err(TopicError::InvalidWildcard), "{bad}");
    }
}

#[test]
fn single_level_wildcard_must_occupy_a_level_mqtt_4_7_1_2() {
    // MQTT 5.0 MQTT-4.7.1-2 = MQTT 3.1.1 MQTT-4.7.1-3; examples of §4.7.1.3.
    for ok in ["+", "+/tennis/#", "sport/+/player1", "+/+", "/+", "+/", "a//+", "+/+/+"] {
        assert_eq!(validate_topic_filter(ok), Ok(()), "{ok}");
    }
    for bad in ["sport+", "+a", "a+", "a/+b/c", "++", "+#", "#+"] {
        assert_eq!(validate_topic_filter(bad), Err(TopicError::InvalidWildcard), "{bad}");
    }
}

#[test]
fn valid_filters_include_empty_levels() {
    for ok in ["a//b", "/a", "a/", "/", "//", "$share", "$share/g/x"] {
        assert_eq!(validate_topic_filter(ok), Ok(()), "{ok}");
    }
}

#[test]
fn multi_level_examples_of_4_7_1_2() {
    let f = "sport/tennis/player1/#";
    for topic in ["sport/tennis/player1", "sport/tennis/player1/ranking", "sport/tennis/player1/score/wimbledon"] {
        assert!(matches(f, topic), "{f} should match {topic}");
    }
    assert!(!matches(f, "sport/tennis/player2"));
    assert!(!matches(f, "sport/tennis"));
    // "sport/#" also matches the singular "sport", since # includes the parent level.
    assert!(matches("sport/#", "sport"));
    assert!(matches("sport/#", "sport/"));
    assert!(matches("sport/#", "sport/tennis/player1"));
    assert!(!matches("sport/#", "sports"));
    assert!(!matches("sport/tennis/#", "sport"));
    // "#" receives every message (except '$' topics, see 4.7.2).
    assert!(matches("#", "sport"));
    assert!(matches("#", "/"));
    assert!(matches("#", "a/b/c"));
}

#[test]
fn single_level_examples_of_4_7_1_3() {
    assert!(matches("sport/tennis/+", "sport/tennis/player1"));
    assert!(matches("sport/tennis/+", "sport/tennis/player2"));
    assert!(!matches("sport/tennis/+", "sport/tennis/player1/ranking"));
    // "sport/+" does not match "sport" but does match "sport/".
    assert!(!matches("sport/+", "sport"));
    assert!(matches("sport/+", "sport/"));
    assert!(matches("sport/+/player1", "sport/tennis/player1"));
    assert!(!matches("sport/+/player1", "sport/player1"));
    // "/finance" matches "+/+" and "/+", but not "+".
    assert!(matches("+/+", "/finance"));
    assert!(matches("/+", "/finance"));
    assert!(!matches("+", "/finance"));
    assert!(matches("+", "finance"));
    assert!(matches("+/tennis/#", "sport/tennis"));
    assert!(matches("+/tennis/#", "sport/tennis/player1/ranking"));
    assert!(!matches("+/tennis/#", "sport/golf"));
}

#[test]
fn dollar_topics_are_not_matched_by_leading_wildcards_mqtt_4_7_2_1() {
    // Examples of §4.7.2.
    assert!(!matches("#", "$SYS"));
    assert!(!matches("#", "$SYS/broker/clients"));
    assert!(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
    assert!(!matches("+", "$SYS"));
    assert!(!matches("+/#", "$SYS/a"));
    assert!(matches("$SYS/#", "$SYS/monitor/Clients"));
    assert!(matches("$SYS/#", "$SYS"));
    assert!(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
    // A wildcard after a literal '$' first level matches normally.
    assert!(matches("$SYS/+/Clients", "$SYS/monitor/Clients"));
    // Only a leading '$' counts.
    assert!(matches("#", "a/$SYS"));
    assert!(matches("+/$x", "a/$x"));
    assert!(matches("+", "a$"));
}

#[test]
fn matching_is_exact_without_normalisation_mqtt_4_7_3_4() {
    // §4.7.3: case-sensitive, a leading '/' makes a distinct topic, no trimming or folding.
    assert!(!matches("ACCOUNTS", "Accounts"));
    assert!(!matches("finance", "/finance"));
    assert!(!matches("/finance", "finance"));
    assert!(matches("Accounts payable", "Accounts payable"));
    assert!(!matches("a/b", "a/b/"));
    assert!(!matches("a/b/", "a/b"));
    assert!(matches("a//b", "a//b"));
    assert!(!matches("a//b", "a/b"));
    assert!(matches("a/+/b", "a//b"));
    assert!(!matches("é", "e\u{301}"));
    assert!(matches("/", "/"));
    assert!(matches("+/+", "/"));
    assert!(!matches("+", "/"));
}

#[test]
fn shared_subscription_parsing_mqtt_4_8_2_1_and_2() {
    assert_eq!(parse_shared("$share/g/a/b"), Ok(Some(("g", "a/b"))));
    assert_eq!(parse_shared("$share/consumer1/sport/tennis/+"), Ok(Some(("consumer1", "sport/tennis/+"))));
    assert_eq!(parse_shared("$share/g/#"), Ok(Some(("g", "#"))));
    assert_eq!(parse_shared("$share/g//"), Ok(Some(("g", "/"))));
    assert_eq!(parse_shared("$share/g/$SYS/#"), Ok(Some(("g", "$SYS/#"))));
    // Not shared subscriptions.
    for plain in ["a/b", "#", "$share", "$SHARE/g/a", "$sharex/g/a", "share/g/a", "$SYS/#"] {
        assert_eq!(parse_shared(plain), Ok(None), "{plain}");
    }
    // MQTT-4.8.2-1: ShareName at least one character long.
    assert_eq!(parse_shared("$share//a"), Err(TopicError::InvalidShareName));
    // MQTT-4.8.2-2: no '+' or '#' in the ShareName, and it is followed by '/' and a filter.
    assert_eq!(parse_shared("$share/g+/a"), Err(TopicError::InvalidShareName));
    assert_eq!(parse_shared("$share/+/a"), Err(TopicError::InvalidShareName));
    assert_eq!(parse_shared("$share/#"), Err(TopicError::InvalidShareName));
    assert_eq!(parse_shared("$share/g#/a"), Err(TopicError::InvalidShareName));
    assert_eq!(parse_shared("$share/"), Err(TopicError::InvalidShareName));
    assert_eq!(parse_shared("$share/g"), Err(TopicError::InvalidShareName));
    assert_eq!(parse_shared("$share/g/"), Err(TopicError::Empty));
    // The inner filter follows the filter rules.
    assert_eq!(parse_shared("$share/g/a#"), Err(TopicError::InvalidWildcard));
    assert_eq!(parse_shared("$share/g/#/a"), Err(TopicError::InvalidWildcard));
    assert_eq!(parse_shared("$share/g\0/a"), Err(TopicError::NullCharacter));
    assert_eq!(parse_shared("$share/g/a\0"), Err(TopicError::NullCharacter));
    let long = format!("$share/g/{}", "a".repeat(MAX_TOPIC_LEN));
    assert_eq!(parse_shared(&long), Err(TopicError::TooLong));
}

#[test]
fn errors_display_their_rule() {
    assert_eq!(TopicError::Empty.to_string(), "topic must be at least one character long");
    assert!(TopicError::InvalidShareName.to_string().contains("$share/{ShareName}/{filter}"));
}

#[test]
fn a_subscription_is_a_filter_or_a_well_formed_shared_one_mqtt_4_8_2_1_and_2() {
    for ok in ["#", "a/+/b", "$share/g/a/#", "$SYS/#"] {
        assert_eq!(validate_subscription(ok), Ok(()), "{ok}");
    }
    assert_eq!(validate_subscription("a/#/b"), Err(TopicError::InvalidWildcard));
    assert_eq!(validate_subscription("$share//a"), Err(TopicError::InvalidShareName));
    assert_eq!(validate_subscription("$share/g/a+"), Err(TopicError::InvalidWildcard));
    assert_eq!(validate_subscription("$share/g/"), Err(TopicError::Empty));
    assert_eq!(validate_subscription(""), Err(TopicError::Empty));
}

//! Topic Name and Topic Filter syntax (5.0 §4.7, 3.1.1 §4.7).

/// A Topic Name (PUBLISH, Will Topic): at least one character (MQTT-4.7.3-1) and no wildcard
/// characters `+` or `#` (MQTT-3.3.2-2, MQTT-4.7.1-1). The rules are [`crate::topic`]'s.
#[must_use]
pub fn is_valid_topic_name(topic: &str) -> bool {
    crate::topic::validate_topic_name(topic).is_ok()
}

/// A Topic Filter (SUBSCRIBE, UNSUBSCRIBE): at least one character (MQTT-4.7.3-1), `#` only as
/// the whole last level (MQTT-4.7.1-2), `+` only as a whole level (MQTT-4.7.1-3). A shared
/// subscription `$share/{ShareName}/{filter}` needs a non-empty `ShareName` without `/`, `+`, `#`
/// followed by a valid filter (5.0 §4.8.2). The rules are [`crate::topic`]'s.
#[must_use]
pub fn is_valid_topic_filter(filter: &str) -> bool {
    crate::topic::validate_subscription(filter).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_mqtt_4_7_1_1_and_4_7_3_1() {
        assert!(is_valid_topic_name("a/b"));
        assert!(is_valid_topic_name("/"));
        assert!(is_valid_topic_name("$SYS/x"));
        assert!(!is_valid_topic_name(""));
        assert!(!is_valid_topic_name("a/+"));
        assert!(!is_valid_topic_name("a/#"));
    }

    #[test]
    fn topic_filters_mqtt_4_7_1_2_and_4_7_1_3() {
        for ok in ["#", "+", "a/#", "+/+", "/+", "a//b", "sport/+/player1", "$share/g/a/#"] {
            assert!(is_valid_topic_filter(ok), "{ok}");
        }
        for bad in ["", "a/#/b", "a#", "a+/b", "#/a", "$share//a", "$share/g", "$share/g+/a", "$share/g/"] {
            assert!(!is_valid_topic_filter(bad), "{bad}");
        }
    }
}

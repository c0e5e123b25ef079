//! Comparing two messages of one topic: a bounded line diff for text and a structural
//! diff for JSON.

use serde_json::Value;

use super::payload::{JsonPath, PathSegment};

/// Each side of [`text_diff`] is compared on at most this many leading bytes.
pub const TEXT_DIFF_LIMIT: usize = 1024 * 1024;
/// After skipping the lines both sides start and end with, [`text_diff`] compares at most
/// this many lines of each side. This bounds the worst case of the Myers diff (completely
/// different or reordered lines: O(lines²)) to well under a second even in debug builds.
pub const TEXT_DIFF_LINE_LIMIT: usize = 2_000;

/// One line of a [`TextDiff`], without its line terminator.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DiffLine {
    /// In both texts.
    Same(String),
    /// Only in the new text.
    Added(String),
    /// Only in the old text.
    Removed(String),
}

/// Result of [`text_diff`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextDiff {
    /// The lines of both texts in order; where lines were replaced, the removed ones come
    /// before the added ones.
    pub lines: Vec<DiffLine>,
    /// Whether only the beginning of the inputs was compared: an input was over
    /// [`TEXT_DIFF_LIMIT`] bytes, or the differing middle part over
    /// [`TEXT_DIFF_LINE_LIMIT`] lines (then the lines after it are left out too).
    pub truncated: bool,
}

/// Line diff of two texts (Myers, via `similar`), deterministic and bounded: inputs over
/// [`TEXT_DIFF_LIMIT`] bytes are compared on their first [`TEXT_DIFF_LIMIT`] bytes, and of
/// the lines between the common leading and trailing lines only the first
/// [`TEXT_DIFF_LINE_LIMIT`] of each side; `truncated` says when either happened.
/// Line endings are ignored (LF, CRLF and a missing final newline compare equal).
#[must_use]
pub fn text_diff(old: &str, new: &str) -> TextDiff {
    let (old, old_cut) = clip(old);
    let (new, new_cut) = clip(new);
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let (old_rest, new_rest) = (&old[prefix..], &new[prefix..]);
    let suffix = old_rest.iter().rev().zip(new_rest.iter().rev()).take_while(|(a, b)| a == b).count();
    let old_mid = &old_rest[..old_rest.len() - suffix];
    let new_mid = &new_rest[..new_rest.len() - suffix];
    let mid_cut = old_mid.len() > TEXT_DIFF_LINE_LIMIT || new_mid.len() > TEXT_DIFF_LINE_LIMIT;
    let old_mid = &old_mid[..old_mid.len().min(TEXT_DIFF_LINE_LIMIT)];
    let new_mid = &new_mid[..new_mid.len().min(TEXT_DIFF_LINE_LIMIT)];

    let owned = |lines: &[&str], wrap: fn(String) -> DiffLine| lines.iter().map(|l| wrap((*l).to_owned())).collect::<Vec<_>>();
    let mut lines = owned(&old[..prefix], DiffLine::Same);
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, old_mid, new_mid) {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        match tag {
            similar::DiffTag::Equal => lines.extend(owned(&old_mid[old_range], DiffLine::Same)),
            similar::DiffTag::Delete => lines.extend(owned(&old_mid[old_range], DiffLine::Removed)),
            similar::DiffTag::Insert => lines.extend(owned(&new_mid[new_range], DiffLine::Added)),
            similar::DiffTag::Replace => {
                lines.extend(owned(&old_mid[old_range], DiffLine::Removed));
                lines.extend(owned(&new_mid[new_range], DiffLine::Added));
            }
        }
    }
    if !mid_cut {
        lines.extend(owned(&old[old.len() - suffix..], DiffLine::Same));
    }
    TextDiff { lines, truncated: old_cut || new_cut || mid_cut }
}

/// `s` cut to at most [`TEXT_DIFF_LIMIT`] bytes (on a character boundary), and whether cut.
fn clip(s: &str) -> (&str, bool) {
    let end = s.floor_char_boundary(TEXT_DIFF_LIMIT);
    (&s[..end], end < s.len())
}

/// One difference found by [`json_diff`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonChange {
    /// A member or element only in the new value (the whole subtree).
    Added {
        /// Where.
        path: JsonPath,
        /// The new subtree.
        value: Value,
    },
    /// A member or element only in the old value (the whole subtree).
    Removed {
        /// Where.
        path: JsonPath,
        /// The old subtree.
        value: Value,
    },
    /// A leaf whose value changed, or a subtree whose type changed (e.g. object → array,
    /// number → string).
    Changed {
        /// Where.
        path: JsonPath,
        /// The old value.
        old: Value,
        /// The new value.
        new: Value,
    },
}

impl JsonChange {
    /// Where the change is.
    #[must_use]
    pub fn path(&self) -> &JsonPath {
        match self {
            Self::Added { path, .. } | Self::Removed { path, .. } | Self::Changed { path, .. } => path,
        }
    }
}

/// Deeper than this, subtrees are compared as a whole (one `Changed`). Values parsed by
/// `serde_json` are never deeper than its recursion limit of 128 anyway.
const MAX_DEPTH: usize = 256;

/// Structural diff: every added, removed and changed leaf with its path, in document
/// order. Objects: the old value's members in its order (changed or removed), then
/// members only in the new value in its order. Arrays are compared by index (extra
/// elements are added/removed at the end). An added or removed subtree is one change, and
/// so is a type change. Numbers compare as written: `1` and `1.0` differ.
#[must_use]
pub fn json_diff(old: &Value, new: &Value) -> Vec<JsonChange> {
    let mut out = Vec::new();
    diff_values(old, new, &mut Vec::new(), 0, &mut out);
    out
}

fn diff_values(old: &Value, new: &Value, path: &mut Vec<PathSegment>, depth: usize, out: &mut Vec<JsonChange>) {
    let at = |path: &mut Vec<PathSegment>, segment| {
        path.push(segment);
        JsonPath(path.clone())
    };
    match (old, new) {
        (Value::Object(a), Value::Object(b)) if depth < MAX_DEPTH => {
            for (key, va) in a {
                path.push(PathSegment::Key(key.clone()));
                match b.get(key) {
                    Some(vb) => diff_values(va, vb, path, depth + 1, out),
                    None => out.push(JsonChange::Removed { path: JsonPath(path.clone()), value: va.clone() }),
                }
                path.pop();
            }
            for (key, vb) in b.iter().filter(|(key, _)| !a.contains_key(*key)) {
                out.push(JsonChange::Added { path: at(path, PathSegment::Key(key.clone())), value: vb.clone() });
                path.pop();
            }
        }
        (Value::Array(a), Value::Array(b)) if depth < MAX_DEPTH => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                path.push(PathSegment::Index(i));
                diff_values(va, vb, path, depth + 1, out);
                path.pop();
            }
            for (i, va) in a.iter().enumerate().skip(b.len()) {
                out.push(JsonChange::Removed { path: at(path, PathSegment::Index(i)), value: va.clone() });
                path.pop();
            }
            for (i, vb) in b.iter().enumerate().skip(a.len()) {
                out.push(JsonChange::Added { path: at(path, PathSegment::Index(i)), value: vb.clone() });
                path.pop();
            }
        }
        _ if old != new => {
            out.push(JsonChange::Changed { path: JsonPath(path.clone()), old: old.clone(), new: new.clone() });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn p(s: &str) -> JsonPath {
        JsonPath::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn same(s: &str) -> DiffLine {
        DiffLine::Same(s.into())
    }
    fn added(s: &str) -> DiffLine {
        DiffLine::Added(s.into())
    }
    fn removed(s: &str) -> DiffLine {
        DiffLine::Removed(s.into())
    }

    #[test]
    fn text_diff_lines() {
        let d = text_diff("a\nb\nc\n", "a\nB\nc\nd");
        assert_eq!(d.lines, vec![same("a"), removed("b"), added("B"), same("c"), added("d")]);
        assert!(!d.truncated);
        assert_eq!(text_diff("", "").lines, vec![]);
        assert_eq!(text_diff("", "x").lines, vec![added("x")]);
        assert_eq!(text_diff("x\r\ny", "x\ny\n").lines, vec![same("x"), same("y")], "line endings ignored");
        let d = text_diff("1\n2\n3\n4\n5\n", "1\n3\n4\n5\n6\n");
        assert_eq!(d.lines, vec![same("1"), removed("2"), same("3"), same("4"), same("5"), added("6")]);
    }

    #[test]
    fn text_diff_truncates_big_inputs() {
        let big = "é".repeat(TEXT_DIFF_LIMIT); // 2 MiB, cut on a char boundary
        let d = text_diff(&big, "x");
        assert!(d.truncated);
        assert_eq!(d.lines, vec![removed(&"é".repeat(TEXT_DIFF_LIMIT / 2)), added("x")]);

        // Totally different many-line inputs: bounded, the lines after the window are left out.
        let n = TEXT_DIFF_LINE_LIMIT * 3;
        let numbered = |prefix: &str| (0..n).fold(String::new(), |acc, i| acc + prefix + &i.to_string() + "\n");
        let (old, new) = (numbered("a"), numbered("b"));
        let d = text_diff(&format!("head\n{old}tail"), &format!("head\n{new}tail"));
        assert!(d.truncated);
        assert_eq!(d.lines.first(), Some(&same("head")));
        assert_eq!(d.lines.len(), 1 + 2 * TEXT_DIFF_LINE_LIMIT);
        assert!(!d.lines.contains(&same("tail")));

        // A long document with one change in the middle is compared completely.
        let mut changed = old.clone();
        changed.replace_range(old.find("a5000\n").map_or(0..0, |i| i..i + 5), "x5000");
        let d = text_diff(&old, &changed);
        assert!(!d.truncated);
        assert_eq!(d.lines.len(), n + 1);
        assert_eq!(d.lines[5000..5002], [removed("a5000"), added("x5000")]);
    }

    #[test]
    fn json_diff_equal_is_empty() {
        let v = json!({"a": [1, {"b": null}], "c": "x"});
        assert!(json_diff(&v, &v).is_empty());
        assert!(json_diff(&json!(1), &json!(1)).is_empty());
    }

    #[test]
    fn json_diff_added_removed_changed() {
        let old = json!({"t": 21.5, "gone": {"x": 1}, "same": true, "s": "a"});
        let new = json!({"t": 22.0, "same": true, "s": "b", "new": [1]});
        assert_eq!(
            json_diff(&old, &new),
            vec![
                JsonChange::Changed { path: p("t"), old: json!(21.5), new: json!(22.0) },
                JsonChange::Removed { path: p("gone"), value: json!({"x": 1}) },
                JsonChange::Changed { path: p("s"), old: json!("a"), new: json!("b") },
                JsonChange::Added { path: p("new"), value: json!([1]) },
            ]
        );
    }

    #[test]
    fn json_diff_nested_and_dotted_keys() {
        let old = json!({"a.b": {"c": [1, 2, {"d": 3}]}, "x": {"y": {"z": 1}}});
        let new = json!({"a.b": {"c": [1, 2, {"d": 4, "e": 5}]}, "x": {"y": {"z": 1}}});
        let changes = json_diff(&old, &new);
        assert_eq!(
            changes,
            vec![
                JsonChange::Changed { path: p(r#"["a.b"].c[2].d"#), old: json!(3), new: json!(4) },
                JsonChange::Added { path: p(r#"["a.b"].c[2].e"#), value: json!(5) },
            ]
        );
        assert_eq!(changes[1].path().to_string(), r#"["a.b"].c[2].e"#);
    }

    #[test]
    fn json_diff_arrays_by_index() {
        assert_eq!(
            json_diff(&json!([1, 2, 3]), &json!([1, 5])),
            vec![
                JsonChange::Changed { path: p("[1]"), old: json!(2), new: json!(5) },
                JsonChange::Removed { path: p("[2]"), value: json!(3) },
            ]
        );
        assert_eq!(
            json_diff(&json!({"l": []}), &json!({"l": [{"a": 1}, 2]})),
            vec![JsonChange::Added { path: p("l[0]"), value: json!({"a": 1}) }, JsonChange::Added { path: p("l[1]"), value: json!(2) },]
        );
    }

    #[test]
    fn json_diff_type_change_is_one_change() {
        let old = json!({"v": {"a": 1, "b": 2}});
        let new = json!({"v": [1, 2]});
        assert_eq!(json_diff(&old, &new), vec![JsonChange::Changed { path: p("v"), old: old["v"].clone(), new: new["v"].clone() }]);
        assert_eq!(
            json_diff(&json!(1), &json!("1")),
            vec![JsonChange::Changed { path: JsonPath::default(), old: json!(1), new: json!("1") }]
        );
        assert_eq!(json_diff(&json!(1), &json!(1.0)).len(), 1, "numbers compare as written");
    }

    #[test]
    fn json_diff_on_deepest_parseable_values() {
        let deep = |leaf: &str| serde_json::from_str::<Value>(&format!("{}{leaf}{}", "[".repeat(120), "]".repeat(120)));
        let (Ok(old), Ok(new)) = (deep("1"), deep("2")) else { panic!("parse") };
        let changes = json_diff(&old, &new);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path().0.len(), 120);
    }
}

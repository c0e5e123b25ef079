//! Tests of the payload helpers.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::json;

use super::*;

/// Deterministic pseudo-random bytes (xorshift), so no `rand` dependency is needed.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

fn deep_array(depth: usize) -> Vec<u8> {
    let mut v = vec![b'['; depth];
    v.extend(std::iter::repeat_n(b']', depth));
    v
}

fn path(s: &str) -> JsonPath {
    JsonPath::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Generous bound for "bounded work" checks, far below what an O(len) scan of 16 MiB
/// would need in a debug build.
const FAST: Duration = Duration::from_millis(250);

#[test]
fn detect_kinds() {
    assert_eq!(detect(b""), PayloadKind::Empty);
    assert_eq!(detect(b"21.5"), PayloadKind::Text);
    assert_eq!(detect(b"\"quoted\""), PayloadKind::Text);
    assert_eq!(detect(br#"{"a":1}"#), PayloadKind::Json);
    assert_eq!(detect(b"  [1, 2]\n"), PayloadKind::Json);
    assert_eq!(detect("\u{feff}{\"a\":1}".as_bytes()), PayloadKind::Json);
    assert_eq!(detect(b"{not json"), PayloadKind::Text);
    assert_eq!(detect("héllo\twörld\r\n\x1b[1mbold\x1b[0m".as_bytes()), PayloadKind::Text);
    assert_eq!(detect(b"\xff\xfe\x00a"), PayloadKind::Binary);
    assert_eq!(detect(b"caf\xe9"), PayloadKind::Binary, "invalid UTF-8");
    assert_eq!(detect(b"a\0b"), PayloadKind::Binary, "NUL");
    assert_eq!(detect(b"\x01\x02\x03abc"), PayloadKind::Binary, "mostly control chars");
    assert_eq!(detect(&[0x1f, 0x8b, 0x08, 0x00]), PayloadKind::Binary);
}

#[test]
fn detect_is_bounded_on_huge_payloads() {
    let big = noise(16 << 20);
    // Text whose 64 KiB prefix is fine but which is far over the JSON limit.
    let mut text = b"[".to_vec();
    text.resize(16 << 20, b' ');
    // A UTF-8 character cut by the 64 KiB scan window is still text.
    let mut cut = vec![b'a'; TEXT_SCAN_LIMIT - 1];
    cut.extend("é and more".as_bytes());
    let start = Instant::now();
    assert_eq!(detect(&big), PayloadKind::Binary);
    assert_eq!(detect(&text), PayloadKind::Text);
    assert_eq!(detect(&cut), PayloadKind::Text);
    assert!(start.elapsed() < FAST, "took {:?}", start.elapsed());
}

#[test]
fn deep_nesting_is_not_json_and_does_not_overflow() {
    let deep = deep_array(10_000);
    assert_eq!(detect(&deep), PayloadKind::Text);
    assert_eq!(json_pretty(&deep), None);
    assert_eq!(numeric_value(&deep, Some(&path("[0]"))), None);
    assert!(numeric_paths(&deep, 10).is_empty());
    let deep_object = "{\"a\":".repeat(10_000) + "1" + &"}".repeat(10_000);
    assert_eq!(detect(deep_object.as_bytes()), PayloadKind::Text);
    // Within serde_json's limit it is JSON.
    assert_eq!(detect(&deep_array(100)), PayloadKind::Json);
}

#[test]
fn preview_text() {
    assert_eq!(preview(b"", 10), "");
    assert_eq!(preview(b"hello", 0), "");
    assert_eq!(preview(b"hello", 10), "hello");
    assert_eq!(preview(b"hello", 5), "hello");
    assert_eq!(preview(b"hello world", 5), "hell…");
    assert_eq!(preview(b"hello", 1), "…");
    assert_eq!(preview(b"  21.5 \n", 10), "21.5");
    assert_eq!(preview(b"a\tb\x07c and some more text", 40), "a b c and some more text");
    assert_eq!(preview(b"line 1\r\nline 2\rline 3", 40), "line 1\u{21b5}line 2\u{21b5}line 3");
    assert_eq!(preview(b"{\n  \"a\": 1,\n  \"b\": 2\n}", 40), "{\u{21b5}\"a\": 1,\u{21b5}\"b\": 2\u{21b5}}");
    assert_eq!(preview("größer".as_bytes(), 4), "grö…");
}

#[test]
fn preview_binary() {
    assert_eq!(preview(&[0x1f, 0x8b, 0x08], 20), "0x1f 8b 08");
    assert_eq!(preview(&[0x1f, 0x8b, 0x08, 0x00, 0xff], 12), "0x1f 8b 08 …");
    assert_eq!(preview(&[0x00, 0x01], 3), "…");
    assert_eq!(preview(&[0x00], 4), "0x00");
    for max in 0..30 {
        assert!(preview(&noise(100), max).chars().count() <= max, "max {max}");
    }
}

#[test]
fn preview_is_bounded_on_huge_payloads() {
    let text = vec![b'x'; 16 << 20];
    let binary = noise(16 << 20);
    let start = Instant::now();
    for _ in 0..100 {
        assert_eq!(preview(&text, 8), "xxxxxxx…");
        assert_eq!(preview(&binary, 40).chars().count(), 39, "12 bytes and \" …\"");
    }
    assert!(start.elapsed() < FAST, "took {:?}", start.elapsed());
    // Only whitespace within the window: nothing to show but the fact that there is more.
    let mut spaces = vec![b' '; 1 << 20];
    spaces.push(b'x');
    assert_eq!(preview(&spaces, 10), "…");
}

#[test]
fn hex_dump_layout() {
    let data = b"Hello world\n\x00\x01\x02\x03tail";
    assert_eq!(hex_dump(data, 0, 16), "00000000  48 65 6c 6c 6f 20 77 6f  72 6c 64 0a 00 01 02 03  |Hello world.....|");
    assert_eq!(
        hex_dump(data, 0, 100),
        format!(
            "00000000  48 65 6c 6c 6f 20 77 6f  72 6c 64 0a 00 01 02 03  |Hello world.....|\n\
             00000010  74 61 69 6c{}|tail|",
            " ".repeat(39)
        )
    );
    assert_eq!(hex_dump(data, 6, 5), format!("00000006  77 6f 72 6c 64{}|world|", " ".repeat(36)));
    assert_eq!(hex_dump(data, 100, 16), "");
    assert_eq!(hex_dump(data, 0, 0), "");
    assert_eq!(hex_dump(data, usize::MAX, usize::MAX), "");
    assert_eq!(hex_dump(&[0x7f, 0x80, b'~'], 0, usize::MAX).rsplit_once("  ").map(|(_, a)| a), Some("|..~|"));
    let big = noise(1 << 20);
    assert_eq!(hex_dump(&big, 4096, 64).lines().count(), 4);
}

#[test]
fn base64_round_trip_and_leniency() {
    for len in 0..40 {
        let data = noise(len);
        assert_eq!(from_base64(&to_base64(&data)), Ok(data));
    }
    assert_eq!(to_base64(b"Hello"), "SGVsbG8=");
    assert_eq!(from_base64("SGVs\n bG8="), Ok(b"Hello".to_vec()));
    assert_eq!(from_base64("SGVsbG8"), Ok(b"Hello".to_vec()));
    assert_eq!(from_base64("-_8"), Ok(vec![0xfb, 0xff]));
    assert_eq!(from_base64("+/8="), Ok(vec![0xfb, 0xff]));
    assert_eq!(from_base64(""), Ok(vec![]));
}

#[test]
fn base64_errors_say_where() {
    let err = |s| from_base64(s).err().map(|e| e.to_string());
    assert_eq!(err("SG Vs!bG8="), Some("invalid base64 at position 5: unexpected character '!'".into()));
    assert_eq!(err("SGVsé"), Some("invalid base64 at position 4: unexpected character 'é'".into()));
    assert_eq!(err("SGV=sbG8"), Some("invalid base64 at position 3: unexpected character '='".into()));
    assert!(err("S").is_some_and(|e| e.contains("length 1")));
    assert!(err("SGVsbG8===").is_some_and(|e| e.contains("padding")));
    assert!(err("SGVsbG9=").is_some_and(|e| e.contains("position 6")), "trailing bits");
}

#[test]
fn from_hex_forms() {
    let hello = Ok(b"Hel".to_vec());
    assert_eq!(from_hex("48 65 6c"), hello);
    assert_eq!(from_hex("48656c"), hello);
    assert_eq!(from_hex("0x48 0x65 0X6C"), hello);
    assert_eq!(from_hex("48:65:6c"), hello);
    assert_eq!(from_hex("48,65,\n6C\r\n"), hello);
    assert_eq!(from_hex("0x48656c"), hello);
    assert_eq!(from_hex("0x4 a"), Ok(vec![4, 10]));
    assert_eq!(from_hex(""), Ok(vec![]));
    assert_eq!(from_hex("  \n "), Ok(vec![]));
}

#[test]
fn from_hex_errors_say_where() {
    let err = |s| from_hex(s).err().map(|e| e.to_string());
    assert_eq!(err("48656g"), Some("invalid hex digit 'g' at position 5".into()));
    assert_eq!(from_hex("48 65\n6c zz"), Err(PayloadError::InvalidHexDigit { ch: 'z', position: 9, line: 2, column: 4 }));
    assert_eq!(err("48 65\n6c zz"), Some("invalid hex digit 'z' at position 9 (line 2, column 4)".into()));
    assert_eq!(from_hex("48 656"), Err(PayloadError::OddHexDigits { position: 3, digits: 3 }));
    assert_eq!(from_hex("0x486"), Err(PayloadError::OddHexDigits { position: 2, digits: 3 }));
    assert_eq!(err("0xx1"), Some("invalid hex digit 'x' at position 2".into()));
}

#[test]
fn json_pretty_output() {
    assert_eq!(json_pretty(br#"{"a":[1,{"b":null}]}"#).as_deref(), Some("{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ]\n}"));
    assert_eq!(json_pretty(br#"{"z":1,"a":2}"#).as_deref(), Some("{\n  \"z\": 1,\n  \"a\": 2\n}"), "keeps key order");
    assert_eq!(json_pretty(b"21.5").as_deref(), Some("21.5"));
    assert_eq!(json_pretty(b"{oops"), None);
    assert_eq!(json_pretty(b"\xff"), None);
    assert_eq!(json_pretty(b""), None);
}

#[test]
fn json_path_parse_and_display() {
    use PathSegment::{Index, Key};
    let key = |s: &str| Key(s.to_owned());
    assert_eq!(path("temperature").0, vec![key("temperature")]);
    assert_eq!(path("sensors[0].value").0, vec![key("sensors"), Index(0), key("value")]);
    assert_eq!(path(r#"["a.b"].c"#).0, vec![key("a.b"), key("c")]);
    assert_eq!(path("data.values[3]").0, vec![key("data"), key("values"), Index(3)]);
    assert_eq!(path(r#"[""]["q\"\\"][2][10]"#).0, vec![key(""), key("q\"\\"), Index(2), Index(10)]);
    assert_eq!(path("  a b.c  ").0, vec![key("a b"), key("c")]);
    assert!(path("").is_root());
    assert!(path(" . ").is_root());
    assert_eq!(path(".a[0]"), path("a[0]"), "jq-style leading dot");
    assert_eq!(path(r#".["a.b"]"#).0, vec![key("a.b")]);
    assert_eq!(path("").to_string(), "");
    for text in ["temperature", "sensors[0].value", r#"["a.b"].c"#, "data.values[3]", r#"[""][" x"]["\n"].ü"#] {
        assert_eq!(path(text).to_string(), text);
    }
    assert_eq!(JsonPath(vec![Index(1), key("a")]).child(key("]")).to_string(), r#"[1].a["]"]"#);
}

#[test]
fn json_path_errors() {
    let err = |s: &str| JsonPath::parse(s).err().map(|e| e.to_string());
    assert_eq!(err("a..b"), Some("invalid path at position 2: expected a key".into()));
    assert_eq!(err("..a"), Some("invalid path at position 1: expected a key".into()));
    assert_eq!(err("a."), Some("invalid path at position 2: expected a key".into()));
    assert_eq!(err("  a[x]"), Some("invalid path at position 4: expected an index or a quoted key after '['".into()));
    assert_eq!(err("a[1"), Some("invalid path at position 3: expected ']'".into()));
    assert_eq!(err("a[]"), Some("invalid path at position 2: expected an index or a quoted key after '['".into()));
    assert_eq!(err("a]"), Some("invalid path at position 1: unmatched ']'".into()));
    assert_eq!(err(r#"a"b""#), Some("invalid path at position 1: quoted keys must be written [\"...\"]".into()));
    assert_eq!(err(r#"["abc"#), Some("invalid path at position 0: unterminated quoted key".into()));
    assert_eq!(err(r#"["a"x]"#), Some("invalid path at position 4: expected ']' after the quoted key".into()));
    assert_eq!(err(r#"["\q"]"#), Some("invalid path at position 1: invalid escape in quoted key".into()));
    assert_eq!(err("a[0]b"), Some("invalid path at position 4: expected '.', '[' or the end of the path".into()));
    assert!(err("a[99999999999999999999999]").is_some_and(|e| e.contains("too large")));
}

#[test]
fn json_path_get() {
    let v = json!({"a.b": {"c": [1, 2, {"d": 3}]}, "list": [10, 20], "s": "x"});
    assert_eq!(path(r#"["a.b"].c[2].d"#).get(&v), Some(&json!(3)));
    assert_eq!(path("list[1]").get(&v), Some(&json!(20)));
    assert_eq!(path("list.1").get(&v), Some(&json!(20)), "digit keys index arrays");
    assert_eq!(path("").get(&v), Some(&v));
    assert_eq!(path("a.b").get(&v), None, "dots separate keys");
    assert_eq!(path("list[2]").get(&v), None);
    assert_eq!(path("s[0]").get(&v), None);
    assert_eq!(path("s.x").get(&v), None);
}

fn any_segment() -> impl Strategy<Value = PathSegment> {
    prop_oneof![
        any::<usize>().prop_map(PathSegment::Index),
        "[a-z0-9_ .\\[\\]\"\\\\-]{0,8}".prop_map(PathSegment::Key),
        any::<String>().prop_map(PathSegment::Key),
    ]
}

proptest! {
    #[test]
    fn json_path_display_parse_round_trip(segments in prop::collection::vec(any_segment(), 0..6)) {
        let original = JsonPath(segments);
        let text = original.to_string();
        prop_assert_eq!(JsonPath::parse(&text), Ok(original), "text: {:?}", text);
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,40}", bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = JsonPath::parse(&s);
        let _ = from_hex(&s);
        let _ = from_base64(&s);
        let _ = numeric_value(s.as_bytes(), None);
        let _ = detect(&bytes);
        prop_assert!(preview(&bytes, 16).chars().count() <= 16);
        let _ = hex_dump(&bytes, 3, 50);
    }

    #[test]
    fn base64_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..100), wrap in 1usize..80) {
        let encoded = to_base64(&bytes);
        prop_assert_eq!(from_base64(&encoded), Ok(bytes.clone()));
        // Wrapped over lines and without padding, as users paste it.
        let chars: Vec<char> = encoded.trim_end_matches('=').chars().collect();
        let wrapped: Vec<String> = chars.chunks(wrap).map(|c| c.iter().collect()).collect();
        prop_assert_eq!(from_base64(&wrapped.join("\r\n")), Ok(bytes));
    }

    #[test]
    fn hex_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let spaced: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
        prop_assert_eq!(from_hex(&spaced.join(" ")), Ok(bytes.clone()));
        prop_assert_eq!(from_hex(&spaced.concat()), Ok(bytes));
    }
}

#[test]
fn numeric_value_of_text() {
    let n = |s: &str| numeric_value(s.as_bytes(), None);
    assert_eq!(n("21.5"), Some(21.5));
    assert_eq!(n("21.5 °C"), Some(21.5));
    assert_eq!(n("  -7"), Some(-7.0));
    assert_eq!(n("+.5"), Some(0.5));
    assert_eq!(n("5."), Some(5.0));
    assert_eq!(n("1e3"), Some(1000.0));
    assert_eq!(n("-3E-2"), Some(-0.03));
    assert_eq!(n("42%"), Some(42.0));
    assert_eq!(n("3.2 kWh"), Some(3.2));
    assert_eq!(n("10 m/s²"), Some(10.0));
    assert_eq!(n("12abc"), Some(12.0), "number followed by a unit-like suffix");
    assert_eq!(n("true"), Some(1.0));
    assert_eq!(n("ON"), Some(1.0));
    assert_eq!(n("off"), Some(0.0));
    assert_eq!(n("False\n"), Some(0.0));
    assert_eq!(n("\"21.5 °C\""), Some(21.5), "JSON string");
    for bad in [
        "",
        "NaN",
        "nan",
        "inf",
        "-inf",
        "Infinity",
        "1e999",
        "abc",
        "1,5",
        "1.2.3",
        "0x1f",
        "12 abc def",
        "temp 21",
        "-",
        ".",
        "e5",
        "null",
        "{\"a\":1}",
        "[1]",
    ] {
        assert_eq!(n(bad), None, "{bad:?}");
    }
    assert_eq!(numeric_value(b"\xff21", None), None);
    let mut huge = b"21".to_vec();
    huge.extend(noise(16 << 20));
    let start = Instant::now();
    assert_eq!(numeric_value(&huge, None), None);
    assert_eq!(numeric_value(&huge, Some(&path("a"))), None);
    assert!(start.elapsed() < FAST, "took {:?}", start.elapsed());
}

#[test]
fn numeric_value_with_path() {
    let payload = r#"{"a.b":{"c":[1,2,{"d":3}]},"t":"21.5 °C","on":true,"s":"abc","n":null,"x":{"y":2.5}}"#.as_bytes();
    let at = |p: &str| numeric_value(payload, Some(&path(p)));
    assert_eq!(at(r#"["a.b"].c[2].d"#), Some(3.0));
    assert_eq!(at(r#"["a.b"].c[0]"#), Some(1.0));
    assert_eq!(at("t"), Some(21.5));
    assert_eq!(at("on"), Some(1.0));
    assert_eq!(at("x.y"), Some(2.5));
    assert_eq!(at("s"), None);
    assert_eq!(at("n"), None);
    assert_eq!(at("x"), None, "objects are not numbers");
    assert_eq!(at("missing"), None);
    assert_eq!(numeric_value(b"not json", Some(&path("a"))), None);
    assert_eq!(numeric_value(b"21.5", Some(&path(""))), Some(21.5), "root path reads the whole payload");
}

#[test]
fn numeric_paths_in_document_order() {
    let payload = br#"{"z":1,"a":{"b":[true,"x",{"c":"5 %"}],"n":null},"f":-2.5}"#;
    let found: Vec<(String, f64)> = numeric_paths(payload, 100).into_iter().map(|(p, v)| (p.to_string(), v)).collect();
    let want = [("z", 1.0), ("a.b[0]", 1.0), ("a.b[2].c", 5.0), ("f", -2.5)];
    assert_eq!(found, want.map(|(p, v)| (p.to_owned(), v)));
    assert_eq!(numeric_paths(payload, 2).len(), 2);
    assert!(numeric_paths(payload, 0).is_empty());
    assert_eq!(numeric_paths(b"42", 5), vec![(JsonPath::default(), 42.0)]);
    assert!(numeric_paths(b"21.5 \xc2\xb0C", 5).is_empty(), "not JSON");
    // Every reported path reads back the same value.
    for (p, v) in numeric_paths(payload, 100) {
        assert_eq!(numeric_value(payload, Some(&p)), Some(v), "{p}");
    }
    let dotted = br#"{"a.b":{"c":[1,2,{"d":3}]}}"#;
    assert_eq!(numeric_paths(dotted, 10).last().map(|(p, _)| p.to_string()), Some(r#"["a.b"].c[2].d"#.to_owned()));
}

#[test]
fn numeric_paths_limit_stops_early_on_big_arrays() {
    let big = format!("[{}0]", "1,".repeat(500_000));
    let start = Instant::now();
    assert_eq!(numeric_paths(big.as_bytes(), 3).len(), 3);
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
}

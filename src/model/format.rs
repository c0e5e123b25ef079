//! How numbers, sizes, rates and times read at a glance in the UI.
//!
//! Pure functions: the current time is always passed in, never read here. Numbers keep
//! one decimal below 100 of a unit and none from 100 on, so they stay short (`12.3k`,
//! `123k`), and rounding never shows `1000k` (that becomes `1.0M`).

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Local};

const DECIMAL_UNITS: [&str; 6] = ["k", "M", "G", "T", "P", "E"];
const BINARY_UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/// `n` scaled to the first unit where it shows as fewer than `base` whole units:
/// `x.y` below 100, a whole number from 100 on. Exact integer rounding (half up).
fn scaled(n: u64, base: u64, units: &[&str; 6], sep: &str) -> String {
    let n = u128::from(n);
    let mut divisor = 1u128;
    for unit in units {
        divisor *= u128::from(base);
        let tenths = (n * 10 + divisor / 2) / divisor;
        if tenths < 1000 {
            return format!("{}.{}{sep}{unit}", tenths / 10, tenths % 10);
        }
        let whole = (n + divisor / 2) / divisor;
        if whole < u128::from(base) {
            return format!("{whole}{sep}{unit}");
        }
    }
    // Unreachable for u64 (at most 18.4 E / 16.0 EiB), kept total anyway.
    format!("{n}")
}

/// A count: `999`, `1.0k`, `12.3k`, `123k`, `1.2M`, `3.4G`, up to `18.4E`.
#[must_use]
pub fn count(n: u64) -> String {
    if n < 1000 { n.to_string() } else { scaled(n, 1000, &DECIMAL_UNITS, "") }
}

/// A size in bytes with binary units: `512 B`, `1023 B`, `1.0 KiB`, `1.5 KiB`, `12.0 MiB`,
/// `123 MiB`, `1.2 GiB`.
#[must_use]
pub fn bytes(n: u64) -> String {
    if n < 1024 { format!("{n} B") } else { scaled(n, 1024, &BINARY_UNITS, " ") }
}

/// Bytes per second with binary units: `0 B/s`, `512 B/s`, `1.5 KiB/s`, `12.0 MiB/s`. Negative,
/// NaN and infinite rates show as `0 B/s`.
#[must_use]
pub fn byte_rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        return "0 B/s".into();
    }
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "finite and positive, whole bytes for display")]
    let whole = per_sec.round() as u64;
    format!("{}/s", bytes(whole))
}

/// A rate per second: `0/s`, `<0.1/s`, `0.2/s`, `5.0/s`, `12/s`, `3.4k/s`, `56k/s`,
/// `1.2M/s`. Negative, NaN and infinite rates show as `0/s`.
#[must_use]
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        return "0/s".into();
    }
    if per_sec < 0.05 {
        return "<0.1/s".into();
    }
    if per_sec < 9.95 {
        return format!("{per_sec:.1}/s");
    }
    let mut value = per_sec;
    let mut unit = "";
    for next in DECIMAL_UNITS {
        if value < 999.5 {
            break;
        }
        value /= 1000.0;
        unit = next;
    }
    if unit.is_empty() || value >= 99.95 { format!("{value:.0}{unit}/s") } else { format!("{value:.1}{unit}/s") }
}

/// `t` as a local date-time, or `None` outside years 1..=9999 (where chrono could panic).
fn local(t: SystemTime) -> Option<DateTime<Local>> {
    const MIN_SECS: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const MAX_SECS: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (i64::try_from(d.as_secs()).ok()?, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).ok()?;
            if d.subsec_nanos() == 0 { (-secs, 0) } else { (-secs - 1, 1_000_000_000 - d.subsec_nanos()) }
        }
    };
    if !(MIN_SECS..=MAX_SECS).contains(&secs) {
        return None;
    }
    DateTime::from_timestamp(secs, nanos).map(|utc| utc.with_timezone(&Local))
}

/// Local wall-clock time `HH:MM:SS.mmm` (`--:--:--.---` for absurd times).
#[must_use]
pub fn clock(t: SystemTime) -> String {
    local(t).map_or_else(|| "--:--:--.---".into(), |t| t.format("%H:%M:%S%.3f").to_string())
}

/// Local `YYYY-MM-DD HH:MM:SS.mmm` (dashes for absurd times).
#[must_use]
pub fn date_time(t: SystemTime) -> String {
    local(t).map_or_else(|| "----------- --:--:--.---".into(), |t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
}

/// How long ago `t` was, seen at `now`: `just now` (under a second, or in the future,
/// e.g. clock skew), `2 s ago`, `5 min ago`, `3 h ago`, `2 d ago` (whole units, rounded down).
#[must_use]
pub fn ago(t: SystemTime, now: SystemTime) -> String {
    let Ok(elapsed) = now.duration_since(t) else {
        return "just now".into();
    };
    match elapsed.as_secs() {
        0 => "just now".into(),
        s @ 1..60 => format!("{s} s ago"),
        s @ 60..3600 => format!("{} min ago", s / 60),
        s @ 3600..86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

/// A period as people write it: `250 ms`, `1 s`, `1.5 s`, `2 min`.
#[must_use]
pub fn duration_ms(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(60_000) {
        format!("{} min", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A duration in its two largest units, the smaller left out when zero (rounded down):
/// `0 s`, `45 s`, `3 min`, `3 min 20 s`, `2 h 5 min`, `3 d 4 h`.
#[must_use]
pub fn duration_secs(secs: u64) -> String {
    let (big, big_unit, small, small_unit) = match secs {
        0..60 => return format!("{secs} s"),
        60..3600 => (secs / 60, "min", secs % 60, "s"),
        3600..86_400 => (secs / 3600, "h", secs % 3600 / 60, "min"),
        _ => (secs / 86_400, "d", secs % 86_400 / 3600, "h"),
    };
    if small == 0 { format!("{big} {big_unit}") } else { format!("{big} {big_unit} {small} {small_unit}") }
}

/// A measured value, short and exact enough: 6 significant digits with trailing zeros dropped
/// (`21.5`, `1234.57`, `0.001234`), scientific from 1e6 and below 1e-3 (`1.000e12`), `-` if not finite.
#[must_use]
pub fn value(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs();
    if !(1e-3..1e6).contains(&magnitude) {
        return format!("{v:.3e}");
    }
    #[expect(clippy::cast_possible_truncation, reason = "log10 of a value in 1e-3..1e6 is in -3..6")]
    let decimals = (5 - magnitude.log10().floor() as i32).clamp(0, 6);
    let text = format!("{v:.*}", decimals.unsigned_abs() as usize);
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
}

/// `v` with the same number of decimals as the most precise of `like` (as [`value`] writes them), so
/// that a mean sits beside its min and max without a tail of digits.
#[must_use]
pub fn value_like(v: f64, like: &[f64]) -> String {
    let texts: Vec<String> = like.iter().map(|&x| value(x)).collect();
    if !v.is_finite() || texts.is_empty() || texts.iter().any(|t| t.contains('e')) {
        return value(v);
    }
    let decimals = texts.iter().map(|t| t.split_once('.').map_or(0, |(_, f)| f.len())).max().unwrap_or(0);
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn count_boundaries() {
        let cases = [
            (0, "0"),
            (999, "999"),
            (1000, "1.0k"),
            (1049, "1.0k"),
            (1050, "1.1k"),
            (1234, "1.2k"),
            (12_345, "12.3k"),
            (99_949, "99.9k"),
            (99_950, "100k"),
            (123_456, "123k"),
            (999_499, "999k"),
            (999_500, "1.0M"),
            (1_234_567, "1.2M"),
            (3_400_000_000, "3.4G"),
            (u64::MAX, "18.4E"),
        ];
        for (n, want) in cases {
            assert_eq!(count(n), want, "count({n})");
        }
    }

    #[test]
    fn bytes_boundaries() {
        let cases = [
            (0, "0 B"),
            (512, "512 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (102_348, "99.9 KiB"),
            (102_400, "100 KiB"),
            (1_048_063, "1023 KiB"),
            (1_048_575, "1.0 MiB"),
            (12 * 1024 * 1024, "12.0 MiB"),
            (1_288_490_189, "1.2 GiB"),
            (u64::MAX, "16.0 EiB"),
        ];
        for (n, want) in cases {
            assert_eq!(bytes(n), want, "bytes({n})");
        }
    }

    #[test]
    fn rate_examples() {
        let cases = [
            (0.0, "0/s"),
            (-3.0, "0/s"),
            (f64::NAN, "0/s"),
            (f64::INFINITY, "0/s"),
            (0.01, "<0.1/s"),
            (0.2, "0.2/s"),
            (5.0, "5.0/s"),
            (9.96, "10/s"),
            (12.4, "12/s"),
            (999.4, "999/s"),
            (999.6, "1.0k/s"),
            (3_400.0, "3.4k/s"),
            (56_000.0, "56.0k/s"),
            (560_000.0, "560k/s"),
            (1_200_000.0, "1.2M/s"),
        ];
        for (r, want) in cases {
            assert_eq!(rate(r), want, "rate({r})");
        }
    }

    #[test]
    fn clock_and_date_time_shapes() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let c = clock(t);
        assert_eq!(c.len(), 12, "{c}");
        assert!(c.ends_with(".123"), "{c}");
        assert_eq!(&c[2..3], ":");
        let d = date_time(t);
        assert_eq!(d.len(), 23, "{d}");
        assert!(d.starts_with("2023-11-1"), "{d}");
        assert!(d.ends_with(&c), "{d} vs {c}");
        // Before the epoch works, absurd times do not panic.
        assert_eq!(clock(UNIX_EPOCH - Duration::from_millis(500)).len(), 12);
        let far = UNIX_EPOCH + Duration::from_secs(1 << 62);
        assert_eq!(clock(far), "--:--:--.---");
        assert!(date_time(far).starts_with("---"));
    }

    #[test]
    fn ago_steps() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |secs_ago: u64| ago(now - Duration::from_secs(secs_ago), now);
        assert_eq!(ago(now, now), "just now");
        assert_eq!(ago(now - Duration::from_millis(999), now), "just now");
        assert_eq!(ago(now + Duration::from_secs(30), now), "just now");
        assert_eq!(at(2), "2 s ago");
        assert_eq!(at(59), "59 s ago");
        assert_eq!(at(60), "1 min ago");
        assert_eq!(at(5 * 60 + 59), "5 min ago");
        assert_eq!(at(3 * 3600), "3 h ago");
        assert_eq!(at(86_399), "23 h ago");
        assert_eq!(at(2 * 86_400 + 5), "2 d ago");
    }

    #[test]
    fn duration_steps() {
        assert_eq!(duration_secs(0), "0 s");
        assert_eq!(duration_secs(45), "45 s");
        assert_eq!(duration_secs(60), "1 min");
        assert_eq!(duration_secs(200), "3 min 20 s");
        assert_eq!(duration_secs(3600), "1 h");
        assert_eq!(duration_secs(2 * 3600 + 5 * 60 + 59), "2 h 5 min");
        assert_eq!(duration_secs(3 * 86_400 + 4 * 3600 + 1), "3 d 4 h");
        assert_eq!(duration_secs(86_400), "1 d");
        assert_eq!(duration_secs(u64::MAX), "213503982334601 d 7 h");
    }

    #[test]
    fn values_are_short() {
        let cases = [
            (21.5, "21.5"),
            (-3.0, "-3"),
            (1234.567, "1234.57"),
            (0.001_234, "0.001234"),
            (0.0, "0"),
            (1e12, "1.000e12"),
            (-2.5e-7, "-2.500e-7"),
            (f64::NAN, "-"),
            (999_999.4, "999999"),
        ];
        for (v, want) in cases {
            assert_eq!(value(v), want, "value({v})");
        }
        assert_eq!(value_like(22.333_333, &[21.5, 23.25]), "22.33", "as precise as its neighbours");
        assert_eq!(value_like(22.333_333, &[21.0, 23.0]), "22");
        assert_eq!(value_like(2.0, &[1e12]), "2");
    }
}

//! A chart's time axis: grid steps that read as clock times (1 s, 5 s, 1 min, 15 min, 1 h …) and
//! tick labels in local time, as precise as the step needs. Pure: times come in as unix seconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Local};

/// Grid steps in seconds, each a whole multiple of a smaller one, from 1 ms to 30 days.
const STEPS_SECS: [f64; 28] = [
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
    7200.0,
    10_800.0,
    21_600.0,
    43_200.0,
    86_400.0,
    172_800.0,
    604_800.0,
    2_592_000.0,
];

/// Three grid steps (fine, medium, coarse) for a plot whose finest readable step is
/// `min_step_secs`: the fine one is the first listed step not below it, and each coarser one the
/// first listed step at least 4 times the previous that is also a whole multiple of it.
#[must_use]
pub fn grid_steps(min_step_secs: f64) -> [f64; 3] {
    let fine_at = STEPS_SECS.iter().position(|&s| s >= min_step_secs).unwrap_or(STEPS_SECS.len() - 1);
    let coarser = |from: usize| {
        let base = STEPS_SECS[from];
        (from + 1..STEPS_SECS.len())
            .find(|&i| {
                let ratio = STEPS_SECS[i] / base;
                ratio >= 3.9 && (ratio - ratio.round()).abs() < 1e-9
            })
            .unwrap_or(STEPS_SECS.len() - 1)
    };
    let medium_at = coarser(fine_at);
    let coarse_at = coarser(medium_at);
    [STEPS_SECS[fine_at], STEPS_SECS[medium_at], STEPS_SECS[coarse_at]]
}

/// Grid marks `(value, step)` in `min..=max` for the three steps: every multiple of the fine
/// step, each tagged with the coarsest step it is a multiple of. At most `limit` marks.
#[must_use]
pub fn grid_marks(min: f64, max: f64, steps: [f64; 3], limit: usize) -> Vec<(f64, f64)> {
    let fine = steps[0];
    if !(fine > 0.0 && min.is_finite() && max.is_finite() && max >= min) {
        return Vec::new();
    }
    let first = (min / fine).ceil();
    let last = (max / fine).floor();
    if last - first > 1e6 {
        return Vec::new();
    }
    let mut marks = Vec::new();
    let mut k = first;
    while k <= last && marks.len() < limit {
        let value = k * fine;
        let step = steps.iter().rev().copied().find(|&s| is_multiple(value, s)).unwrap_or(fine);
        marks.push((value, step));
        k += 1.0;
    }
    marks
}

fn is_multiple(value: f64, step: f64) -> bool {
    let ratio = value / step;
    (ratio - ratio.round()).abs() < 1e-6
}

/// `unix_secs` as a local clock time for a tick `step_secs` apart from the next:
/// `HH:MM` for whole minutes, `HH:MM:SS` for whole seconds, else `HH:MM:SS.mmm`; a date is
/// prefixed (`MM-DD HH:MM`) for steps of a day or more. Empty for times that cannot be shown.
#[must_use]
pub fn tick_label(unix_secs: f64, step_secs: f64) -> String {
    let Some(t) = local(unix_secs) else { return String::new() };
    let format = if step_secs >= 86_400.0 {
        "%m-%d %H:%M"
    } else if step_secs >= 60.0 {
        "%H:%M"
    } else if step_secs >= 1.0 {
        "%H:%M:%S"
    } else {
        "%H:%M:%S%.3f"
    };
    t.format(format).to_string()
}

/// A tick label as precise as the visible range needs (`visible_secs` wide, about six labels), the
/// same precision for every tick: never `14:13` next to `14:12:50`.
#[must_use]
pub fn tick_label_in(unix_secs: f64, visible_secs: f64) -> String {
    tick_label(unix_secs, visible_secs / 6.0)
}

/// `unix_secs` as a `SystemTime` (clamped to the epoch; `None` if not finite).
#[must_use]
pub fn system_time(unix_secs: f64) -> Option<SystemTime> {
    unix_secs.is_finite().then(|| UNIX_EPOCH + Duration::try_from_secs_f64(unix_secs.max(0.0)).unwrap_or_default())
}

fn local(unix_secs: f64) -> Option<DateTime<Local>> {
    if !unix_secs.is_finite() || unix_secs.abs() > 1e11 {
        return None;
    }
    #[expect(clippy::cast_possible_truncation, reason = "bounded above to ±1e14 ms")]
    let millis = (unix_secs * 1000.0).round() as i64;
    DateTime::from_timestamp_millis(millis).map(|t| t.with_timezone(&Local))
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "exact values go in and must come out unchanged")]
mod tests {
    use super::*;

    #[test]
    fn steps_read_as_clock_times() {
        assert_eq!(grid_steps(0.7), [1.0, 5.0, 30.0]);
        assert_eq!(grid_steps(7.0), [10.0, 60.0, 300.0]);
        assert_eq!(grid_steps(100.0), [120.0, 600.0, 3600.0]);
        assert_eq!(grid_steps(1e9), [2_592_000.0; 3]);
        assert_eq!(grid_steps(0.0)[0], 0.001);
    }

    #[test]
    fn marks_are_tagged_with_their_coarsest_step() {
        let marks = grid_marks(0.5, 61.0, [10.0, 30.0, 60.0], 100);
        assert_eq!(marks, [(10.0, 10.0), (20.0, 10.0), (30.0, 30.0), (40.0, 10.0), (50.0, 10.0), (60.0, 60.0)]);
        assert!(grid_marks(0.0, 1e12, [0.001; 3], 100).is_empty(), "absurdly many marks");
        assert!(grid_marks(f64::NAN, 1.0, [1.0; 3], 100).is_empty());
        assert_eq!(grid_marks(0.0, 1e4, [1.0; 3], 50).len(), 50);
    }

    #[test]
    fn labels_are_as_precise_as_the_step() {
        let t = 1_700_000_000.25;
        assert_eq!(tick_label(t, 60.0).len(), 5);
        assert_eq!(tick_label(t, 1.0).len(), 8);
        assert!(tick_label(t, 0.1).ends_with(".250"));
        assert_eq!(tick_label(t, 86_400.0).len(), 11);
        assert_eq!(tick_label(f64::NAN, 1.0), "");
        let (whole_minute, between) = (1_700_000_040.0, 1_700_000_050.0);
        assert_eq!(tick_label_in(whole_minute, 300.0).len(), tick_label_in(between, 300.0).len(), "one precision per axis");
        assert_eq!(tick_label(1e300, 1.0), "");
        assert_eq!(system_time(-5.0), Some(UNIX_EPOCH));
        assert_eq!(system_time(f64::INFINITY), None);
    }
}

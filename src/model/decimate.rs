//! Per-pixel-column min/max decimation of a time-ordered series, so that a chart of millions of
//! points draws a few thousand, and the statistics of what is in view, from the same single pass.
//!
//! The visible range is found by binary search; each pixel column then contributes its lowest and
//! highest point (in time order), so every extreme on screen is kept and the line looks the same as
//! with all points. The points just outside the range are added too, so the line reaches the edges.
//! Pure: no egui, no clock.

use std::collections::VecDeque;

/// Statistics of the points inside the visible range (neighbours outside it excluded).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowStats {
    /// Lowest value.
    pub min: f64,
    /// Highest value.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Points in range.
    pub count: usize,
}

/// Running min/max/sum over points.
#[derive(Clone, Copy)]
struct Acc {
    min: f64,
    max: f64,
    sum: f64,
    count: usize,
}

impl Acc {
    const EMPTY: Self = Self { min: f64::INFINITY, max: f64::NEG_INFINITY, sum: 0.0, count: 0 };

    fn add(&mut self, y: f64) {
        self.min = self.min.min(y);
        self.max = self.max.max(y);
        self.sum += y;
        self.count += 1;
    }

    fn finish(self) -> Option<WindowStats> {
        #[expect(clippy::cast_precision_loss, reason = "a point count; exact below 2^53")]
        let mean = self.sum / self.count as f64;
        (self.count > 0).then_some(WindowStats { min: self.min, max: self.max, mean, count: self.count })
    }
}

/// One pixel column being scanned: its lowest and highest point, by index.
#[derive(Clone, Copy)]
struct Column {
    index: usize,
    low: (usize, [f64; 2]),
    high: (usize, [f64; 2]),
}

impl Column {
    fn new(index: usize, i: usize, p: [f64; 2]) -> Self {
        Self { index, low: (i, p), high: (i, p) }
    }

    fn add(&mut self, i: usize, p: [f64; 2]) {
        if p[1] < self.low.1[1] {
            self.low = (i, p);
        }
        if p[1] > self.high.1[1] {
            self.high = (i, p);
        }
    }

    /// Emits the column's extremes in time order (one point if they are the same).
    fn flush(self, emit: &mut impl FnMut([f64; 2])) {
        let (first, second) = if self.low.0 <= self.high.0 { (self.low, self.high) } else { (self.high, self.low) };
        emit(first.1);
        if second.0 != first.0 {
            emit(second.1);
        }
    }
}

/// Calls `emit` with the points to draw for `points` (sorted by x) in `x_min..=x_max` on a plot
/// `columns` pixels wide, in x order: at most 2 per column, plus the nearest point on each side of
/// the range. When the range holds no more than `2 * columns` points they are all emitted.
/// Returns the statistics of the points inside the range, `None` if there are none.
pub fn decimate(
    points: &VecDeque<[f64; 2]>,
    x_min: f64,
    x_max: f64,
    columns: usize,
    mut emit: impl FnMut([f64; 2]),
) -> Option<WindowStats> {
    let lo = points.partition_point(|p| p[0] < x_min);
    let hi = points.partition_point(|p| p[0] <= x_max).max(lo);
    if let Some(&before) = lo.checked_sub(1).and_then(|i| points.get(i)) {
        emit(before);
    }
    let mut acc = Acc::EMPTY;
    let width = x_max - x_min;
    if hi - lo <= 2 * columns || columns == 0 || width.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        for &p in points.range(lo..hi) {
            acc.add(p[1]);
            emit(p);
        }
    } else {
        #[expect(clippy::cast_precision_loss, reason = "a pixel count")]
        let scale = columns as f64 / width;
        let last_column = columns - 1;
        let mut current: Option<Column> = None;
        for (i, &p) in points.range(lo..hi).enumerate() {
            acc.add(p[1]);
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "x is in range, so this is in 0..=columns")]
            let column = (((p[0] - x_min) * scale) as usize).min(last_column);
            match &mut current {
                Some(c) if c.index == column => c.add(i, p),
                _ => {
                    if let Some(done) = current.replace(Column::new(column, i, p)) {
                        done.flush(&mut emit);
                    }
                }
            }
        }
        if let Some(done) = current {
            done.flush(&mut emit);
        }
    }
    if let Some(&after) = points.get(hi) {
        emit(after);
    }
    acc.finish()
}

/// Statistics of exactly the points of `points` (sorted by x) in `x_min..=x_max`.
#[must_use]
pub fn window_stats(points: &VecDeque<[f64; 2]>, x_min: f64, x_max: f64) -> Option<WindowStats> {
    let lo = points.partition_point(|p| p[0] < x_min);
    let hi = points.partition_point(|p| p[0] <= x_max).max(lo);
    let mut acc = Acc::EMPTY;
    for p in points.range(lo..hi) {
        acc.add(p[1]);
    }
    acc.finish()
}

/// Where a drawn line breaks: index ranges of `drawn` (x-sorted) with no step longer than `max_gap`.
#[must_use]
pub fn segments(drawn: &[[f64; 2]], max_gap: f64) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, w) in drawn.windows(2).enumerate() {
        if w[1][0] - w[0][0] > max_gap {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < drawn.len() {
        out.push(start..drawn.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn run(points: &VecDeque<[f64; 2]>, x_min: f64, x_max: f64, columns: usize) -> (Vec<[f64; 2]>, Option<WindowStats>) {
        let mut out = Vec::new();
        let stats = decimate(points, x_min, x_max, columns, |p| out.push(p));
        (out, stats)
    }

    #[test]
    fn few_points_pass_through_with_their_neighbours() {
        let points: VecDeque<[f64; 2]> = (0..10).map(|i| [f64::from(i), f64::from(i * i)]).collect();
        let (out, stats) = run(&points, 2.5, 6.0, 100);
        assert_eq!(out, [[2.0, 4.0], [3.0, 9.0], [4.0, 16.0], [5.0, 25.0], [6.0, 36.0], [7.0, 49.0]]);
        let stats = stats.expect("points in range");
        assert_eq!((stats.min, stats.max, stats.count), (9.0, 36.0, 4));
        assert!((stats.mean - 21.5).abs() < 1e-12);
        let (out, stats) = run(&points, 20.0, 30.0, 100);
        assert_eq!((out, stats), (vec![[9.0, 81.0]], None), "only the last point before the range");
        assert_eq!(run(&VecDeque::new(), 0.0, 1.0, 10), (Vec::new(), None));
    }

    #[test]
    fn window_stats_cover_exactly_the_range_and_lines_break_at_gaps() {
        let points: VecDeque<[f64; 2]> = (0..10).map(|i| [f64::from(i), f64::from(i)]).collect();
        let s = window_stats(&points, 2.0, 4.0).expect("in range");
        assert_eq!((s.min, s.max, s.count), (2.0, 4.0, 3));
        assert!((s.mean - 3.0).abs() < 1e-12);
        assert_eq!(window_stats(&points, 9.5, 20.0), None);
        let drawn = [[0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [77.0, 1.0], [78.0, 1.0]];
        assert_eq!(segments(&drawn, 10.0), [0..3, 3..5]);
        assert_eq!(segments(&drawn, 100.0).len(), 1, "no gap that long");
        assert!(segments(&[], 1.0).is_empty());
    }

    #[test]
    fn a_million_points_become_at_most_two_per_column() {
        let points: VecDeque<[f64; 2]> = (0..1_000_000).map(|i| [f64::from(i) * 0.001, (f64::from(i) * 0.37).sin()]).collect();
        let (out, stats) = run(&points, 0.0, 1000.0, 800);
        assert!(out.len() <= 1600, "{}", out.len());
        assert_eq!(stats.map(|s| s.count), Some(1_000_000));
        assert!(out.windows(2).all(|w| w[0][0] <= w[1][0]), "in time order");
    }

    proptest! {
        #[test]
        fn every_extreme_is_kept(
            ys in prop::collection::vec(-1e6f64..1e6, 1..3000),
            columns in 1usize..300,
            from in 0.0f64..0.5,
            span in 0.01f64..1.0,
        ) {
            #[expect(clippy::cast_precision_loss, reason = "test sizes")]
            let n = ys.len() as f64;
            let points: VecDeque<[f64; 2]> = ys.iter().enumerate().map(|(i, &y)| {
                #[expect(clippy::cast_precision_loss, reason = "test sizes")]
                let x = i as f64 / n;
                [x, y]
            }).collect();
            let (x_min, x_max) = (from, from + span);
            let (out, stats) = run(&points, x_min, x_max, columns);
            let inside: Vec<[f64; 2]> = points.iter().copied().filter(|p| p[0] >= x_min && p[0] <= x_max).collect();
            prop_assert!(out.len() <= 2 * columns + 2);
            prop_assert!(out.windows(2).all(|w| w[0][0] <= w[1][0]));
            // Brute force: each column's min and max must be among the output.
            #[expect(clippy::cast_precision_loss, reason = "test sizes")]
            let scale = columns as f64 / (x_max - x_min);
            for c in 0..columns {
                #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "in range")]
                let col: Vec<[f64; 2]> = inside.iter().copied().filter(|p| (((p[0] - x_min) * scale) as usize).min(columns - 1) == c).collect();
                if let (Some(lo), Some(hi)) = (
                    col.iter().copied().min_by(|a, b| a[1].total_cmp(&b[1])),
                    col.iter().copied().max_by(|a, b| a[1].total_cmp(&b[1])),
                ) {
                    prop_assert!(out.iter().any(|p| p[1].to_bits() == lo[1].to_bits()), "min of column {c} kept");
                    prop_assert!(out.iter().any(|p| p[1].to_bits() == hi[1].to_bits()), "max of column {c} kept");
                }
            }
            prop_assert_eq!(stats.map_or(0, |s| s.count), inside.len());
            if let Some(s) = stats {
                let min = inside.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min);
                let max = inside.iter().map(|p| p[1]).fold(f64::NEG_INFINITY, f64::max);
                prop_assert_eq!((s.min, s.max), (min, max));
            }
        }
    }
}

//! A chart's data as CSV text: one `time` column (ISO 8601, UTC, milliseconds) and one column per
//! series, headed by its label (`topic` or `topic[path]`). Rows are the union of the series' times in
//! order; a series without a point at a row's time leaves its cell empty. Pure: no I/O.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat};

use super::charts::Chart;

/// The CSV text of every kept point of `chart`'s series (hidden ones included), RFC 4180 quoting,
/// `\n` line ends.
#[must_use]
pub fn chart_csv(chart: &Chart) -> String {
    let mut out = String::from("time");
    for series in &chart.series {
        out.push(',');
        push_field(&mut out, &series.def.label());
    }
    out.push('\n');
    let mut cursors: Vec<_> = chart.series.iter().map(|s| s.points().iter().peekable()).collect();
    loop {
        let next_x = cursors.iter_mut().filter_map(|c| c.peek().map(|p| p[0])).min_by(f64::total_cmp);
        let Some(x) = next_x else { break };
        out.push_str(&iso_time(x));
        for cursor in &mut cursors {
            out.push(',');
            if let Some(&[_, y]) = cursor.next_if(|p| p[0].total_cmp(&x).is_eq()) {
                write!(out, "{y}").ok();
            }
        }
        out.push('\n');
    }
    out
}

/// `unix_secs` as `2023-11-14T22:13:20.123Z` (empty for times chrono cannot show).
fn iso_time(unix_secs: f64) -> String {
    #[expect(clippy::cast_possible_truncation, reason = "milliseconds since 1970 fit i64 for any time chrono can show")]
    let millis = (unix_secs * 1000.0).round() as i64;
    DateTime::from_timestamp_millis(millis).map_or_else(String::new, |t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ConnId;
    use crate::model::charts::{ChartDef, Charts};
    use crate::model::payload::JsonPath;
    use crate::model::series::SeriesDef;

    #[test]
    fn rows_are_the_union_of_times_with_empty_cells() {
        let mut charts = Charts::default();
        let path = JsonPath::parse(r#"["a.b"][0]"#).expect("path");
        let c = charts.add_chart(&ChartDef::default());
        charts.add_series(Some(c), SeriesDef::new(ConnId::LOCAL, "home/temp", None, [0; 3]), None);
        charts.add_series(Some(c), SeriesDef::new(ConnId::LOCAL, "plant,1", Some(path), [0; 3]), None);
        let chart = &mut charts.charts_mut()[c];
        chart.series[0].push(1_700_000_000.0, 21.5);
        chart.series[0].push(1_700_000_001.5, 22.0);
        chart.series[1].push(1_700_000_001.5, -3.0);
        chart.series[1].push(1_700_000_002.25, 1500.0);
        let csv = chart_csv(chart);
        assert_eq!(
            csv,
            "time,home/temp,\"plant,1[[\"\"a.b\"\"][0]]\"\n\
             2023-11-14T22:13:20.000Z,21.5,\n\
             2023-11-14T22:13:21.500Z,22,-3\n\
             2023-11-14T22:13:22.250Z,,1500\n"
        );
    }

    #[test]
    fn an_empty_chart_has_only_the_header() {
        let mut charts = Charts::default();
        let c = charts.add_chart(&ChartDef::default());
        assert_eq!(chart_csv(&charts.charts()[c]), "time\n");
    }
}

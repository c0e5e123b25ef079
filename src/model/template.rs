//! Substitutions in a topic or payload published on a timer: `{{counter}}`, `{{random(a,b)}}`,
//! `{{now}}`, `{{now_ms}}`, `{{uuid}}`, `{{choice(a,b,c)}}`. Parsed once, rendered per message.
//!
//! Pure: the caller passes the time and keeps the [`Render`] state (counter, random generator), so
//! a preview shows exactly what the next message will hold.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Text(String),
    /// 1, 2, 3, … per message.
    Counter,
    /// An integer in `[lo, hi]`.
    RandomInt(i64, i64),
    /// A number in `[lo, hi)` with `decimals` digits after the point.
    RandomFloat(f64, f64, usize),
    /// RFC 3339 UTC with milliseconds.
    Now,
    /// Milliseconds since the Unix epoch.
    NowMs,
    /// A random (version 4) UUID.
    Uuid,
    /// One of the choices, at random.
    Choice(Vec<String>),
}

/// A template that cannot be used, with the byte offset of the problem.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("at byte {offset}: {reason}")]
pub struct TemplateError {
    /// Where in the template.
    pub offset: usize,
    /// What is wrong.
    pub reason: String,
}

/// What changes from one message to the next: the counter and the random generator.
#[derive(Clone, Debug)]
pub struct Render {
    /// The counter's next value (starts at 1).
    pub counter: u64,
    rng: u64,
}

impl Render {
    /// Counter at 1, random generator seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self { counter: 1, rng: seed }
    }

    /// On to the next message: the counter goes up by one.
    pub fn next_message(&mut self) {
        self.counter += 1;
    }

    /// splitmix64: plenty for test data, and reproducible from its seed.
    fn next_u64(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    #[allow(clippy::cast_precision_loss)]
    pub fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Template {
    /// Parse `text`; `{{` starts a substitution, which ends at the next `}}`.
    ///
    /// # Errors
    /// An unclosed `{{`, an unknown name, or bad arguments.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let inner_at = offset + start + 2;
            let after = &rest[start + 2..];
            let end =
                after.find("}}").ok_or_else(|| TemplateError { offset: offset + start, reason: "`{{` is never closed by `}}`".into() })?;
            parts.push(parse_part(after[..end].trim(), inner_at)?);
            offset = inner_at + end + 2;
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    /// True if rendering gives the same text every time.
    #[must_use]
    pub fn is_constant(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// The text for the current message; advances the random generator (the counter moves on with
    /// [`Render::next_message`], so that a topic and a payload of one message share its value).
    #[must_use]
    pub fn render(&self, state: &mut Render, now: SystemTime) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Counter => write!(out, "{}", state.counter).unwrap_or(()),
                Part::RandomInt(lo, hi) => {
                    let span = hi.abs_diff(*lo).saturating_add(1);
                    let pick = if span == 0 { state.next_u64() } else { state.next_u64() % span };
                    write!(out, "{}", lo.wrapping_add_unsigned(pick)).unwrap_or(());
                }
                Part::RandomFloat(lo, hi, decimals) => {
                    let v = lo + (hi - lo) * state.next_unit();
                    write!(out, "{v:.decimals$}").unwrap_or(());
                }
                Part::Now => out.push_str(&super::capture::format_ts(now)),
                Part::NowMs => write!(out, "{}", now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())).unwrap_or(()),
                Part::Uuid => {
                    let (a, b) = (state.next_u64(), state.next_u64());
                    // Version 4 in bits 76..80 (the 13th hex digit), variant 0b10 in bits 62..64.
                    let random = (u128::from(a) << 64) | u128::from(b);
                    let bytes = (random & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
                    let h = format!("{bytes:032x}");
                    write!(out, "{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]).unwrap_or(());
                }
                Part::Choice(choices) => {
                    let i = usize::try_from(state.next_u64() % choices.len() as u64).unwrap_or(0);
                    out.push_str(&choices[i]);
                }
            }
        }
        out
    }
}

fn parse_part(inner: &str, offset: usize) -> Result<Part, TemplateError> {
    let err = |reason: String| TemplateError { offset, reason };
    let (name, args) = match inner.split_once('(') {
        Some((name, rest)) => {
            let args = rest.strip_suffix(')').ok_or_else(|| err(format!("`{inner}`: missing `)`")))?;
            (name.trim(), Some(args.split(',').map(str::trim).collect::<Vec<_>>()))
        }
        None => (inner, None),
    };
    match (name, args) {
        ("counter", None) => Ok(Part::Counter),
        ("now", None) => Ok(Part::Now),
        ("now_ms", None) => Ok(Part::NowMs),
        ("uuid", None) => Ok(Part::Uuid),
        ("random", Some(args)) => {
            let [lo, hi] = args[..] else { return Err(err("random takes two numbers: random(a,b)".into())) };
            if let (Ok(lo), Ok(hi)) = (lo.parse::<i64>(), hi.parse::<i64>()) {
                return if lo <= hi { Ok(Part::RandomInt(lo, hi)) } else { Err(err(format!("random({lo},{hi}): a is above b"))) };
            }
            let decimals = [lo, hi].iter().map(|s| s.split_once('.').map_or(0, |(_, d)| d.len())).max().unwrap_or(0);
            let (Ok(l), Ok(h)) = (lo.parse::<f64>(), hi.parse::<f64>()) else {
                return Err(err(format!("random({lo},{hi}): not numbers")));
            };
            if l.is_finite() && h.is_finite() && l <= h {
                Ok(Part::RandomFloat(l, h, decimals))
            } else {
                Err(err(format!("random({lo},{hi}): a must not be above b")))
            }
        }
        ("choice", Some(args)) if args.iter().all(|a| !a.is_empty()) => Ok(Part::Choice(args.into_iter().map(str::to_owned).collect())),
        ("choice", _) => Err(err("choice takes one or more values: choice(a,b,c)".into())),
        ("counter" | "now" | "now_ms" | "uuid", Some(_)) => Err(err(format!("{name} takes no arguments"))),
        _ => Err(err(format!("unknown substitution `{{{{{inner}}}}}` (known: counter, random(a,b), now, now_ms, uuid, choice(a,b,…))"))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn render_n(t: &str, n: usize) -> Vec<String> {
        let t = Template::parse(t).unwrap();
        let mut r = Render::new(7);
        (0..n)
            .map(|_| {
                let text = t.render(&mut r, UNIX_EPOCH + Duration::from_millis(1_764_747_601_123));
                r.next_message();
                text
            })
            .collect()
    }

    #[test]
    fn plain_text_is_kept_as_is() {
        assert_eq!(render_n("a/b {not} } {", 1), ["a/b {not} } {"]);
        assert!(Template::parse("x").unwrap().is_constant());
        assert!(!Template::parse("{{counter}}").unwrap().is_constant());
    }

    #[test]
    fn counter_counts_from_one() {
        assert_eq!(render_n("dev/{{counter}}/n={{ counter }}", 3), ["dev/1/n=1", "dev/2/n=2", "dev/3/n=3"]);
    }

    #[test]
    fn now_and_now_ms_use_the_given_time() {
        assert_eq!(render_n("{{now}} {{now_ms}}", 1), ["2025-12-03T07:40:01.123Z 1764747601123"]);
    }

    #[test]
    fn random_integers_stay_in_range_and_cover_it() {
        let seen: std::collections::BTreeSet<i64> = render_n("{{random(-2,2)}}", 500).iter().map(|s| s.parse().unwrap()).collect();
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), [-2, -1, 0, 1, 2]);
    }

    #[test]
    fn random_decimals_keep_the_precision_asked() {
        for v in render_n("{{random(20.0,25.50)}}", 200) {
            let (_, frac) = v.split_once('.').unwrap();
            assert_eq!(frac.len(), 2, "{v}");
            let x: f64 = v.parse().unwrap();
            assert!((20.0..=25.5).contains(&x), "{v}");
        }
    }

    #[test]
    fn choice_picks_each_value() {
        let seen: std::collections::BTreeSet<String> = render_n("{{choice(on, off,idle)}}", 200).into_iter().collect();
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["idle", "off", "on"]);
    }

    #[test]
    fn uuids_are_version_4_and_differ() {
        let ids = render_n("{{uuid}}", 50);
        for id in &ids {
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "4", "{id}");
            assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        }
        let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn errors_point_at_the_substitution() {
        assert_eq!(Template::parse("ab{{counter").unwrap_err().offset, 2);
        let e = Template::parse("x/{{rand}}").unwrap_err();
        assert_eq!(e.offset, 4);
        assert!(e.reason.contains("unknown substitution"), "{e}");
        assert!(Template::parse("{{random(5,1)}}").unwrap_err().reason.contains("above"));
        assert!(Template::parse("{{random(a,1)}}").is_err());
        assert!(Template::parse("{{choice()}}").is_err());
        assert!(Template::parse("{{counter(1)}}").is_err());
    }
}

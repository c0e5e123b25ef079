//! Timed publishing: a publish template sent every N ms (N times, or until stopped), and a sensor
//! simulator (devices publishing numeric series). Pure: what to publish at tick `n`, time `t`.

use std::time::{Duration, SystemTime};

use super::template::{Render, Template};
use super::{ConnId, QoS};

/// What a timer publishes.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// One message a tick from templates (`{{counter}}`, `{{random(a,b)}}`, …).
    Template {
        /// Topic template.
        topic: Template,
        /// Payload template (text).
        payload: Template,
    },
    /// Fixed bytes (a hex or base64 payload: no substitutions).
    Fixed {
        /// Topic.
        topic: String,
        /// Payload.
        payload: Vec<u8>,
    },
    /// `devices` devices under `prefix`, one message each a tick.
    Simulator(Simulator),
}

/// Shape of a simulated series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Wave {
    /// A sine around 20 with amplitude 5, period 60 s, with a little noise.
    #[default]
    Sine,
    /// A random walk from 20, steps of ±0.5, kept within 0..40.
    RandomWalk,
    /// Steps between 0, 10, 20 and 30, changing every 10 s.
    Steps,
    /// A sawtooth from 0 to 100 every 30 s.
    Sawtooth,
}

impl Wave {
    /// Every shape, for a picker.
    pub const ALL: [Self; 4] = [Self::Sine, Self::RandomWalk, Self::Steps, Self::Sawtooth];

    /// Name for the picker.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Sine => "sine + noise",
            Self::RandomWalk => "random walk",
            Self::Steps => "steps",
            Self::Sawtooth => "sawtooth",
        }
    }
}

/// Simulated sensors.
#[derive(Clone, Debug, PartialEq)]
pub struct Simulator {
    /// Topics are `{prefix}/device-{n}/value` (n from 1).
    pub prefix: String,
    /// How many devices.
    pub devices: u32,
    /// The series' shape.
    pub wave: Wave,
    /// `{"value":21.37,"ts":1764747601000}` instead of `21.37`.
    pub json: bool,
}

/// A timer to run.
#[derive(Clone, Debug, PartialEq)]
pub struct TimerSpec {
    /// Connection to publish on.
    pub conn_id: ConnId,
    /// What.
    pub source: Source,
    /// QoS.
    pub qos: QoS,
    /// Retain flag.
    pub retain: bool,
    /// Time between ticks.
    pub every: Duration,
    /// Ticks in all (`None`: until stopped).
    pub times: Option<u64>,
}

/// What changes from tick to tick: the templates' counter and random state, the walks.
#[derive(Clone, Debug)]
pub struct TimerState {
    render: Render,
    walks: Vec<f64>,
}

impl TimerState {
    /// A fresh state, random numbers from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self { render: Render::new(seed), walks: Vec::new() }
    }
}

/// Round to two decimals, as sensors report.
fn two_decimals(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

impl Simulator {
    /// Device `d`'s value `t_secs` after the start (walks advance one step per call).
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "device numbers and seconds are small and positive"
    )]
    fn value(&self, d: usize, t_secs: f64, state: &mut TimerState) -> f64 {
        let phase = d as f64 * 0.7;
        match self.wave {
            Wave::Sine => {
                let n = (rand01(&mut state.render) - 0.5) * 0.4;
                two_decimals(20.0 + 5.0 * (std::f64::consts::TAU * t_secs / 60.0 + phase).sin() + n)
            }
            Wave::RandomWalk => {
                if state.walks.len() <= d {
                    state.walks.resize(d + 1, 20.0);
                }
                let step = (rand01(&mut state.render) - 0.5) * 1.0;
                let v = (state.walks[d] + step).clamp(0.0, 40.0);
                state.walks[d] = v;
                two_decimals(v)
            }
            Wave::Steps => {
                let level = ((t_secs / 10.0) as u64 + d as u64) % 4;
                level as f64 * 10.0
            }
            Wave::Sawtooth => two_decimals(((t_secs + d as f64 * 3.0) % 30.0) / 30.0 * 100.0),
        }
    }
}

/// A number in `[0, 1)` from the templates' generator (one stream of randomness per timer).
fn rand01(render: &mut Render) -> f64 {
    // `{{random(0.0,1.0)}}`'s generator, without going through text.
    render.next_unit()
}

impl TimerSpec {
    /// The messages of tick `tick` (from 0), `now` being its time and `t_secs` the seconds since
    /// the timer started: one for a template, one per device for the simulator.
    #[must_use]
    pub fn messages(&self, state: &mut TimerState, now: SystemTime, t_secs: f64) -> Vec<(String, Vec<u8>)> {
        match &self.source {
            Source::Template { topic, payload } => {
                let p = payload.render(&mut state.render, now);
                let t = topic.render(&mut state.render, now);
                state.render.next_message();
                vec![(t, p.into_bytes())]
            }
            Source::Fixed { topic, payload } => vec![(topic.clone(), payload.clone())],
            Source::Simulator(sim) => {
                let ms = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis());
                (0..sim.devices as usize)
                    .map(|d| {
                        let v = sim.value(d, t_secs, state);
                        let topic = format!("{}/device-{}/value", sim.prefix.trim_end_matches('/'), d + 1);
                        let payload = if sim.json { format!("{{\"value\":{v},\"ts\":{ms}}}") } else { v.to_string() };
                        (topic, payload.into_bytes())
                    })
                    .collect()
            }
        }
    }

    /// The first message the timer would send now (one device of a simulator: cheap every frame).
    #[must_use]
    pub fn preview(&self, now: SystemTime) -> Option<(String, Vec<u8>)> {
        let one = match &self.source {
            Source::Simulator(sim) => Self { source: Source::Simulator(Simulator { devices: 1, ..sim.clone() }), ..self.clone() },
            _ => self.clone(),
        };
        one.messages(&mut TimerState::new(1), now, 0.0).into_iter().next()
    }

    /// One line for the list of running timers.
    #[must_use]
    pub fn describe(&self) -> String {
        let every = super::format::duration_ms(self.every);
        let times = self.times.map_or_else(|| "until stopped".to_owned(), |n| format!("{n} times"));
        match &self.source {
            Source::Template { .. } | Source::Fixed { .. } => format!("every {every}, {times}"),
            Source::Simulator(sim) => {
                format!("{} devices under {}/, {}, every {every}, {times}", sim.devices, sim.prefix.trim_end_matches('/'), sim.wave.label())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(source: Source) -> TimerSpec {
        TimerSpec { conn_id: ConnId::LOCAL, source, qos: QoS::AtMostOnce, retain: false, every: Duration::from_millis(100), times: None }
    }

    #[test]
    fn a_template_counts_per_message_in_topic_and_payload() {
        let s = spec(Source::Template {
            topic: Template::parse("dev/{{counter}}").unwrap(),
            payload: Template::parse("n={{counter}}").unwrap(),
        });
        let mut state = TimerState::new(1);
        let now = SystemTime::UNIX_EPOCH;
        let got: Vec<(String, Vec<u8>)> = (0..3).flat_map(|_| s.messages(&mut state, now, 0.0)).collect();
        assert_eq!(got, [("dev/1".into(), b"n=1".to_vec()), ("dev/2".into(), b"n=2".to_vec()), ("dev/3".into(), b"n=3".to_vec())]);
    }

    #[test]
    fn the_simulator_publishes_one_number_per_device_in_range() {
        for wave in Wave::ALL {
            let sim = Simulator { prefix: "sim/".into(), devices: 3, wave, json: false };
            let s = spec(Source::Simulator(sim));
            let mut state = TimerState::new(7);
            for tick in 0..50 {
                let msgs = s.messages(&mut state, SystemTime::UNIX_EPOCH, f64::from(tick));
                let topics: Vec<&str> = msgs.iter().map(|(t, _)| t.as_str()).collect();
                assert_eq!(topics, ["sim/device-1/value", "sim/device-2/value", "sim/device-3/value"]);
                for (_, p) in msgs {
                    let v: f64 = String::from_utf8(p).unwrap().parse().unwrap();
                    assert!((0.0..=100.0).contains(&v), "{wave:?}: {v}");
                }
            }
        }
    }

    #[test]
    fn json_simulator_payloads_have_value_and_time() {
        let sim = Simulator { prefix: "s".into(), devices: 1, wave: Wave::Steps, json: true };
        let s = spec(Source::Simulator(sim));
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1234);
        let (_, p) = s.messages(&mut TimerState::new(1), now, 25.0).remove(0);
        let v: serde_json::Value = serde_json::from_slice(&p).unwrap();
        assert_eq!(v["value"], 20.0);
        assert_eq!(v["ts"], 1234);
    }
}

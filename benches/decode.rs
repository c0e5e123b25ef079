//! `cargo bench --bench decode`: what decoding and encoding one message costs, per format, for the
//! payloads the inspector and the charts decode (the selected message, plotted series) and the
//! publish panel encodes: a Sparkplug B NDATA of 10 metrics sent by alias (names resolved from a
//! BIRTH), the same 10 readings as a CBOR map, as a MessagePack map, and as a Protobuf message
//! (`repeated Reading`, compiled from a .proto at start). Encoding starts from the decoded JSON, as
//! the publish panel does. Prints ns per message and MB/s of payload; asserts nothing about time.
//! Last, what the window's Sparkplug hierarchy costs per NDATA folded in (its `seq` read, not decoded).

use std::hint::black_box;
use std::time::Instant;

use mqscope::model::decode::sparkplug::proto::{Metric, MetricValue, Payload};
use mqscope::model::decode::{Decoder, ProtoSchema, decode_with, encode, sparkplug::Aliases};
use prost::Message as _;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const METRICS: u32 = 10;

fn sparkplug(named: bool) -> Vec<u8> {
    let metrics = (0..METRICS)
        .map(|i| Metric {
            name: named.then(|| format!("line1/machine/sensor{i}")),
            alias: Some(u64::from(i)),
            timestamp: Some(1_700_000_000_000),
            datatype: Some(10),
            value: Some(MetricValue::DoubleValue(20.0 + f64::from(i))),
            ..Metric::default()
        })
        .collect();
    Payload { timestamp: Some(1_700_000_000_000), seq: Some(1), metrics, ..Payload::default() }.encode_to_vec()
}

fn cbor() -> Vec<u8> {
    use ciborium::Value as C;
    let map = (0..METRICS).map(|i| (C::Text(format!("line1/machine/sensor{i}")), C::Float(20.0 + f64::from(i)))).collect();
    let mut out = Vec::new();
    ciborium::ser::into_writer(&C::Map(map), &mut out).expect("encode");
    out
}

fn msgpack() -> Vec<u8> {
    use rmpv::Value as M;
    let map = (0..METRICS).map(|i| (M::from(format!("line1/machine/sensor{i}")), M::F64(20.0 + f64::from(i)))).collect();
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &M::Map(map)).expect("encode");
    out
}

/// The 10 readings as a `bench.Batch`, with the schema compiled from a .proto in a temp dir.
fn protobuf() -> (ProtoSchema, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("mqscope-bench-proto-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("bench.proto");
    std::fs::write(
        &file,
        "syntax = \"proto3\";\npackage bench;\nmessage Reading { string name = 1; double value = 2; }\n\
         message Batch { repeated Reading readings = 1; int64 at_ms = 2; }\n",
    )
    .expect("write");
    let schema = ProtoSchema::compile(&file, "bench.Batch").expect("compiles");
    std::fs::remove_dir_all(&dir).ok();
    let readings: Vec<_> =
        (0..METRICS).map(|i| serde_json::json!({"name": format!("line1/machine/sensor{i}"), "value": 20.0 + f64::from(i)})).collect();
    let bytes = schema.encode(&serde_json::json!({"readings": readings, "at_ms": "1700000000000"})).expect("encodes");
    (schema, bytes)
}

/// The best of 5 runs of 20,000 calls, in ns per call.
fn ns_per_call(mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let n = 20_000u32;
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e9 / f64::from(n));
    }
    best
}

fn main() {
    let mut aliases = Aliases::default();
    aliases.learn(&sparkplug(true));
    let (schema, proto_bytes) = protobuf();
    let cases = [
        ("Sparkplug B NDATA, 10 metrics by alias", Decoder::Sparkplug, sparkplug(false)),
        ("CBOR map of 10 readings", Decoder::Cbor, cbor()),
        ("MessagePack map of 10 readings", Decoder::MsgPack, msgpack()),
        ("Protobuf, 10 readings (repeated message)", Decoder::Protobuf, proto_bytes),
    ];
    println!("{:<42} {:>6} {:>10} {:>8} {:>10}", "payload", "bytes", "decode ns", "MB/s", "encode ns");
    for (name, decoder, bytes) in cases {
        let decode_once = |bytes: &[u8]| match decoder {
            Decoder::Protobuf => schema.decode(bytes),
            d => decode_with(d, bytes, Some(&aliases)),
        };
        let json = decode_once(&bytes).expect("decodes");
        let decode_ns = ns_per_call(|| {
            black_box(decode_once(black_box(&bytes)).ok());
        });
        #[expect(clippy::cast_precision_loss, reason = "a payload of a few hundred bytes")]
        let mb_per_s = bytes.len() as f64 / decode_ns * 1e3;
        // Sparkplug B is not encoded from JSON (its commands have their own editor).
        let encode_ns = (decoder != Decoder::Sparkplug).then(|| {
            let schema = (decoder == Decoder::Protobuf).then_some(&schema);
            assert_eq!(decode_once(&encode(decoder, &json, schema).expect("encodes")).expect("decodes"), json, "{name}: round trip");
            ns_per_call(|| {
                black_box(encode(decoder, black_box(&json), schema).ok());
            })
        });
        let encode_ns = encode_ns.map_or_else(|| "—".to_owned(), |ns| format!("{ns:.0}"));
        println!("{name:<42} {:>6} {decode_ns:>10.0} {mb_per_s:>8.1} {encode_ns:>10}", bytes.len());
    }
    hierarchy();
}

/// What following Sparkplug traffic costs the window per message it folds in: an NDATA's `seq`
/// read by a scan of the protobuf's top level (no decoding), into the connection's hierarchy.
fn hierarchy() {
    use mqscope::model::decode::sparkplug::hierarchy::Hierarchy;
    let mut h = Hierarchy::default();
    let at = std::time::SystemTime::UNIX_EPOCH;
    let with_seq = |named: bool, seq: u64| {
        let mut p = Payload::decode(&sparkplug(named)[..]).expect("decodes");
        p.seq = Some(seq);
        p.encode_to_vec()
    };
    // The BIRTH's seq is the one before the first DATA's.
    h.observe("spBv1.0/plant/NBIRTH/edge1", &with_seq(true, 255), at, false);
    let data: Vec<Vec<u8>> = (0..256u64).map(|seq| with_seq(false, seq)).collect();
    let mut best = f64::MAX;
    let mut next = data.iter().cycle();
    for _ in 0..5 {
        let n = 20_000u32;
        let start = Instant::now();
        for bytes in next.by_ref().take(n as usize) {
            h.observe(black_box("spBv1.0/plant/NDATA/edge1"), black_box(bytes), at, false);
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e9 / f64::from(n));
    }
    assert_eq!(h.node("plant", "edge1").map(|n| n.gaps), Some(0), "every seq followed the one before");
    println!("{:<42} {:>6} {best:>10.0}", "Sparkplug hierarchy: NDATA folded (seq)", data[1].len());
}

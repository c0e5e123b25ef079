//! The journal's round trip: records encoded, framed, read back and applied give the same image;
//! a compacted journal (the image's snapshot) gives it too.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tokio::time::Instant;

use super::frame::{self, Frames};
use super::image::Image;
use super::record::{self, Enc, Queued, Rec, SentFrom, wall_now_ms};
use crate::broker::client_state::{Routed, SubEntry};
use crate::broker::codec::{LastWill, Properties, ProtocolVersion, QoS, SubscriptionOptions};
use crate::broker::retained::Retained;

fn msg(topic: &str, payload: &'static [u8]) -> Arc<Routed> {
    Arc::new(Routed {
        topic: topic.into(),
        payload: Bytes::from_static(payload),
        published_qos: QoS::AtLeastOnce,
        retain: false,
        properties: Some(Box::new(Properties { content_type: Some("t/p".into()), ..Properties::default() })),
        expires_at: Some(Instant::now() + std::time::Duration::from_mins(10)),
        publisher: "pub".into(),
    })
}

fn queued(m: &Arc<Routed>) -> Queued {
    Queued { msg: Arc::clone(m), qos: QoS::AtLeastOnce, retain: false, sub_ids: vec![3] }
}

/// Encode and frame `recs`, the way the writer does.
fn journal(recs: &[Rec]) -> Vec<u8> {
    let (now, now_ms) = (Instant::now(), wall_now_ms());
    let (mut enc, mut out) = (Enc::default(), Vec::new());
    for rec in recs {
        record::encode(rec, &mut enc, now, now_ms);
        frame::frame(&enc.0, &mut out);
    }
    out
}

/// Read a journal back, the way the loader does.
fn read(data: &[u8]) -> Image {
    let (now, now_ms) = (Instant::now(), wall_now_ms());
    let mut msgs = HashMap::new();
    let mut names = record::Names::default();
    let mut image = Image::default();
    for body in Frames::new(data) {
        let rec = record::decode(body, &msgs, &mut names, now, now_ms).expect("readable").expect("resolved");
        if let Rec::Msg { id, msg } = &rec {
            msgs.insert(*id, Arc::clone(msg));
        }
        image.apply(rec);
    }
    image
}

/// What an image holds, comparable.
fn summary(image: &Image) -> Vec<String> {
    let mut out: Vec<String> = image
        .retained
        .iter()
        .map(|r| format!("R {} {:?} {:?}", r.0.topic(), r.0.payload(), r.0.properties().map(|p| &p.content_type)))
        .collect();
    for (id, s) in &image.sessions {
        out.push(format!(
            "S {id} {:?} {} online={} will={:?} due={:?}",
            s.version,
            s.expiry_secs,
            s.online,
            s.will.as_ref().map(|w| &w.topic),
            s.will_due_ms
        ));
        out.extend(s.subs.iter().map(|(f, e)| format!("  sub {f} {e:?}")));
        out.extend(s.queue.iter().map(|q| format!("  q {} {:?} {:?} {:?}", q.msg.topic, q.msg.payload, q.qos, q.sub_ids)));
        out.extend(s.inflight.iter().map(|(p, f)| format!("  f {p} {} {:?}", f.seq, f.msg.as_ref().map(|q| &q.msg.payload))));
        out.extend(s.qos2_in.iter().map(|p| format!("  in {p}")));
    }
    out.sort();
    out
}

#[test]
fn a_journal_and_its_compacted_form_read_back_to_the_same_state() {
    let (a, b, c) = (msg("q/a", b"A"), msg("q/b", b"B"), msg("q/c", b"C"));
    let will = LastWill {
        topic: "w".into(),
        payload: Bytes::from_static(b"bye"),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: Properties::default(),
    };
    let entry =
        SubEntry { options: SubscriptionOptions { qos: QoS::ExactlyOnce, no_local: true, ..SubscriptionOptions::default() }, id: Some(3) };
    let kept = Retained::new(&msg("r/kept", b"kept"));
    let recs = vec![
        Rec::RetainSet(kept),
        Rec::RetainSet(Retained::new(&msg("r/cleared", b"x"))),
        Rec::RetainClear("r/cleared".into()),
        Rec::SessionOpen {
            client_id: "s1".into(),
            clean: true,
            version: ProtocolVersion::V5,
            expiry_secs: 60,
            will: Some(Box::new(will.clone())),
        },
        Rec::SessionOpen { client_id: "s2".into(), clean: true, version: ProtocolVersion::V311, expiry_secs: u32::MAX, will: None },
        Rec::SessionOpen { client_id: "gone".into(), clean: true, version: ProtocolVersion::V5, expiry_secs: 5, will: None },
        Rec::SessionRemove("gone".into()),
        Rec::Subscribe { client_id: "s1".into(), filter: "q/#".into(), entry: entry.clone() },
        Rec::Subscribe { client_id: "s1".into(), filter: "old".into(), entry: entry.clone() },
        Rec::Unsubscribe { client_id: "s1".into(), filter: "old".into() },
        Rec::Msg { id: 1, msg: Arc::clone(&a) },
        Rec::Enqueue { client_id: "s1".into(), id: 1, queued: queued(&a) },
        Rec::Enqueue { client_id: "s2".into(), id: 1, queued: queued(&a) },
        Rec::Msg { id: 2, msg: Arc::clone(&b) },
        Rec::Enqueue { client_id: "s1".into(), id: 2, queued: queued(&b) },
        Rec::Msg { id: 3, msg: Arc::clone(&c) },
        Rec::Enqueue { client_id: "s1".into(), id: 3, queued: queued(&c) },
        // s1: a sent (pkid 10), acknowledged; b sent (pkid 11), released; c dropped.
        Rec::Sent { client_id: "s1".into(), pkid: 10, seq: 1, from: SentFrom::Index(0) },
        Rec::Acked { client_id: "s1".into(), pkid: 10 },
        Rec::Sent { client_id: "s1".into(), pkid: 11, seq: 2, from: SentFrom::Index(0) },
        Rec::Released { client_id: "s1".into(), pkid: 11, seq: 2 },
        Rec::Dropped { client_id: "s1".into(), index: 0 },
        // s2: a sent and not acknowledged; a retained replay sent inline.
        Rec::Sent { client_id: "s2".into(), pkid: 1, seq: 1, from: SentFrom::Index(0) },
        Rec::Msg { id: 4, msg: msg("r/kept", b"kept") },
        Rec::Sent { client_id: "s2".into(), pkid: 2, seq: 2, from: SentFrom::Inline(4, queued(&msg("r/kept", b"kept"))) },
        Rec::Qos2In { client_id: "s2".into(), pkid: 7 },
        Rec::Qos2In { client_id: "s2".into(), pkid: 8 },
        Rec::Qos2Done { client_id: "s2".into(), pkid: 8 },
        Rec::SessionClose { client_id: "s1".into(), expiry_secs: 60, at_ms: 1000, pending_will: Some((Box::new(will), 5000)) },
    ];
    let image = read(&journal(&recs));
    let want = summary(&image);
    assert!(want.iter().any(|l| l.starts_with("R r/kept")) && !want.iter().any(|l| l.contains("r/cleared")), "{want:#?}");
    assert!(!want.iter().any(|l| l.contains("gone") || l.contains("old")), "{want:#?}");
    let s1 = &image.sessions["s1"];
    assert_eq!((s1.queue.len(), s1.inflight.len(), s1.online, s1.will_due_ms), (0, 1, false, Some(5000)));
    assert!(s1.inflight[&11].msg.is_none(), "released: PUBREL owed, not the message");
    let s2 = &image.sessions["s2"];
    assert_eq!((s2.inflight.len(), s2.queue.len(), s2.online), (2, 0, true));
    assert_eq!(s2.qos2_in.iter().copied().collect::<Vec<_>>(), [7]);

    let mut compacted = Vec::new();
    let mut next_id = 100;
    image.snapshot(Instant::now(), &mut next_id, |rec| compacted.extend(journal(std::slice::from_ref(rec))));
    assert_eq!(summary(&read(&compacted)), want, "the compacted journal holds the same state");
}

//! Replaying a capture file into a connection (the embedded broker or an external one) from the
//! window: the recorded gaps kept (divided by the speed) or as fast as possible, once or in a loop,
//! a topic prefix optionally remapped; progress, pause and stop through the shared [`Progress`].

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::model::Message;
use crate::model::export::{self, Ended, Progress, ReplayPlan};
use crate::protocol::{Event, PublishRequest};

/// Replay `plan`, handing each message to the runtime's publish path; the notice to show at the end.
pub async fn run(plan: ReplayPlan, progress: Progress, out: mpsc::Sender<PublishRequest>) -> Event {
    let path = plan.path.clone();
    let loading = progress.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let mut msgs: Vec<Message> = Vec::new();
        export::read_capture(std::io::BufReader::with_capacity(1 << 20, file), 65_536, &loading, |batch| msgs.extend(batch))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok::<_, String>(msgs)
    })
    .await;
    let msgs = match loaded {
        Ok(Ok(msgs)) if !msgs.is_empty() => msgs,
        Ok(Ok(_)) => return finish(&progress, Event::Error(format!("{}: no messages", plan.path.display()))),
        Ok(Err(e)) => return finish(&progress, Event::Error(e)),
        Err(e) => return finish(&progress, Event::Error(format!("replay failed: {e}"))),
    };
    progress.done.store(0, Relaxed);
    progress.total.store(msgs.len() as u64, Relaxed);
    let ended = publish_all(&plan, &msgs, &progress, &out).await;
    let name = plan.path.display();
    finish(
        &progress,
        match ended {
            Ended::Done(n) => Event::Notice(format!("Replayed {} messages from {name}", crate::model::format::count(n))),
            Ended::Cancelled(n) => Event::Notice(format!("Replay of {name} stopped after {} messages", crate::model::format::count(n))),
        },
    )
}

fn finish(progress: &Progress, event: Event) -> Event {
    progress.finished.store(true, Relaxed);
    event
}

/// Publish every message at its time; pausing holds the clock, so the gaps after a pause are kept.
async fn publish_all(plan: &ReplayPlan, msgs: &[Message], progress: &Progress, out: &mpsc::Sender<PublishRequest>) -> Ended {
    let mut sent = 0u64;
    loop {
        let first = msgs[0].received_at;
        let mut start = tokio::time::Instant::now();
        for (i, msg) in msgs.iter().enumerate() {
            while progress.paused.load(Relaxed) && !progress.cancelled() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                start += Duration::from_millis(100);
            }
            if progress.cancelled() {
                return Ended::Cancelled(sent);
            }
            if let Some(speed) = plan.speed {
                let gap = msg.received_at.duration_since(first).unwrap_or_default().div_f64(speed.max(1e-6));
                tokio::time::sleep_until(start + gap).await;
            }
            let topic = match &plan.remap {
                Some((from, to)) if msg.topic.starts_with(from.as_str()) => format!("{to}{}", &msg.topic[from.len()..]),
                _ => msg.topic.to_string(),
            };
            let req = PublishRequest {
                id: 0,
                conn_id: plan.conn_id,
                topic,
                payload: msg.payload.clone(),
                qos: msg.qos,
                retain: msg.retain,
                meta: msg
                    .meta
                    .as_deref()
                    .cloned()
                    .map(|m| crate::model::MessageMeta { publisher: None, published_qos: None, ..m })
                    .unwrap_or_default(),
            };
            if out.send(req).await.is_err() {
                return Ended::Cancelled(sent);
            }
            sent += 1;
            progress.done.store(i as u64 + 1, Relaxed);
        }
        if !plan.repeat {
            return Ended::Done(sent);
        }
    }
}

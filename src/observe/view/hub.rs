//! The hub between a run and its viewers: the latest scene and exact counters, and one bounded
//! queue per viewer.
//!
//! The run publishes; it never waits. Each message goes to every viewer's queue with
//! `try_send`: a viewer whose queue is full (a slow or stalled connection) loses that message,
//! and the hub counts it. No message is needed to get the counters right, because every frame
//! carries the cumulative totals, not increments: the next frame a viewer receives repairs
//! whatever it missed. The end of the run is not queued at all: the hub keeps it and closes
//! the queues, and each viewer's writer thread sends it after draining its queue, so that no
//! viewer misses the final totals.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};

/// Messages a viewer's queue holds before new ones are dropped for it.
pub const QUEUE: usize = 16;

/// Viewers served at once; more are refused (503).
pub const MAX_VIEWERS: usize = 32;

/// Points of the learning curve a new viewer gets at most.
pub const CURVE_POINTS: usize = 2000;

/// One Server-Sent Event, encoded once and shared by every queue.
pub type Event = Arc<str>;

/// Encodes a Server-Sent Event with a JSON payload on one `data:` line (JSON has no raw
/// newlines).
pub fn event(name: &str, data: &serde_json::Value) -> Event {
    Arc::from(format!("event: {name}\ndata: {data}\n\n"))
}

struct Viewer {
    id: u64,
    tx: SyncSender<Event>,
}

#[derive(Default)]
struct State {
    viewers: Vec<Viewer>,
    next_id: u64,
    /// The scene (`scene` event): populations, projections, what kind of run.
    scene: Option<Event>,
    /// The latest frame, for a viewer that arrives mid-run.
    last_frame: Option<Event>,
    /// Training runs: the learning curve so far (episode, food, return, hidden size), every
    /// `stride`-th episode, at most [`CURVE_POINTS`] points; sent to a new viewer as a
    /// `curve` event.
    curve: Vec<[f64; 4]>,
    stride: u64,
    pending: u64,
    /// The end of the run, once it ended.
    end: Option<Event>,
    published: u64,
    dropped: u64,
    bytes: u64,
    served: u64,
    /// Writer threads not yet finished.
    active: usize,
}

/// What the hub has done, for `/stats` and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HubStats {
    /// Viewers connected now.
    pub viewers: usize,
    /// Viewers served since the start.
    pub served: u64,
    /// Messages published.
    pub published: u64,
    /// Messages not queued for some viewer because its queue was full.
    pub dropped: u64,
    /// Bytes of the messages published (once per message, not per viewer).
    pub bytes: u64,
}

/// What a new viewer gets: the messages to send first, then its queue.
pub struct Subscription {
    /// Scene, learning curve and latest frame (or the end), in that order.
    pub first: Vec<Event>,
    /// The viewer's queue; disconnected once the run ended.
    pub rx: Receiver<Event>,
    /// Its id, for [`Hub::leave`].
    pub id: u64,
}

/// Shared between the run (publishing) and the server (one writer thread per viewer).
#[derive(Default)]
pub struct Hub {
    state: Mutex<State>,
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Arc<Self> {
        Arc::new(Hub::default())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A writer thread that panicked leaves consistent data behind (plain fields).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the scene and sends it to every viewer.
    pub fn scene(&self, e: Event) {
        let mut s = self.lock();
        s.scene = Some(e.clone());
        broadcast(&mut s, e);
    }

    /// Replaces the scene a new viewer gets first, without sending it (current viewers follow
    /// the change through frames: a training run's hidden ids).
    pub fn replace_scene(&self, e: Event) {
        self.lock().scene = Some(e);
    }

    /// Adds points to the learning curve a new viewer gets first (current viewers get them
    /// in frames). Keeps every `stride`-th point; when there are more than [`CURVE_POINTS`],
    /// every other one is dropped and the stride doubles.
    pub fn curve(&self, points: &[[f64; 4]]) {
        let mut s = self.lock();
        s.stride = s.stride.max(1);
        for p in points {
            if s.pending.is_multiple_of(s.stride) {
                s.curve.push(*p);
            }
            s.pending += 1;
            if s.curve.len() > CURVE_POINTS {
                let kept: Vec<[f64; 4]> = s.curve.iter().step_by(2).copied().collect();
                s.curve = kept;
                s.stride *= 2;
                s.pending = 1;
            }
        }
    }

    /// Sends a frame to every viewer, dropping it for those whose queue is full.
    pub fn frame(&self, e: Event) {
        let mut s = self.lock();
        s.last_frame = Some(e.clone());
        broadcast(&mut s, e);
    }

    /// The run ended: `e` is every viewer's last message; the queues close.
    pub fn end(&self, e: Event) {
        let mut s = self.lock();
        s.end = Some(e);
        s.viewers.clear();
    }

    /// The end message, once the run ended.
    pub fn ended(&self) -> Option<Event> {
        self.lock().end.clone()
    }

    /// A new viewer, or `None` when [`MAX_VIEWERS`] are connected.
    pub fn subscribe(&self) -> Option<Subscription> {
        let mut s = self.lock();
        if s.viewers.len() >= MAX_VIEWERS {
            return None;
        }
        let (tx, rx) = sync_channel(QUEUE);
        let id = s.next_id;
        s.next_id += 1;
        s.served += 1;
        s.active += 1;
        let mut first: Vec<Event> = s.scene.iter().cloned().collect();
        if !s.curve.is_empty() {
            first.push(event("curve", &serde_json::json!({ "points": s.curve })));
        }
        match &s.end {
            Some(end) => {
                first.extend(s.last_frame.clone());
                first.push(end.clone());
                drop(tx);
            }
            None => {
                first.extend(s.last_frame.clone());
                s.viewers.push(Viewer { id, tx });
            }
        }
        Some(Subscription { first, rx, id })
    }

    /// A viewer's writer thread is done (the run ended or its connection failed).
    pub fn leave(&self, id: u64) {
        let mut s = self.lock();
        s.viewers.retain(|v| v.id != id);
        s.active = s.active.saturating_sub(1);
    }

    /// Waits at most `limit` for every writer thread to finish (after [`Hub::end`]: until each
    /// viewer was sent the end), so that a process exiting right after a run does not cut
    /// the final totals off. Returns whether they all finished.
    pub fn drain(&self, limit: std::time::Duration) -> bool {
        let t0 = std::time::Instant::now();
        loop {
            if self.lock().active == 0 {
                return true;
            }
            if t0.elapsed() >= limit {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Counts so far.
    pub fn stats(&self) -> HubStats {
        let s = self.lock();
        HubStats {
            viewers: s.viewers.len(),
            served: s.served,
            published: s.published,
            dropped: s.dropped,
            bytes: s.bytes,
        }
    }
}

fn broadcast(s: &mut State, e: Event) {
    s.published += 1;
    s.bytes += e.len() as u64;
    let mut dropped = 0;
    s.viewers.retain(|v| match v.tx.try_send(e.clone()) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            dropped += 1;
            true
        }
        Err(TrySendError::Disconnected(_)) => false,
    });
    s.dropped += dropped;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_frames_and_the_end_still_arrives() {
        let hub = Hub::new();
        hub.scene(event("scene", &serde_json::json!({"n": 1})));
        let slow = hub.subscribe().unwrap();
        assert_eq!(slow.first.len(), 1);
        for k in 0..(QUEUE as u64 + 10) {
            hub.frame(event("frame", &serde_json::json!({ "k": k })));
        }
        let st = hub.stats();
        assert_eq!(st.published, QUEUE as u64 + 11);
        assert_eq!(st.dropped, 10);
        // A viewer arriving now gets the scene and the latest frame first.
        let late = hub.subscribe().unwrap();
        assert_eq!(late.first.len(), 2);
        assert!(late.first[1].contains(&format!("\"k\":{}", QUEUE + 9)));
        hub.end(event("end", &serde_json::json!({"done": true})));
        let queued: Vec<Event> = slow.rx.iter().collect();
        assert_eq!(queued.len(), QUEUE);
        assert!(hub.ended().unwrap().contains("done"));
        // After the end a viewer gets everything at once and a closed queue.
        let after = hub.subscribe().unwrap();
        assert!(after.first.last().unwrap().starts_with("event: end"));
        assert!(after.rx.recv().is_err());
    }

    #[test]
    fn the_curve_a_new_viewer_gets_is_bounded_and_spans_the_run() {
        let hub = Hub::new();
        let pts: Vec<[f64; 4]> = (0..10_000).map(|e| [e as f64, 0.0, 0.0, 64.0]).collect();
        for c in pts.chunks(16) {
            hub.curve(c);
        }
        let sub = hub.subscribe().unwrap();
        let data = sub.first[0].strip_prefix("event: curve\ndata: ").unwrap();
        let v: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
        let p = v["points"].as_array().unwrap();
        assert!(
            p.len() <= CURVE_POINTS && p.len() > CURVE_POINTS / 4,
            "{}",
            p.len()
        );
        assert_eq!(p[0][0], 0.0);
        assert!(p.last().unwrap()[0].as_f64().unwrap() > 9000.0);
    }

    #[test]
    fn viewers_are_bounded() {
        let hub = Hub::new();
        let subs: Vec<_> = (0..MAX_VIEWERS).map(|_| hub.subscribe().unwrap()).collect();
        assert!(hub.subscribe().is_none());
        hub.leave(subs[0].id);
        assert!(hub.subscribe().is_some());
    }
}

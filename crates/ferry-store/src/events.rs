//! The in-process event bus: what happened (a ref moved, ...) for whoever listens (pipeline
//! triggers, the console). Lossy for slow listeners by design: durable work is driven from the
//! database, events only wake it up.

use tokio::sync::broadcast;

/// Something that happened on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A git ref was created, moved or deleted (`old`/`new` are `None` for create/delete).
    RefUpdated {
        repository_id: String,
        repository_name: String,
        ref_name: String,
        old: Option<String>,
        new: Option<String>,
    },
}

/// A broadcast channel of [`Event`]s.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl EventBus {
    /// A bus that buffers up to 1024 events per slow listener.
    pub fn new() -> Self {
        Self {
            tx: broadcast::channel(1024).0,
        }
    }

    /// Publishes an event; nobody listening is fine.
    pub fn publish(&self, event: Event) {
        let _ = self.tx.send(event);
    }

    /// A new listener that sees events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn listeners_see_later_events() {
        let bus = EventBus::new();
        bus.publish(Event::RefUpdated {
            repository_id: "early".into(),
            repository_name: "r".into(),
            ref_name: "refs/heads/main".into(),
            old: None,
            new: Some("a".into()),
        });
        let mut rx = bus.subscribe();
        let ev = Event::RefUpdated {
            repository_id: "id".into(),
            repository_name: "r".into(),
            ref_name: "refs/heads/main".into(),
            old: None,
            new: Some("b".into()),
        };
        bus.publish(ev.clone());
        assert_eq!(rx.recv().await.unwrap(), ev);
    }
}

//! This process's turns at writing to SQLite, which takes one writer at a time. Writers queue
//! here rather than in SQLite's busy handler (which sleeps in steps of milliseconds between
//! attempts), in two lines: writers answering a request go before background writers (a log
//! writer, a build's phase saves) waiting with them. A background writer gathers everything
//! that arrives while it waits into its one transaction, so letting requests pass costs it
//! nothing; a request queued behind several of them waited for all of them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// Which line a writer waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// A write a request waits for.
    Request,
    /// A write nobody waits for at once (a group commit of log lines, of build saves).
    Background,
}

#[derive(Debug, Default)]
struct Lines {
    busy: bool,
    request: VecDeque<oneshot::Sender<Turn>>,
    background: VecDeque<oneshot::Sender<Turn>>,
}

/// The gate (cloned, the same gate).
#[derive(Debug, Clone, Default)]
pub(crate) struct WriteGate(Arc<Mutex<Lines>>);

/// A turn at writing, held until dropped; then the next writer's.
#[derive(Debug)]
pub(crate) struct Turn(Option<WriteGate>);

impl WriteGate {
    fn lines(&self) -> std::sync::MutexGuard<'_, Lines> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for this writer's turn.
    pub(crate) async fn turn(&self, priority: Priority) -> Turn {
        loop {
            let waiting = {
                let mut lines = self.lines();
                if !lines.busy {
                    lines.busy = true;
                    return Turn(Some(self.clone()));
                }
                let (tx, rx) = oneshot::channel();
                match priority {
                    Priority::Request => lines.request.push_back(tx),
                    Priority::Background => lines.background.push_back(tx),
                }
                rx
            };
            // The turn is handed over as a value: a writer that stops waiting drops it
            // unseen, which passes it on (see `Drop`), so it is never lost.
            if let Ok(turn) = waiting.await {
                return turn;
            }
        }
    }

    /// Hands the turn to the next writer (requests first), or frees the gate.
    fn pass(&self) {
        let mut lines = self.lines();
        loop {
            let next = match lines.request.pop_front() {
                Some(tx) => tx,
                None => match lines.background.pop_front() {
                    Some(tx) => tx,
                    None => {
                        lines.busy = false;
                        return;
                    }
                },
            };
            // A writer that stopped waiting gives the turn straight back; the next one.
            match next.send(Turn(Some(self.clone()))) {
                Ok(()) => return,
                Err(mut turn) => turn.0 = None,
            }
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(gate) = self.0.take() {
            gate.pass();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_pass_background_writers_and_no_turn_is_lost() {
        let gate = WriteGate::default();
        let first = gate.turn(Priority::Background).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let wait = |name: &'static str, p: Priority| {
            let (gate, order) = (gate.clone(), order.clone());
            tokio::spawn(async move {
                let _turn = gate.turn(p).await;
                order.lock().unwrap().push(name);
            })
        };
        let logs = wait("logs", Priority::Background);
        tokio::task::yield_now().await;
        // A request that gives up waiting: its turn goes on to the next.
        let gone = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.turn(Priority::Request).await })
        };
        tokio::task::yield_now().await;
        gone.abort();
        let request = wait("request", Priority::Request);
        tokio::task::yield_now().await;
        drop(first);
        for t in [request, logs] {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["request", "logs"]);
        // Free again.
        drop(gate.turn(Priority::Background).await);
    }
}

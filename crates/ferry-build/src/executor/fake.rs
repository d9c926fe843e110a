//! The fake executor, for tests of everything around execution (scheduling, phases, stop,
//! timeouts, logs) without starting processes. It reads each buildspec command as a tiny
//! language: `echo TEXT` prints TEXT, `exit N` ends with status N, `sleep SECONDS` waits (and
//! can be stopped); anything else succeeds silently. Helper scripts (variable values,
//! expansions) yield nothing. Every command it was given is recorded, in order.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{BoxFuture, Container, Executor, Proc, Provision, ProvisionError};
use crate::shell::Exit;

/// Pretends to run builds.
#[derive(Default, Clone)]
pub struct FakeExecutor {
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeExecutor {
    /// The commands run so far, across builds.
    pub fn commands(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Executor for FakeExecutor {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn provision<'a>(
        &'a self,
        req: Provision<'a>,
    ) -> BoxFuture<'a, Result<Arc<dyn Container>, ProvisionError>> {
        let seen = self.seen.clone();
        let fail = req.image.contains("unprovisionable");
        Box::pin(async move {
            if fail {
                return Err(ProvisionError(
                    "the fake executor cannot provision this image".into(),
                ));
            }
            Ok(Arc::new(FakeContainer { seen }) as Arc<dyn Container>)
        })
    }
}

struct FakeContainer {
    seen: Arc<Mutex<Vec<String>>>,
}

/// What a command does under the fake executor.
#[derive(Debug, PartialEq)]
enum Act<'a> {
    Print(&'a str),
    Exit(i32),
    Sleep(Duration),
    Nothing,
}

fn act(command: &str) -> Act<'_> {
    let c = command.trim();
    let (word, rest) = c.split_once(' ').unwrap_or((c, ""));
    match word {
        "echo" => Act::Print(rest.trim()),
        "exit" => Act::Exit(rest.trim().parse().unwrap_or(1)),
        "sleep" => match rest.trim().parse::<f64>() {
            Ok(s) if s.is_finite() && s >= 0.0 => Act::Sleep(Duration::from_secs_f64(s)),
            _ => Act::Exit(1),
        },
        _ => Act::Nothing,
    }
}

impl Container for FakeContainer {
    fn run<'a>(
        &'a self,
        p: Proc<'a>,
        out: &'a mpsc::Sender<String>,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, std::io::Result<Exit>> {
        Box::pin(async move {
            self.seen
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(p.command.to_owned());
            Ok(match act(p.command) {
                Act::Print(text) => {
                    let _ = out.send(text.to_owned()).await;
                    Exit::Code(0)
                }
                Act::Exit(n) => Exit::Code(n),
                Act::Sleep(d) => tokio::select! {
                    _ = tokio::time::sleep(d) => Exit::Code(0),
                    _ = cancel.cancelled() => Exit::Cancelled,
                },
                Act::Nothing => Exit::Code(0),
            })
        })
    }

    fn capture<'a>(&'a self, _p: Proc<'a>) -> BoxFuture<'a, Option<Vec<u8>>> {
        Box::pin(async { None })
    }

    fn release(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_language() {
        assert_eq!(act("echo hello world"), Act::Print("hello world"));
        assert_eq!(act("exit 3"), Act::Exit(3));
        assert_eq!(act("exit"), Act::Exit(1));
        assert_eq!(act("sleep 0.5"), Act::Sleep(Duration::from_millis(500)));
        assert_eq!(act("sleep forever"), Act::Exit(1));
        assert_eq!(act("npm ci"), Act::Nothing);
    }
}

//! The balancer of standalone mode: every activation goes to the one invoker, whose memory
//! slots are still accounted and whose health is still tracked (so `GET /invokers` and the 503
//! path behave as in a cluster).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use tokio::time::Instant;
use whirl_bus::{InvokerId, InvokerPing};

use super::{InvokerState, LoadBalancer, NoInvoker, Placement, OFFLINE_AFTER};

#[derive(Debug)]
struct State {
    last_ping: Instant,
    user_memory_mb: u64,
    /// MB reserved by activations in flight.
    reserved_mb: u64,
    /// Activation id → MB reserved.
    slots: HashMap<String, u32>,
}

/// One invoker, known from the start (it runs in this process).
#[derive(Debug)]
pub struct SingleInvoker {
    id: InvokerId,
    state: Mutex<State>,
}

impl SingleInvoker {
    pub fn new(id: InvokerId, user_memory_mb: u64) -> Self {
        Self {
            id,
            state: Mutex::new(State {
                last_ping: Instant::now(),
                user_memory_mb,
                reserved_mb: 0,
                slots: HashMap::new(),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// MB reserved by activations in flight, and the invoker's capacity.
    pub fn memory(&self) -> (u64, u64) {
        let s = self.state();
        (s.reserved_mb, s.user_memory_mb)
    }

    fn health(&self, s: &State) -> InvokerState {
        if s.last_ping.elapsed() > OFFLINE_AFTER {
            InvokerState::Offline
        } else {
            InvokerState::Up
        }
    }
}

impl LoadBalancer for SingleInvoker {
    fn place(&self, a: Placement<'_>) -> Result<InvokerId, NoInvoker> {
        let mut s = self.state();
        if self.health(&s) != InvokerState::Up {
            return Err(NoInvoker);
        }
        s.reserved_mb += u64::from(a.memory_mb);
        s.slots.insert(a.activation_id.to_string(), a.memory_mb);
        Ok(self.id)
    }

    fn release(&self, activation_id: &str) {
        let mut s = self.state();
        if let Some(mb) = s.slots.remove(activation_id) {
            s.reserved_mb = s.reserved_mb.saturating_sub(u64::from(mb));
        }
    }

    fn ping(&self, ping: &InvokerPing) {
        if ping.invoker != self.id {
            tracing::warn!(invoker = %ping.invoker, "ping from an unknown invoker ignored");
            return;
        }
        let mut s = self.state();
        s.last_ping = Instant::now();
        s.user_memory_mb = ping.user_memory_mb;
    }

    fn invokers(&self) -> Vec<(InvokerId, InvokerState)> {
        let s = self.state();
        vec![(self.id, self.health(&s))]
    }

    fn held_by(&self, invoker: InvokerId) -> Vec<String> {
        if invoker != self.id {
            return Vec::new();
        }
        self.state().slots.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placement(id: &str) -> Placement<'_> {
        Placement {
            activation_id: id,
            namespace: "guest",
            action_id: "guest/a",
            memory_mb: 256,
            concurrency: 1,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn accounts_slots_and_goes_offline_after_silence() {
        let lb = SingleInvoker::new(InvokerId(0), 1024);
        assert_eq!(lb.place(placement("a")), Ok(InvokerId(0)));
        assert_eq!(lb.place(placement("b")), Ok(InvokerId(0)));
        assert_eq!(lb.memory(), (512, 1024));
        lb.release("a");
        lb.release("a"); // twice is harmless
        assert_eq!(lb.memory(), (256, 1024));
        // Overload: still placed (the invoker queues).
        for i in 0..10 {
            let id = format!("x{i}");
            assert!(lb.place(placement(&id)).is_ok());
        }
        tokio::time::advance(OFFLINE_AFTER + std::time::Duration::from_secs(1)).await;
        assert_eq!(lb.invokers(), vec![(InvokerId(0), InvokerState::Offline)]);
        assert_eq!(lb.place(placement("late")), Err(NoInvoker));
        lb.ping(&InvokerPing {
            invoker: InvokerId(0),
            user_memory_mb: 2048,
        });
        assert_eq!(lb.invokers(), vec![(InvokerId(0), InvokerState::Up)]);
        assert_eq!(lb.memory().1, 2048);
        assert!(lb.place(placement("back")).is_ok());
    }
}

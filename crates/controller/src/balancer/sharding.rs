//! OpenWhisk's sharding balancer (spec §5, `ShardingContainerPoolBalancer`), for a cluster of
//! invokers in separate processes.
//!
//! - **Home invoker.** An action's activations go to the same invoker while it has room, so
//!   its warm containers get reused: the home is a hash of the invoking namespace and the action
//!   modulo the number of invokers; from there the search steps through the invokers by a
//!   step size co-prime with their number (so it visits each once), the step chosen by the same
//!   hash (so different actions spread differently when their home is full).
//! - **Memory slots.** Each invoker's user memory is divided among the controllers (each
//!   accounts only what it sent); an activation takes its action's memory on the invoker it goes
//!   to until its completion. An action with `limits.concurrency` N takes memory once per N
//!   activations in flight there (one shared container's worth), as OpenWhisk's nested
//!   semaphore does.
//! - **Overload.** When no invoker on the path has room, a random usable invoker takes the
//!   activation anyway (its queue absorbs it). With no usable invoker the caller gets a 503.
//! - **Health.** Pings register an invoker and keep it up; silence longer than
//!   [`OFFLINE_AFTER`] makes it offline. Of its last 10 results, more than 3 system errors make it
//!   unhealthy, more than 3 timeouts unresponsive; neither gets activations, only the health test
//!   activations the controller sends ([`LoadBalancer::needs_test`]) until its results recover.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

use rand::Rng;
use tokio::time::Instant;
use whirl_bus::{InvokerId, InvokerPing};

use super::{InvokerState, LoadBalancer, NoInvoker, Outcome, Placement, OFFLINE_AFTER};

/// The largest invoker id a ping may carry (`whirl invoker` refuses larger ones): a slot is kept
/// for every id up to the highest heard of.
const MAX_INVOKER_ID: u32 = 1023;

/// Results remembered per invoker, and how many failures of a kind among them make it unusable.
const WINDOW: usize = 10;
const TOLERATED: usize = 3;

#[derive(Debug)]
struct Invoker {
    last_ping: Instant,
    user_memory_mb: u64,
    /// MB this controller has placed there, in flight.
    reserved_mb: u64,
    /// Actions with concurrency > 1: (activations in flight, containers' worth reserved).
    shared: HashMap<String, (u32, u32)>,
    recent: VecDeque<Outcome>,
}

impl Invoker {
    fn state(&self) -> InvokerState {
        if self.last_ping.elapsed() > OFFLINE_AFTER {
            return InvokerState::Offline;
        }
        let count = |o: Outcome| self.recent.iter().filter(|r| **r == o).count();
        if count(Outcome::SystemError) > TOLERATED {
            InvokerState::Unhealthy
        } else if count(Outcome::Timeout) > TOLERATED {
            InvokerState::Unresponsive
        } else {
            InvokerState::Up
        }
    }
}

/// What one placement holds, to release it.
#[derive(Debug, Clone)]
struct Held {
    invoker: usize,
    action: String,
    memory_mb: u32,
    concurrency: u32,
}

#[derive(Debug, Default)]
struct State {
    /// By invoker id; `None` for ids never heard of (their place counts in the modulo, as
    /// OpenWhisk keeps an offline entry for every id up to the highest).
    invokers: Vec<Option<Invoker>>,
    held: HashMap<String, Held>,
}

/// The balancer of a cluster with several invokers.
#[derive(Debug)]
pub struct Sharding {
    /// How many controllers share each invoker's memory.
    controllers: u64,
    state: Mutex<State>,
}

fn hash_of(s: &str) -> u64 {
    // std's SipHash with fixed keys: stable across processes of the same build, so every
    // controller picks the same home for an action.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The step sizes for `n` invokers: numbers up to `n` co-prime with `n` and with each other.
fn step_sizes(n: usize) -> Vec<usize> {
    let mut steps: Vec<usize> = Vec::new();
    for cur in 1..=n {
        if gcd(cur, n) == 1 && steps.iter().all(|&s| gcd(s, cur) == 1) {
            steps.push(cur);
        }
    }
    steps
}

impl Sharding {
    /// A balancer for a cluster of `controllers` controllers (at least 1).
    pub fn new(controllers: u32) -> Self {
        Self {
            controllers: u64::from(controllers.max(1)),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn capacity(&self, inv: &Invoker) -> u64 {
        inv.user_memory_mb / self.controllers
    }

    /// Take a slot on `inv` if it has room (or regardless, with `force`).
    fn acquire(&self, inv: &mut Invoker, p: &Placement<'_>, force: bool) -> bool {
        let memory = u64::from(p.memory_mb);
        let room = force || inv.reserved_mb + memory <= self.capacity(inv);
        if p.concurrency <= 1 {
            if room {
                inv.reserved_mb += memory;
            }
            return room;
        }
        let (active, containers) = inv.shared.get(p.action_id).copied().unwrap_or((0, 0));
        if active < containers * p.concurrency {
            inv.shared
                .insert(p.action_id.to_string(), (active + 1, containers));
            return true;
        }
        if room {
            inv.reserved_mb += memory;
            inv.shared
                .insert(p.action_id.to_string(), (active + 1, containers + 1));
        }
        room
    }

    /// MB this controller holds on invoker `id`.
    pub fn reserved(&self, id: InvokerId) -> u64 {
        let s = self.state();
        s.invokers
            .get(id.0 as usize)
            .and_then(Option::as_ref)
            .map_or(0, |i| i.reserved_mb)
    }
}

impl LoadBalancer for Sharding {
    fn place(&self, p: Placement<'_>) -> Result<InvokerId, NoInvoker> {
        let mut guard = self.state();
        let s = &mut *guard;
        let n = s.invokers.len();
        if n == 0 {
            return Err(NoInvoker);
        }
        let hash = hash_of(p.namespace) ^ hash_of(p.action_id);
        let home = (hash % n as u64) as usize;
        let steps = step_sizes(n);
        let step = steps[(hash % steps.len() as u64) as usize];
        let mut chosen = None;
        let mut at = home;
        for _ in 0..n {
            if let Some(inv) = s.invokers[at].as_mut() {
                if inv.state() == InvokerState::Up && self.acquire(inv, &p, false) {
                    chosen = Some(at);
                    break;
                }
            }
            at = (at + step) % n;
        }
        let chosen = match chosen {
            Some(c) => c,
            None => {
                let usable: Vec<usize> = (0..n)
                    .filter(|&i| {
                        s.invokers[i]
                            .as_ref()
                            .is_some_and(|inv| inv.state() == InvokerState::Up)
                    })
                    .collect();
                if usable.is_empty() {
                    return Err(NoInvoker);
                }
                let pick = usable[rand::thread_rng().gen_range(0..usable.len())];
                tracing::warn!(invoker = pick, "all invokers are full: overload placement");
                if let Some(inv) = s.invokers[pick].as_mut() {
                    self.acquire(inv, &p, true);
                }
                pick
            }
        };
        s.held.insert(
            p.activation_id.to_string(),
            Held {
                invoker: chosen,
                action: p.action_id.to_string(),
                memory_mb: p.memory_mb,
                concurrency: p.concurrency,
            },
        );
        Ok(InvokerId(chosen as u32))
    }

    fn release(&self, activation_id: &str) {
        let mut s = self.state();
        let Some(h) = s.held.remove(activation_id) else {
            return;
        };
        let Some(inv) = s.invokers.get_mut(h.invoker).and_then(Option::as_mut) else {
            return;
        };
        let memory = u64::from(h.memory_mb);
        if h.concurrency <= 1 {
            inv.reserved_mb = inv.reserved_mb.saturating_sub(memory);
            return;
        }
        if let Some((active, containers)) = inv.shared.get(&h.action).copied() {
            let active = active.saturating_sub(1);
            let mut containers = containers;
            if containers > 0 && active <= (containers - 1) * h.concurrency {
                containers -= 1;
                inv.reserved_mb = inv.reserved_mb.saturating_sub(memory);
            }
            if active == 0 && containers == 0 {
                inv.shared.remove(&h.action);
            } else {
                inv.shared.insert(h.action, (active, containers));
            }
        }
    }

    fn ping(&self, ping: &InvokerPing) {
        if ping.invoker.0 > MAX_INVOKER_ID {
            tracing::warn!(invoker = %ping.invoker, "ping from an invoker id out of range ignored");
            return;
        }
        let mut s = self.state();
        let at = ping.invoker.0 as usize;
        if s.invokers.len() <= at {
            s.invokers.resize_with(at + 1, || None);
        }
        match s.invokers[at].as_mut() {
            Some(inv) => {
                inv.last_ping = Instant::now();
                inv.user_memory_mb = ping.user_memory_mb;
            }
            None => {
                tracing::info!(invoker = %ping.invoker, "invoker registered");
                s.invokers[at] = Some(Invoker {
                    last_ping: Instant::now(),
                    user_memory_mb: ping.user_memory_mb,
                    reserved_mb: 0,
                    shared: HashMap::new(),
                    recent: VecDeque::new(),
                });
            }
        }
    }

    fn invokers(&self) -> Vec<(InvokerId, InvokerState)> {
        let s = self.state();
        s.invokers
            .iter()
            .enumerate()
            .map(|(i, inv)| {
                let state = inv.as_ref().map_or(InvokerState::Offline, Invoker::state);
                (InvokerId(i as u32), state)
            })
            .collect()
    }

    fn outcome(&self, invoker: InvokerId, outcome: Outcome) {
        let mut s = self.state();
        if let Some(inv) = s
            .invokers
            .get_mut(invoker.0 as usize)
            .and_then(Option::as_mut)
        {
            inv.recent.push_back(outcome);
            while inv.recent.len() > WINDOW {
                inv.recent.pop_front();
            }
        }
    }

    fn needs_test(&self) -> Vec<InvokerId> {
        self.invokers()
            .into_iter()
            .filter(|(_, st)| matches!(st, InvokerState::Unhealthy | InvokerState::Unresponsive))
            .map(|(id, _)| id)
            .collect()
    }

    fn held_by(&self, invoker: InvokerId) -> Vec<String> {
        let s = self.state();
        s.held
            .iter()
            .filter(|(_, h)| h.invoker == invoker.0 as usize)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ping(lb: &Sharding, id: u32, mb: u64) {
        lb.ping(&InvokerPing {
            invoker: InvokerId(id),
            user_memory_mb: mb,
        });
    }

    fn placement<'a>(id: &'a str, action: &'a str, memory_mb: u32) -> Placement<'a> {
        Placement {
            activation_id: id,
            namespace: "guest",
            action_id: action,
            memory_mb,
            concurrency: 1,
        }
    }

    #[test]
    fn step_sizes_are_pairwise_coprime_with_the_count() {
        assert_eq!(step_sizes(1), vec![1]);
        assert_eq!(step_sizes(2), vec![1]);
        assert_eq!(step_sizes(3), vec![1, 2]);
        assert_eq!(step_sizes(4), vec![1, 3]);
        assert_eq!(step_sizes(10), vec![1, 3, 7]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_action_stays_home_until_it_is_full_then_spreads() {
        let lb = Sharding::new(1);
        assert_eq!(lb.place(placement("x", "guest/a", 256)), Err(NoInvoker));
        for i in 0..3 {
            ping(&lb, i, 512);
        }
        let home = lb.place(placement("a1", "guest/a", 256)).unwrap();
        assert_eq!(lb.place(placement("a2", "guest/a", 256)).unwrap(), home);
        // Home full (512 MB): the next goes elsewhere, then the third invoker.
        let second = lb.place(placement("a3", "guest/a", 256)).unwrap();
        assert_ne!(second, home);
        let mut seen = std::collections::BTreeSet::new();
        for i in 4..=6 {
            seen.insert(
                lb.place(placement(&format!("a{i}"), "guest/a", 256))
                    .unwrap(),
            );
        }
        assert_eq!(seen.len(), 2, "the other two invokers: {seen:?}");
        // Everything full: overload placement on a usable invoker, never refused.
        assert!(lb.place(placement("over", "guest/a", 256)).is_ok());
        // Released slots are reused at home (two of them: the overload placement may have
        // gone home too).
        lb.release("a1");
        lb.release("a1");
        lb.release("a2");
        assert_eq!(lb.place(placement("again", "guest/a", 256)).unwrap(), home);
    }

    #[tokio::test(start_paused = true)]
    async fn memory_is_shared_among_controllers() {
        let lb = Sharding::new(2);
        ping(&lb, 0, 1024);
        ping(&lb, 1, 1024);
        let home = lb.place(placement("a1", "guest/a", 256)).unwrap();
        assert_eq!(lb.place(placement("a2", "guest/a", 256)).unwrap(), home);
        // This controller's half of 1024 MB is used up at home.
        assert_ne!(lb.place(placement("a3", "guest/a", 256)).unwrap(), home);
        assert_eq!(lb.reserved(home), 512);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_actions_take_memory_once_per_container() {
        let lb = Sharding::new(1);
        ping(&lb, 0, 256);
        let p = |id: &'static str| Placement {
            concurrency: 3,
            ..placement(id, "guest/c", 256)
        };
        for id in ["c1", "c2", "c3"] {
            assert_eq!(lb.place(p(id)), Ok(InvokerId(0)));
        }
        assert_eq!(lb.reserved(InvokerId(0)), 256);
        // A fourth needs a second container: overload (one invoker, full).
        assert_eq!(lb.place(p("c4")), Ok(InvokerId(0)));
        assert_eq!(lb.reserved(InvokerId(0)), 512);
        for id in ["c4", "c3", "c2"] {
            lb.release(id);
        }
        assert_eq!(lb.reserved(InvokerId(0)), 256);
        lb.release("c1");
        assert_eq!(lb.reserved(InvokerId(0)), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn health_offline_unhealthy_and_recovery() {
        let lb = Sharding::new(1);
        ping(&lb, 1, 1024);
        // Invoker 0 never pinged: offline; invoker 1 takes everything.
        assert_eq!(
            lb.invokers(),
            vec![
                (InvokerId(0), InvokerState::Offline),
                (InvokerId(1), InvokerState::Up)
            ]
        );
        for i in 0..5 {
            assert_eq!(
                lb.place(placement(&format!("a{i}"), &format!("guest/a{i}"), 128)),
                Ok(InvokerId(1))
            );
        }
        assert_eq!(lb.held_by(InvokerId(1)).len(), 5);
        for _ in 0..4 {
            lb.outcome(InvokerId(1), Outcome::SystemError);
        }
        assert_eq!(lb.invokers()[1].1, InvokerState::Unhealthy);
        assert_eq!(lb.needs_test(), vec![InvokerId(1)]);
        assert_eq!(lb.place(placement("x", "guest/x", 128)), Err(NoInvoker));
        // Health tests succeed: usable again.
        for _ in 0..7 {
            lb.outcome(InvokerId(1), Outcome::Success);
        }
        assert_eq!(lb.invokers()[1].1, InvokerState::Up);
        for _ in 0..4 {
            lb.outcome(InvokerId(1), Outcome::Timeout);
        }
        assert_eq!(lb.invokers()[1].1, InvokerState::Unresponsive);
        // Silence: offline.
        tokio::time::advance(OFFLINE_AFTER + Duration::from_secs(1)).await;
        assert_eq!(lb.invokers()[1].1, InvokerState::Offline);
        assert!(lb.needs_test().is_empty());
    }
}

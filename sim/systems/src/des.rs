//! A small discrete-event engine for the system-level timing models.
//!
//! Resources are FIFO servers (a link direction, a device's memory, an accumulator, the host's
//! reduce): an item that arrives at time t starts at max(t, free) and holds the server for its
//! service time. Jobs follow a route of hops; events are handled in time order (ties in the
//! order they were made), so every server sees its arrivals in time order. A route ends in a
//! join: a group counts the jobs that reached it and, when the last one has, starts the jobs it
//! emits (a row read that becomes lines, lines that become a partial sum, partial sums that
//! complete a bag).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One FIFO resource.
#[derive(Clone, Debug, Default)]
pub struct Server {
    pub name: String,
    free: f64,
    /// Time spent serving (for utilisation).
    pub busy_ns: f64,
    /// Items and bytes served.
    pub items: u64,
    pub bytes: u64,
}

/// One step of a route.
#[derive(Clone, Copy, Debug)]
pub enum Hop {
    /// Hold server `id` for `ns`, moving `bytes` (counted on the server).
    Serve { id: usize, ns: f64, bytes: u64 },
    /// Pure latency.
    Delay(f64),
    /// A read of tiered device `id` ([`Engine::tier`]): the next line of that device's read
    /// sequence, timed by its cache and memories.
    Tier { id: usize },
}

/// A tiered device in the engine: its timing model and the line addresses it reads, in the
/// order reads arrive (every route to one device is FIFO, so arrival order is issue order).
pub struct TierSlot {
    pub dev: pifs_sim::device::TierDevice,
    pub reads: Vec<u64>,
    next: usize,
}

/// What a group does once all of its jobs have arrived.
#[derive(Clone, Debug)]
pub struct Group {
    /// Jobs still to arrive.
    pub remaining: u32,
    /// Start `emit` jobs on route `route`, each joining group `then`.
    pub emit: u32,
    pub route: usize,
    pub then: usize,
    /// Time the last job arrived (NaN until then).
    pub done: f64,
}

impl Group {
    /// A terminal group: records the completion time only.
    pub fn terminal(remaining: u32) -> Group {
        Group {
            remaining,
            emit: 0,
            route: usize::MAX,
            then: usize::MAX,
            done: f64::NAN,
        }
    }
}

/// Event key: time, then creation order. Times are finite (total order by `total_cmp`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Key(f64, u64);
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Key {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0).then(self.1.cmp(&o.1))
    }
}

/// The engine: servers, routes, groups and the event queue.
#[derive(Default)]
pub struct Engine {
    pub servers: Vec<Server>,
    pub routes: Vec<Vec<Hop>>,
    pub groups: Vec<Group>,
    /// (time, seq) -> (route, position, group)
    queue: BinaryHeap<Reverse<(Key, usize, usize, usize)>>,
    seq: u64,
    /// Called with (group, time) when a group completes; used for feedback such as the host's
    /// outstanding-request limit.
    pub completions: Vec<(usize, f64)>,
    pub tiers: Vec<TierSlot>,
}

impl Engine {
    pub fn server(&mut self, name: impl Into<String>) -> usize {
        self.servers.push(Server {
            name: name.into(),
            ..Server::default()
        });
        self.servers.len() - 1
    }

    pub fn route(&mut self, hops: Vec<Hop>) -> usize {
        self.routes.push(hops);
        self.routes.len() - 1
    }

    /// Add a tiered device that reads `reads` in order; returns the id for [`Hop::Tier`].
    pub fn tier(&mut self, dev: pifs_sim::device::TierDevice, reads: Vec<u64>) -> usize {
        self.tiers.push(TierSlot {
            dev,
            reads,
            next: 0,
        });
        self.tiers.len() - 1
    }

    pub fn group(&mut self, g: Group) -> usize {
        self.groups.push(g);
        self.groups.len() - 1
    }

    /// Start a job on `route` at `time`; it joins `group` at the end.
    pub fn start(&mut self, time: f64, route: usize, group: usize) {
        self.seq += 1;
        self.queue
            .push(Reverse((Key(time, self.seq), route, 0, group)));
    }

    /// Time of the next event, if any.
    pub fn peek_time(&self) -> Option<f64> {
        self.queue.peek().map(|Reverse((k, ..))| k.0)
    }

    /// Handle every event up to and including time `until`; completed groups are appended to
    /// `completions`.
    pub fn run_until(&mut self, until: f64) {
        while let Some(Reverse((Key(t, _), route, pos, group))) = self.queue.peek().copied() {
            if t > until {
                break;
            }
            self.queue.pop();
            match self.routes[route].get(pos).copied() {
                Some(Hop::Serve { id, ns, bytes }) => {
                    let s = &mut self.servers[id];
                    let start = t.max(s.free);
                    s.free = start + ns;
                    s.busy_ns += ns;
                    s.items += 1;
                    s.bytes += bytes;
                    let done = s.free;
                    self.seq += 1;
                    self.queue
                        .push(Reverse((Key(done, self.seq), route, pos + 1, group)));
                }
                Some(Hop::Tier { id }) => {
                    let slot = &mut self.tiers[id];
                    let addr = *slot
                        .reads
                        .get(slot.next)
                        .expect("a tiered device is read exactly its read sequence");
                    slot.next += 1;
                    let done = slot.dev.read(t, addr);
                    self.seq += 1;
                    self.queue
                        .push(Reverse((Key(done, self.seq), route, pos + 1, group)));
                }
                Some(Hop::Delay(d)) => {
                    self.seq += 1;
                    self.queue
                        .push(Reverse((Key(t + d, self.seq), route, pos + 1, group)));
                }
                None => {
                    let g = &mut self.groups[group];
                    g.remaining -= 1;
                    if g.remaining == 0 {
                        g.done = t;
                        let (emit, r, then) = (g.emit, g.route, g.then);
                        for _ in 0..emit {
                            self.start(t, r, then);
                        }
                        self.completions.push((group, t));
                    }
                }
            }
        }
    }

    /// Run to the end.
    pub fn run(&mut self) {
        self.run_until(f64::INFINITY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_server_queues_and_groups_join() {
        let mut e = Engine::default();
        let s = e.server("link");
        let r = e.route(vec![
            Hop::Delay(5.0),
            Hop::Serve {
                id: s,
                ns: 2.0,
                bytes: 64,
            },
        ]);
        let g = e.group(Group::terminal(3));
        for _ in 0..3 {
            e.start(0.0, r, g);
        }
        e.run();
        // Three jobs arrive together at 5 and leave at 7, 9, 11.
        assert_eq!(e.groups[g].done, 11.0);
        assert_eq!(e.servers[s].busy_ns, 6.0);
        assert_eq!(e.servers[s].bytes, 192);
    }

    #[test]
    fn a_group_emits_its_jobs() {
        let mut e = Engine::default();
        let s = e.server("acc");
        let r1 = e.route(vec![Hop::Delay(1.0)]);
        let r2 = e.route(vec![Hop::Serve {
            id: s,
            ns: 1.0,
            bytes: 0,
        }]);
        let fin = e.group(Group::terminal(4));
        let g = e.group(Group {
            remaining: 2,
            emit: 4,
            route: r2,
            then: fin,
            done: f64::NAN,
        });
        e.start(0.0, r1, g);
        e.start(3.0, r1, g);
        e.run();
        assert_eq!(e.groups[g].done, 4.0);
        assert_eq!(e.groups[fin].done, 8.0);
    }
}

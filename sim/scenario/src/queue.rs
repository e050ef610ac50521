//! The switch as one shared server: requests of every model queue for it, first come first
//! served by the time they become ready, and are not preempted.
//!
//! A root model's request is ready at its arrival; a cascaded model's request for frame n is
//! ready when the request for frame n of the model it follows completes. A request's deadline is
//! absolute: the arrival of its frame at the root plus the model's deadline. With `drop_late`, a
//! request that would start after its deadline is dropped without using the server (XRBench's
//! runtime drops queued requests whose deadline has passed), and so is every request of the same
//! frame that depends on it.
//!
//! Service: request n of a model uses sample `n mod len` of the model's service pool. It
//! completes `latency` after it starts; the server accepts the next request `occupancy` after
//! the start (`occupancy = latency` for the serial model, the bottleneck's busy time for the
//! pipelined one; see [`crate::spec::Contention`]).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Service of one request batch, measured on a system in isolation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Service {
    pub latency_ns: f64,
    /// How long the request keeps the next one from starting (at most `latency_ns`).
    pub occupancy_ns: f64,
}

/// One model's requests as the queue sees them.
#[derive(Clone, Debug)]
pub struct Stream {
    /// Arrival times (ns, non-decreasing) of a root model; ignored when `after` is set.
    pub arrivals: Vec<f64>,
    /// The stream this one follows (an earlier index).
    pub after: Option<usize>,
    /// Deadline from the frame's arrival at the root, ns.
    pub deadline_ns: f64,
    pub service: Vec<Service>,
}

/// What happened to one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    pub stream: usize,
    pub frame: usize,
    /// Arrival of the frame at the root of the cascade, ns.
    pub origin_ns: f64,
    /// When the request became ready (arrival or predecessor's completion); for a request
    /// dropped because its predecessor was, the predecessor's drop time.
    pub ready_ns: f64,
    /// Absolute deadline, ns.
    pub deadline_ns: f64,
    /// Start and completion; `None` when dropped.
    pub start_ns: Option<f64>,
    pub complete_ns: Option<f64>,
}

impl Outcome {
    pub fn dropped(&self) -> bool {
        self.complete_ns.is_none()
    }

    /// Completed after its deadline.
    pub fn late(&self) -> bool {
        self.complete_ns.is_some_and(|c| c > self.deadline_ns)
    }

    /// Dropped or late.
    pub fn missed(&self) -> bool {
        self.dropped() || self.late()
    }

    /// Completion minus the frame's arrival at the root (end to end), ns.
    pub fn latency_ns(&self) -> Option<f64> {
        self.complete_ns.map(|c| c - self.origin_ns)
    }
}

/// A ready request in the queue: earliest ready first, then stream, then frame.
struct Ready {
    t: f64,
    stream: usize,
    frame: usize,
    origin: f64,
}

impl PartialEq for Ready {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Ready {}
impl PartialOrd for Ready {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ready {
    // Reversed: BinaryHeap is a max-heap.
    fn cmp(&self, o: &Self) -> Ordering {
        o.t.total_cmp(&self.t)
            .then(o.stream.cmp(&self.stream))
            .then(o.frame.cmp(&self.frame))
    }
}

/// Serve every request of `streams`; outcomes in the order requests left the queue.
///
/// Panics if a stream's `after` does not name an earlier stream or a service pool is empty
/// (the scenario parser guarantees both).
pub fn simulate(streams: &[Stream], drop_late: bool) -> Vec<Outcome> {
    let followers: Vec<Vec<usize>> = (0..streams.len())
        .map(|i| {
            (0..streams.len())
                .filter(|&j| streams[j].after == Some(i))
                .collect()
        })
        .collect();
    let mut heap = BinaryHeap::new();
    for (s, st) in streams.iter().enumerate() {
        assert!(!st.service.is_empty(), "stream {s}: empty service pool");
        if let Some(a) = st.after {
            assert!(a < s, "stream {s}: after = {a} is not an earlier stream");
            continue;
        }
        for (frame, &t) in st.arrivals.iter().enumerate() {
            heap.push(Ready {
                t,
                stream: s,
                frame,
                origin: t,
            });
        }
    }
    let mut out = Vec::new();
    let mut free_at = f64::NEG_INFINITY;
    while let Some(r) = heap.pop() {
        let st = &streams[r.stream];
        let deadline = r.origin + st.deadline_ns;
        let start = r.t.max(free_at);
        if drop_late && start > deadline {
            drop_frame(
                streams, &followers, r.stream, r.frame, r.origin, r.t, start, &mut out,
            );
            continue;
        }
        let svc = st.service[r.frame % st.service.len()];
        let complete = start + svc.latency_ns;
        free_at = start + svc.occupancy_ns;
        out.push(Outcome {
            stream: r.stream,
            frame: r.frame,
            origin_ns: r.origin,
            ready_ns: r.t,
            deadline_ns: deadline,
            start_ns: Some(start),
            complete_ns: Some(complete),
        });
        for &f in &followers[r.stream] {
            heap.push(Ready {
                t: complete,
                stream: f,
                frame: r.frame,
                origin: r.origin,
            });
        }
    }
    out
}

/// Record request (`stream`, `frame`) as dropped at `at`, and every request of the frame that
/// depends on it.
#[allow(clippy::too_many_arguments)]
fn drop_frame(
    streams: &[Stream],
    followers: &[Vec<usize>],
    stream: usize,
    frame: usize,
    origin: f64,
    ready: f64,
    at: f64,
    out: &mut Vec<Outcome>,
) {
    out.push(Outcome {
        stream,
        frame,
        origin_ns: origin,
        ready_ns: ready,
        deadline_ns: origin + streams[stream].deadline_ns,
        start_ns: None,
        complete_ns: None,
    });
    for &f in &followers[stream] {
        drop_frame(streams, followers, f, frame, origin, at, at, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pifs_rng::Rng;

    fn svc(l: f64) -> Service {
        Service {
            latency_ns: l,
            occupancy_ns: l,
        }
    }

    /// Waiting times of a single FIFO server by the Lindley recursion
    /// W(n+1) = max(0, W(n) + S(n) - (A(n+1) - A(n))), written without any queue.
    fn lindley(arrivals: &[f64], services: &[f64]) -> Vec<f64> {
        let mut w = vec![0.0; arrivals.len()];
        for n in 1..arrivals.len() {
            w[n] = (w[n - 1] + services[n - 1] - (arrivals[n] - arrivals[n - 1])).max(0.0);
        }
        w
    }

    #[test]
    fn periodic_constant_service_matches_lindley() {
        // Service longer than the period: the queue grows by 2 ns a request.
        let arrivals: Vec<f64> = (0..50).map(|n| n as f64 * 10.0).collect();
        let st = Stream {
            arrivals: arrivals.clone(),
            after: None,
            deadline_ns: 1e12,
            service: vec![svc(12.0)],
        };
        let out = simulate(&[st], false);
        let w = lindley(&arrivals, &[12.0; 50]);
        assert_eq!(out.len(), 50);
        for o in &out {
            let wait = o.start_ns.unwrap() - o.ready_ns;
            assert!(
                (wait - w[o.frame]).abs() < 1e-9,
                "frame {}: {wait} vs {}",
                o.frame,
                w[o.frame]
            );
        }
        // And the closed form of this case: W(n) = 2n.
        assert!((w[49] - 98.0).abs() < 1e-9);
    }

    #[test]
    fn two_poisson_streams_match_lindley_on_the_merged_sequence() {
        let mut rng = Rng::new(7);
        let mut mk = |rate: f64, n: usize| {
            let mut t = 0.0;
            (0..n)
                .map(|_| {
                    t += -(1.0 - rng.unit_f64()).ln() / rate;
                    t
                })
                .collect::<Vec<f64>>()
        };
        let a0 = mk(0.05, 300);
        let a1 = mk(0.02, 120);
        let pools = [
            vec![svc(6.0), svc(9.0), svc(4.5)],
            vec![svc(20.0), svc(14.0)],
        ];
        let streams = vec![
            Stream {
                arrivals: a0.clone(),
                after: None,
                deadline_ns: 1e12,
                service: pools[0].clone(),
            },
            Stream {
                arrivals: a1.clone(),
                after: None,
                deadline_ns: 1e12,
                service: pools[1].clone(),
            },
        ];
        let out = simulate(&streams, false);
        // The merged arrival sequence in time order with each request's own service.
        let mut merged: Vec<(f64, usize, usize)> = a0
            .iter()
            .enumerate()
            .map(|(n, &t)| (t, 0, n))
            .chain(a1.iter().enumerate().map(|(n, &t)| (t, 1, n)))
            .collect();
        merged.sort_by(|x, y| x.0.total_cmp(&y.0));
        let arr: Vec<f64> = merged.iter().map(|m| m.0).collect();
        let ser: Vec<f64> = merged
            .iter()
            .map(|&(_, s, n)| pools[s][n % pools[s].len()].latency_ns)
            .collect();
        let w = lindley(&arr, &ser);
        assert_eq!(out.len(), merged.len());
        for (k, &(_, s, n)) in merged.iter().enumerate() {
            let o = out.iter().find(|o| o.stream == s && o.frame == n).unwrap();
            let wait = o.start_ns.unwrap() - o.ready_ns;
            assert!((wait - w[k]).abs() < 1e-6, "{s}/{n}: {wait} vs {}", w[k]);
        }
        assert!(w.iter().any(|&x| x > 0.0), "the case must have queueing");
    }

    #[test]
    fn cascade_follower_starts_after_its_predecessor_and_is_dropped_with_it() {
        let mut rng = Rng::new(3);
        let mut t = 0.0;
        let arrivals: Vec<f64> = (0..400)
            .map(|_| {
                t += -(1.0 - rng.unit_f64()).ln() * 12.0;
                t
            })
            .collect();
        // A: the root; B after A; C independent, competing for the server.
        let streams = vec![
            Stream {
                arrivals,
                after: None,
                deadline_ns: 30.0,
                service: vec![svc(4.0), svc(7.0)],
            },
            Stream {
                arrivals: vec![],
                after: Some(0),
                deadline_ns: 30.0,
                service: vec![svc(3.0)],
            },
            Stream {
                arrivals: (0..300).map(|n| n as f64 * 15.0).collect(),
                after: None,
                deadline_ns: 20.0,
                service: vec![svc(5.0)],
            },
        ];
        let out = simulate(&streams, true);
        let find = |s: usize, f: usize| out.iter().find(|o| o.stream == s && o.frame == f);
        let mut drops = 0;
        for frame in 0..400 {
            let a = find(0, frame).expect("every A frame has an outcome");
            let b = find(1, frame).expect("every B frame has an outcome");
            assert_eq!(b.origin_ns, a.origin_ns);
            match (a.complete_ns, b.start_ns) {
                (Some(ac), Some(bs)) => {
                    assert!(bs >= ac, "frame {frame}: B starts {bs} before A ends {ac}")
                }
                (None, Some(_)) => panic!("frame {frame}: B ran although A was dropped"),
                (None, None) => drops += 1,
                (Some(_), None) => {}
            }
        }
        assert!(drops > 0, "the case must drop some A frames");
        // Never two requests on the serial server at once.
        let mut busy: Vec<(f64, f64)> = out
            .iter()
            .filter_map(|o| Some((o.start_ns?, o.complete_ns?)))
            .collect();
        busy.sort_by(|x, y| x.0.total_cmp(&y.0));
        for w in busy.windows(2) {
            assert!(w[1].0 >= w[0].1 - 1e-9);
        }
    }

    #[test]
    fn pipelined_occupancy_lets_the_next_request_start_early() {
        let st = Stream {
            arrivals: vec![0.0, 0.0, 0.0],
            after: None,
            deadline_ns: 1e9,
            service: vec![Service {
                latency_ns: 10.0,
                occupancy_ns: 4.0,
            }],
        };
        let out = simulate(&[st], false);
        let starts: Vec<f64> = out.iter().map(|o| o.start_ns.unwrap()).collect();
        let ends: Vec<f64> = out.iter().map(|o| o.complete_ns.unwrap()).collect();
        assert_eq!(starts, vec![0.0, 4.0, 8.0]);
        assert_eq!(ends, vec![10.0, 14.0, 18.0]);
    }
}

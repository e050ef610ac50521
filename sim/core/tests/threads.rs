//! Ports on threads (`RunConfig::threads`): the output of `system::run` does not depend on how
//! many ports are simulated at once. Reference-model backend (the RTL backend runs the same
//! per-port code; `tests/` covers it at one thread).

use pifs_dlrm::{generate, IndexDist, Weights};
use pifs_sim::system::{run, Backend, RunConfig};

#[test]
fn threads_do_not_change_the_output() {
    // RM1-like: 8 tables, dim 32 (two lines per row), Zipf so ports are unevenly loaded and
    // finish out of order.
    let trace = generate(8, 4_000_000, 16, 80, IndexDist::Zipf { alpha: 1.05 }, 7).unwrap();
    let weights = Weights::Synthetic { dim: 32 };
    let cfg = |threads| RunConfig {
        backend: Backend::Model,
        ports: 8,
        seed: 3,
        threads,
        ..RunConfig::default()
    };
    let one = run(&trace, &weights, &cfg(1)).unwrap();
    for threads in [2, 3, 8] {
        let many = run(&trace, &weights, &cfg(threads)).unwrap();
        assert_eq!(many.pooled, one.pooled, "pooled output, {threads} threads");
        assert_eq!(
            many.result_lines, one.result_lines,
            "result order, {threads} threads"
        );
        assert_eq!(
            serde_json::to_string(&many.stats).unwrap(),
            serde_json::to_string(&one.stats).unwrap(),
            "stats, {threads} threads"
        );
    }
}

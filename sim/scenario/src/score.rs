//! XRBench-style score (Kwon et al., MLSys 2023; the formulas as the XRBench-MLSys2023 code's
//! `HET_scoring-module.hpp` computes them), with the energy and accuracy terms left out:
//!
//! - real-time score of a completed inference: `rt = 1 / (1 + exp(k * (completion - deadline)))`
//!   (0.5 at the deadline, towards 1 early, towards 0 late). XRBench uses k = 15 per ms with
//!   frame deadlines of 16.7-33 ms; our deadlines are microseconds, so we scale the delay by the
//!   model's own deadline D: `rt = 1 / (1 + exp(rt_k * (completion - deadline) / D))`, with
//!   `rt_k = 250` (= 15 /ms x 16.7 ms) by default: the same shape relative to the deadline.
//! - QoE score of a model: `qoe = 1 - dropped / requests`.
//! - model score: `(sum of rt over completed requests) / requests * qoe` (dropped requests add
//!   nothing to the sum but count in the denominator, as in XRBench).
//! - scenario score: `100 * mean of the model scores`.

use crate::queue::Outcome;

/// Real-time score of one completion; `rt_k` is the steepness per deadline.
pub fn rt_score(complete_ns: f64, deadline_abs_ns: f64, deadline_rel_ns: f64, rt_k: f64) -> f64 {
    1.0 / (1.0 + (rt_k * (complete_ns - deadline_abs_ns) / deadline_rel_ns).exp())
}

/// Score terms of one model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelScore {
    /// Mean real-time score over the completed requests (0 when none completed).
    pub rt_mean: f64,
    pub qoe: f64,
    pub score: f64,
}

/// Score terms of one model's outcomes (all requests of that model).
pub fn model_score(outcomes: &[&Outcome], deadline_rel_ns: f64, rt_k: f64) -> ModelScore {
    let n = outcomes.len();
    if n == 0 {
        return ModelScore {
            rt_mean: 0.0,
            qoe: 0.0,
            score: 0.0,
        };
    }
    let rts: Vec<f64> = outcomes
        .iter()
        .filter_map(|o| {
            o.complete_ns
                .map(|c| rt_score(c, o.deadline_ns, deadline_rel_ns, rt_k))
        })
        .collect();
    let dropped = n - rts.len();
    let sum: f64 = rts.iter().sum();
    let qoe = 1.0 - dropped as f64 / n as f64;
    ModelScore {
        rt_mean: if rts.is_empty() {
            0.0
        } else {
            sum / rts.len() as f64
        },
        qoe,
        score: sum / n as f64 * qoe,
    }
}

/// `100 * mean` of the model scores.
pub fn scenario_score(models: &[ModelScore]) -> f64 {
    if models.is_empty() {
        return 0.0;
    }
    100.0 * models.iter().map(|m| m.score).sum::<f64>() / models.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(c: f64, d: f64) -> Outcome {
        Outcome {
            stream: 0,
            frame: 0,
            origin_ns: 0.0,
            ready_ns: 0.0,
            deadline_ns: d,
            start_ns: Some(0.0),
            complete_ns: Some(c),
        }
    }

    fn dropped(d: f64) -> Outcome {
        Outcome {
            start_ns: None,
            complete_ns: None,
            ..done(0.0, d)
        }
    }

    #[test]
    fn rt_score_boundaries() {
        // Exactly at the deadline: one half, for any steepness.
        for k in [1.0, 250.0, 1e5] {
            assert_eq!(rt_score(100.0, 100.0, 100.0, k), 0.5);
        }
        // Far early -> 1, far late -> 0 (no NaN from the overflowing exponential).
        assert_eq!(rt_score(0.0, 1e9, 100.0, 250.0), 1.0);
        assert_eq!(rt_score(1e9, 0.0, 100.0, 250.0), 0.0);
        // The logistic's symmetry: rt(-x) = 1 - rt(x).
        let a = rt_score(99.0, 100.0, 100.0, 250.0);
        let b = rt_score(101.0, 100.0, 100.0, 250.0);
        assert!((a + b - 1.0).abs() < 1e-12);
        // XRBench's own parameters (k = 15 per ms) at 1 ms slack, in ns with D = 1 ms.
        let x = rt_score(0.0, 1e6, 1e6, 15.0);
        assert!((x - 1.0 / (1.0 + (-15.0f64).exp())).abs() < 1e-15);
    }

    #[test]
    fn model_and_scenario_score_boundaries() {
        let d = 100.0;
        // All dropped: qoe 0, score 0.
        let all_dropped = [dropped(d), dropped(d)];
        let r: Vec<&Outcome> = all_dropped.iter().collect();
        let s = model_score(&r, d, 250.0);
        assert_eq!((s.qoe, s.score, s.rt_mean), (0.0, 0.0, 0.0));
        // All far early: score -> 1; scenario of two such models -> 100.
        let early = [done(0.0, 1e6), done(0.0, 1e6)];
        let r: Vec<&Outcome> = early.iter().collect();
        let s = model_score(&r, d, 250.0);
        assert_eq!((s.qoe, s.score), (1.0, 1.0));
        assert_eq!(scenario_score(&[s, s]), 100.0);
        // Half dropped, the rest exactly at the deadline: (0.5 / 2) * 0.5 = 0.125.
        let half = [done(d, d), dropped(d)];
        let r: Vec<&Outcome> = half.iter().collect();
        let s = model_score(&r, d, 250.0);
        assert_eq!(s.qoe, 0.5);
        assert_eq!(s.rt_mean, 0.5);
        assert!((s.score - 0.125).abs() < 1e-15);
        assert_eq!(scenario_score(&[]), 0.0);
    }
}

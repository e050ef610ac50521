//! The human table and the two SVG charts of a [`Report`].

use crate::run::Report;
use pifs_systems::plot;

impl Report {
    /// One line per (system, model), then the score per system.
    pub fn table(&self) -> String {
        let mut s = format!(
            "scenario {} ({}, {} ms, contention {}, drop_late {}, backend {})\n",
            self.source, self.mode, self.duration_ms, self.contention, self.drop_late, self.backend
        );
        let w = self
            .models
            .iter()
            .map(|m| m.name.len())
            .max()
            .unwrap_or(0)
            .max(5);
        s += &format!(
            "{:<9} {:<w$} {:>8} {:>7} {:>7} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>5} {:>5}\n",
            "system",
            "model",
            "requests",
            "miss %",
            "dropped",
            "late",
            "mean us",
            "p50 us",
            "p90 us",
            "p99 us",
            "max us",
            "rt",
            "qoe"
        );
        for sys in &self.systems {
            for m in &sys.models {
                let l = |f: fn(&crate::run::Dist5) -> f64| {
                    m.latency_us
                        .as_ref()
                        .map(|d| format!("{:.2}", f(d)))
                        .unwrap_or_else(|| "-".into())
                };
                s += &format!(
                    "{:<9} {:<w$} {:>8} {:>7.2} {:>7} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>5.3} {:>5.3}\n",
                    sys.system,
                    m.model,
                    m.requests,
                    100.0 * m.miss_rate,
                    m.dropped,
                    m.late,
                    l(|d| d.mean),
                    l(|d| d.p50),
                    l(|d| d.p90),
                    l(|d| d.p99),
                    l(|d| d.max),
                    m.rt_score_mean,
                    m.qoe
                );
            }
        }
        for sys in &self.systems {
            s += &format!(
                "{}: offered load {:.3}, fabric utilisation {:.3}, score {:.1} / 100\n",
                sys.system, sys.offered_load, sys.utilisation, sys.score
            );
        }
        s
    }

    /// Deadline-miss rate (%) per model and system, as bars.
    pub fn miss_svg(&self) -> String {
        let mut labels = Vec::new();
        let mut values = Vec::new();
        for m in 0..self.models.len() {
            for sys in &self.systems {
                labels.push(format!("{} {}", self.models[m].name, sys.system));
                values.push(100.0 * sys.models[m].miss_rate);
            }
        }
        plot::bars(
            &format!("{} ({}): deadline misses", self.source, self.mode),
            "% of requests",
            &labels,
            &values,
        )
    }

    /// Fraction of each model's requests completed within x us (dropped requests never are),
    /// per system, on a shared x grid up to the largest deadline x 1.5.
    pub fn cdf_svg(&self) -> String {
        const POINTS: usize = 41;
        let xmax = self
            .models
            .iter()
            .map(|m| m.deadline_us)
            .fold(0.0, f64::max)
            * 1.5;
        let xs: Vec<f64> = (0..POINTS)
            .map(|i| xmax * i as f64 / (POINTS - 1) as f64)
            .collect();
        let mut series = Vec::new();
        for (m, echo) in self.models.iter().enumerate() {
            for sys in &self.systems {
                let r = &sys.models[m];
                let ys = xs
                    .iter()
                    .map(|&x| {
                        let within = r.latencies_ns.partition_point(|&l| l <= x * 1e3);
                        within as f64 / r.requests.max(1) as f64
                    })
                    .collect();
                series.push((format!("{} {}", echo.name, sys.system), ys));
            }
        }
        plot::lines(
            &format!("{} ({}): latency CDF", self.source, self.mode),
            "end-to-end latency (us)",
            "fraction of requests done",
            &xs,
            &series,
        )
    }
}

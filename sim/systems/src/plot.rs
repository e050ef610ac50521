//! Minimal SVG charts for the reports (no plotting dependency): grouped bars, x-y lines and
//! labelled x-y scatter points.

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const COLORS: [&str; 6] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#af7aa1",
];
const W: f64 = 640.0;
const H: f64 = 360.0;
const L: f64 = 70.0;
const R: f64 = 20.0;
const T: f64 = 40.0;
const B: f64 = 60.0;

fn frame(title: &str, ylabel: &str, ymax: f64, out: &mut String) {
    *out += &format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
        W / 2.0,
        esc(title)
    );
    *out += &format!(
        "<text transform=\"translate(15,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
        (T + H - B) / 2.0,
        esc(ylabel)
    );
    for i in 0..=4 {
        let v = ymax * i as f64 / 4.0;
        let y = H - B - (H - T - B) * i as f64 / 4.0;
        *out += &format!(
            "<line x1=\"{L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            W - R,
            L - 5.0,
            y + 4.0,
            fmt(v)
        );
    }
}

fn fmt(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn nice_max(v: f64) -> f64 {
    if v.is_nan() || v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&m| m >= v)
        .unwrap_or(10.0 * p)
}

/// One bar per label.
pub fn bars(title: &str, ylabel: &str, labels: &[String], values: &[f64]) -> String {
    let ymax = nice_max(values.iter().cloned().fold(0.0, f64::max));
    let mut s = String::new();
    frame(title, ylabel, ymax, &mut s);
    let n = labels.len().max(1) as f64;
    let slot = (W - L - R) / n;
    for (i, (l, v)) in labels.iter().zip(values).enumerate() {
        let h = (H - T - B) * v / ymax;
        let x = L + slot * i as f64 + slot * 0.15;
        s += &format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            H - B - h,
            slot * 0.7,
            COLORS[i % COLORS.len()],
            x + slot * 0.35,
            H - B + 18.0,
            esc(l),
            x + slot * 0.35,
            H - B - h - 4.0,
            fmt(*v)
        );
    }
    s + "</svg>\n"
}

/// Lines over a shared x axis: `series` = (name, y per x).
pub fn lines(
    title: &str,
    xlabel: &str,
    ylabel: &str,
    xs: &[f64],
    series: &[(String, Vec<f64>)],
) -> String {
    let ymax = nice_max(
        series
            .iter()
            .flat_map(|(_, v)| v.iter().cloned())
            .fold(0.0, f64::max),
    );
    let mut s = String::new();
    frame(title, ylabel, ymax, &mut s);
    let (x0, x1) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let span = if x1 > x0 { x1 - x0 } else { 1.0 };
    let px = |x: f64| L + (W - L - R) * (x - x0) / span;
    let py = |y: f64| H - B - (H - T - B) * y / ymax;
    for &x in xs {
        s += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            px(x),
            H - B + 16.0,
            fmt(x)
        );
    }
    s += &format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
        (L + W - R) / 2.0,
        H - 15.0,
        esc(xlabel)
    );
    for (k, (name, ys)) in series.iter().enumerate() {
        let c = COLORS[k % COLORS.len()];
        let pts: Vec<String> = xs
            .iter()
            .zip(ys)
            .map(|(&x, &y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        s += &format!(
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>\n",
            pts.join(" ")
        );
        for p in &pts {
            let (x, y) = p.split_once(',').unwrap();
            s += &format!("<circle cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"{c}\"/>\n");
        }
        s += &format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{c}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
            L + 10.0,
            T + 5.0 + 16.0 * k as f64,
            L + 25.0,
            T + 14.0 + 16.0 * k as f64,
            esc(name)
        );
    }
    s + "</svg>\n"
}

/// One labelled point of a scatter series.
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub label: String,
}

/// Points on a logarithmic x axis (whole decades around the data; x must be > 0), one colour
/// per series: `series` = (name, points). Each point carries its label. Log scale because the
/// points may span orders of magnitude (DRAM against NAND latencies).
pub fn scatter(title: &str, xlabel: &str, ylabel: &str, series: &[(String, Vec<Point>)]) -> String {
    let all = || series.iter().flat_map(|(_, p)| p.iter());
    let ymax = nice_max(all().map(|p| p.y).fold(0.0, f64::max));
    let xs = || all().map(|p| p.x).filter(|x| *x > 0.0);
    let lo = xs().fold(f64::INFINITY, f64::min);
    let hi = xs().fold(0.0, f64::max);
    let (d0, d1) = if lo.is_finite() && hi > 0.0 {
        let d0 = lo.log10().floor();
        (d0, hi.log10().ceil().max(d0 + 1.0))
    } else {
        (0.0, 1.0)
    };
    let mut s = String::new();
    frame(title, ylabel, ymax, &mut s);
    let px = |x: f64| L + (W - L - R) * (x.max(1e-300).log10() - d0) / (d1 - d0);
    let py = |y: f64| H - B - (H - T - B) * y / ymax;
    for d in d0 as i32..=d1 as i32 {
        let x = 10f64.powi(d);
        s += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            px(x),
            H - B + 16.0,
            fmt(x)
        );
    }
    s += &format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
        (L + W - R) / 2.0,
        H - 15.0,
        esc(xlabel)
    );
    for (k, (name, pts)) in series.iter().enumerate() {
        let c = COLORS[k % COLORS.len()];
        for p in pts {
            s += &format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{c}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\">{}</text>\n",
                px(p.x),
                py(p.y),
                px(p.x) + 5.0,
                py(p.y) - 5.0,
                esc(&p.label)
            );
        }
        s += &format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{c}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
            W - R - 120.0,
            T + 5.0 + 16.0 * k as f64,
            W - R - 105.0,
            T + 14.0 + 16.0 * k as f64,
            esc(name)
        );
    }
    s + "</svg>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_is_well_formed_enough() {
        let b = bars("t", "ns", &["a".into(), "b<".into()], &[1.0, 3.0]);
        assert!(b.starts_with("<svg") && b.ends_with("</svg>\n") && b.contains("b&lt;"));
        assert_eq!(nice_max(3.0), 5.0);
        assert_eq!(nice_max(1200.0), 2000.0);
        let l = lines("t", "x", "y", &[1.0, 2.0], &[("s".into(), vec![1.0, 2.0])]);
        assert_eq!(l.matches("<circle").count(), 2);
        let pt = |x, y| Point {
            x,
            y,
            label: "p<".into(),
        };
        let sc = scatter(
            "t",
            "x",
            "y",
            &[("a".into(), vec![pt(1.0, 2.0), pt(3.0, 0.5)])],
        );
        assert_eq!(sc.matches("<circle").count(), 2);
        assert!(sc.contains("p&lt;") && sc.ends_with("</svg>\n"));
    }
}

//! Global hotness detection and embedding spreading (PIFS-Rec's page-granular memory
//! management; docs/placement.md). Page-granular access counters over an epoch of batches, a
//! hot set (the top pages by accesses, optionally only those above a share of all accesses),
//! and a spreading step at each epoch boundary that migrates (one device) or replicates
//! (several devices) the hot pages onto the least-loaded devices. Every page that lands on a
//! device that did not hold all of its rows costs a copy: [`Move`]s of bytes from the device
//! that held the rows to the one that receives them, which the timing model charges to those
//! devices and links.

use crate::layout::{page_of, page_rows, Layout, PageId, TableScheme};
use pifs_dlrm::Trace;
use std::collections::BTreeMap;

/// What spreading does with the hot pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpreadMode {
    Off,
    /// Copy each hot page onto the `replicas` least-loaded devices; an access reads one copy.
    Replicate,
    /// Move each hot page to the least-loaded device.
    Migrate,
}

/// Hotness detection and spreading parameters (units: bytes, batches, pages, fraction).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HotConfig {
    pub mode: SpreadMode,
    pub page_bytes: u64,
    /// Batches per epoch: the hot set is recomputed from each epoch's counters and applied to
    /// the next epoch.
    pub epoch_batches: usize,
    /// At most this many hot pages (the most accessed).
    pub hot_pages: usize,
    /// Only pages with at least this share of the epoch's accesses are hot (0 = any).
    pub min_share: f64,
    /// Devices per hot page when replicating (capped at the number of ports).
    pub replicas: usize,
}

/// Copy of `bytes` from device `from` to device `to`, for page `page`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Move {
    pub page: PageId,
    pub from: usize,
    pub to: usize,
    pub bytes: u64,
}

/// Accesses per page, counted in 64 B lines read (a row of `row_lines` lines counts that many),
/// over `traces`. Column-sharded tables of `layout` are not counted (their pages are not
/// spread).
pub fn page_counts(
    traces: &[&Trace],
    layout: &Layout,
    row_lines: usize,
    page_bytes: u64,
) -> BTreeMap<PageId, u64> {
    let row_bytes = row_lines as u64 * 64;
    let mut c = BTreeMap::new();
    for tr in traces {
        for t in 0..tr.tables {
            if matches!(layout.scheme(t), TableScheme::Column { .. }) {
                continue;
            }
            for b in 0..tr.batch {
                for &r in tr.bag(t, b) {
                    *c.entry((t, page_of(r as u64, row_bytes, page_bytes)))
                        .or_insert(0) += row_lines as u64;
                }
            }
        }
    }
    c
}

/// The hot set: at most `hot_pages` pages, most accessed first (ties: lower page id), each
/// with at least `min_share` of all accesses counted.
pub fn hot_set(
    counts: &BTreeMap<PageId, u64>,
    hot_pages: usize,
    min_share: f64,
) -> Vec<(PageId, u64)> {
    let total: u64 = counts.values().sum();
    let mut v: Vec<(PageId, u64)> = counts
        .iter()
        .filter(|(_, &n)| n > 0 && n as f64 >= min_share * total as f64)
        .map(|(&p, &n)| (p, n))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(hot_pages);
    v
}

/// Devices holding each row of page `page` under `layout` (a spread page: all on each copy's
/// device; otherwise the rows' homes).
fn holders(layout: &Layout, page: PageId, row_bytes: u64, ports: usize) -> Vec<(u64, Vec<usize>)> {
    let (t, p) = page;
    let copies = layout.pages.get(&page);
    page_rows(p, row_bytes, layout.page_bytes)
        .map(|r| {
            let d = match copies {
                Some(c) => c.clone(),
                None => vec![layout.home(t, r, row_bytes, ports)],
            };
            (r, d)
        })
        .collect()
}

/// One spreading step: the layout for the next epoch from the current one and the counters of
/// the epoch that just ended, and the copies it takes. Pages spread earlier stay where they
/// are, hot or not (moving them again would cost a copy for little).
pub fn respread(
    layout: &Layout,
    epoch: &[&Trace],
    hc: &HotConfig,
    row_lines: usize,
    ports: usize,
) -> (Layout, Vec<Move>) {
    let mut next = layout.clone();
    if hc.mode == SpreadMode::Off || ports < 2 {
        return (next, Vec::new());
    }
    let row_bytes = row_lines as u64 * 64;
    next.page_bytes = hc.page_bytes;
    if layout.page_bytes != hc.page_bytes {
        next.pages.clear();
    }
    let counts = page_counts(epoch, layout, row_lines, hc.page_bytes);
    let hot = hot_set(&counts, hc.hot_pages, hc.min_share);
    let is_hot: BTreeMap<PageId, u64> = hot.iter().copied().collect();
    // The load every device keeps without the hot pages (lines over the epoch).
    let mut load = vec![0f64; ports];
    for tr in epoch {
        for t in 0..tr.tables {
            for b in 0..tr.batch {
                let rows = tr.bag(t, b);
                if let TableScheme::Column { groups } = layout.scheme(t) {
                    for g in groups {
                        load[g.device] += (rows.len() * g.lines) as f64;
                    }
                    continue;
                }
                for &r in rows {
                    let r = r as u64;
                    if is_hot.contains_key(&(t, page_of(r, row_bytes, hc.page_bytes))) {
                        continue;
                    }
                    match next.spread_copies(t, r, row_bytes) {
                        Some(devs) => {
                            for &d in devs {
                                load[d] += row_lines as f64 / devs.len() as f64;
                            }
                        }
                        None => load[layout.home(t, r, row_bytes, ports)] += row_lines as f64,
                    }
                }
            }
        }
    }
    // Hot pages, hottest first, onto the least-loaded devices.
    let least = |load: &[f64], k: usize| -> Vec<usize> {
        let mut d: Vec<usize> = (0..ports).collect();
        d.sort_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)));
        d.truncate(k);
        d.sort_unstable();
        d
    };
    let k = match hc.mode {
        SpreadMode::Migrate => 1,
        _ => hc.replicas.clamp(1, ports),
    };
    let mut moves = Vec::new();
    // Hot pages spread in an earlier epoch stay where they are (no copy); the new ones are
    // placed around them.
    for &(page, n) in &hot {
        if let Some(devs) = next.pages.get(&page) {
            for &d in devs {
                load[d] += n as f64 / devs.len() as f64;
            }
        }
    }
    for &(page, n) in &hot {
        if next.pages.contains_key(&page) {
            continue;
        }
        let devs = least(&load, k);
        for &d in &devs {
            load[d] += n as f64 / devs.len() as f64;
        }
        // Every row of the page the new device does not hold yet is copied from a holder.
        let mut per: BTreeMap<(usize, usize), u64> = BTreeMap::new();
        for (_, have) in holders(&next, page, row_bytes, ports) {
            for &d in &devs {
                if !have.contains(&d) {
                    *per.entry((have[0], d)).or_insert(0) += row_bytes;
                }
            }
        }
        moves.extend(per.into_iter().map(|((from, to), bytes)| Move {
            page,
            from,
            to,
            bytes,
        }));
        next.pages.insert(page, devs);
    }
    (next, moves)
}

/// The layout of every batch of a run of `batches` batches, and the copies made before it:
/// epoch e (batches e*N .. (e+1)*N) runs on the layout spread from epoch e-1's counters; the
/// first epoch runs on `start`. The copies are charged to the first batch of each epoch.
pub fn epochs(
    start: &Layout,
    batches: &[Trace],
    hc: &HotConfig,
    row_lines: usize,
    ports: usize,
) -> Vec<(Layout, Vec<Move>)> {
    let n = hc.epoch_batches.max(1);
    let mut out = Vec::with_capacity(batches.len());
    let mut cur = start.clone();
    for (e, chunk) in batches.chunks(n).enumerate() {
        let mut moves = Vec::new();
        if e > 0 && hc.mode != SpreadMode::Off {
            let prev: Vec<&Trace> = batches[(e - 1) * n..e * n].iter().collect();
            let (l, m) = respread(&cur, &prev, hc, row_lines, ports);
            cur = l;
            moves = m;
        }
        for i in 0..chunk.len() {
            out.push((cur.clone(), if i == 0 { moves.clone() } else { Vec::new() }));
        }
    }
    out
}

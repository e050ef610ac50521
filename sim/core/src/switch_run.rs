//! The run loop at switch level: the whole `pifs_switch_top` (or its model) with one memory
//! device per downstream port. The host describes each piece of a bag to the switch with a
//! BagOpen and one RowRead per row (port field set); the switch's dispatchers issue the MemRds,
//! which the link model packs into M2S flits for the devices; the devices' S2M flits go back
//! into the ports; the partial sums leave on the one upstream stream, round robin over the
//! ports, and each line's credit is returned the next cycle (the host link is timed by the
//! caller). Placement, pieces and the host's reduction are those of [`crate::system::run`], so
//! the sums are the same bits.

use crate::cmd::Command;
use crate::params::{NUM_BAGS, NUM_TAGS};
use crate::port::SimError;
use crate::stats::PortStats;
use crate::switch::{SwitchCmd, SwitchModel};
use crate::switch_model::ModelSwitch;
use crate::switch_rtl::RtlSwitch;
use crate::system::{
    alloc_tags, fold, line_addr, make_device, make_stats, poison_bags, port_reads, prepare,
    validate_faults, Backend, Memory, PieceSums, PortLinks, RunConfig, RunOutput,
};
use pifs_cxl::{Flit, M2sPacker, M2sReq, Message};
use pifs_dlrm::{Trace, Weights};
use pifs_rng::Rng;
use std::collections::VecDeque;

/// Ports of the Verilated switch (`NumPorts` of `pifs_switch_top` as the bindings build it).
pub const RTL_SWITCH_PORTS: usize = 8;

/// Per-port state of the host and the device.
struct Port {
    slot_piece: [Option<usize>; NUM_BAGS],
    tag_used: [bool; NUM_TAGS],
    piece_tags: Vec<Vec<u16>>,
    sums: Vec<Option<Vec<u32>>>,
    next: usize,
    done: usize,
    cmd_free: u64,
    dev: crate::device::MemDevice,
    m2s: M2sPacker,
    m2s_queue: VecDeque<(u64, Message)>,
    m2s_avail: VecDeque<Message>,
    link_free: u64,
    lookups: u64,
    result_lines: u64,
    last_result: u64,
    lines_out: Vec<(u64, usize)>,
    /// Link-layer retry on the port's S2M and M2S links (faults on).
    links: Option<PortLinks>,
}

/// Run a trace through the switch (RTL or model) with `cfg.ports` downstream ports.
pub fn run_switch(
    trace: &Trace,
    weights: &Weights,
    cfg: &RunConfig,
) -> Result<RunOutput, SimError> {
    let (shape, pieces) = prepare(trace, weights, cfg)?;
    let row_lines = shape.dev_lines;
    let mut sw: Box<dyn SwitchModel> = match cfg.backend {
        Backend::Rtl => {
            if cfg.ports != RTL_SWITCH_PORTS {
                return Err(SimError::Config(format!(
                    "the Verilated switch has {RTL_SWITCH_PORTS} ports, not {} (the model backend, or the port RTLs one by one, take any number)",
                    cfg.ports
                )));
            }
            let mut sw = RtlSwitch::new(cfg.seed, cfg.wave.as_ref())?;
            sw.set_buffer(cfg.buffer)?;
            Box::new(sw)
        }
        Backend::Model => Box::new(ModelSwitch::new(crate::switch::SwitchConfig {
            ports: cfg.ports,
            buffer: cfg.buffer,
            ..Default::default()
        })?),
    };
    sw.set_llr(cfg.faults.is_some());
    sw.set_row_format(shape.fmt, shape.expand as u8);
    let verilator = (cfg.backend == Backend::Rtl).then(crate::rtl::verilator_version);
    // RowRead carries a 40-bit line address.
    let max_line = pieces
        .iter()
        .flatten()
        .flat_map(|p| {
            p.rows
                .iter()
                .map(move |&r| line_addr(p.table, r, row_lines, 0) / 64)
        })
        .max()
        .unwrap_or(0);
    if max_line >= 1 << crate::cmd::ROW_READ_ADDR_BITS {
        return Err(SimError::Config(format!(
            "line address {max_line:#x} does not fit the RowRead command's 40 bits (too many tables for the switch path)"
        )));
    }
    let mem = Memory::new(weights, shape);
    let t = &cfg.timing;
    let latency = t.cycles(t.device_latency_ns);
    let flight = t.cycles(t.link_flight_ns);
    let step = (latency + flight).clamp(1, 32);
    validate_faults(cfg, step)?;
    let mut seeds = Rng::new(cfg.seed);
    let reads = port_reads(&pieces, row_lines);
    let mut ports: Vec<Port> = pieces
        .iter()
        .zip(&reads)
        .map(|(pp, reads)| {
            let seed = seeds.next_u64();
            Port {
                slot_piece: [None; NUM_BAGS],
                tag_used: [false; NUM_TAGS],
                piece_tags: vec![Vec::new(); pp.len()],
                sums: vec![None; pp.len()],
                next: 0,
                done: 0,
                cmd_free: 0,
                dev: make_device(cfg, seed, reads),
                m2s: M2sPacker::new(seed ^ 0x3253),
                m2s_queue: VecDeque::new(),
                m2s_avail: VecDeque::new(),
                link_free: 0,
                lookups: 0,
                result_lines: 0,
                last_result: 0,
                lines_out: Vec::new(),
                links: cfg.faults.map(|f| PortLinks::new(cfg, &f, seed)),
            }
        })
        .collect();
    let mut wire: Vec<(u64, Flit, Flit)> = Vec::new();
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    let (mut now, mut done, mut last_progress) = (0u64, 0usize, 0u64);
    let mut flits: Vec<(u64, Flit)> = Vec::new();
    let mut poisoned = Vec::new();
    while done < total {
        // Host: open pieces at every port as slots and tags allow (one command stream per
        // port's FIFO; the switch takes them in cycle order).
        let mut cmds: Vec<(u64, SwitchCmd)> = Vec::new();
        for (p, st) in ports.iter_mut().enumerate() {
            while st.next < pieces[p].len() {
                let piece = &pieces[p][st.next];
                let release = cfg
                    .bag_release
                    .as_ref()
                    .map_or(0, |r| r.get(piece.bag).copied().unwrap_or(0));
                if release >= now + step {
                    break;
                }
                let Some(slot) = st.slot_piece.iter().position(|s| s.is_none()) else {
                    break;
                };
                let Some(tags) = alloc_tags(&mut st.tag_used, piece.rows.len(), piece.lines) else {
                    break;
                };
                let mut k = now.max(st.cmd_free).max(release);
                let port = p as u8;
                cmds.push((
                    k,
                    SwitchCmd::new(
                        port,
                        Command::BagOpen {
                            bag: slot as u8,
                            rows: piece.rows.len() as u16,
                            lines: piece.lines as u8,
                        },
                    ),
                ));
                for (&r, &tag) in piece.rows.iter().zip(&tags) {
                    k += 1;
                    let la = line_addr(piece.table, r, row_lines, piece.dev0) / 64;
                    cmds.push((
                        k,
                        SwitchCmd::new(
                            port,
                            Command::RowRead {
                                bag: slot as u8,
                                tag: tag as u8,
                                lines: piece.lines as u8,
                                line_addr: la,
                            },
                        ),
                    ));
                }
                st.cmd_free = k + 1;
                if piece.line0 == 0 {
                    st.lookups += piece.rows.len() as u64;
                }
                st.piece_tags[st.next] = tags;
                st.slot_piece[slot] = Some(st.next);
                st.next += 1;
            }
        }
        cmds.sort_by_key(|c| c.0);
        sw.push_cmds(&cmds);
        // Links and devices: M2S flits (one per cycle per port), then every final S2M flit.
        for (p, st) in ports.iter_mut().enumerate() {
            while !st.m2s_queue.is_empty() || !st.m2s_avail.is_empty() {
                let mut c = st.link_free;
                if st.m2s_avail.is_empty() {
                    c = c.max(st.m2s_queue.front().unwrap().0);
                }
                while st.m2s_queue.front().is_some_and(|(a, _)| *a <= c) {
                    st.m2s_avail.push_back(st.m2s_queue.pop_front().unwrap().1);
                }
                if let Some(f) = st.m2s.next_flit(&mut st.m2s_avail) {
                    match &mut st.links {
                        Some(l) => l.m2s.link.push(c + flight, f),
                        None => st.dev.receive(c + flight, &f).map_err(|e| {
                            SimError::Check(format!(
                                "port {p}: device could not decode an M2S flit: {e}"
                            ))
                        })?,
                    }
                }
                st.link_free = c + 1;
            }
            if let Some(l) = &mut st.links {
                l.m2s.run(&mut st.dev).map_err(|e| {
                    SimError::Check(format!(
                        "port {p}: device could not decode an M2S flit: {e}"
                    ))
                })?;
            }
            flits.clear();
            st.dev.emit_until(now + latency + flight, &mem, &mut flits);
            for f in flits.iter_mut() {
                f.0 += flight;
            }
            match &mut st.links {
                None => sw.push_flits(p, &flits),
                Some(l) => sw.push_flits(p, &l.s2m_step(&flits, now, step, &mut wire)),
            }
        }
        now += step;
        sw.run_to(now)?;
        if cfg.faults.is_some() {
            let mut got: Vec<Vec<pifs_cxl::llr::LinkEvent>> = vec![Vec::new(); ports.len()];
            for (p, e) in sw.take_link_events() {
                got[p].push(e);
            }
            for (p, st) in ports.iter_mut().enumerate() {
                let l = st.links.as_mut().expect("faults on");
                let want = l.shadow.run_to(now);
                if got[p] != want {
                    return Err(SimError::Check(format!(
                        "port {p}: the switch's S2M retry messages before cycle {now} differ from the reference receiver's: {:?} vs {want:?}",
                        got[p]
                    )));
                }
                l.s2m.on_events(&got[p]);
            }
        }
        // MemRds the dispatchers issued: to the port's M2S link from the next cycle.
        for r in sw.take_mem_reqs() {
            ports[r.port as usize]
                .m2s_queue
                .push_back((r.cycle + 1, Message::M2sReq(M2sReq::mem_rd(r.tag, r.addr))));
        }
        // Partial sums upstream; each line's credit comes back the next cycle.
        let up = sw.take_upstream();
        let credits: Vec<u64> = up.iter().map(|u| u.cycle + 1).collect();
        sw.grant_credits(&credits);
        for u in up {
            let st = &mut ports[u.port as usize];
            let p = u.port as usize;
            let Some(pi) = st.slot_piece[u.bag as usize] else {
                return Err(SimError::Check(format!(
                    "port {p}: upstream line for idle bag slot {}",
                    u.bag
                )));
            };
            let lanes = st.sums[pi].get_or_insert_with(|| vec![0; pieces[p][pi].lines * 16]);
            lanes[u.line as usize * 16..u.line as usize * 16 + 16].copy_from_slice(&u.data);
            if u.poison {
                poisoned.push(pieces[p][pi].bag);
            }
            st.result_lines += 1;
            st.last_result = st.last_result.max(u.cycle);
            st.lines_out.push((u.cycle, pieces[p][pi].bag));
            last_progress = now;
            if u.last {
                st.slot_piece[u.bag as usize] = None;
                for &tag in &st.piece_tags[pi] {
                    for l in 0..pieces[p][pi].lines {
                        st.tag_used[tag as usize + l] = false;
                    }
                }
                st.done += 1;
                done += 1;
            }
        }
        if now - last_progress > 1_000_000 {
            return Err(SimError::Check(format!(
                "switch: no upstream line for 1,000,000 cycles ({done} of {total} pieces done; counters {:?})",
                sw.switch_counters()
            )));
        }
    }
    sw.finish()?;
    let mut partials: Vec<PieceSums> = Vec::new();
    let mut port_stats = Vec::new();
    let mut result_lines = Vec::new();
    for (p, st) in ports.into_iter().enumerate() {
        let c = sw.counters(p);
        let crc_lost = if st.links.is_some() { 0 } else { c.crc_errors };
        if crc_lost + c.proto_errors + c.cmd_errors + c.tag_errors > 0 {
            return Err(SimError::Check(format!(
                "port {p}: errors reported by the port: {c:?}"
            )));
        }
        port_stats.push(PortStats {
            port: p,
            bags: pieces[p].len() as u64,
            lookups: st.lookups,
            m2s_flits: st.dev.counters.m2s_flits,
            s2m_flits: st.dev.counters.s2m_flits,
            result_lines: st.result_lines,
            utilisation: if st.last_result > 0 {
                st.dev.counters.s2m_flits as f64 / (st.last_result + 1) as f64
            } else {
                0.0
            },
            last_result_cycle: st.last_result,
            counters: c,
            device: st.dev.counters,
            links: st.links.as_ref().map(PortLinks::stats),
            buffer: cfg.buffer.on().then(|| sw.buffer_counters(p)),
        });
        partials.push(
            pieces[p]
                .iter()
                .zip(st.sums)
                .map(|(pc, s)| (pc.bag, pc.line0, s.expect("every piece finished")))
                .collect(),
        );
        result_lines.push(st.lines_out);
    }
    let sc = sw.switch_counters();
    if sc.cmd_errors > 0 {
        return Err(SimError::Check(format!(
            "switch dropped {} command word(s)",
            sc.cmd_errors
        )));
    }
    let dim = shape.dim;
    let mut pooled = fold(trace, dim, shape.out_lines, &partials);
    let poisoned_bags = poison_bags(&mut pooled, dim, poisoned);
    let mut stats = make_stats(trace, cfg, shape, port_stats, verilator);
    stats.poisoned_bags = poisoned_bags.clone();
    Ok(RunOutput {
        pooled,
        dim,
        stats,
        result_lines,
        poisoned_bags,
    })
}

//! Shared bodies of the fuzz targets (one per parser), so each `fuzz_targets/<name>.rs` is a
//! one-line `fuzz_target!` and the same code can replay a corpus file in a plain test.
//!
//! The contract every body asserts: the parser returns `Ok` or `Err`, never panics (a panic
//! aborts the fuzzer and is reported as a crash); where it succeeds, what the codec promises
//! (re-encoding round trips, a validated object stays valid) holds.

use std::collections::VecDeque;

use pifs_cxl::{decode_stream, Decoder, Dir, Flit, M2sPacker, Message, S2mPacker, FLIT_BYTES};

/// Messages grouped by class, order kept within a class (the packers keep the order of each
/// class; they may interleave classes differently).
fn by_class(msgs: &[Message]) -> [Vec<Message>; 4] {
    let mut out: [Vec<Message>; 4] = Default::default();
    for m in msgs {
        let i = match m {
            Message::M2sReq(_) => 0,
            Message::M2sRwd(..) => 1,
            Message::S2mNdr(_) => 2,
            Message::S2mDrs(..) => 3,
        };
        out[i].push(m.clone());
    }
    out
}

/// Packs `msgs` with the direction's packer (all available at once) and returns the flits.
fn pack(dir: Dir, msgs: &[Message]) -> Vec<Flit> {
    let mut q: VecDeque<Message> = msgs.iter().cloned().collect();
    let mut s2m = S2mPacker::new(1);
    let mut m2s = M2sPacker::new(1);
    let mut flits = Vec::new();
    loop {
        let next = match dir {
            Dir::S2M => s2m.try_next_flit(&mut q),
            Dir::M2S => m2s.try_next_flit(&mut q),
        };
        match next {
            Ok(Some(f)) => flits.push(f),
            Ok(None) => break,
            Err(e) => panic!("packer rejects a message the decoder accepted: {e}"),
        }
        assert!(
            flits.len() <= 4 * msgs.len() + 4,
            "packer makes no progress"
        );
    }
    assert!(q.is_empty(), "packer left messages behind");
    flits
}

/// Flit decoder, direction `dir`, on `data` cut into 66-byte flits. The first byte is a mode:
/// bit 0 set seals every flit (recomputes its CRC) so the fuzzer reaches the slot decoding
/// instead of stopping at the CRC check; bit 1 set also runs the strict decoder.
///
/// Asserts: no panic; the lenient and streaming decoders agree on the message count; every flit
/// survives its hex form; and when every flit decodes strictly with nothing owed at the end,
/// packing the decoded messages again and decoding those flits gives the same messages.
pub fn flits(dir: Dir, data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let flits: Vec<Flit> = rest
        .chunks_exact(FLIT_BYTES)
        .map(|c| {
            let mut f = Flit(c.try_into().expect("chunk of FLIT_BYTES"));
            if mode & 1 == 1 {
                f.seal();
            }
            f
        })
        .collect();
    for f in &flits {
        assert_eq!(
            Flit::from_hex(&f.to_hex()).as_ref(),
            Ok(f),
            "hex round trip"
        );
        assert_eq!(&Flit::from_words(&f.to_words()), f, "word round trip");
    }
    let mut lenient = Decoder::new(dir);
    let mut n = 0;
    for f in &flits {
        n += lenient.push_lenient(f).messages.len();
    }
    let report = decode_stream(dir, &flits);
    assert_eq!(
        report.messages.len(),
        n,
        "decode_stream and push_lenient differ"
    );
    assert_eq!(report.flits, flits.len());

    if mode & 2 == 0 {
        return;
    }
    let mut strict = Decoder::new(dir);
    let mut msgs = Vec::new();
    for f in &flits {
        match strict.push(f) {
            Ok(m) => msgs.extend(m),
            Err(_) => return,
        }
    }
    if strict.queued_chunks() > 0 {
        return;
    }
    let again = pack(dir, &msgs);
    let mut dec = Decoder::new(dir);
    let mut back = Vec::new();
    for (i, f) in again.iter().enumerate() {
        back.extend(
            dec.push(f)
                .unwrap_or_else(|e| panic!("re-packed flit {i} does not decode: {e}")),
        );
    }
    assert_eq!(dec.queued_chunks(), 0, "re-packed stream owes data");
    assert_eq!(
        by_class(&back),
        by_class(&msgs),
        "re-encoding does not round trip"
    );
}

/// The flit-text parser of `pifs flit decode`: one flit per line as 132 hex characters; a line
/// that parses prints back as the same (lower-case) hex.
pub fn flit_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        let t = line.trim();
        if let Ok(f) = Flit::from_hex(t) {
            assert_eq!(f.to_hex(), t.to_ascii_lowercase(), "hex round trip");
        }
    }
}

/// The `.npz` trace reader and the weights reader on the same bytes. The first byte picks the
/// `tables` argument (0 = none) and `dim` (0 = none). A trace that reads is valid.
pub fn npz(data: &[u8]) {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let tables = match sel & 0x0f {
        0 => None,
        t => Some(t as usize - 1),
    };
    let dim = match sel >> 4 {
        0 => None,
        d => Some(d as usize - 1),
    };
    if let Ok(trace) = pifs_dlrm::read_trace_npz_bytes("fuzz.npz", bytes, tables) {
        trace
            .validate("fuzz.npz")
            .expect("a trace that reads validates");
        let _ = pifs_dlrm::trace_stats(&trace);
        if let Ok(w) = pifs_dlrm::read_weights_npz_bytes("fuzz.npz", bytes, dim) {
            if w.check_trace(&trace, "fuzz.npz").is_ok() {
                let _ = pifs_dlrm::pool_f64(&trace, &w);
            }
        }
    } else if let Ok(w) = pifs_dlrm::read_weights_npz_bytes("fuzz.npz", bytes, dim) {
        assert!(w.dim() >= 1);
        if let Some(d) = dim {
            assert_eq!(w.dim(), d);
        }
    }
}

#[cfg(feature = "systems")]
/// The system configuration: TOML text, then `--set key=value` overrides, each after a NUL
/// byte. A configuration that parses (and survives its overrides) validates, and its derived
/// timing, placement and flat listing compute without panicking.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\0');
    let toml = parts.next().unwrap_or_default();
    let Ok(mut c) = pifs_systems::SysConfig::from_toml(toml, "fuzz.toml") else {
        return;
    };
    for kv in parts {
        let _ = c.set(kv);
    }
    c.validate().expect("a parsed configuration validates");
    let _ = c.flat();
    let _ = c.timing();
    let _ = c.placement();
    let _ = c.backing();
    let _ = c.tier_timing();
    let _ = c.host_link.flits_per_ns();
    let _ = c.port_link.flits_per_ns();
}

/// The LRU stack-distance profile parser; a profile that parses draws a few accesses.
pub fn stackdist(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = pifs_dlrm::StackProfile::parse(text, "fuzz.profile") {
        let mut rng = pifs_rng::Rng::new(1);
        for _ in p.stream(&mut rng).take(64) {}
    }
}

#[cfg(feature = "systems")]
/// The scenario file parser (trace paths resolve under a folder that does not exist).
pub fn scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = pifs_scenario::Scenario::parse(
        text,
        "fuzz.toml",
        std::path::Path::new("/nonexistent-pifs-fuzz"),
    );
}

//! Seed corpus writer for fuzz/ (see Cargo.toml). Deterministic: the same files every run.
//! Config, scenario and stack-distance seeds are text files kept by hand beside these.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};

use pifs_cxl::*;
use pifs_dlrm::{generate, write_trace_npz, write_weights_npz, IndexDist, Table, Trace, RM3};
use pifs_rng::Rng;

fn data(rng: &mut Rng) -> Box<[u8; 64]> {
    let mut d = [0u8; 64];
    for b in d.iter_mut() {
        *b = rng.below(256) as u8;
    }
    Box::new(d)
}

fn messages(dir: Dir, rng: &mut Rng, n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| {
            let tag = rng.below(1 << 16) as u16;
            let with_data = rng.below(2) == 1;
            match (dir, with_data) {
                (Dir::S2M, true) => Message::S2mDrs(S2mDrs::mem_data(tag, i % 7 == 3), data(rng)),
                (Dir::S2M, false) => Message::S2mNdr(S2mNdr {
                    opcode: NdrOpcode::ALL[i % NdrOpcode::ALL.len()],
                    meta_field: META_FIELD_NOP,
                    meta_value: 0,
                    tag,
                    ld_id: (i % 16) as u8,
                    dev_load: (i % 4) as u8,
                }),
                (Dir::M2S, false) => Message::M2sReq(M2sReq::mem_rd(tag, rng.below(1 << 40) << 6)),
                (Dir::M2S, true) => Message::M2sRwd(
                    M2sRwd {
                        opcode: RwdOpcode::ALL[i % RwdOpcode::ALL.len()],
                        snp_type: SNP_TYPE_NOP,
                        meta_field: META_FIELD_NOP,
                        meta_value: 0,
                        tag,
                        addr: rng.below(1 << 40) << 6,
                        poison: false,
                        tc: 0,
                        ld_id: 0,
                    },
                    data(rng),
                ),
            }
        })
        .collect()
}

fn pack(dir: Dir, seed: u64, msgs: &[Message]) -> Vec<Flit> {
    let mut q: VecDeque<Message> = msgs.iter().cloned().collect();
    let mut s2m = S2mPacker::new(seed);
    let mut m2s = M2sPacker::new(seed);
    let mut out = Vec::new();
    while let Some(f) = match dir {
        Dir::S2M => s2m.next_flit(&mut q),
        Dir::M2S => m2s.next_flit(&mut q),
    } {
        out.push(f);
    }
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: corpus-gen <corpus dir>"),
    );
    let mut rng = Rng::new(0xF022);
    let mut text = String::new();
    for (dir, target) in [(Dir::M2S, "flit_m2s"), (Dir::S2M, "flit_s2m")] {
        let out = root.join(target);
        for (k, n) in [1usize, 3, 8, 20].into_iter().enumerate() {
            let flits = pack(dir, k as u64 + 1, &messages(dir, &mut rng, n));
            // Mode byte 2: strict decode and re-pack round trip; the flits are already sealed.
            let mut bytes = vec![2u8];
            for f in &flits {
                bytes.extend_from_slice(&f.0);
                if k == 2 {
                    text.push_str(&f.to_hex());
                    text.push('\n');
                }
            }
            write(&out, &format!("packed-{n}"), &bytes);
            // The same stream with one bit flipped in the middle flit (a CRC error).
            let mid = 1 + (flits.len() / 2) * FLIT_BYTES + 10;
            bytes[mid] ^= 0x10;
            write(&out, &format!("crc-error-{n}"), &bytes);
        }
        // Edge cases: a mode byte alone; one all-zero flit sealed (mode 3); a truncated flit.
        write(&out, "mode-only", &[3]);
        let mut zero = vec![3u8];
        zero.extend_from_slice(&[0u8; FLIT_BYTES]);
        write(&out, "zero-flit-sealed", &zero);
        write(&out, "short", &[1, 0x12, 0x34, 0x56]);
    }
    let out = root.join("flit_text");
    write(&out, "stream", text.as_bytes());
    write(&out, "upper", text.to_uppercase().as_bytes());
    write(&out, "short-line", b"00ff\n");
    write(&out, "not-hex", &[b'g'; HEX_CHARS]);

    let out = root.join("trace_npz");
    let tmp = std::env::temp_dir().join(format!("pifs-corpus-gen-{}", std::process::id()));
    fs::create_dir_all(&tmp).unwrap();
    let small = Trace {
        tables: 2,
        batch: 2,
        indices: vec![0, 3, 1, 2, 2, 0],
        offsets: vec![0, 2, 3, 5, 6],
    };
    let rm3 = generate(
        RM3.tables,
        1000,
        1,
        RM3.lookups,
        IndexDist::Zipf { alpha: 1.05 },
        7,
    )
    .unwrap();
    for (name, sel, trace) in [("trace-2x2", 0u8, &small), ("trace-2x2-t2", 3, &small)] {
        let p = tmp.join("t.npz");
        write_trace_npz(&p, trace).unwrap();
        let mut bytes = vec![sel];
        bytes.extend(fs::read(&p).unwrap());
        write(&out, name, &bytes);
    }
    // A real generated workload only if it stays small.
    let p = tmp.join("rm3.npz");
    write_trace_npz(&p, &rm3).unwrap();
    if fs::metadata(&p).unwrap().len() < 64 * 1024 {
        let mut bytes = vec![0u8];
        bytes.extend(fs::read(&p).unwrap());
        write(&out, "trace-rm3-b1", &bytes);
    }
    let tables = vec![
        Table {
            rows: 4,
            data: (0..16).map(|i| i as f32 * 0.5).collect(),
        },
        Table {
            rows: 2,
            data: vec![1.0, -2.0, 3.5, 0.25, -0.0, 7.0, 8.0, 9.0],
        },
    ];
    let p = tmp.join("w.npz");
    write_weights_npz(&p, &tables, 4).unwrap();
    let mut bytes = vec![0x50u8]; // dim 4
    bytes.extend(fs::read(&p).unwrap());
    write(&out, "weights-dim4", &bytes);
    write(&out, "empty", &[0]);
    write(&out, "not-zip", b"\0PK\x03\x04 not a zip");
    fs::remove_dir_all(&tmp).ok();
}

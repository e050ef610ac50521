//! The online-training write stream on the wire: every updated row becomes M2S RwD MemWr
//! messages, one per 64-byte line, packed into 68-byte flits by the project's M2S packer
//! (`pifs_cxl::M2sPacker`) and decoded by the switch (`pifs_cxl::Decoder`), which therefore sees
//! every write's address and data.

use std::collections::VecDeque;

use pifs_cxl::{Decoder, Dir, M2sPacker, M2sRwd, Message, ADDR_LIMIT, FLIT_BYTES};

/// Bytes of one CXL.mem line (a MemWr carries one).
pub const LINE_BYTES: u64 = 64;
/// Bytes one 68B-mode flit occupies on the link: 66 (header, 4 slots, CRC) plus the 2-byte
/// ARB/MUX protocol ID (DESIGN.md section 6, CXL 1.1/2.0 68B flit).
pub const LINK_FLIT_BYTES: u64 = FLIT_BYTES as u64 + 2;

/// Where rows live in the pooled memory: table after table, each row padded to whole lines.
#[derive(Clone, Debug)]
pub struct AddressMap {
    rows: Vec<u64>,
    dim: usize,
    stride: u64,
    bases: Vec<u64>,
}

impl AddressMap {
    /// The map of tables with `rows[t]` rows of `dim` floats; an error when they do not fit
    /// the 52-bit CXL.mem address space.
    pub fn new(rows: &[u64], dim: usize) -> Result<AddressMap, String> {
        let stride = (dim as u64 * 4).div_ceil(LINE_BYTES).max(1) * LINE_BYTES;
        let mut bases = Vec::with_capacity(rows.len());
        let mut next: u64 = 0;
        for &r in rows {
            bases.push(next);
            next = r
                .checked_mul(stride)
                .and_then(|b| next.checked_add(b))
                .filter(|&e| e <= ADDR_LIMIT)
                .ok_or_else(|| {
                    format!("{} tables of {r} rows x {stride} B exceed the 52-bit CXL.mem address space", rows.len())
                })?;
        }
        Ok(AddressMap {
            rows: rows.to_vec(),
            dim,
            stride,
            bases,
        })
    }

    /// Rows of each table.
    pub fn rows(&self) -> &[u64] {
        &self.rows
    }

    /// Floats per row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// 64-byte lines per row.
    pub fn lines_per_row(&self) -> u64 {
        self.stride / LINE_BYTES
    }

    /// Byte address of line `line` of row `r` of table `t`.
    pub fn addr(&self, t: usize, r: u64, line: u64) -> u64 {
        self.bases[t] + r * self.stride + line * LINE_BYTES
    }

    /// Table, row and line of a line address, `None` outside every table.
    pub fn locate(&self, addr: u64) -> Option<(usize, u64, u64)> {
        let t = self.bases.partition_point(|&b| b <= addr).checked_sub(1)?;
        let off = addr - self.bases[t];
        let r = off / self.stride;
        (r < self.rows[t]).then_some((t, r, (off % self.stride) / LINE_BYTES))
    }
}

/// The host-to-switch link carrying the training writes, with its message and flit counts.
pub struct WriteLink {
    packer: M2sPacker,
    decoder: Decoder,
    queue: VecDeque<Message>,
    tag: u16,
    /// MemWr messages sent so far.
    pub messages: u64,
    /// Flits sent so far (header and all-data flits).
    pub flits: u64,
}

impl WriteLink {
    /// A link whose packer choices are fixed by `seed`.
    pub fn new(seed: u64) -> WriteLink {
        WriteLink {
            packer: M2sPacker::new(seed),
            decoder: Decoder::new(Dir::M2S),
            queue: VecDeque::new(),
            tag: 0,
            messages: 0,
            flits: 0,
        }
    }

    /// Queues the MemWr messages that write `row` (little-endian f32, zero-padded to the last
    /// line) to row `r` of table `t`.
    pub fn write_row(&mut self, map: &AddressMap, t: usize, r: u64, row: &[f32]) {
        for line in 0..map.lines_per_row() {
            let mut data = Box::new([0u8; LINE_BYTES as usize]);
            let first = line as usize * 16;
            for (k, v) in row.iter().skip(first).take(16).enumerate() {
                data[4 * k..4 * k + 4].copy_from_slice(&v.to_le_bytes());
            }
            self.queue.push_back(Message::M2sRwd(
                M2sRwd::mem_wr(self.tag, map.addr(t, r, line)),
                data,
            ));
            self.tag = self.tag.wrapping_add(1);
            self.messages += 1;
        }
    }

    /// Packs everything queued into flits and decodes them at the switch, calling `on_write`
    /// with the address and data of every MemWr the switch receives. An error means the packer
    /// and decoder disagree (a bug, not bad input).
    pub fn flush(&mut self, mut on_write: impl FnMut(u64, &[u8; 64])) -> Result<(), String> {
        while let Some(flit) = self
            .packer
            .try_next_flit(&mut self.queue)
            .map_err(|e| format!("M2S packer: {e}"))?
        {
            self.flits += 1;
            let msgs = self
                .decoder
                .push(&flit)
                .map_err(|e| format!("switch decoder: {e}"))?;
            for m in msgs {
                if let Message::M2sRwd(h, data) = m {
                    on_write(h.addr, &data);
                }
            }
        }
        if self.decoder.queued_chunks() != 0 {
            return Err("switch decoder: data chunks still owed after the stream ended".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Addresses round-trip through `locate`, tables do not overlap, rows are line-aligned.
    #[test]
    fn address_map_round_trips() {
        let map = AddressMap::new(&[3, 1, 5], 20).unwrap();
        assert_eq!(map.lines_per_row(), 2); // 80 bytes -> 2 lines
        let mut seen = std::collections::HashSet::new();
        for (t, &rows) in map.rows().iter().enumerate() {
            for r in 0..rows {
                for line in 0..2 {
                    let a = map.addr(t, r, line);
                    assert_eq!(a % 64, 0);
                    assert!(seen.insert(a));
                    assert_eq!(map.locate(a), Some((t, r, line)));
                }
            }
        }
        assert_eq!(map.locate(9 * 2 * 64), None);
        assert!(AddressMap::new(&[1 << 40, 1 << 40], 4096).is_err());
    }

    /// Every row written arrives at the switch with its bytes, and the flit count is at least
    /// the packing lower bound: each line needs a header slot (at most one RwD header per flit)
    /// and 4 data slots, 5 slots where a flit has 4, so at least 1.25 flits per line.
    #[test]
    fn writes_cross_the_link_intact() {
        let map = AddressMap::new(&[100, 100], 40).unwrap();
        let mut link = WriteLink::new(9);
        let mut sent = HashMap::new();
        for k in 0..50u64 {
            let t = (k % 2) as usize;
            let r = (k * 37) % 100;
            let row: Vec<f32> = (0..40).map(|c| (k * 100 + c) as f32 * 0.5).collect();
            link.write_row(&map, t, r, &row);
            sent.insert((t, r), row);
        }
        let mut got: HashMap<(usize, u64), Vec<f32>> = HashMap::new();
        link.flush(|addr, data| {
            let (t, r, line) = map.locate(addr).unwrap();
            let row = got.entry((t, r)).or_insert_with(|| vec![f32::NAN; 40]);
            for k in 0..16 {
                let c = line as usize * 16 + k;
                if c < 40 {
                    row[c] = f32::from_le_bytes(data[4 * k..4 * k + 4].try_into().unwrap());
                }
            }
        })
        .unwrap();
        assert_eq!(got, sent);
        let lines = 50 * map.lines_per_row();
        assert_eq!(link.messages, lines);
        assert!(
            link.flits * 4 >= lines * 5,
            "{} flits for {lines} lines",
            link.flits
        );
    }
}

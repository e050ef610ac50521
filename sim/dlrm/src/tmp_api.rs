// TEMPORARY until branch i7-npz lands (it defines these in weights.rs).
use crate::{RowFormat, Weights};
impl Weights {
    pub fn format(&self) -> RowFormat {
        RowFormat::Fp32
    }
    pub fn row_bytes_into(
        &self,
        t: usize,
        r: u64,
        fmt: RowFormat,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let mut row = vec![0f32; self.dim()];
        self.row_into(t, r, &mut row);
        fmt.encode(&row, out)
    }
}
pub fn pool_f64_in(
    trace: &crate::Trace,
    w: &Weights,
    fmt: RowFormat,
) -> Result<crate::PooledF64, crate::DlrmError> {
    let mut p = crate::pool_f64(trace, w)?;
    let dim = w.dim();
    let mut buf = Vec::new();
    let mut row = vec![0f64; dim];
    p.sum.iter_mut().for_each(|x| *x = 0.0);
    p.abs_sum.iter_mut().for_each(|x| *x = 0.0);
    for t in 0..trace.tables {
        for b in 0..trace.batch {
            for &r in trace.bag(t, b) {
                buf.clear();
                w.row_bytes_into(t, r as u64, fmt, &mut buf).unwrap();
                fmt.decode_f64(&buf, &mut row);
                for c in 0..dim {
                    p.sum[(t * trace.batch + b) * dim + c] += row[c];
                    p.abs_sum[(t * trace.batch + b) * dim + c] += row[c].abs() * 2.0;
                }
            }
        }
    }
    Ok(p)
}

//! Per-row uniform asymmetric quantization of embedding rows (Check-N-Run, Eisenman et al.,
//! NSDI 2022: checkpoints store quantized rows; low bit widths use an adaptive range search).
//!
//! A row `x` of `dim` floats is stored as `dim` codes of `bits` bits (packed) plus a bias and a
//! scale: `x'_c = bias + q_c * scale`, `q_c = round((x_c - bias) / scale)` clamped to
//! `0..=2^bits - 1`. The plain quantizer takes the row's range `[min, max]`; the greedy one
//! (used at 3 bits and below) first narrows the range the way caffe2's fused n-bit rowwise
//! operators do (`param_search_greedy`: 200 bins, shrink by one bin at the end that lowers the
//! L2 error more, stop at 84 % of the range, keep the best local optimum), clipping outliers to
//! buy resolution for the rest.
//!
//! Scale and bias are fp32 at 8 bits and fp16 below (the layouts of FBGEMM/caffe2's
//! `Fused8BitRowwiseQuantized` and `FusedNBitRowwiseQuantizedSBHalf` tables). To keep the error
//! bound below exact, fp16 values are rounded in a direction, not to nearest: the bias down and
//! the scale up, so the grid `bias + [0, L] * scale` still covers `[min, max]`.
//!
//! Error bound (plain quantizer): every `x_c` lies in `[bias, bias + L*scale]`, so
//! `t = (x_c - bias)/scale` lies in `[0, L]` and its nearest integer `q` is at most 1/2 away;
//! hence `|x_c - x'_c| <= scale/2` in exact arithmetic. Rounding in f32 adds at most a few units
//! in the last place of the values involved ([`error_bound`]).

use std::fmt;

/// How a quantized row stores its scale and bias.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScaleBias {
    /// Two binary16 values (4 bytes a row).
    Fp16,
    /// Two binary32 values (8 bytes a row).
    Fp32,
}

impl ScaleBias {
    /// FBGEMM's convention: fp32 for 8-bit rows, fp16 for narrower ones.
    pub fn for_bits(bits: u8) -> ScaleBias {
        if bits >= 8 {
            ScaleBias::Fp32
        } else {
            ScaleBias::Fp16
        }
    }

    /// Bytes of scale plus bias.
    pub fn bytes(self) -> u64 {
        match self {
            ScaleBias::Fp16 => 4,
            ScaleBias::Fp32 => 8,
        }
    }
}

impl fmt::Display for ScaleBias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScaleBias::Fp16 => "fp16",
            ScaleBias::Fp32 => "fp32",
        })
    }
}

/// Bit widths the quantizer supports.
pub const BITS: std::ops::RangeInclusive<u8> = 1..=8;
/// At this width and below the range is searched greedily instead of taken as `[min, max]`.
pub const GREEDY_MAX_BITS: u8 = 3;
/// Largest finite binary16 value.
const F16_MAX: f32 = 65504.0;

/// A row that cannot be quantized: a value is not finite, or (fp16) the bias or scale is beyond
/// binary16's range.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantError(pub String);

impl fmt::Display for QuantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Bytes of one quantized row: `dim` codes of `bits` bits packed, then scale and bias.
pub fn row_bytes(dim: usize, bits: u8, sb: ScaleBias) -> u64 {
    (dim as u64 * bits as u64).div_ceil(8) + sb.bytes()
}

/// `x` rounded to a binary16 value toward +infinity (`up`) or -infinity, or `None` beyond
/// binary16's finite range. Exact in f32: dividing by a power of two and flooring are exact.
pub fn f16_directed(x: f32, up: bool) -> Option<f32> {
    if !x.is_finite() {
        return None;
    }
    let a = x.abs();
    // Binary16 has 11 significant bits for normals (|x| >= 2^-14) and a fixed step 2^-24 below.
    // The step is a power of two, built from its exponent bits (binade of `a` minus 10).
    let min_normal = f32::from_bits(113 << 23); // 2^-14
    let ulp = if a < min_normal {
        f32::from_bits(103 << 23) // 2^-24
    } else {
        f32::from_bits(((a.to_bits() >> 23) - 10) << 23)
    };
    let q = x / ulp;
    let r = if up { q.ceil() } else { q.floor() } * ulp;
    (r.abs() <= F16_MAX).then_some(r)
}

/// A quantized row: codes (one per element, unpacked), bias and scale as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantRow {
    /// Code of each element, `0..=2^bits - 1`.
    pub codes: Vec<u8>,
    /// Stored bias (exactly representable in the scale/bias format).
    pub bias: f32,
    /// Stored scale (exactly representable in the scale/bias format); 0 for a constant row.
    pub scale: f32,
}

impl QuantRow {
    /// The restored row, `bias + q * scale` in f32.
    pub fn dequantize_into(&self, out: &mut [f32]) {
        for (o, &q) in out.iter_mut().zip(&self.codes) {
            *o = self.bias + q as f32 * self.scale;
        }
    }
}

/// Bias and scale whose grid covers `[lo, hi]` with `levels` steps, in format `sb`.
fn grid(lo: f32, hi: f32, levels: u32, sb: ScaleBias) -> Result<(f32, f32), QuantError> {
    let l = levels as f32;
    let beyond = || QuantError(format!("range [{lo}, {hi}] is beyond binary16's range"));
    let (bias, mut scale) = match sb {
        ScaleBias::Fp32 => (lo, (hi - lo) / l),
        ScaleBias::Fp16 => {
            let bias = f16_directed(lo, false).ok_or_else(beyond)?;
            (
                bias,
                f16_directed((hi - bias) / l, true).ok_or_else(beyond)?,
            )
        }
    };
    // f32 rounding of (hi - bias) / L may land one step short of hi: widen until covered.
    while bias + l * scale < hi {
        scale = match sb {
            ScaleBias::Fp32 => f32::from_bits(scale.to_bits() + 1),
            ScaleBias::Fp16 => f16_directed(scale * (1.0 + 2f32.powi(-11)), true)
                .filter(|&s| s > scale)
                .ok_or_else(beyond)?,
        };
    }
    Ok((bias, scale))
}

/// Code of `v` on the grid `bias + [0, levels] * scale`: nearest (ties to even), clipped; 0 when
/// scale is 0. Adding and subtracting 2^23 rounds a value in [0, 2^22) to the nearest integer
/// in two f32 additions (no libm call in this hot loop).
fn code(v: f32, bias: f32, scale: f32, levels: u32) -> u8 {
    const MAGIC: f32 = 8_388_608.0;
    if scale == 0.0 {
        return 0;
    }
    let t = ((v - bias) / scale).clamp(0.0, levels as f32);
    ((t + MAGIC) - MAGIC) as u8
}

/// Quantizes `x` to the grid covering `[lo, hi]` (elements outside are clipped).
fn quantize_range(
    x: &[f32],
    lo: f32,
    hi: f32,
    bits: u8,
    sb: ScaleBias,
) -> Result<QuantRow, QuantError> {
    let levels = (1u32 << bits) - 1;
    let (bias, scale) = grid(lo, hi, levels, sb)?;
    let codes = x.iter().map(|&v| code(v, bias, scale, levels)).collect();
    Ok(QuantRow { codes, bias, scale })
}

/// Squared L2 error of quantizing `x` on the grid covering `[lo, hi]`.
fn loss(x: &[f32], lo: f32, hi: f32, bits: u8, sb: ScaleBias) -> Result<f64, QuantError> {
    let levels = (1u32 << bits) - 1;
    let (bias, scale) = grid(lo, hi, levels, sb)?;
    Ok(x.iter()
        .map(|&v| {
            let d = v as f64 - (bias + code(v, bias, scale, levels) as f32 * scale) as f64;
            d * d
        })
        .sum())
}

/// Greedy range search: start from `[min, max]`, repeatedly shrink by one bin (1/200 of the
/// range) at whichever end lowers the error more, down to 84 % of the range; return the local
/// optimum with the lowest error (or `[min, max]` when there is none).
fn greedy_range(
    x: &[f32],
    min: f32,
    max: f32,
    bits: u8,
    sb: ScaleBias,
) -> Result<(f32, f32), QuantError> {
    const BINS: f32 = 200.0;
    const KEEP: f32 = 0.84;
    let step = (max - min) / BINS;
    if step <= 0.0 {
        return Ok((min, max));
    }
    let (mut lo, mut hi) = (min, max);
    let mut cur = loss(x, lo, hi, bits, sb)?;
    let mut best: Option<(f32, f32, f64)> = None;
    while lo + KEEP * BINS * step < hi {
        let left = loss(x, lo + step, hi, bits, sb)?;
        let right = loss(x, lo, hi - step, bits, sb)?;
        if cur < left && cur < right && best.is_none_or(|b| cur < b.2) {
            best = Some((lo, hi, cur));
        }
        if left < right {
            lo += step;
            cur = left;
        } else {
            hi -= step;
            cur = right;
        }
    }
    Ok(best.map_or((min, max), |b| (b.0, b.1)))
}

/// A row with at most two distinct values whose low value and difference the format holds
/// exactly: bias = low, scale = high - low, codes 0 and 1 (exact at every width).
fn two_valued(x: &[f32], min: f32, max: f32, sb: ScaleBias) -> Option<QuantRow> {
    if !x.iter().all(|&v| v == min || v == max) {
        return None;
    }
    let scale = max - min;
    let exact = |v: f32| match sb {
        ScaleBias::Fp32 => true,
        ScaleBias::Fp16 => f16_directed(v, false) == Some(v),
    };
    (exact(min) && exact(scale) && min + scale == max).then(|| QuantRow {
        codes: x
            .iter()
            .map(|&v| u8::from(v == max && scale != 0.0))
            .collect(),
        bias: min,
        scale,
    })
}

/// Quantizes one row to `bits` bits (plain range above [`GREEDY_MAX_BITS`], greedy range at and
/// below it) with scale and bias in `sb`.
pub fn quantize(x: &[f32], bits: u8, sb: ScaleBias) -> Result<QuantRow, QuantError> {
    assert!(BITS.contains(&bits), "quantize: {bits} bits");
    if let Some(v) = x.iter().find(|v| !v.is_finite()) {
        return Err(QuantError(format!("value {v} is not finite")));
    }
    let min = x.iter().copied().fold(f32::INFINITY, f32::min);
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if x.is_empty() {
        return Ok(QuantRow {
            codes: Vec::new(),
            bias: 0.0,
            scale: 0.0,
        });
    }
    if let Some(q) = two_valued(x, min, max, sb) {
        return Ok(q);
    }
    let (lo, hi) = if bits <= GREEDY_MAX_BITS {
        greedy_range(x, min, max, bits, sb)?
    } else {
        (min, max)
    };
    quantize_range(x, lo, hi, bits, sb)
}

/// Largest error the plain quantizer may make on an element of a row quantized to `q`:
/// `scale/2` plus f32 rounding (the division choosing the code, the product and the sum
/// restoring it: a few units of 2^-24 relative to the magnitudes involved).
pub fn error_bound(q: &QuantRow, max_abs_x: f32, bits: u8) -> f32 {
    let l = ((1u32 << bits) - 1) as f32;
    let mag = q.bias.abs() + l * q.scale + max_abs_x;
    q.scale / 2.0 + 4.0 * 2f32.powi(-24) * (mag + l * q.scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pifs_rng::Rng;

    fn random_row(rng: &mut Rng, dim: usize, spread: f64) -> Vec<f32> {
        (0..dim)
            .map(|_| ((rng.unit_f64() - 0.5) * spread) as f32)
            .collect()
    }

    fn restore(q: &QuantRow) -> Vec<f32> {
        let mut out = vec![0.0; q.codes.len()];
        q.dequantize_into(&mut out);
        out
    }

    /// Plain quantization (4 bits and up) stays within scale/2 (plus f32 rounding) on every
    /// element, for both scale/bias formats and for rows far from zero.
    #[test]
    fn plain_error_within_half_a_step() {
        let mut rng = Rng::new(7);
        for bits in 4..=8u8 {
            for sb in [ScaleBias::Fp16, ScaleBias::Fp32] {
                for k in 0..300 {
                    let offset = if k % 3 == 0 { 100.0 } else { 0.0 };
                    let row: Vec<f32> = random_row(&mut rng, 37, 1.0 + k as f64)
                        .iter()
                        .map(|v| v + offset)
                        .collect();
                    let q = quantize(&row, bits, sb).unwrap();
                    let back = restore(&q);
                    let max_abs = row.iter().fold(0f32, |m, v| m.max(v.abs()));
                    let bound = error_bound(&q, max_abs, bits);
                    // The grid covers the row, with the step the range from the stored bias
                    // needs (rounded up by at most 2^-10 relative for fp16).
                    let min = row.iter().copied().fold(f32::MAX, f32::min);
                    let max = row.iter().copied().fold(f32::MIN, f32::max);
                    let l = ((1u32 << bits) - 1) as f32;
                    assert!(q.bias <= min && q.bias + l * q.scale >= max);
                    assert!(q.scale <= (max - q.bias) / l * (1.0 + 2f32.powi(-9)) + 2f32.powi(-24));
                    for (a, b) in row.iter().zip(&back) {
                        assert!(
                            (a - b).abs() <= bound,
                            "{bits} bits {sb}: {a} -> {b}, bound {bound}"
                        );
                    }
                    assert!(q.codes.iter().all(|&c| (c as u32) < (1 << bits)));
                }
            }
        }
    }

    /// Constant rows restore exactly (scale 0), and so do two-valued rows whose low value and
    /// difference the scale/bias format holds: the low one is the bias, the difference the scale.
    #[test]
    fn constant_and_two_valued_rows_are_exact() {
        for bits in BITS {
            let sb = ScaleBias::for_bits(bits);
            let c = [0.25f32; 16];
            assert_eq!(restore(&quantize(&c, bits, sb).unwrap()), c.to_vec());
            let c32 = [0.123_456_79f32; 5];
            assert_eq!(
                restore(&quantize(&c32, bits, ScaleBias::Fp32).unwrap()),
                c32.to_vec()
            );
            let two32: Vec<f32> = (0..9).map(|i| if i % 2 == 0 { 0.1 } else { 0.7 }).collect();
            let q = quantize(&two32, bits, ScaleBias::Fp32).unwrap();
            // 0.1 + (0.7 - 0.1) == 0.7 in f32, so the two-valued grid applies (scale = the
            // difference, codes 0 and 1).
            assert_eq!(q.scale, 0.7f32 - 0.1);
            assert_eq!(restore(&q), two32);
            let two: Vec<f32> = (0..32)
                .map(|i| if i % 3 == 0 { -0.375 } else { 1.5 })
                .collect();
            assert_eq!(
                restore(&quantize(&two, bits, sb).unwrap()),
                two,
                "{bits} bits"
            );
        }
    }

    /// On random rows the error falls as the width grows: 2-bit above 4-bit above 8-bit.
    #[test]
    fn wider_codes_have_smaller_error() {
        let err = |bits: u8| {
            let mut rng = Rng::new(11);
            (0..200)
                .map(|_| {
                    let row = random_row(&mut rng, 64, 1.0);
                    let back = restore(&quantize(&row, bits, ScaleBias::for_bits(bits)).unwrap());
                    row.iter()
                        .zip(&back)
                        .map(|(a, b)| ((a - b) as f64).powi(2))
                        .sum::<f64>()
                })
                .sum::<f64>()
        };
        let (e8, e4, e2) = (err(8), err(4), err(2));
        assert!(e8 < e4 && e4 < e2, "{e8} {e4} {e2}");
    }

    /// The greedy range never does worse than the plain range (it starts there and keeps the
    /// best local optimum, which is only taken when it beats its neighbours).
    #[test]
    fn greedy_range_is_no_worse_than_min_max() {
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            let mut row = random_row(&mut rng, 32, 1.0);
            row[5] = 3.0; // an outlier the search can clip
            for bits in 1..=GREEDY_MAX_BITS {
                let sb = ScaleBias::for_bits(bits);
                let min = row.iter().copied().fold(f32::MAX, f32::min);
                let max = row.iter().copied().fold(f32::MIN, f32::max);
                let plain = loss(&row, min, max, bits, sb).unwrap();
                let q = quantize(&row, bits, sb).unwrap();
                let back = restore(&q);
                let greedy: f64 = row
                    .iter()
                    .zip(&back)
                    .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
                    .sum();
                assert!(greedy <= plain, "{bits} bits: {greedy} > {plain}");
            }
        }
    }

    /// Directed binary16 rounding agrees with a search over binary16 values built from bits.
    #[test]
    fn f16_rounding_brackets_the_value() {
        // Every finite positive binary16 value, decoded from its bit pattern.
        let f16s: Vec<f32> = (0u32..0x7c00)
            .map(|h| {
                let e = (h >> 10) as i32;
                let m = (h & 0x3ff) as f32;
                if e == 0 {
                    m * 2f32.powi(-24)
                } else {
                    (1.0 + m / 1024.0) * 2f32.powi(e - 15)
                }
            })
            .collect();
        let mut rng = Rng::new(5);
        for k in 0..5000 {
            let x = (rng.unit_f64() * 2f64.powi((k % 40) - 25)) as f32;
            let down = f16_directed(x, false).unwrap();
            let up = f16_directed(x, true).unwrap();
            let i = f16s.partition_point(|&v| v <= x);
            assert_eq!(down, f16s[i - 1], "{x}");
            let j = f16s.partition_point(|&v| v < x);
            assert_eq!(up, f16s[j], "{x}");
            assert_eq!(f16_directed(-x, true).unwrap(), -down);
        }
        assert_eq!(f16_directed(70000.0, false), None);
    }

    /// Packed row sizes: dim * bits rounded up to bytes, plus 4 (fp16) or 8 (fp32) bytes.
    #[test]
    fn row_sizes() {
        for dim in [1usize, 7, 32, 33] {
            for bits in BITS {
                let sb = ScaleBias::for_bits(bits);
                let bits_total = dim * bits as usize;
                let expect = bits_total / 8
                    + usize::from(!bits_total.is_multiple_of(8))
                    + sb.bytes() as usize;
                assert_eq!(row_bytes(dim, bits, sb), expect as u64);
            }
        }
    }
}

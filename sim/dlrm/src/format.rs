//! Row formats of embedding tables in device memory: fp32, fp16, and int8 row-wise (FBGEMM's
//! inference layout: an fp16 scale and an fp16 bias in front of the row's uint8 codes,
//! `x = q * scale + bias`).
//!
//! A row starts on a 64-byte line and takes `dev_lines` lines in memory; the switch port widens
//! it to `out_lines = ceil(dim / 16)` binary32 lines before summing (`rtl/pifs_dequant.sv`). The
//! RTL-exact binary32 dequantisation lives with the reference model (`pifs_sim::fp`); this module
//! has the layouts, the quantiser, the binary16 conversions and the float64 decode the pooling
//! reference uses.

use std::fmt;
use std::str::FromStr;

/// How one embedding row is stored in device memory.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RowFormat {
    /// binary32 values, 4 bytes each.
    #[default]
    Fp32,
    /// binary16 values, 2 bytes each.
    Fp16,
    /// FBGEMM row-wise int8: fp16 scale (bytes 0-1), fp16 bias (bytes 2-3), one uint8 code per
    /// value from byte 4 on.
    Int8,
}

/// Bytes of the int8 row header (fp16 scale, fp16 bias).
pub const INT8_HEADER: usize = 4;

impl RowFormat {
    /// Every format, narrowest last.
    pub const ALL: [RowFormat; 3] = [RowFormat::Fp32, RowFormat::Fp16, RowFormat::Int8];

    pub fn name(self) -> &'static str {
        match self {
            RowFormat::Fp32 => "fp32",
            RowFormat::Fp16 => "fp16",
            RowFormat::Int8 => "int8",
        }
    }

    /// The RTL's format code (`fmt_i` of `pifs_dequant`).
    pub fn code(self) -> u32 {
        match self {
            RowFormat::Fp32 => 0,
            RowFormat::Fp16 => 1,
            RowFormat::Int8 => 2,
        }
    }

    /// Bytes of one row of `dim` values.
    pub fn row_bytes(self, dim: usize) -> usize {
        match self {
            RowFormat::Fp32 => 4 * dim,
            RowFormat::Fp16 => 2 * dim,
            RowFormat::Int8 => INT8_HEADER + dim,
        }
    }

    /// 64-byte lines one row takes in device memory (rows start on a line).
    pub fn dev_lines(self, dim: usize) -> usize {
        self.row_bytes(dim).div_ceil(64)
    }

    /// binary32 lines (16 lanes) the port sums per row: `ceil(dim / 16)` in every format.
    pub fn out_lines(dim: usize) -> usize {
        dim.div_ceil(16)
    }

    /// binary32 lines the port makes of each device line (`exp_i` of `pifs_dequant`).
    pub fn expand(self, dim: usize) -> usize {
        let l = Self::out_lines(dim);
        match self {
            RowFormat::Fp32 => 1,
            RowFormat::Fp16 => l.min(2),
            RowFormat::Int8 => l,
        }
    }

    /// Whether the port can widen rows of `dim` values in this format: every device line must
    /// make the same number of binary32 lines, and an int8 row must fit one line (its scale and
    /// bias travel with the first line only).
    pub fn check(self, dim: usize) -> Result<(), String> {
        let l = Self::out_lines(dim);
        match self {
            RowFormat::Fp32 => Ok(()),
            RowFormat::Fp16 if l == 1 || l.is_multiple_of(2) => Ok(()),
            RowFormat::Fp16 => Err(format!(
                "fp16 rows of dim {dim} are not supported: the port widens each 64-byte line into 2 lines of 16 values, so dim must be at most 16 or round up to a multiple of 32"
            )),
            RowFormat::Int8 if INT8_HEADER + dim <= 64 => Ok(()),
            RowFormat::Int8 => Err(format!(
                "int8 rows of dim {dim} are not supported: a row (4-byte scale and bias + dim codes) must fit one 64-byte line, so dim must be at most 60"
            )),
        }
    }

    /// Stores `row` in this format, appending `row_bytes(row.len())` bytes to `out`. fp16
    /// rounds to nearest even; int8 takes FBGEMM's rule: bias = min, scale = (max - min) / 255,
    /// both rounded to fp16, codes round((x - bias) / scale) clamped to 0..255.
    pub fn encode(self, row: &[f32], out: &mut Vec<u8>) -> Result<(), String> {
        if let Some((c, x)) = row.iter().enumerate().find(|(_, x)| !x.is_finite()) {
            return Err(format!("column {c} is {x}: not finite"));
        }
        match self {
            RowFormat::Fp32 => row.iter().for_each(|x| out.extend(x.to_le_bytes())),
            RowFormat::Fp16 => {
                for (c, &x) in row.iter().enumerate() {
                    let h = f32_to_f16(x);
                    if (h & 0x7C00) == 0x7C00 {
                        return Err(format!("column {c} is {x}: beyond fp16's range"));
                    }
                    out.extend(h.to_le_bytes());
                }
            }
            RowFormat::Int8 => {
                let lo = row.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let (lo, hi) = if row.is_empty() { (0.0, 0.0) } else { (lo, hi) };
                let bias = f32_to_f16(lo);
                let scale = f32_to_f16((hi - lo) / 255.0);
                if (bias & 0x7C00) == 0x7C00 || (scale & 0x7C00) == 0x7C00 {
                    return Err(format!(
                        "values {lo}..{hi}: the fp16 scale and bias cannot hold them"
                    ));
                }
                let (b, s) = (f16_to_f32(bias), f16_to_f32(scale));
                out.extend(scale.to_le_bytes());
                out.extend(bias.to_le_bytes());
                for &x in row {
                    let q = if s > 0.0 { ((x - b) / s).round() } else { 0.0 };
                    out.push(q.clamp(0.0, 255.0) as u8);
                }
            }
        }
        Ok(())
    }

    /// The binary32 values of a stored row (`bytes` holds at least `row_bytes(out.len())`
    /// bytes), as the switch computes them: fp16 exactly; int8 `(q as f32) * scale + bias` in
    /// binary32 (the product is exact, the addition rounds to nearest even once).
    pub fn decode_f32(self, bytes: &[u8], out: &mut [f32]) {
        let half = |i: usize| f16_to_f32(u16::from_le_bytes([bytes[i], bytes[i + 1]]));
        match self {
            RowFormat::Fp32 => {
                for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *o = f32::from_le_bytes(b.try_into().expect("4 bytes"));
                }
            }
            RowFormat::Fp16 => {
                for (c, o) in out.iter_mut().enumerate() {
                    *o = half(2 * c);
                }
            }
            RowFormat::Int8 => {
                let (scale, bias) = (half(0), half(2));
                for (o, &q) in out.iter_mut().zip(&bytes[INT8_HEADER..]) {
                    *o = f32::from(q) * scale + bias;
                }
            }
        }
    }

    /// The values a stored row stands for, in float64 (`bytes` holds at least `row_bytes(dim)`
    /// bytes): exact for fp32 and fp16, `q * scale + bias` without rounding for int8.
    pub fn decode_f64(self, bytes: &[u8], out: &mut [f64]) {
        match self {
            RowFormat::Fp32 => {
                for (c, o) in out.iter_mut().enumerate() {
                    *o = f64::from(f32::from_le_bytes(
                        bytes[4 * c..4 * c + 4].try_into().unwrap(),
                    ));
                }
            }
            RowFormat::Fp16 => {
                for (c, o) in out.iter_mut().enumerate() {
                    *o = f64::from(f16_to_f32(u16::from_le_bytes([
                        bytes[2 * c],
                        bytes[2 * c + 1],
                    ])));
                }
            }
            RowFormat::Int8 => {
                let s = f64::from(f16_to_f32(u16::from_le_bytes([bytes[0], bytes[1]])));
                let b = f64::from(f16_to_f32(u16::from_le_bytes([bytes[2], bytes[3]])));
                for (c, o) in out.iter_mut().enumerate() {
                    *o = f64::from(bytes[INT8_HEADER + c]) * s + b;
                }
            }
        }
    }
}

impl fmt::Display for RowFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RowFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        RowFormat::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown row format {s:?}: expected fp32, fp16 or int8"))
    }
}

/// binary16 to binary32, exact (a NaN keeps its payload, shifted up).
pub fn f16_to_f32(h: u16) -> f32 {
    let s = u32::from(h >> 15) << 31;
    let e = u32::from((h >> 10) & 0x1F);
    let m = u32::from(h & 0x3FF);
    let bits = match (e, m) {
        (0, 0) => s,
        (0, _) => {
            // m * 2^-24, normalised: the leading one at bit p gives exponent p - 24.
            let p = 31 - m.leading_zeros();
            s | ((p + 103) << 23) | ((m << (23 - p)) & 0x7F_FFFF)
        }
        (31, _) => s | 0x7F80_0000 | (m << 13),
        _ => s | ((e + 112) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// binary32 to binary16, round to nearest even (overflow to infinity, NaN stays NaN).
pub fn f32_to_f16(x: f32) -> u16 {
    let b = x.to_bits();
    let s = ((b >> 16) & 0x8000) as u16;
    let e = ((b >> 23) & 0xFF) as i32;
    let m = b & 0x7F_FFFF;
    if e == 0xFF {
        return s | 0x7C00 | if m != 0 { 0x200 } else { 0 };
    }
    // Value = sig * 2^(e2) with a 24-bit significand (hidden bit included for normals).
    let (sig, e2) = if e == 0 {
        (m, -149)
    } else {
        (m | 0x80_0000, e - 150)
    };
    if sig == 0 {
        return s;
    }
    // binary16 keeps 11 significant bits with exponent >= -24 (subnormal quantum 2^-24).
    let top = 31 - sig.leading_zeros() as i32 + e2; // exponent of the leading one
    let q = (top - 10).max(-24); // exponent of the last kept bit
    let shift = q - e2;
    let kept = if shift <= 0 {
        sig << (-shift)
    } else if shift >= 32 {
        0
    } else {
        let k = sig >> shift;
        let rem = sig & ((1u32 << shift) - 1);
        let half = 1u32 << (shift - 1);
        k + u32::from(rem > half || (rem == half && k & 1 == 1))
    };
    // kept * 2^q; kept may have carried to 2^11.
    let (kept, q) = if kept >= 0x800 {
        (kept >> 1, q + 1)
    } else {
        (kept, q)
    };
    if kept == 0 {
        return s;
    }
    if kept < 0x400 {
        return s | kept as u16; // subnormal: q == -24
    }
    let exp = q + 10 + 15;
    if exp >= 31 {
        return s | 0x7C00;
    }
    s | ((exp as u16) << 10) | (kept as u16 & 0x3FF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_round_trips_every_value() {
        for h in 0..=u16::MAX {
            let x = f16_to_f32(h);
            if x.is_nan() {
                assert!(f16_to_f32(f32_to_f16(x)).is_nan());
            } else {
                assert_eq!(f32_to_f16(x), h, "{h:#06x}");
            }
        }
    }

    #[test]
    fn f32_to_f16_rounds_to_nearest_even() {
        // Independent reference: the nearest of the binary16 values (f64 distances), ties to an
        // even code, over random binary32 inputs in and around binary16's range.
        let finite: Vec<(f64, u16)> = (0..=0x7BFFu16)
            .map(|h| (f64::from(f16_to_f32(h)), h))
            .collect();
        let mut z = 0x1234_5678_9ABC_DEF0u64;
        for _ in 0..200_000 {
            z = z
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let e = 100 + (z >> 59) as u32 % 45; // exponents 2^-27 .. 2^17
            let x = f32::from_bits((e << 23) | ((z >> 20) as u32 & 0x7F_FFFF));
            let v = f64::from(x);
            let i = finite.partition_point(|&(f, _)| f < v);
            let want = if i == finite.len() {
                // Beyond the largest finite value: infinity from max + half an ulp on.
                if v >= 65520.0 {
                    0x7C00
                } else {
                    0x7BFF
                }
            } else if i == 0 {
                finite[0].1
            } else {
                let (a, b) = (finite[i - 1], finite[i]);
                let (da, db) = (v - a.0, b.0 - v);
                if da < db || (da == db && a.1 % 2 == 0) {
                    a.1
                } else {
                    b.1
                }
            };
            assert_eq!(f32_to_f16(x), want, "{x:e}");
            assert_eq!(f32_to_f16(-x), want | 0x8000);
        }
    }

    #[test]
    fn layouts_and_limits() {
        assert_eq!(RowFormat::Fp32.dev_lines(32), 2);
        assert_eq!(RowFormat::Fp16.dev_lines(32), 1);
        assert_eq!(RowFormat::Int8.dev_lines(32), 1);
        assert_eq!(RowFormat::Fp16.dev_lines(64), 2);
        assert_eq!(RowFormat::Fp16.expand(64), 2);
        assert_eq!(RowFormat::Int8.expand(48), 3);
        assert!(RowFormat::Int8.check(60).is_ok());
        assert!(RowFormat::Int8.check(61).is_err());
        assert!(RowFormat::Fp16.check(48).is_err());
        assert!(RowFormat::Fp16.check(16).is_ok());
        for f in RowFormat::ALL {
            assert_eq!(f.name().parse::<RowFormat>(), Ok(f));
        }
        assert!("bf16".parse::<RowFormat>().is_err());
    }

    #[test]
    fn int8_codes_stay_within_half_a_step() {
        let row: Vec<f32> = (0..40).map(|c| (c as f32 * 0.37).sin()).collect();
        let mut bytes = Vec::new();
        RowFormat::Int8.encode(&row, &mut bytes).unwrap();
        assert_eq!(bytes.len(), 44);
        let mut back = vec![0.0; 40];
        RowFormat::Int8.decode_f64(&bytes, &mut back);
        let s = f64::from(f16_to_f32(u16::from_le_bytes([bytes[0], bytes[1]])));
        for (x, y) in row.iter().zip(&back) {
            // Half a step, plus the fp16 rounding of the bias (at most half an fp16 ulp of min).
            assert!((f64::from(*x) - y).abs() <= 0.5 * s + 1e-3, "{x} vs {y}");
        }
        assert!(RowFormat::Int8.encode(&[f32::NAN], &mut bytes).is_err());
        assert!(RowFormat::Fp16.encode(&[1e6], &mut bytes).is_err());
    }
}

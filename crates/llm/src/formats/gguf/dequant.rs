//! ggml tensor types to f32: F32, F16, BF16 and the block formats Q8_0, Q4_0, Q4_K, Q6_K.

use half::{bf16, f16};

use super::GgmlType;
use crate::error::{LlmError, Result};

/// The types [`dequantize`] converts.
pub(super) const SUPPORTED: &str = "F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K";
const QK_K: usize = 256;

fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[i], b[i + 1]])).to_f32()
}

/// Converts `bytes` of ggml type `ty` (already checked to hold exactly `numel` elements) to f32.
pub(super) fn dequantize(name: &str, ty: GgmlType, bytes: &[u8], numel: u64) -> Result<Vec<f32>> {
    let n = usize::try_from(numel)
        .map_err(|_| LlmError::Invalid(format!("tensor `{name}` too large")))?;
    let mut out = Vec::with_capacity(n);
    match ty {
        GgmlType::F32 => out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        ),
        GgmlType::F16 => out.extend(bytes.chunks_exact(2).map(|c| f16_at(c, 0))),
        GgmlType::BF16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|c| bf16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32()),
        ),
        GgmlType::Q8_0 => {
            for blk in bytes.chunks_exact(34) {
                let d = f16_at(blk, 0);
                out.extend(blk[2..].iter().map(|&q| d * f32::from(q as i8)));
            }
        }
        GgmlType::Q4_0 => {
            for blk in bytes.chunks_exact(18) {
                let d = f16_at(blk, 0);
                let qs = &blk[2..18];
                out.extend(qs.iter().map(|&q| d * f32::from((q & 0x0f) as i8 - 8)));
                out.extend(qs.iter().map(|&q| d * f32::from((q >> 4) as i8 - 8)));
            }
        }
        GgmlType::Q4_K => {
            for blk in bytes.chunks_exact(144) {
                let d = f16_at(blk, 0);
                let dmin = f16_at(blk, 2);
                let sc = &blk[4..16];
                let qs = &blk[16..144];
                // 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes
                let scale_min = |j: usize| -> (u8, u8) {
                    if j < 4 {
                        (sc[j] & 63, sc[j + 4] & 63)
                    } else {
                        (
                            (sc[j + 4] & 0x0f) | ((sc[j - 4] >> 6) << 4),
                            (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4),
                        )
                    }
                };
                for chunk in 0..4 {
                    let q = &qs[chunk * 32..chunk * 32 + 32];
                    for half in 0..2 {
                        let (s, m) = scale_min(2 * chunk + half);
                        let dl = d * f32::from(s);
                        let ml = dmin * f32::from(m);
                        let shift = 4 * half;
                        out.extend(q.iter().map(|&b| dl * f32::from((b >> shift) & 0x0f) - ml));
                    }
                }
            }
        }
        GgmlType::Q6_K => {
            for blk in bytes.chunks_exact(210) {
                let ql = &blk[0..128];
                let qh = &blk[128..192];
                let scales = &blk[192..208];
                let d = f16_at(blk, 208);
                let start = out.len();
                out.resize(start + QK_K, 0.0);
                let y = &mut out[start..];
                for e in 0..QK_K {
                    let half = e / 128; // which 128-element half
                    let r = e % 128;
                    // low 4 bits: ql[half*64 + r%64], nibble r/64
                    let lo = (ql[half * 64 + r % 64] >> (4 * (r / 64))) & 0x0f;
                    // high 2 bits: qh[half*32 + r%32], pair r/32
                    let hi = (qh[half * 32 + r % 32] >> (2 * (r / 32))) & 0x03;
                    let q = i16::from(lo | (hi << 4)) - 32;
                    let s = f32::from(scales[e / 16] as i8);
                    y[e] = d * s * f32::from(q);
                }
            }
        }
        other => {
            return Err(LlmError::BadDtype {
                name: name.to_string(),
                dtype: other.describe(),
                supported: SUPPORTED,
            })
        }
    }
    if out.len() != n {
        return Err(LlmError::Invalid(format!(
            "tensor `{name}`: decoded {} values, expected {n}",
            out.len()
        )));
    }
    Ok(out)
}

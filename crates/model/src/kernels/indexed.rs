//! Data movement whose index map is read from an index tensor (ONNX Gather with computed
//! indices, GatherElements, GatherND, ScatterElements, ScatterND): every output element is a
//! copy of one element of the data tensor or (scatters) of the updates tensor.
//!
//! The map is a function of the index *values* only, so when the index tensor is public (a
//! model input) both prover and verifier compute it and the op costs no proof bytes.

use serde::{Deserialize, Serialize};

use super::{next_index, strides};

/// Which indexed movement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexKind {
    /// `out[a, i, b] = data[a, idx[i], b]` (idx spliced in at `axis`).
    Gather {
        /// Axis of `data`.
        axis: usize,
    },
    /// `out[p] = data[p with p[axis] = idx[p]]` (idx has the output's shape).
    GatherElements {
        /// Axis.
        axis: usize,
    },
    /// `out[batch, i, rest] = data[batch, idx[batch, i, ..k], rest]` (k = idx's last dim).
    GatherNd {
        /// Leading batch dimensions shared by data and idx.
        batch_dims: usize,
    },
    /// `out = data`, then `out[p with p[axis] = idx[p]] = upd[p]` for every p of idx.
    ScatterElements {
        /// Axis.
        axis: usize,
    },
    /// `out = data`, then `out[idx[i, ..k], rest] = upd[i, rest]`.
    ScatterNd,
}

impl IndexKind {
    /// Whether the op has an updates input (scatters).
    pub fn has_updates(self) -> bool {
        matches!(
            self,
            IndexKind::ScatterElements { .. } | IndexKind::ScatterNd
        )
    }
}

/// Source of one output element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    /// Element of the data tensor (row-major offset).
    Data(usize),
    /// Element of the updates tensor.
    Update(usize),
}

fn norm(i: i64, dim: usize) -> Result<usize, String> {
    let d = dim as i64;
    let j = if i < 0 { i + d } else { i };
    if (0..d).contains(&j) {
        Ok(j as usize)
    } else {
        Err(format!("index {i} out of range for a dimension of {dim}"))
    }
}

fn numel(s: &[usize]) -> usize {
    s.iter().product()
}

fn check_len(what: &str, got: usize, shape: &[usize]) -> Result<(), String> {
    if got == numel(shape) {
        Ok(())
    } else {
        Err(format!(
            "{what} has {got} values, shape {shape:?} needs {}",
            numel(shape)
        ))
    }
}

/// The source of every output element. `idx` holds the index tensor's values (row-major),
/// `supd` the updates' shape for scatters. Errors (out-of-range index, inconsistent shapes)
/// are messages for the caller to wrap.
pub fn indexed_map(
    kind: IndexKind,
    sdata: &[usize],
    sidx: &[usize],
    idx: &[i64],
    supd: Option<&[usize]>,
    sout: &[usize],
) -> Result<Vec<Src>, String> {
    check_len("index tensor", idx.len(), sidx)?;
    let st = strides(sdata);
    let r = sdata.len();
    match kind {
        IndexKind::Gather { axis } => {
            if axis >= r {
                return Err(format!("gather axis {axis} of a rank-{r} tensor"));
            }
            let mut want = sdata[..axis].to_vec();
            want.extend_from_slice(sidx);
            want.extend_from_slice(&sdata[axis + 1..]);
            if want != sout {
                return Err(format!("gather output shape {sout:?}, expected {want:?}"));
            }
            let pre = numel(&sdata[..axis]);
            let post = numel(&sdata[axis + 1..]);
            let rows = idx
                .iter()
                .map(|&i| norm(i, sdata[axis]))
                .collect::<Result<Vec<_>, _>>()?;
            let mut m = Vec::with_capacity(numel(sout));
            for p in 0..pre {
                for &row in &rows {
                    for q in 0..post {
                        m.push(Src::Data(p * sdata[axis] * post + row * st[axis] + q));
                    }
                }
            }
            Ok(m)
        }
        IndexKind::GatherElements { axis } => {
            if axis >= r || sidx.len() != r || sidx != sout {
                return Err(format!(
                    "gather-elements shapes: data {sdata:?}, indices {sidx:?}, output {sout:?}"
                ));
            }
            let mut m = Vec::with_capacity(idx.len());
            let mut p = vec![0usize; r];
            for &i in idx {
                let mut off = 0;
                for a in 0..r {
                    let c = if a == axis { norm(i, sdata[a])? } else { p[a] };
                    if c >= sdata[a] {
                        return Err(format!("position {p:?} outside data {sdata:?}"));
                    }
                    off += c * st[a];
                }
                m.push(Src::Data(off));
                next_index(&mut p, sidx);
            }
            Ok(m)
        }
        IndexKind::GatherNd { batch_dims: b } => {
            let k = *sidx.last().ok_or("gather-nd indices of rank 0")?;
            if sidx.len() < b + 1 || r < b + k || sdata[..b] != sidx[..b] {
                return Err(format!(
                    "gather-nd shapes: data {sdata:?}, indices {sidx:?}"
                ));
            }
            let mut want = sidx[..sidx.len() - 1].to_vec();
            want.extend_from_slice(&sdata[b + k..]);
            if want != sout {
                return Err(format!(
                    "gather-nd output shape {sout:?}, expected {want:?}"
                ));
            }
            let slice = numel(&sdata[b + k..]);
            let per_batch = numel(&sidx[b..sidx.len() - 1]);
            let mut m = Vec::with_capacity(numel(sout));
            for (t, tuple) in idx
                .chunks(k.max(1))
                .enumerate()
                .take(numel(&sidx[..sidx.len() - 1]))
            {
                let batch = t.checked_div(per_batch).unwrap_or(0);
                let mut off = 0;
                let mut bb = batch;
                for a in (0..b).rev() {
                    off += (bb % sdata[a]) * st[a];
                    bb /= sdata[a];
                }
                for (j, &i) in tuple.iter().enumerate().take(k) {
                    off += norm(i, sdata[b + j])? * st[b + j];
                }
                m.extend((0..slice).map(|q| Src::Data(off + q)));
            }
            Ok(m)
        }
        IndexKind::ScatterElements { axis } => {
            let supd = supd.ok_or("scatter without updates")?;
            if axis >= r || sidx.len() != r || sidx != supd || sdata != sout {
                return Err(format!(
                    "scatter-elements shapes: data {sdata:?}, indices {sidx:?}, updates {supd:?}"
                ));
            }
            let mut m: Vec<Src> = (0..numel(sdata)).map(Src::Data).collect();
            let mut p = vec![0usize; r];
            for (u, &i) in idx.iter().enumerate() {
                let mut off = 0;
                for a in 0..r {
                    let c = if a == axis { norm(i, sdata[a])? } else { p[a] };
                    if c >= sdata[a] {
                        return Err(format!("position {p:?} outside data {sdata:?}"));
                    }
                    off += c * st[a];
                }
                m[off] = Src::Update(u);
                next_index(&mut p, sidx);
            }
            Ok(m)
        }
        IndexKind::ScatterNd => {
            let supd = supd.ok_or("scatter without updates")?;
            let k = *sidx.last().ok_or("scatter-nd indices of rank 0")?;
            let mut want = sidx[..sidx.len() - 1].to_vec();
            want.extend_from_slice(sdata.get(k..).unwrap_or(&[]));
            if k > r || want != supd || sdata != sout {
                return Err(format!(
                    "scatter-nd shapes: data {sdata:?}, indices {sidx:?}, updates {supd:?}"
                ));
            }
            let slice = numel(&sdata[k..]);
            let mut m: Vec<Src> = (0..numel(sdata)).map(Src::Data).collect();
            for (t, tuple) in idx
                .chunks(k.max(1))
                .enumerate()
                .take(numel(&sidx[..sidx.len() - 1]))
            {
                let mut off = 0;
                for (j, &i) in tuple.iter().enumerate().take(k) {
                    off += norm(i, sdata[j])? * st[j];
                }
                for q in 0..slice {
                    m[off + q] = Src::Update(t * slice + q);
                }
            }
            Ok(m)
        }
    }
}

/// Integer indices from a quantized index tensor with `frac` fraction bits: `q / 2^frac`,
/// which must be exact (an index that is not an integer is an error, never rounded).
pub fn dequant_indices(q: &[i64], frac: i32) -> Result<Vec<i64>, String> {
    q.iter()
        .map(|&v| {
            if frac >= 0 {
                let d = 1i64 << frac.min(62);
                (v % d == 0)
                    .then_some(v / d)
                    .ok_or_else(|| format!("index value {v}/2^{frac} is not an integer"))
            } else {
                // unsigned_abs: a hostile key's i32::MIN must not overflow the negation.
                let k = frac.unsigned_abs().min(62);
                v.checked_mul(1i64 << k)
                    .ok_or_else(|| format!("index value {v}·2^{k} overflows"))
            }
        })
        .collect()
}

/// Integer indices from float values (exact integers only).
pub fn float_indices(v: &[f32]) -> Option<Vec<i64>> {
    v.iter()
        .map(|&x| (x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15).then_some(x as i64))
        .collect()
}

/// Applies a map: `out[i] = data[j]` or `upd[j]`.
pub fn apply<T: Copy>(map: &[Src], data: &[T], upd: &[T]) -> Option<Vec<T>> {
    map.iter()
        .map(|s| match *s {
            Src::Data(j) => data.get(j).copied(),
            Src::Update(j) => upd.get(j).copied(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        kind: IndexKind,
        sd: &[usize],
        si: &[usize],
        idx: &[i64],
        su: Option<&[usize]>,
        so: &[usize],
    ) -> Vec<i64> {
        let data: Vec<i64> = (0..numel(sd) as i64).collect();
        let upd: Vec<i64> = su.map_or(vec![], |s| (0..numel(s) as i64).map(|v| 100 + v).collect());
        let m = indexed_map(kind, sd, si, idx, su, so).unwrap();
        apply(&m, &data, &upd).unwrap()
    }

    #[test]
    fn onnx_examples() {
        // Gather axis 0 (embedding): rows 2, 0, -1 of a 3×2 table.
        let g = run(
            IndexKind::Gather { axis: 0 },
            &[3, 2],
            &[3],
            &[2, 0, -1],
            None,
            &[3, 2],
        );
        assert_eq!(g, vec![4, 5, 0, 1, 4, 5]);
        // GatherElements axis 1 (ONNX spec example: data [[1,2],[3,4]], idx [[0,0],[1,0]]).
        let g = run(
            IndexKind::GatherElements { axis: 1 },
            &[2, 2],
            &[2, 2],
            &[0, 0, 1, 0],
            None,
            &[2, 2],
        );
        assert_eq!(g, vec![0, 0, 3, 2]);
        // GatherND batch 0, k = 2: data 2×2, idx [[0,0],[1,1]] → [d00, d11].
        let g = run(
            IndexKind::GatherNd { batch_dims: 0 },
            &[2, 2],
            &[2, 2],
            &[0, 0, 1, 1],
            None,
            &[2],
        );
        assert_eq!(g, vec![0, 3]);
        // GatherND batch 1, k = 1: data 2×2×2, idx [[1],[0]] → out 2×2.
        let g = run(
            IndexKind::GatherNd { batch_dims: 1 },
            &[2, 2, 2],
            &[2, 1],
            &[1, 0],
            None,
            &[2, 2],
        );
        assert_eq!(g, vec![2, 3, 4, 5]);
        // ScatterElements axis 1: row 0 col 1 ← upd[0], row 1 col 0 ← upd[1].
        let s = run(
            IndexKind::ScatterElements { axis: 1 },
            &[2, 2],
            &[2, 1],
            &[1, 0],
            Some(&[2, 1]),
            &[2, 2],
        );
        assert_eq!(s, vec![0, 100, 101, 3]);
        // ScatterND k = 1 on 4 elements: positions 3 and 1.
        let s = run(
            IndexKind::ScatterNd,
            &[4],
            &[2, 1],
            &[3, 1],
            Some(&[2]),
            &[4],
        );
        assert_eq!(s, vec![0, 101, 2, 100]);
    }

    #[test]
    fn bad_indices_are_errors() {
        assert!(dequant_indices(&[3], i32::MIN).is_err());
        assert_eq!(dequant_indices(&[8, -4], 2), Ok(vec![2, -1]));
        assert!(dequant_indices(&[5], 2).is_err());
        assert!(indexed_map(
            IndexKind::Gather { axis: 0 },
            &[3, 2],
            &[1],
            &[3],
            None,
            &[1, 2]
        )
        .is_err());
        assert!(indexed_map(
            IndexKind::Gather { axis: 0 },
            &[3, 2],
            &[1],
            &[-4],
            None,
            &[1, 2]
        )
        .is_err());
        assert!(indexed_map(
            IndexKind::Gather { axis: 2 },
            &[3, 2],
            &[1],
            &[0],
            None,
            &[1, 2]
        )
        .is_err());
        assert!(indexed_map(IndexKind::ScatterNd, &[4], &[2, 1], &[3], Some(&[2]), &[4]).is_err());
    }
}

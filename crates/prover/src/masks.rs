//! The masks of a masked walk: where they are committed and how every claim is settled.
//!
//! Every walk sumcheck with at least one round gets a Libra mask (`zkinfer_sumcheck::Mask`)
//! and ends with `n` values `s_l(r_l)`, each a point evaluation of that mask's table. Opening
//! thousands of points one by one in the hiding PCS costs about one pass over the stack per
//! point (nanoGPT: 3,426 points, 40× the plain prove time). So the witness polynomials, the
//! walk masks, the settlement's mask and a random blinding block are stacked into **one**
//! polynomial `S` (each at an offset aligned to its size, [`MaskStack`]); every witness claim
//! and every mask value is a point claim on `S` (the block's index in the high coordinates);
//! and after the walk one more masked sumcheck — the *settlement*,
//! `Σ_x W(x)·S(x) = Σ_i γ^i v_i` with `W = Σ_i γ^i eq(q_i, ·)` — reduces them all to one
//! point `S(z)`. The hiding opening then proves `S(z)` and the settlement mask's `m` values:
//! `1 + m` point claims.
//!
//! Zero knowledge of the settlement: `S(z)` is the only new value; the blinding block (random,
//! used by no sumcheck) enters it with weight `eq(z_high, block)`, nonzero except with
//! probability `m/|EF|`, so `S(z)` is uniform and independent of the rest of the view. The
//! settlement sumcheck itself is masked as every other.
//!
//! Soundness: `γ` batches the claims (error `claims/|EF|`), the settlement sumcheck adds
//! `(1 + m·3)/|EF|` (degree 2, four coefficient slots per variable).

use zkinfer_field::p3_field::PrimeCharacteristicRing;
use zkinfer_pcs::Claim;
use zkinfer_poly::{eq_eval, eq_table_scaled};
use zkinfer_sumcheck::{mask_claims, Mask, MaskShape};

use crate::{EF, F};

/// Largest number of variables of the stacked polynomial `S`.
pub const MAX_STACK_VARS: usize = 28;

/// Where each witness polynomial and each walk mask sits in the stacked polynomial `S`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaskStack {
    /// Number of witness polynomials (blocks `0..witness`; the walk masks follow, then the
    /// settlement's mask).
    pub witness: usize,
    /// Per block: its variables and its offset in `S` (a multiple of its size).
    pub blocks: Vec<(usize, usize)>,
    /// The blinding block: offset and variables.
    pub blind: (usize, usize),
    /// Variables of `S`.
    pub vars: usize,
}

impl MaskStack {
    /// The stack of witness polynomials of `witness[i]` variables, then walk masks with tables
    /// of `layout[k]` variables, then the settlement's mask (sized for a sumcheck over the
    /// stack itself: found by iterating to the fixed point), then the blinding block.
    pub fn new(witness: &[usize], layout: &[usize]) -> Result<Self, String> {
        let mut guess = Self::place(witness, layout, None)?.vars;
        loop {
            let t = MaskShape::new(guess.max(1), 2)
                .map_err(|e| e.to_string())?
                .table_vars::<F, EF>();
            let s = Self::place(witness, layout, Some(t))?;
            if s.vars == guess {
                return Ok(s);
            }
            guess = s.vars;
        }
    }

    /// Places the blocks largest first (stable in block order), so that every offset is a
    /// multiple of its block's size without gaps: `S` is the next power of two above the sum of
    /// the sizes. (In block order, nanoGPT's small masks after its witness left gaps that
    /// doubled `S`.)
    fn place(witness: &[usize], layout: &[usize], settle: Option<usize>) -> Result<Self, String> {
        let bv = layout.iter().copied().max().unwrap_or(1).max(1);
        let sizes: Vec<usize> = witness
            .iter()
            .chain(layout)
            .chain(&settle)
            .chain(std::iter::once(&bv))
            .copied()
            .collect();
        if let Some(&v) = sizes.iter().find(|&&v| v > MAX_STACK_VARS) {
            return Err(format!("a mask of {v} variables"));
        }
        let mut order: Vec<usize> = (0..sizes.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
        let mut offsets = vec![0usize; sizes.len()];
        let mut cursor = 0usize;
        for i in order {
            // Sizes are non-increasing, so the cursor is already a multiple of this one.
            offsets[i] = cursor;
            cursor += 1usize << sizes[i];
            if cursor > 1 << MAX_STACK_VARS {
                return Err(format!("masks beyond 2^{MAX_STACK_VARS} entries"));
            }
        }
        let blind_off = offsets.pop().unwrap_or(0);
        let blocks = sizes.iter().copied().zip(offsets).collect();
        let vars = cursor.next_power_of_two().trailing_zeros() as usize;
        Ok(Self {
            witness: witness.len(),
            blocks,
            blind: (blind_off, bv),
            vars,
        })
    }

    /// `S`: every witness polynomial and mask table at its offset, random blinding entries,
    /// zeros elsewhere.
    pub fn build(
        &self,
        witness: &[&[F]],
        masks: &[Mask<F, EF>],
        mut random: impl FnMut() -> F,
    ) -> Vec<F> {
        let mut m = vec![F::ZERO; 1 << self.vars];
        let tables = witness
            .iter()
            .copied()
            .chain(masks.iter().map(|k| k.table()));
        for (t, &(_, off)) in tables.zip(&self.blocks) {
            m[off..off + t.len()].copy_from_slice(t);
        }
        let (off, v) = self.blind;
        m[off..off + (1 << v)]
            .iter_mut()
            .for_each(|x| *x = random());
        m
    }

    /// A point on block `k`'s table as a point on `S` (the block's index in the high bits);
    /// `None` if the point has the wrong length.
    pub fn point(&self, k: usize, p: &[EF]) -> Option<Vec<EF>> {
        let &(v, off) = self.blocks.get(k)?;
        if p.len() != v {
            return None;
        }
        let block = off >> v;
        let mut q = p.to_vec();
        q.extend((0..self.vars - v).map(|j| EF::from_bool(block >> j & 1 == 1)));
        Some(q)
    }
}

/// The masks of a masked walk in use, and the claims their values make.
pub struct MaskUse {
    /// Per mask, the variables of its table (public: in the transcript); the last one is the
    /// settlement's mask.
    pub layout: Vec<usize>,
    /// The walk masks' stack.
    pub stack: MaskStack,
    /// Index of `S` in the commitment (the only polynomial of the masked commitment).
    pub base: usize,
    /// Masks used so far.
    pub next: usize,
    /// Point claims on `S` from the walk masks (with the mask each is on), settled by the
    /// settlement sumcheck (`walk::Ctx::settle_masks`).
    pub stacked: Vec<(usize, Claim<EF>)>,
    /// Point claims for the PCS: `S(z)` and the settlement mask's values.
    pub claims: Vec<Claim<EF>>,
}

impl MaskUse {
    /// Masks of the given layout (walk masks, then the settlement mask) stacked after witness
    /// polynomials of `witness[i]` variables; `S` is polynomial `base` of the commitment.
    pub fn new(layout: Vec<usize>, witness: &[usize], base: usize) -> Result<Self, String> {
        let Some((&last, walk)) = layout.split_last() else {
            return Err("empty mask layout".into());
        };
        let stack = MaskStack::new(witness, walk)?;
        let want = settlement_shape(&stack)?.table_vars::<F, EF>();
        if last != want {
            return Err(format!(
                "the settlement mask has {last} variables, the stack needs {want}"
            ));
        }
        Ok(Self::with_stack(layout, stack, base))
    }

    /// [`MaskUse::new`] for a stack the caller built from `layout` (the prover, which sized
    /// the settlement mask from it).
    pub fn with_stack(layout: Vec<usize>, stack: MaskStack, base: usize) -> Self {
        Self {
            layout,
            stack,
            base,
            next: 0,
            stacked: Vec::new(),
            claims: Vec::new(),
        }
    }

    /// The next mask's index and shape for a sumcheck of `n` rounds and degree `d`, checked
    /// against the committed layout.
    pub fn take(&mut self, n: usize, d: usize) -> Result<(usize, MaskShape), String> {
        let shape = MaskShape::new(n, d).map_err(|e| e.to_string())?;
        let k = self.next;
        match self.layout.get(k) {
            Some(&v) if v == shape.table_vars::<F, EF>() => {
                self.next += 1;
                Ok((k, shape))
            }
            Some(&v) => Err(format!(
                "mask {k} has {v} variables, a sumcheck of {n} rounds and degree {d} needs {}",
                shape.table_vars::<F, EF>()
            )),
            None => Err(format!(
                "more masked sumchecks than the {} committed masks",
                self.layout.len()
            )),
        }
    }

    /// Records the claims of mask `k`'s values `s_l(r_l)`: on `S` for a walk mask, for the PCS
    /// for the settlement mask.
    pub fn settle(
        &mut self,
        k: usize,
        shape: &MaskShape,
        point: &[EF],
        values: &[EF],
    ) -> Result<(), String> {
        let walk = self.layout.len() - 1;
        let claims = mask_claims::<F, EF>(shape, point, values).map_err(|e| e.to_string())?;
        for (p, value) in claims {
            if k < walk {
                let b = self.stack.witness + k;
                let point = self.stack.point(b, &p).ok_or("mask point length")?;
                self.stacked.push((
                    b,
                    Claim {
                        poly: self.base,
                        point,
                        value,
                    },
                ));
            } else {
                let b = self.stack.witness + walk;
                let point = self.stack.point(b, &p).ok_or("mask point length")?;
                self.claims.push(Claim {
                    poly: self.base,
                    point,
                    value,
                });
            }
        }
        Ok(())
    }

    /// The next masks for sumchecks of `rounds[i]` rounds and degree 3 each (the LogUp-GKR
    /// layers, first in the layout).
    pub fn take_layers(&mut self, rounds: &[usize]) -> Result<Vec<(usize, MaskShape)>, String> {
        rounds.iter().map(|&k| self.take(k, 3)).collect()
    }

    /// [`MaskUse::settle`] for each taken mask with its layer's `(point, values)`.
    pub fn settle_layers<'a>(
        &mut self,
        taken: &[(usize, MaskShape)],
        layers: impl IntoIterator<Item = (&'a [EF], &'a [EF])>,
    ) -> Result<(), String> {
        let mut n = 0;
        for ((k, shape), (point, values)) in taken.iter().zip(layers) {
            self.settle(*k, shape, point, values)?;
            n += 1;
        }
        if n == taken.len() {
            Ok(())
        } else {
            Err(format!("{} masked layers, {n} reported", taken.len()))
        }
    }

    /// Checks that every committed mask was used.
    pub fn all_used(&self) -> Result<(), String> {
        if self.next == self.layout.len() {
            Ok(())
        } else {
            Err(format!(
                "{} masks committed, {} used",
                self.layout.len(),
                self.next
            ))
        }
    }
}

/// The settlement sumcheck's mask shape: `m` variables, degree 2 (`W·M`).
pub fn settlement_shape(stack: &MaskStack) -> Result<MaskShape, String> {
    MaskShape::new(stack.vars, 2).map_err(|e| e.to_string())
}

/// The settlement statement for claims `q_i`, `v_i` on `S` and batching challenge `γ`:
/// the claimed sum `Σ γ^i v_i`.
pub fn settlement_value(claims: &[(usize, Claim<EF>)], gamma: EF) -> EF {
    claims
        .iter()
        .rev()
        .fold(EF::ZERO, |acc, (_, c)| acc * gamma + c.value)
}

/// The prover's `W = Σ_i γ^i eq(q_i, ·)` over `S`, built block by block (each claim's `eq`
/// is zero outside its mask's block).
pub fn settlement_weights(stack: &MaskStack, claims: &[(usize, Claim<EF>)], gamma: EF) -> Vec<EF> {
    let mut w = vec![EF::ZERO; 1 << stack.vars];
    let mut coeff = EF::ONE;
    for (k, c) in claims {
        let (v, off) = stack.blocks[*k];
        for (o, x) in w[off..off + (1 << v)]
            .iter_mut()
            .zip(eq_table_scaled(&c.point[..v], coeff))
        {
            *o += x;
        }
        coeff *= gamma;
    }
    w
}

/// The verifier's `W(z) = Σ_i γ^i eq(q_i, z)`.
pub fn settlement_weight_at(claims: &[(usize, Claim<EF>)], gamma: EF, z: &[EF]) -> EF {
    claims
        .iter()
        .rev()
        .fold(EF::ZERO, |acc, (_, c)| acc * gamma + eq_eval(&c.point, z))
}

/// What the settlement needs from a side: the claims on `S`, the stack, `S`'s index in the
/// commitment, and (prover) `S` itself.
pub struct Stacked {
    /// Claims on `S` with their masks.
    pub claims: Vec<(usize, Claim<EF>)>,
    /// The stack.
    pub stack: MaskStack,
    /// `S`'s index in the commitment.
    pub base: usize,
    /// `S` (prover; empty on the verifier).
    pub table: Vec<F>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkinfer_poly::evaluate;

    fn ef(k: u64) -> EF {
        EF::from_u64(k * 7 + 3)
    }

    /// A point on mask `k`'s table is the same evaluation on `S`; the prover's `W` and the
    /// verifier's `W(z)` agree; the settlement identity `Σ W·M = Σ γ^i v_i` holds.
    #[test]
    fn stack_points_weights_and_settlement_agree() {
        let shapes = [(3, 2), (1, 3), (5, 2), (2, 65)];
        let mut x = 1u64;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            F::from_u64(x >> 20)
        };
        let masks: Vec<Mask<F, EF>> = shapes
            .iter()
            .map(|&(n, d)| Mask::sample(MaskShape::new(n, d).unwrap(), &mut next))
            .collect();
        let layout: Vec<usize> = masks
            .iter()
            .map(|m| m.shape().table_vars::<F, EF>())
            .collect();
        let witness: Vec<Vec<F>> = [4usize, 2, 6]
            .iter()
            .map(|&v| (0..1 << v).map(|_| next()).collect())
            .collect();
        let wl: Vec<usize> = witness
            .iter()
            .map(|w| w.len().trailing_zeros() as usize)
            .collect();
        let stack = MaskStack::new(&wl, &layout).unwrap();
        for &(v, off) in &stack.blocks {
            assert_eq!(off % (1 << v), 0, "aligned");
        }
        let refs: Vec<&[F]> = witness.iter().map(Vec::as_slice).collect();
        let m = stack.build(&refs, &masks, &mut next);
        let mut claims = Vec::new();
        let tables = refs.iter().copied().chain(masks.iter().map(|k| k.table()));
        for (k, table) in tables.enumerate() {
            let v = table.len().trailing_zeros() as usize;
            let p: Vec<EF> = (0..v).map(|j| ef(j as u64 + k as u64)).collect();
            let local = evaluate(table, &p);
            let q = stack.point(k, &p).unwrap();
            assert!(stack.point(k, &p[1..]).is_none());
            assert_eq!(evaluate(&m, &q), local, "block {k}");
            claims.push((
                k,
                Claim {
                    poly: 0,
                    point: q,
                    value: local,
                },
            ));
        }
        let gamma = ef(11);
        let w = settlement_weights(&stack, &claims, gamma);
        let z: Vec<EF> = (0..stack.vars).map(|j| ef(100 + j as u64)).collect();
        assert_eq!(evaluate(&w, &z), settlement_weight_at(&claims, gamma, &z));
        let sum: EF = w.iter().zip(&m).map(|(a, &b)| *a * EF::from(b)).sum();
        assert_eq!(sum, settlement_value(&claims, gamma));
        // The blinding block is random, not zero.
        let (off, v) = stack.blind;
        assert!(m[off..off + (1 << v)].iter().any(|&e| e != F::ZERO));
    }

    #[test]
    fn hostile_layouts_are_refused() {
        assert!(MaskStack::new(&[], &[MAX_STACK_VARS + 1]).is_err());
        assert!(MaskStack::new(&[MAX_STACK_VARS], &[3, 3]).is_err());
        assert!(MaskUse::new(vec![], &[], 0).is_err());
        assert!(
            MaskUse::new(vec![5, 7], &[], 0).is_err(),
            "wrong settlement size"
        );
        let stack = MaskStack::new(&[], &[5]).unwrap();
        let want = settlement_shape(&stack).unwrap().table_vars::<F, EF>();
        assert!(MaskUse::new(vec![5, want], &[], 0).is_ok());
    }

    #[test]
    fn blocks_are_aligned_disjoint_and_packed() {
        // In block order, small masks between the witness polynomials would leave gaps
        // (nanoGPT's stack doubled that way): 2^4 + 2^10 + 2^4 + 2^10 + masks fits 2^12.
        let witness = [4, 10, 4, 10];
        let layout = [6, 6, 3];
        let s = MaskStack::new(&witness, &layout).unwrap();
        let mut spans: Vec<(usize, usize)> = s
            .blocks
            .iter()
            .chain(std::iter::once(&(s.blind.1, s.blind.0)))
            .map(|&(v, off)| {
                assert_eq!(off % (1 << v), 0, "block of 2^{v} at {off}");
                (off, off + (1 << v))
            })
            .collect();
        spans.sort();
        assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "overlap");
        let used: usize = spans.iter().map(|(a, b)| b - a).sum();
        assert_eq!(s.vars, used.next_power_of_two().trailing_zeros() as usize);
        assert_eq!(spans.last().unwrap().1, used, "a gap");
        assert_eq!(s.vars, 12);
    }
}

//! The weight-range proof: every committed constant lies in its declared width.
//!
//! The integer-identity argument (`zkinfer_model::quant::bounds`) bounds accumulators with each
//! constant's declared width `b` (in the verifying key); nothing else proves the committed
//! values have it, and with hidden weights the verifier cannot look. `compile` therefore
//! proves, once, that for every constant `c` (its padded table, zeros included)
//! `v = c + 2^(b−1) ∈ [0, 2^b)`; the proof is stored in the verifying key (so it is covered
//! by the model commitment) and `verify` checks it once per key.
//!
//! **Statement**: the weight root, layout and binding values, and each constant's width.
//! **Protocol** (own transcript):
//! 1. `b ≤ 16`: the columns `v` and (for `b < 16`) `2^(16−b)·v` are looked up in the 16-bit
//!    range table — the first makes `v` an integer below 2^16, so the second is below 2^32
//!    (no wrap-around) and below 2^16 exactly when `v < 2^b`. `b > 16`: `v` is committed as
//!    16-bit limbs `l_0 … l_{k−1}` (the top one `b − 16(k−1)` bits wide, checked the same
//!    way), each limb looked up, and the MLE identity `c + 2^(b−1) = Σ_j 2^(16j)·l_j` checked
//!    at one point `ρ` drawn after the LogUp. The limbs sum to below `2^b ≤ 2^62 < p`.
//! 2. The limbs and the table's multiplicities are committed and bound (`bind`) before α, β.
//! 3. One LogUp-GKR over all columns; each column claim is an affine claim on a weight or limb
//!    polynomial; then `ρ`, the limb values there, and the two batched openings (weights,
//!    then range witness) on the same transcript.
//!
//! **Soundness**: the LogUp-GKR error (zkinfer-lookup: `(rows + 2^16)·(depth + 2)/|EF|`),
//! `n/|EF|` for the identity at `ρ`, and the two PCS openings' errors (docs/PCS.md), with the
//! commitments bound before any challenge (`bind`). Rows per proof stay far below p.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use zkinfer_field::p3_field::{Field, PrimeCharacteristicRing};
use zkinfer_field::FieldConfig;
use zkinfer_lookup::{LookupProver, LookupShape, LookupSpec, RangeTable, Table};
use zkinfer_pcs::{Claim, MultilinearPcs, WhirParams};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

use crate::error::Error;
use crate::keys::{pcs, VerifyingKey};
use crate::walk::{ef, pow2};
use crate::weights::Opening;
use crate::{Config, EF, F};

const TABLE_BITS: u32 = 16;
const L_ROOT: &str = "range.weights";
const L_RHO: &str = "range.rho";
const L_LIMBS_AT_RHO: &str = "range.limbs_at_rho";

/// Where a looked-up column comes from: `scale·(src + offset)`.
#[derive(Clone, Copy, Debug)]
enum Src {
    /// Weight polynomial `i` (offset `2^(b−1)`).
    Weight(usize),
    /// Range-witness polynomial `p` (a limb; offset 0).
    Limb(usize),
}

#[derive(Clone, Copy, Debug)]
struct Column {
    src: Src,
    offset: u64,
    scale: u64,
}

/// The lookups and limbs of a statement, from the layout and widths alone.
struct Shape {
    columns: Vec<Column>,
    /// Per range-witness limb poly: (weight index, limb index, vars).
    limbs: Vec<(usize, usize, usize)>,
}

fn shape(layout: &[usize], bits: &[u32]) -> Shape {
    let mut columns = Vec::new();
    let mut limbs = Vec::new();
    let push = |src: Src, offset: u64, width: u32, columns: &mut Vec<Column>| {
        columns.push(Column {
            src,
            offset,
            scale: 1,
        });
        if width < TABLE_BITS {
            columns.push(Column {
                src,
                offset,
                scale: 1 << (TABLE_BITS - width),
            });
        }
    };
    for (i, (&nv, &b)) in layout.iter().zip(bits).enumerate() {
        if b <= TABLE_BITS {
            push(Src::Weight(i), 1 << (b - 1), b, &mut columns);
        } else {
            let k = b.div_ceil(TABLE_BITS) as usize;
            for j in 0..k {
                let width = (b - TABLE_BITS * j as u32).min(TABLE_BITS);
                let p = limbs.len();
                limbs.push((i, j, nv));
                push(Src::Limb(p), 0, width, &mut columns);
            }
        }
    }
    Shape { columns, limbs }
}

/// The statement of one weight group's range proof.
pub(crate) struct Statement<'a> {
    /// The group's index in the verifying key.
    pub index: usize,
    /// The group's root and binding values.
    pub root: &'a [u8; 32],
    pub binding: &'a [EF],
    /// Variables and declared width of each constant of the group.
    pub layout: &'a [usize],
    pub bits: &'a [u32],
}

impl Statement<'_> {
    /// The binding claims of the group's commitment.
    fn binding_claims(&self) -> Result<Vec<Claim<EF>>, Error> {
        crate::bind::weight_claims(self.root, self.layout, self.binding).ok_or_else(|| {
            Error::Statement(format!(
                "verifying key: weight group {}: binding values do not match its layout",
                self.index
            ))
        })
    }
}

fn domain() -> DomainSeparator {
    DomainSeparator::new(
        "zkinfer-weight-range",
        2,
        Config::ID,
        &WhirParams::default().to_bytes(),
    )
}

fn bind_statement<T: zkinfer_transcript::Duplex<F>>(t: &mut T, st: &Statement<'_>) {
    let mut b = Vec::new();
    b.extend_from_slice(&(st.index as u64).to_le_bytes());
    b.extend_from_slice(st.root);
    for (&nv, &w) in st.layout.iter().zip(st.bits) {
        b.extend_from_slice(&(nv as u64).to_le_bytes());
        b.extend_from_slice(&w.to_le_bytes());
    }
    t.observe_bytes(L_ROOT, &b);
    t.observe_ext("range.binding", st.binding);
}

fn table() -> RangeTable {
    RangeTable {
        bits: TABLE_BITS as usize,
    }
}

fn lookup_shape<'a>(tab: &'a RangeTable, layout: &[usize], sh: &Shape) -> LookupShape<'a, F, EF> {
    LookupShape {
        tables: vec![tab as &dyn Table<F, EF>],
        lookups: sh
            .columns
            .iter()
            .map(|c| LookupSpec {
                table: 0,
                num_vars: match c.src {
                    Src::Weight(i) => layout[i],
                    Src::Limb(p) => sh.limbs[p].2,
                },
            })
            .collect(),
    }
}

/// Claims on the weight commitment and on the range witness.
type Split = (Vec<Claim<EF>>, Vec<Claim<EF>>);

/// Turns the LogUp column claims into claims on the weight / range-witness polynomials.
fn column_claims(
    sh: &Shape,
    lc: &zkinfer_lookup::LookupClaims<EF>,
    mult_poly: usize,
) -> Result<Split, Error> {
    let (mut wc, mut rc) = (Vec::new(), Vec::new());
    for (c, pc) in sh.columns.iter().zip(&lc.witness) {
        let u = *pc
            .values
            .first()
            .ok_or_else(|| Error::rejected("weight range", "missing column claim"))?;
        let inv = ef(c.scale as i64)
            .try_inverse()
            .ok_or_else(|| Error::Prover("zero scale".into()))?;
        let value = u * inv - ef(c.offset as i64);
        match c.src {
            Src::Weight(i) => wc.push(Claim {
                poly: i,
                point: pc.point.clone(),
                value,
            }),
            Src::Limb(p) => rc.push(Claim {
                poly: p,
                point: pc.point.clone(),
                value,
            }),
        }
    }
    let m = lc
        .multiplicities
        .first()
        .ok_or_else(|| Error::rejected("weight range", "missing multiplicity claim"))?;
    rc.push(Claim {
        poly: mult_poly,
        point: m.point.clone(),
        value: *m
            .values
            .first()
            .ok_or_else(|| Error::rejected("weight range", "missing multiplicity claim"))?,
    });
    Ok((wc, rc))
}

/// The identity `c + 2^(b−1) = Σ_j 2^(16j) l_j` at `ρ` for each wide constant: claims on the
/// limbs (values given) and the implied claim on the constant.
fn identity_claims(
    sh: &Shape,
    bits: &[u32],
    layout: &[usize],
    rho: &[EF],
    limb_vals: &[EF],
) -> Split {
    let (mut wc, mut rc) = (Vec::new(), Vec::new());
    let mut sums: Vec<Option<EF>> = vec![None; layout.len()];
    for (p, (&(i, j, nv), &v)) in sh.limbs.iter().zip(limb_vals).enumerate() {
        rc.push(Claim {
            poly: p,
            point: rho[..nv].to_vec(),
            value: v,
        });
        let s = sums[i].get_or_insert(EF::ZERO);
        *s += pow2(TABLE_BITS * j as u32) * v;
    }
    for (i, s) in sums.into_iter().enumerate() {
        if let Some(s) = s {
            wc.push(Claim {
                poly: i,
                point: rho[..layout[i]].to_vec(),
                value: s - pow2(bits[i] - 1),
            });
        }
    }
    (wc, rc)
}

/// Proves the range of every constant of one weight group (`polys`: its padded constants in
/// commitment order, `data`: their commitment).
pub(crate) fn prove(
    st: &Statement<'_>,
    polys: &[&[F]],
    data: Opening<'_>,
) -> Result<Vec<u8>, Error> {
    let (bits, layout) = (st.bits, st.layout);
    let sh = shape(layout, bits);
    let mut t = ProverTranscript::<F>::new(&domain());
    bind_statement(&mut t, st);
    // Limbs of v = c + 2^(b−1).
    let mut wit: Vec<Vec<F>> = sh
        .limbs
        .iter()
        .map(|&(i, j, _)| {
            let off = 1i128 << (bits[i] - 1);
            polys[i]
                .iter()
                .map(|&c| {
                    let v = i128::from(zkinfer_field::to_signed(c)) + off;
                    F::from_u64(((v >> (TABLE_BITS as usize * j)) & 0xffff) as u64)
                })
                .collect()
        })
        .collect();
    let cols: Vec<Vec<F>> = sh
        .columns
        .iter()
        .map(|c| {
            let (s, o) = (F::from_u64(c.scale), F::from_u64(c.offset));
            let src: &[F] = match c.src {
                Src::Weight(i) => polys[i],
                Src::Limb(p) => &wit[p],
            };
            src.iter().map(|&x| (x + o) * s).collect()
        })
        .collect();
    let tab = table();
    let mut lp = LookupProver::new(vec![&tab as &dyn Table<F, EF>]);
    for c in &cols {
        lp.add_lookup(0, vec![c.as_slice()])
            .map_err(|e| Error::Prover(e.to_string()))?;
    }
    let mults = lp.multiplicities().map_err(|e| Error::Witness {
        node: "<weights>".into(),
        op: "weight range".into(),
        reason: format!("a constant is outside its declared width: {e}"),
    })?;
    let mult_poly = wit.len();
    wit.push(mults[0].clone());
    let scheme = pcs();
    let refs: Vec<&[F]> = wit.iter().map(Vec::as_slice).collect();
    let (c, wdata) = scheme
        .commit(&refs)
        .map_err(|e| Error::Prover(format!("range witness commitment: {e}")))?;
    scheme.write_commitment(&c, &mut t);
    let bound = crate::bind::write(&refs, &mut t);
    let lc = lp
        .prove(&mults, &mut t)
        .map_err(|e| Error::Prover(e.to_string()))?;
    drop(cols);
    let (mut wc, mut rc) = column_claims(&sh, &lc, mult_poly)?;
    let rho: Vec<EF> = t.sample_ext_vec(L_RHO, layout.iter().copied().max().unwrap_or(0));
    let limb_vals: Vec<EF> = sh
        .limbs
        .iter()
        .enumerate()
        .map(|(p, &(_, _, nv))| zkinfer_poly::evaluate(&wit[p], &rho[..nv]))
        .collect();
    t.write_ext(L_LIMBS_AT_RHO, &limb_vals);
    let (w2, r2) = identity_claims(&sh, bits, layout, &rho, &limb_vals);
    wc.extend(w2);
    wc.extend(st.binding_claims()?);
    rc.extend(r2);
    rc.extend(bound);
    data.open(&wc, &mut t)
        .map_err(|e| Error::Prover(format!("weight range: weight opening: {e}")))?;
    scheme
        .open_owned(wdata, &rc, &mut t)
        .map_err(|e| Error::Prover(format!("weight range: witness opening: {e}")))?;
    Ok(t.finish().bytes)
}

/// Verifies one weight group's range proof `proof`.
fn verify_group(st: &Statement<'_>, proof: &[u8]) -> Result<(), Error> {
    let rej = |stage: &str, e: String| {
        Error::rejected(&format!("weight range (group {}): {stage}", st.index), e)
    };
    let (bits, layout) = (st.bits, st.layout);
    let sh = shape(layout, bits);
    let mut t = VerifierTranscript::<F>::new(&domain(), proof);
    bind_statement(&mut t, st);
    let scheme = pcs();
    let mut wl: Vec<usize> = sh.limbs.iter().map(|l| l.2).collect();
    let mult_poly = wl.len();
    wl.push(TABLE_BITS as usize);
    let c = scheme
        .read_commitment(&wl, &mut t)
        .map_err(|e| rej("witness commitment", e.to_string()))?;
    let bound = crate::bind::read(&wl, &mut t)?;
    let tab = table();
    let lc = zkinfer_lookup::verify(&lookup_shape(&tab, layout, &sh), &mut t)
        .map_err(|e| rej("lookup argument", e.to_string()))?;
    let (mut wc, mut rc) = column_claims(&sh, &lc, mult_poly)?;
    let rho: Vec<EF> = t.sample_ext_vec(L_RHO, layout.iter().copied().max().unwrap_or(0));
    let limb_vals: Vec<EF> = t
        .read_ext(L_LIMBS_AT_RHO, sh.limbs.len())
        .map_err(|e| rej("limb values", e.to_string()))?;
    let (w2, r2) = identity_claims(&sh, bits, layout, &rho, &limb_vals);
    wc.extend(w2);
    wc.extend(st.binding_claims()?);
    rc.extend(r2);
    rc.extend(bound);
    let wcom = zkinfer_pcs::WhirCommitment {
        root: *st.root,
        layout: layout.to_vec(),
    };
    scheme
        .verify(&wcom, &wc, &mut t)
        .map_err(|e| rej("weight opening", e.to_string()))?;
    scheme
        .verify(&c, &rc, &mut t)
        .map_err(|e| rej("witness opening", e.to_string()))?;
    t.finish().map_err(|e| rej("end of proof", e.to_string()))?;
    Ok(())
}

/// Verifies the range proof of every weight group of `vk` (`plan`: the graph's plan;
/// the groups are checked against the layout by the caller).
pub(crate) fn verify(vk: &VerifyingKey, plan: &crate::plan::Plan) -> Result<(), Error> {
    let polys = plan.weight_polys(&vk.graph, vk.weight_group_vars);
    let bits = crate::weights::poly_bits(&vk.graph, plan, &polys);
    let ranges = vk.weight_ranges()?;
    if ranges.len() != vk.weight_groups.len() || bits.len() != vk.weight_layout.len() {
        return Err(Error::Statement(
            "verifying key weight groups do not match its layout".into(),
        ));
    }
    for (index, (r, group)) in ranges.into_iter().zip(&vk.weight_groups).enumerate() {
        let st = Statement {
            index,
            root: &group.root,
            binding: &group.binding,
            layout: &vk.weight_layout[r.clone()],
            bits: &bits[r],
        };
        verify_group(&st, &group.range_proof)?;
    }
    Ok(())
}

/// [`verify`], once per verifying key in this process (keyed by the model commitment).
pub(crate) fn verify_cached(vk: &VerifyingKey, plan: &crate::plan::Plan) -> Result<(), Error> {
    static CHECKED: OnceLock<Mutex<HashSet<[u8; 32]>>> = OnceLock::new();
    let key = vk.commitment()?;
    let set = CHECKED.get_or_init(|| Mutex::new(HashSet::new()));
    if set.lock().map(|s| s.contains(&key)).unwrap_or(false) {
        return Ok(());
    }
    verify(vk, plan)?;
    if let Ok(mut s) = set.lock() {
        s.insert(key);
    }
    Ok(())
}

//! The test harness: random statements over mixed tables, and a verifier wrapper that settles
//! every returned claim against the data directly (the stand-in for PCS openings).

use zkinfer_field::p3_field::{PrimeCharacteristicRing, PrimeField64};
use zkinfer_field::FieldConfig;
use zkinfer_poly::evaluate;
use zkinfer_sumcheck::{mask_claims, Mask, MaskShape};
use zkinfer_transcript::{DomainSeparator, Proof, ProverTranscript, VerifierTranscript};

use crate::*;

pub(super) type Tab<C> = Box<dyn Table<<C as FieldConfig>::F, <C as FieldConfig>::EF>>;

pub(super) fn ds<C: FieldConfig>() -> DomainSeparator {
    DomainSeparator::new("lookup-test", 1, C::ID, b"")
}

pub(super) struct Rng(pub u64);
impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Tables of different kinds and sizes: range, signed range, identity pairs, a public
/// 2-column "activation" table, a committed 2-column table.
pub(super) fn tables<C: FieldConfig>(rng: &mut Rng) -> Vec<Tab<C>> {
    let act = |bits: usize| -> Vec<Vec<C::F>> {
        let x: Vec<C::F> = (0..1u64 << bits)
            .map(|i| C::F::from_u64(i * 3 + 1))
            .collect();
        let y = (0..1u64 << bits)
            .map(|i| C::F::from_u64((i * i) % 251))
            .collect();
        vec![x, y]
    };
    vec![
        Box::new(RangeTable {
            bits: 1 + rng.below(8),
        }),
        Box::new(SignedRangeTable {
            bits: 1 + rng.below(6),
        }),
        Box::new(IdentityTable { bits: rng.below(5) }),
        Box::new(PublicTable::new(act(rng.below(7)))),
        Box::new(PublicTable::committed(act(rng.below(4)))),
    ]
}

/// A lookup of `2^n` random rows of table `t`.
pub(super) fn rows<C: FieldConfig>(t: &Tab<C>, n: usize, rng: &mut Rng) -> Vec<Vec<C::F>> {
    let cols = t.columns();
    let idx: Vec<usize> = (0..1usize << n).map(|_| rng.below(cols[0].len())).collect();
    cols.iter()
        .map(|c| idx.iter().map(|&i| c[i]).collect())
        .collect()
}

pub(super) fn digest<F: PrimeField64>(m: &[Vec<F>]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    m.iter().flatten().for_each(|v| {
        h.update(&v.as_canonical_u64().to_le_bytes());
    });
    *h.finalize().as_bytes()
}

/// Writes the multiplicities' digest (the stand-in for their PCS commitment), then proves.
pub(super) fn prove_with<C: FieldConfig>(
    p: &LookupProver<'_, C::F, C::EF>,
    m: &[Vec<C::F>],
) -> (Proof, LookupClaims<C::EF>) {
    let (proof, claims, _) = prove_masked_with::<C>(p, m, &[]);
    (proof, claims)
}

/// A proof, its claims and its masked layers.
pub(super) type MaskedRun<EF> = (Proof, LookupClaims<EF>, Vec<LayerMask<EF>>);

/// [`prove_with`] with layer masks (none: the plain proof).
pub(super) fn prove_masked_with<C: FieldConfig>(
    p: &LookupProver<'_, C::F, C::EF>,
    m: &[Vec<C::F>],
    masks: &[Mask<C::F, C::EF>],
) -> MaskedRun<C::EF> {
    let mut t = ProverTranscript::<C::F>::new(&ds::<C>());
    t.write_digest("multiplicities", &digest(m));
    let refs: Vec<&Mask<C::F, C::EF>> = masks.iter().collect();
    let (claims, layers) = p
        .prove_masked(m, &refs, &mut t)
        .expect("well-formed prover input");
    (t.finish(), claims, layers)
}

/// One random mask per masked layer of `shape`.
pub(super) fn layer_masks<C: FieldConfig>(
    shape: &LookupShape<'_, C::F, C::EF>,
    rng: &mut Rng,
) -> Vec<Mask<C::F, C::EF>> {
    shape
        .masked_layers()
        .into_iter()
        .map(|k| {
            let s = MaskShape::new(k, 3).expect("layer mask shape");
            Mask::sample(s, || C::F::from_u64(rng.next()))
        })
        .collect()
}

#[derive(Debug, PartialEq)]
pub(super) enum Reject {
    Lookup(LookupError),
    Settle(&'static str),
}

/// Verifies, then settles every claim against the data directly (the stand-in for openings).
pub(super) fn verify_with<C: FieldConfig>(
    shape: &LookupShape<'_, C::F, C::EF>,
    lookups: &[Vec<Vec<C::F>>],
    m: &[Vec<C::F>],
    bytes: &[u8],
    domain: &DomainSeparator,
) -> Result<LookupClaims<C::EF>, Reject> {
    verify_masked_with::<C>(shape, lookups, m, None, bytes, domain)
}

/// [`verify_with`] of a masked proof (`Some` masks: read with [`verify_masked`], every mask
/// value settled against the masks directly, the stand-in for the hiding opening).
pub(super) fn verify_masked_with<C: FieldConfig>(
    shape: &LookupShape<'_, C::F, C::EF>,
    lookups: &[Vec<Vec<C::F>>],
    m: &[Vec<C::F>],
    masks: Option<&[Mask<C::F, C::EF>]>,
    bytes: &[u8],
    domain: &DomainSeparator,
) -> Result<LookupClaims<C::EF>, Reject> {
    let tr = |source| {
        Reject::Lookup(LookupError::Transcript {
            what: "test",
            source,
        })
    };
    let mut v = VerifierTranscript::<C::F>::new(domain, bytes);
    let d = v.read_digest("multiplicities").map_err(tr)?;
    let claims = match masks {
        None => verify(shape, &mut v).map_err(Reject::Lookup)?,
        Some(masks) => {
            let (claims, layers) = verify_masked(shape, &mut v).map_err(Reject::Lookup)?;
            if layers.len() != masks.len() {
                return Err(Reject::Settle("mask count"));
            }
            for (mask, l) in masks.iter().zip(&layers) {
                let settled = mask_claims::<C::F, C::EF>(&mask.shape(), &l.point, &l.values)
                    .map_err(|_| Reject::Settle("mask point"))?;
                if settled.iter().any(|(p, v)| evaluate(mask.table(), p) != *v) {
                    return Err(Reject::Settle("mask value"));
                }
            }
            claims
        }
    };
    v.finish().map_err(tr)?;
    if d != digest(m) {
        return Err(Reject::Settle("multiplicity commitment"));
    }
    for (cols, c) in lookups.iter().zip(&claims.witness) {
        if cols
            .iter()
            .zip(&c.values)
            .any(|(col, &v)| evaluate(col, &c.point) != v)
        {
            return Err(Reject::Settle("witness column"));
        }
    }
    for (j, c) in claims.multiplicities.iter().enumerate() {
        if evaluate(&m[j], &c.point) != c.values[0] {
            return Err(Reject::Settle("multiplicity"));
        }
        if let Some(tc) = &claims.table_columns[j] {
            let cols = shape.tables[j].columns();
            if cols
                .iter()
                .zip(&tc.values)
                .any(|(col, &v)| evaluate(col, &tc.point) != v)
            {
                return Err(Reject::Settle("table column"));
            }
        }
    }
    Ok(claims)
}

/// A random statement: `k` lookups of random sizes into random tables.
pub(super) struct Case<C: FieldConfig> {
    pub tables: Vec<Tab<C>>,
    pub lookups: Vec<(usize, Vec<Vec<C::F>>)>,
}

pub(super) fn case<C: FieldConfig>(k: usize, max_vars: usize, seed: u64) -> Case<C> {
    let mut rng = Rng(seed | 1);
    let tables = tables::<C>(&mut rng);
    let lookups = (0..k)
        .map(|_| {
            let t = rng.below(tables.len());
            let n = rng.below(max_vars + 1);
            (t, rows::<C>(&tables[t], n, &mut rng))
        })
        .collect();
    Case { tables, lookups }
}

pub(super) fn prover<C: FieldConfig>(c: &Case<C>) -> LookupProver<'_, C::F, C::EF> {
    let mut p = LookupProver::new(c.tables.iter().map(|t| t.as_ref()).collect());
    for (t, cols) in &c.lookups {
        p.add_lookup(*t, cols.iter().map(Vec::as_slice).collect())
            .expect("valid lookup");
    }
    p
}

pub(super) fn cols<C: FieldConfig>(c: &Case<C>) -> Vec<Vec<Vec<C::F>>> {
    c.lookups.iter().map(|l| l.1.clone()).collect()
}

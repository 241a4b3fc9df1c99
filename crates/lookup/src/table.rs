//! Lookup tables: the [`Table`] trait and the closed-form and public tables that ship.

use std::collections::HashMap;

use zkinfer_field::p3_field::{ExtensionField, PrimeField64};
use zkinfer_field::{from_signed, to_signed};

/// A table of `2^num_vars` rows and `num_columns` base-field columns.
///
/// Object-safe, so one proof can mix table types (`&dyn Table<F, EF>`).
pub trait Table<F, EF>: Send + Sync {
    /// `log2` of the row count.
    fn num_vars(&self) -> usize;
    /// Number of columns.
    fn num_columns(&self) -> usize;
    /// The materialized columns (prover side), each of `2^num_vars` entries.
    fn columns(&self) -> Vec<Vec<F>>;
    /// The index of the first row equal to `row`, or `None` if `row` is not in the table.
    fn index_of(&self, row: &[F]) -> Option<usize>;
    /// Every column's MLE at `point` (`point.len() = num_vars`), if the verifier can compute it
    /// itself: closed-form tables in O(num_vars), public tables in O(rows). `None` for tables
    /// the verifier only knows through a commitment: the proof then carries the evaluations
    /// and the verifier returns them as claims to settle.
    fn evaluate_mle(&self, point: &[EF]) -> Option<Vec<EF>>;
}

/// `Σ_i 2^i x_i`: the MLE of the identity column `[0, 1, …, 2^n − 1]`.
fn index_mle<F: PrimeField64, EF: ExtensionField<F>>(point: &[EF]) -> EF {
    let mut pow = EF::ONE;
    let mut acc = EF::ZERO;
    for &x in point {
        acc += x * pow;
        pow = pow.double();
    }
    acc
}

/// The range `[0, 2^bits)`, one column: row `i` holds `i`; `t(x) = Σ_i 2^i x_i`.
#[derive(Clone, Copy, Debug)]
pub struct RangeTable {
    /// Number of bits.
    pub bits: usize,
}

impl<F: PrimeField64, EF: ExtensionField<F>> Table<F, EF> for RangeTable {
    fn num_vars(&self) -> usize {
        self.bits
    }
    fn num_columns(&self) -> usize {
        1
    }
    fn columns(&self) -> Vec<Vec<F>> {
        vec![(0..1u64 << self.bits).map(F::from_u64).collect()]
    }
    fn index_of(&self, row: &[F]) -> Option<usize> {
        let v = row.first()?.as_canonical_u64();
        (v < 1u64 << self.bits).then_some(v as usize)
    }
    fn evaluate_mle(&self, point: &[EF]) -> Option<Vec<EF>> {
        (point.len() == self.bits).then(|| vec![index_mle::<F, EF>(point)])
    }
}

/// The signed range `[−2^(bits−1), 2^(bits−1))`, one column: row `i` holds `i − 2^(bits−1)`
/// (as a signed residue); `t(x) = Σ_i 2^i x_i − 2^(bits−1)`.
#[derive(Clone, Copy, Debug)]
pub struct SignedRangeTable {
    /// Number of bits (≥ 1).
    pub bits: usize,
}

impl SignedRangeTable {
    fn offset(&self) -> i64 {
        1i64 << self.bits.saturating_sub(1)
    }
}

impl<F: PrimeField64, EF: ExtensionField<F>> Table<F, EF> for SignedRangeTable {
    fn num_vars(&self) -> usize {
        self.bits
    }
    fn num_columns(&self) -> usize {
        1
    }
    fn columns(&self) -> Vec<Vec<F>> {
        vec![(0..1i64 << self.bits)
            .map(|i| from_signed(i - self.offset()))
            .collect()]
    }
    fn index_of(&self, row: &[F]) -> Option<usize> {
        let v = to_signed(*row.first()?).checked_add(self.offset())?;
        (0..1i64 << self.bits).contains(&v).then_some(v as usize)
    }
    fn evaluate_mle(&self, point: &[EF]) -> Option<Vec<EF>> {
        let off = EF::from(from_signed::<F>(self.offset()));
        (point.len() == self.bits).then(|| vec![index_mle::<F, EF>(point) - off])
    }
}

/// Identity pairs `(v, v)` for `v ∈ [0, 2^bits)`: two equal columns, each `Σ_i 2^i x_i`.
#[derive(Clone, Copy, Debug)]
pub struct IdentityTable {
    /// Number of bits.
    pub bits: usize,
}

impl<F: PrimeField64, EF: ExtensionField<F>> Table<F, EF> for IdentityTable {
    fn num_vars(&self) -> usize {
        self.bits
    }
    fn num_columns(&self) -> usize {
        2
    }
    fn columns(&self) -> Vec<Vec<F>> {
        let c: Vec<F> = (0..1u64 << self.bits).map(F::from_u64).collect();
        vec![c.clone(), c]
    }
    fn index_of(&self, row: &[F]) -> Option<usize> {
        let (a, b) = (row.first()?, row.get(1)?);
        let v = a.as_canonical_u64();
        (a == b && v < 1u64 << self.bits).then_some(v as usize)
    }
    fn evaluate_mle(&self, point: &[EF]) -> Option<Vec<EF>> {
        (point.len() == self.bits).then(|| {
            let v = index_mle::<F, EF>(point);
            vec![v, v]
        })
    }
}

/// An arbitrary table given by its columns (e.g. a 2^16-row sigmoid table of (input, output)
/// pairs). If `public`, the verifier evaluates its MLEs itself in O(rows); otherwise the proof
/// carries the evaluations and the verifier returns them as claims (a committed table).
#[derive(Clone, Debug)]
pub struct PublicTable<F> {
    columns: Vec<Vec<F>>,
    /// Row index, built on first use: only the prover looks rows up, so the verifier never
    /// pays for it.
    index: std::sync::OnceLock<RowIndex>,
    public: bool,
}

/// How [`PublicTable::index_of`] finds a row (the first row with that content).
#[derive(Clone, Debug)]
enum RowIndex {
    /// Column 0 counts up by one over rows `0..len` and every later row repeats one of them
    /// (a function table over a contiguous domain, tail-padded with a row): the row is at
    /// `row[0] − first`. Built in one pass, no allocation per row.
    Contiguous { first: u64, len: usize },
    /// Anything else.
    Hashed(HashMap<Vec<u64>, usize>),
}

impl<F: PrimeField64> PublicTable<F> {
    fn row_equals(&self, i: usize, row: &[F]) -> bool {
        self.columns.iter().zip(row).all(|(c, v)| c[i] == *v)
    }

    fn build_index(&self) -> RowIndex {
        let c0 = &self.columns[0];
        let first = c0[0];
        let len = c0
            .iter()
            .enumerate()
            .take_while(|&(i, v)| *v == first + F::from_usize(i))
            .count();
        let contiguous = (len..c0.len()).all(|i| {
            let d = (c0[i] - first).as_canonical_u64();
            d < len as u64 && self.columns.iter().all(|c| c[i] == c[d as usize])
        });
        if contiguous {
            return RowIndex::Contiguous {
                first: first.as_canonical_u64(),
                len,
            };
        }
        let mut index = HashMap::with_capacity(c0.len());
        for i in (0..c0.len()).rev() {
            index.insert(
                self.columns
                    .iter()
                    .map(|c| c[i].as_canonical_u64())
                    .collect(),
                i,
            );
        }
        RowIndex::Hashed(index)
    }
}

impl<F: PrimeField64> PublicTable<F> {
    /// A table the verifier evaluates itself.
    ///
    /// # Panics
    /// If there are no columns, or they differ in length, or the length is not a power of two.
    pub fn new(columns: Vec<Vec<F>>) -> Self {
        Self::build(columns, true)
    }

    /// A table the verifier only knows through a commitment: its column evaluations become
    /// claims for the caller to settle. Panics as [`Self::new`].
    pub fn committed(columns: Vec<Vec<F>>) -> Self {
        Self::build(columns, false)
    }

    fn build(columns: Vec<Vec<F>>, public: bool) -> Self {
        let rows = columns.first().map_or(0, Vec::len);
        assert!(
            rows.is_power_of_two(),
            "table rows must be a nonzero power of two"
        );
        assert!(
            columns.iter().all(|c| c.len() == rows),
            "table columns differ in length"
        );
        Self {
            columns,
            index: std::sync::OnceLock::new(),
            public,
        }
    }
}

impl<F: PrimeField64, EF: ExtensionField<F>> Table<F, EF> for PublicTable<F> {
    fn num_vars(&self) -> usize {
        self.columns[0].len().trailing_zeros() as usize
    }
    fn num_columns(&self) -> usize {
        self.columns.len()
    }
    fn columns(&self) -> Vec<Vec<F>> {
        self.columns.clone()
    }
    fn index_of(&self, row: &[F]) -> Option<usize> {
        if row.len() != self.columns.len() {
            return None;
        }
        match self.index.get_or_init(|| self.build_index()) {
            RowIndex::Contiguous { first, len } => {
                let d = (row[0] - F::from_u64(*first)).as_canonical_u64();
                let i = usize::try_from(d).ok().filter(|&i| i < *len)?;
                self.row_equals(i, row).then_some(i)
            }
            RowIndex::Hashed(index) => {
                let key: Vec<u64> = row.iter().map(|v| v.as_canonical_u64()).collect();
                index.get(&key).copied()
            }
        }
    }
    fn evaluate_mle(&self, point: &[EF]) -> Option<Vec<EF>> {
        let rows = u32::try_from(point.len())
            .ok()
            .and_then(|s| 1usize.checked_shl(s));
        let ok = self.public && rows == Some(self.columns[0].len());
        ok.then(|| {
            self.columns
                .iter()
                .map(|c| zkinfer_poly::evaluate(c, point))
                .collect()
        })
    }
}

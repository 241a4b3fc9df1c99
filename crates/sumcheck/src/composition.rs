//! The polynomial `g` combining the MLEs: a sum of scaled products.

use zkinfer_field::p3_field::Field;

/// One term `c · Π_{i ∈ factors} y_i`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term<EF> {
    /// Scalar coefficient.
    pub coeff: EF,
    /// Indices of the MLEs multiplied together (repeats allowed: `y_0²` is `[0, 0]`).
    pub factors: Vec<usize>,
}

/// `g(y) = Σ_t c_t · Π_{i ∈ S_t} y_i` over `num_mles` inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Composition<EF> {
    num_mles: usize,
    terms: Vec<Term<EF>>,
}

impl<EF: Field> Composition<EF> {
    /// A composition from terms.
    ///
    /// # Panics
    /// If a factor index is out of range or there are no terms (prover/caller misuse).
    pub fn new(num_mles: usize, terms: Vec<Term<EF>>) -> Self {
        assert!(!terms.is_empty(), "composition needs at least one term");
        for t in &terms {
            assert!(
                t.factors.iter().all(|&i| i < num_mles),
                "factor index out of range"
            );
            assert!(!t.factors.is_empty(), "a term needs at least one factor");
        }
        Self { num_mles, terms }
    }

    /// The plain product `Π_{i<n} y_i`.
    pub fn product(n: usize) -> Self {
        Self::new(
            n,
            vec![Term {
                coeff: EF::ONE,
                factors: (0..n).collect(),
            }],
        )
    }

    /// Whether this is `Π_{i<n} f_i` with coefficient one ([`Composition::product`]).
    pub(crate) fn is_plain_product(&self, n: usize) -> bool {
        self.num_mles == n
            && matches!(self.terms.as_slice(), [t] if t.coeff == EF::ONE
                && t.factors.iter().copied().eq(0..n))
    }

    /// Number of MLE inputs.
    pub fn num_mles(&self) -> usize {
        self.num_mles
    }

    /// The terms.
    pub fn terms(&self) -> &[Term<EF>] {
        &self.terms
    }

    /// Total degree.
    pub fn degree(&self) -> usize {
        self.terms
            .iter()
            .map(|t| t.factors.len())
            .max()
            .unwrap_or(0)
    }

    /// `g(values)`.
    ///
    /// # Panics
    /// If `values.len() != self.num_mles()`.
    pub fn evaluate(&self, values: &[EF]) -> EF {
        assert_eq!(values.len(), self.num_mles, "composition arity");
        self.terms
            .iter()
            .map(|t| t.coeff * t.factors.iter().map(|&i| values[i]).product::<EF>())
            .sum()
    }

    /// `Σ_k coeffs[k] · parts[k]`, with each part reading its own, consecutive, block of MLEs.
    pub fn combine(parts: &[Self], coeffs: &[EF]) -> Self {
        assert_eq!(parts.len(), coeffs.len());
        let mut offset = 0;
        let mut terms = Vec::new();
        for (part, &c) in parts.iter().zip(coeffs) {
            for t in &part.terms {
                terms.push(Term {
                    coeff: t.coeff * c,
                    factors: t.factors.iter().map(|i| i + offset).collect(),
                });
            }
            offset += part.num_mles;
        }
        Self::new(offset, terms)
    }
}

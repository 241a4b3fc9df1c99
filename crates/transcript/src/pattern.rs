//! Debug-build record of transcript operations, for prover/verifier drift detection.

/// What a transcript operation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// Absorbed a public value without writing it.
    Observe,
    /// Wrote base-field elements.
    WriteBase,
    /// Wrote extension-field elements.
    WriteExt,
    /// Wrote a byte string or digest.
    WriteBytes,
    /// Sampled a challenge.
    Sample,
}

/// One recorded operation: kind, label and element count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    /// The kind of operation.
    pub kind: OpKind,
    /// The caller's label.
    pub label: &'static str,
    /// Number of elements (or bytes for byte strings; 0 when not applicable).
    pub count: usize,
}

/// The sequence of operations a prover performed (empty in release builds).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pattern(pub Vec<Op>);

impl Pattern {
    #[inline]
    pub(crate) fn record(&mut self, kind: OpKind, label: &'static str, count: usize) {
        if cfg!(debug_assertions) {
            self.0.push(Op { kind, label, count });
        }
    }
}

/// Cursor over a prover's pattern, held by a verifier in debug builds.
#[derive(Clone, Debug, Default)]
pub(crate) struct PatternCheck {
    expected: Option<Pattern>,
    pos: usize,
}

impl PatternCheck {
    pub(crate) fn new(expected: Pattern) -> Self {
        Self {
            expected: Some(expected),
            pos: 0,
        }
    }

    /// Compares the verifier's next operation with the prover's record. A mismatch is a bug in
    /// the protocol code (never a property of proof bytes), so it panics in debug builds.
    #[inline]
    pub(crate) fn check(&mut self, kind: OpKind, label: &'static str, count: Option<usize>) {
        if !cfg!(debug_assertions) {
            return;
        }
        let Some(expected) = &self.expected else {
            return;
        };
        let got = expected.0.get(self.pos);
        let matches = got.is_some_and(|op| {
            op.kind == kind && op.label == label && count.is_none_or(|c| c == op.count)
        });
        assert!(
            matches,
            "transcript drift at operation #{}: prover did {:?}, verifier does {:?} {:?} (count {:?})",
            self.pos, got, kind, label, count
        );
        self.pos += 1;
    }
}

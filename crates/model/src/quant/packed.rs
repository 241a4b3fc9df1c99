//! Weights packed once for a sequence of integer runs of one graph (LLM generation: a whole
//! pass, one-row steps, the final whole pass).
//!
//! Every einsum whose second operand is a constant matrix of a plain product (`ti,io->to`,
//! `ti,oi->to`) keeps that operand as i16, column by column ([`PackedB`]); a run that is given
//! the packs computes those products from them, reading 2 bytes per weight instead of packing
//! 8-byte values on every call. Results are identical to the unpacked run (the same exact
//! wrapping sums); a product the pack cannot compute exactly (activations too wide) falls back
//! to the general kernel. Memory: 2 bytes per packed weight, next to the graph's i64 values.

use super::graph::{QTensorKind, QuantOp, QuantizedGraph};
use crate::kernels::linear::EinsumExpr;
use crate::kernels::packed::PackedB;

/// Per node of a graph, its packed constant einsum operand (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct PackedWeights {
    nodes: Vec<Option<PackedB>>,
}

impl PackedWeights {
    /// Packs every plain-product einsum weight of `g` that fits i16.
    pub fn new(g: &QuantizedGraph) -> Self {
        let nodes = g
            .nodes
            .iter()
            .map(|n| {
                let QuantOp::Einsum { expr, .. } = &n.op else {
                    return None;
                };
                let t = g.tensors.get(n.inputs.get(1)?.0)?;
                let QTensorKind::Const(d) = &t.kind else {
                    return None;
                };
                PackedB::new(&EinsumExpr::parse(expr)?, d, &t.shape)
            })
            .collect();
        PackedWeights { nodes }
    }

    /// Nodes with a packed weight.
    pub fn count(&self) -> usize {
        self.nodes.iter().flatten().count()
    }

    /// The product of node `node`'s einsum for first operand `a` (shape `sa`) and output
    /// shape `sout`, from the pack; None when the node has none, the shapes are not
    /// `[m, k]·pack → [m, n]`, or the values need the general kernel.
    pub(super) fn product(
        &self,
        node: usize,
        a: &[i64],
        sa: &[usize],
        sout: &[usize],
    ) -> Option<Vec<i64>> {
        let b = self.nodes.get(node)?.as_ref()?;
        match (sa, sout) {
            ([m, k], [mo, n]) if k == &b.k() && n == &b.n() && m == mo => b.product(a, *m),
            _ => None,
        }
    }
}

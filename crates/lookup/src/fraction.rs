//! Prover-side fraction trees: every layer from the leaves to the root.
//!
//! The child bit is the **top** variable: the children of node `x` of a `2^k`-node layer are
//! `x` and `x + 2^k` of the next layer, so a layer's two half-tables `p(·, 0)`, `p(·, 1)` are
//! its contiguous halves, and the next layer's point is `(r', μ)` with `μ` the last variable.
//! The leaf layer is thus the MLE of the columns in their natural little-endian order.

use p3_maybe_rayon::prelude::*;
use zkinfer_field::p3_field::Field;

const PAR_THRESHOLD: usize = 1 << 12;

/// One layer: numerators `p` (empty = all ones, for witness leaves) and denominators `q`.
pub(crate) struct Layer<EF> {
    pub p: Vec<EF>,
    pub q: Vec<EF>,
}

impl<EF: Field> Layer<EF> {
    /// `(p, q)` of node `i` (`p = 1` when not stored).
    fn get(&self, i: usize) -> (EF, EF) {
        (
            if self.p.is_empty() {
                EF::ONE
            } else {
                self.p[i]
            },
            self.q[i],
        )
    }
}

/// All layers of one tree, `layers[k]` holding `2^k` nodes; `layers[depth]` are the leaves.
pub(crate) fn build<EF: Field>(leaf_p: Vec<EF>, leaf_q: Vec<EF>) -> Vec<Layer<EF>> {
    let mut layers = vec![Layer {
        p: leaf_p,
        q: leaf_q,
    }];
    while let Some(child) = layers.last().filter(|l| l.q.len() > 1) {
        let half = child.q.len() / 2;
        // p = p_L·q_R + p_R·q_L, q = q_L·q_R; with p_L = p_R = 1, p = q_L + q_R.
        let node = |i: usize| {
            let ((pl, ql), (pr, qr)) = (child.get(i), child.get(i + half));
            if child.p.is_empty() {
                (ql + qr, ql * qr)
            } else {
                (pl * qr + pr * ql, ql * qr)
            }
        };
        let nodes: Vec<(EF, EF)> = if half >= PAR_THRESHOLD {
            (0..half).into_par_iter().map(node).collect()
        } else {
            (0..half).map(node).collect()
        };
        let (p, q) = nodes.into_iter().unzip();
        layers.push(Layer { p, q });
    }
    layers.reverse();
    layers
}

/// The root `(p, q)` of a tree.
pub(crate) fn root<EF: Field>(layers: &[Layer<EF>]) -> (EF, EF) {
    layers[0].get(0)
}

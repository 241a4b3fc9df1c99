//! Table lookups: `y = T(x)` for a graph table `T` (a nonlinearity at the quantizer's scales:
//! exp, GELU, SiLU, rsqrt, …). The output is committed and the pair `(x_i, y_i)` of every
//! element is looked up in the table's (input, output) rows, tail-padded with the table's
//! first row; a claim on `y` goes to the witness opening. Soundness error: that of the lookup
//! argument.

use zkinfer_model::quant::QuantNode;
use zkinfer_model::{QuantOp, QuantizedGraph};

use super::{to_output_poly, write_output, OpFamily};
use crate::error::Error;
use crate::layout::{compact_vars, log2_ceil};
use crate::plan::{Col, Plan, PlanBuilder, TableSpec};
use crate::side::Side;
use crate::walk::{Ctx, Weighted, Witness};

/// Largest table looked up (rows).
const MAX_TABLE_VARS: usize = 20;

/// The table-lookup family.
pub struct TableLookup;

fn table_of(op: &QuantOp) -> Option<usize> {
    match op {
        QuantOp::Lookup { table } => Some(table.0),
        _ => None,
    }
}

impl OpFamily for TableLookup {
    fn owns(op: &QuantOp) -> bool {
        matches!(op, QuantOp::Lookup { .. })
    }

    fn check(g: &QuantizedGraph, n: &QuantNode) -> Result<(), String> {
        match table_of(&n.op) {
            Some(t) if t < g.tables.len() => Ok(()),
            _ => Err("table id out of range".into()),
        }
    }

    fn plan(b: &mut PlanBuilder<'_>, ni: usize) -> Result<(), String> {
        let g = b.g;
        let n = &g.nodes[ni];
        let t = table_of(&n.op).ok_or("not a lookup")?;
        let tab = g
            .tables
            .get(t)
            .filter(|t| !t.is_empty())
            .ok_or("bad table")?;
        if log2_ceil(tab.len()) > MAX_TABLE_VARS {
            return Err("lookup table above 2^20 rows".into());
        }
        let x = n.inputs.first().ok_or("no input")?;
        let numel: usize = g.tensors[n.output.0].shape.iter().product();
        let p = b.output(ni, compact_vars(numel));
        b.lookup(
            ni,
            TableSpec::Graph(t),
            vec![
                Col::Tensor {
                    id: x.0,
                    fill: tab.in_min,
                },
                Col::Poly(p),
            ],
            numel,
        );
        Ok(())
    }

    fn witness(
        w: &mut Witness<'_>,
        g: &QuantizedGraph,
        plan: &Plan,
        ni: usize,
    ) -> Result<(), String> {
        let fill = table_of(&g.nodes[ni].op)
            .and_then(|t| g.tables.get(t))
            .and_then(|t| t.outputs.first().copied())
            .unwrap_or(0);
        write_output(w, g, plan, ni, fill);
        Ok(())
    }

    fn backward<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize, claim: Weighted) -> Result<(), Error> {
        to_output_poly(ctx, ni, claim)
    }
}

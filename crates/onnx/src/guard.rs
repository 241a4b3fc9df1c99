//! Size caps on untrusted ONNX protobufs, applied before tract allocates anything.

use tract_onnx::pb::{GraphProto, ModelProto, TensorProto};

use crate::LoadError;

/// Largest number of elements of any single tensor.
pub const MAX_TENSOR_ELEMS: u64 = 1 << 30;
/// Largest total number of constant elements.
pub const MAX_TOTAL_ELEMS: u64 = 1 << 32;

fn tensor_elems(t: &TensorProto) -> Result<u64, LoadError> {
    let mut n: u64 = 1;
    for &d in &t.dims {
        let d = u64::try_from(d).map_err(|_| {
            LoadError::Malformed(format!("tensor `{}` has a negative dimension", t.name))
        })?;
        n = n
            .checked_mul(d)
            .filter(|&n| n <= MAX_TENSOR_ELEMS)
            .ok_or_else(|| {
                LoadError::Malformed(format!(
                    "tensor `{}` claims {:?} elements (cap 2^30)",
                    t.name, t.dims
                ))
            })?;
    }
    Ok(n)
}

fn check_graph(g: &GraphProto, total: &mut u64) -> Result<(), LoadError> {
    fn add(t: &TensorProto, total: &mut u64) -> Result<(), LoadError> {
        *total = total.saturating_add(tensor_elems(t)?);
        if *total > MAX_TOTAL_ELEMS {
            return Err(LoadError::Malformed(
                "model constants exceed 2^32 elements".into(),
            ));
        }
        Ok(())
    }
    for t in &g.initializer {
        add(t, total)?;
    }
    for n in &g.node {
        for a in &n.attribute {
            if let Some(t) = &a.t {
                add(t, total)?;
            }
            for t in &a.tensors {
                add(t, total)?;
            }
            if let Some(sub) = &a.g {
                check_graph(sub, total)?;
            }
        }
    }
    Ok(())
}

/// Checks caps; returns the default-domain opset.
pub fn check(proto: &ModelProto) -> Result<i64, LoadError> {
    let g = proto
        .graph
        .as_ref()
        .ok_or_else(|| LoadError::Malformed("no graph in the model".into()))?;
    if g.node.is_empty() {
        return Err(LoadError::Malformed("the graph has no nodes".into()));
    }
    let mut total = 0;
    check_graph(g, &mut total)?;
    let opset = proto
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .unwrap_or(0);
    if !(1..=22).contains(&opset) {
        return Err(LoadError::Malformed(format!(
            "unknown or unsupported default opset {opset}"
        )));
    }
    Ok(opset)
}

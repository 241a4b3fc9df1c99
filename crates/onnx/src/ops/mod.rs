//! Converters from tract typed ops to zkinfer ops, one module per op family. Each converter
//! returns `Ok(None)` when the node is not of its family.

use tract_onnx::prelude::TypedNode;
use zkinfer_model::TensorId;

use crate::{Ctx, LoadError};

pub mod deconv;
pub mod elementwise;
pub mod indexed;
pub mod linear;
pub mod logic;
pub mod reduce;
pub mod resample;
pub mod select;
pub mod shape;

/// A converter for one op family.
pub type Converter = fn(&mut Ctx, &TypedNode) -> Result<Option<TensorId>, LoadError>;

/// All converters, tried in order.
pub const REGISTRY: &[Converter] = &[
    linear::convert,
    elementwise::convert,
    indexed::convert,
    shape::convert,
    select::convert,
    reduce::convert,
    resample::convert,
    deconv::convert,
];

//! Quantization, the exact integer run, its checker, bounds and fidelity.

pub mod bounds;
pub mod check;
pub mod fidelity;
pub mod graph;
pub mod lower;
mod lower_elem;
mod lower_linear;
pub mod packed;
pub mod requant;
pub mod rows;
pub mod run;
pub mod table;

pub use check::check;
pub use fidelity::{fidelity, FidelityReport};
pub use graph::{QTensor, QTensorKind, QuantConfig, QuantNode, QuantOp, QuantizedGraph};
pub use lower::{calibrate, quantize, Calibration};
pub use packed::PackedWeights;
pub use requant::{Requant, RequantIndex};
pub use run::{
    run, run_quantized, run_quantized_strict, run_quantized_strict_packed, run_strict, Trace,
};
pub use table::{LookupTable, TableId};

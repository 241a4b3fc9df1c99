//! Per-layer protocols: each reduces a claim on a layer's output to claims on its inputs.
//!
//! ```text
//! field → poly → transcript → sumcheck / pcs → lookup → [layers] → prover / verifier
//! ```
//!
//! A model proof walks the graph from the output back to the input (GKR style): each layer
//! receives evaluation claims on its output MLE and returns evaluation claims on its input
//! MLEs (activations, settled by the layer below; weights, settled by one batched PCS opening
//! at the end).

pub mod linear;

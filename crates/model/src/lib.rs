//! # zkinfer-model: the model stages `FloatGraph → QuantizedGraph → Trace`
//!
//! Position in the workspace: independent of the proof system (no field, no PCS); loaders
//! (`zkinfer-onnx`) produce a [`FloatGraph`], the prover consumes a [`QuantizedGraph`] and a
//! [`Trace`].
//!
//! ```text
//! loader → FloatGraph ──quantize(calibration)──▶ QuantizedGraph ──run(input)──▶ Trace ──check──▶ ok / failing node
//!            └── eval (float reference) ──────────────── fidelity report ◀──┘
//! ```
//!
//! Loaders hand their graph to [`simplify::simplify`] first: constant subgraphs are folded
//! and `Einsum + bias` / `Einsum · α` (how exporters write Gemm) become one biased Einsum, so
//! a Gemm is one requantized relation rather than three.
//!
//! ## Quantization math
//! * **Activations** are fixed point with a per-tensor power-of-two scale: a real `x` is
//!   `x ≈ q·2^−f`, `q ∈ [−2^(A−1), 2^(A−1))` (default A = 16). `f` is the largest integer with
//!   `max_calib|x|·2^f ≤ (2^(A−1)−1)/2^h` (h headroom bits, default 1).
//! * **Weights** are symmetric per output channel, `w_q = round(w/s_c)`,
//!   `s_c = max|w_c|/(2^(N−1)−1)` (default N = 12). A linear op (Einsum/Gemm/MatMul/Conv)
//!   computes the exact integer accumulator `acc = Σ_j x_q[j]·w_q[j] + b_q`, with
//!   `b_q = round(b/(s_c·2^−fx))`, and requantizes.
//! * **Requantization** ([`quant::Requant`]): `y = clamp(⌊(M·acc + 2^(s−1))/2^s⌋, lo, hi)`,
//!   `M/2^s ≈ s_c·2^(fy−fx)` with M of ~15 bits (exact when the ratio is a power of two). Provable
//!   as `M·acc + 2^(s−1) = y'·2^s + r`, `r ∈ [0, 2^s)` (range check), `y = clamp(y')` (lookup).
//! * **Nonlinear functions** (sigmoid, tanh, exp, erf, gelu, sqrt, recip, …) and scalar-constant
//!   ops (relu = max(x,0), clip, pow c, x/c) are [`quant::LookupTable`]s over the whole input
//!   domain, 2^A rows of `(q, clamp(round(f(q·2^−fx)·2^fy)))`: the relation is `(x, y) ∈ T`.
//! * **Add/Sub/Max/Min** align scales by left shifts: `y = requant((a≪la) ± (b≪lb))`;
//!   **Mul** `y = requant(a·b)`; **Div** by an activation = recip lookup then Mul.
//! * **Softmax** per row: `m = max x`, `e_i = T_exp(x_i − m)` (table on `[−(2^A−1), 0]`),
//!   `S = Σ e_i`, `y_i = ⌊(e_i·2^fo + ⌊S/2⌋)/S⌋` (a proven division: quotient + range-checked
//!   remainder).
//!
//! ## Bounds analysis
//! Every activation is clamped to A bits by construction, so each relation's intermediate has
//! an a-priori bound: `|acc| ≤ K·2^(A−1)·max|w_q| + max|b_q|` (K terms per output), the requant
//! product `≤ |acc|·max|M| + 2^(s−1)`, shifts `≤ 2^(A−1)·2^l`, softmax `≤ n·2^(A−1)`.
//! [`quant::bounds::check_bounds`] refuses (naming the tensor) any graph where one of these can
//! reach 2^62, so every intermediate is a signed 63-bit integer and embeds in Goldilocks
//! (p ≈ 2^64) without wrap-around.
//!
//! ## For the prover
//! [`QuantizedGraph::nodes`] lists [`QuantOp`] relations with their input/output tensor ids;
//! constants (weights, quantized biases) are [`quant::QTensorKind::Const`] tensors to commit;
//! [`QuantizedGraph::tables`] are the lookup tables; [`Trace::values`] holds every tensor of a
//! run indexed by [`TensorId`]; [`quant::check`] is the mock prover.

pub mod error;
pub mod eval;
mod fuse;
pub mod graph;
pub mod input;
pub mod kernels;
pub mod ops;
pub mod quant;
pub mod simplify;

pub use error::{ModelError, Result};
pub use eval::{eval, eval_all};
pub use graph::{FloatGraph, FloatNode, FloatTensor, FloatTensorKind, TensorId};
pub use input::InputFile;
pub use ops::{BinaryKind, ConvSpec, FloatOp, ReduceKind, UnaryFn, WindowSpec};
pub use quant::{check, fidelity, quantize, run, QuantConfig, QuantOp, QuantizedGraph, Trace};

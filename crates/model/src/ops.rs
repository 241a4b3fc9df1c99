//! zkinfer's op vocabulary, shared by the float graph and (with integer parameters) the
//! quantized graph. Loaders map their source ops onto these.

use serde::{Deserialize, Serialize};

/// Window geometry shared by Conv and the pools. Layout is `[N?, C, spatial...]`; padding
/// positions (and positions past the input end, e.g. ONNX `ceil_mode`) read as the pad value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSpec {
    /// Kernel size per spatial axis.
    pub kernel: Vec<usize>,
    /// Stride per spatial axis.
    pub strides: Vec<usize>,
    /// Dilation per spatial axis.
    pub dilations: Vec<usize>,
    /// Padding before each spatial axis (padding after is implied by the output shape).
    pub pads_before: Vec<usize>,
}

/// Convolution: x `[N?, C, S...]`, w `[O, C/group, K...]`, optional bias `[O]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvSpec {
    /// Window geometry.
    pub window: WindowSpec,
    /// Number of groups (C for depthwise).
    pub group: usize,
}

/// Element-wise binary ops with numpy broadcasting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinaryKind {
    /// a + b
    Add,
    /// a − b
    Sub,
    /// a · b
    Mul,
    /// a / b
    Div,
    /// max(a, b)
    Max,
    /// min(a, b)
    Min,
    /// a^b
    Pow,
    /// a < b (1 or 0)
    Less,
    /// a ≤ b
    LessEq,
    /// a > b
    Greater,
    /// a ≥ b
    GreaterEq,
    /// a = b
    Equal,
    /// a ≠ b
    NotEqual,
}

impl BinaryKind {
    /// The comparison's truth value, None for non-comparisons.
    pub fn compare<T: PartialOrd>(self, a: T, b: T) -> Option<bool> {
        Some(match self {
            BinaryKind::Less => a < b,
            BinaryKind::LessEq => a <= b,
            BinaryKind::Greater => a > b,
            BinaryKind::GreaterEq => a >= b,
            BinaryKind::Equal => a == b,
            BinaryKind::NotEqual => a != b,
            _ => return None,
        })
    }
}

/// Element-wise unary functions; each becomes a lookup table when quantized.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum UnaryFn {
    /// max(x, 0)
    Relu,
    /// x ≥ 0 ? x : αx
    LeakyRelu(f32),
    /// 1/(1+e^−x)
    Sigmoid,
    /// tanh
    Tanh,
    /// e^x
    Exp,
    /// ln x
    Ln,
    /// √x
    Sqrt,
    /// 1/√x
    Rsqrt,
    /// 1/x
    Recip,
    /// 1/√(x + eps)
    RsqrtEps(f32),
    /// erf
    Erf,
    /// x·Φ(x)
    GeluExact,
    /// tanh-approximated GELU
    GeluTanh,
    /// x·σ(x)
    Silu,
    /// x·relu6(x+3)/6
    HardSwish,
    /// |x|
    Abs,
    /// −x
    Neg,
    /// sign(x)
    Sign,
    /// x²
    Square,
    /// x^p
    PowConst(f32),
    /// clamp(x, lo, hi) (±∞ allowed)
    Clip(f32, f32),
    /// ⌊x⌋
    Floor,
    /// ⌈x⌉
    Ceil,
    /// round half away from zero
    Round,
    /// round half to even
    RoundEven,
    /// truncation toward zero (float → integer casts)
    Trunc,
    /// logical not: x = 0 ? 1 : 0
    Not,
    /// sin
    Sin,
    /// tan
    Tan,
    /// cos
    Cos,
    /// c·x
    Scale(f32),
    /// x + c
    Offset(f32),
    /// arccos
    Acos,
    /// arcsin
    Asin,
    /// arctan
    Atan,
    /// sinh
    Sinh,
    /// cosh
    Cosh,
    /// arsinh
    Asinh,
    /// arcosh
    Acosh,
    /// artanh
    Atanh,
    /// b^x for a constant base b > 0 (`Pow` with a constant base)
    PowBase(f32),
    /// ln(1 + eˣ)
    Softplus,
    /// x · tanh(ln(1 + eˣ))
    Mish,
}

impl UnaryFn {
    /// Float semantics (evaluated in f64).
    pub fn eval(self, x: f64) -> f64 {
        use UnaryFn::*;
        match self {
            Relu => x.max(0.0),
            LeakyRelu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    f64::from(a) * x
                }
            }
            Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Tanh => x.tanh(),
            Exp => x.exp(),
            Ln => x.ln(),
            Sqrt => x.sqrt(),
            Rsqrt => 1.0 / x.sqrt(),
            Recip => 1.0 / x,
            RsqrtEps(e) => 1.0 / (x + f64::from(e)).sqrt(),
            Erf => erf(x),
            GeluExact => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
            GeluTanh => {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
            }
            Silu => x / (1.0 + (-x).exp()),
            Softplus => softplus(x),
            Mish => x * softplus(x).tanh(),
            HardSwish => x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
            Abs => x.abs(),
            Neg => -x,
            Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Square => x * x,
            PowConst(p) => x.powf(f64::from(p)),
            Clip(lo, hi) => x.max(f64::from(lo)).min(f64::from(hi)),
            Floor => x.floor(),
            Ceil => x.ceil(),
            Round => x.round(),
            RoundEven => x.round_ties_even(),
            Trunc => x.trunc(),
            Not => f64::from(u8::from(x == 0.0)),
            Sin => x.sin(),
            Tan => x.tan(),
            Cos => x.cos(),
            Scale(c) => f64::from(c) * x,
            Offset(c) => x + f64::from(c),
            Acos => x.acos(),
            Asin => x.asin(),
            Atan => x.atan(),
            Sinh => x.sinh(),
            Cosh => x.cosh(),
            Asinh => x.asinh(),
            Acosh => x.acosh(),
            Atanh => x.atanh(),
            PowBase(b) => f64::from(b).powf(x),
        }
    }

    /// True when f(x) = x on non-negative inputs and the output needs no new scale.
    pub fn keeps_scale(self) -> bool {
        matches!(
            self,
            UnaryFn::Relu | UnaryFn::LeakyRelu(_) | UnaryFn::Abs | UnaryFn::Neg | UnaryFn::Clip(..)
        )
    }
}

/// Reductions over a set of axes (dimensions kept with size 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReduceKind {
    /// Σ
    Sum,
    /// mean
    Mean,
    /// max
    Max,
    /// min
    Min,
    /// mean of squares
    MeanOfSquares,
}

/// The float ops. Every op has exactly one output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FloatOp {
    /// Einstein summation over two inputs, e.g. `"mk,kn->mn"`; an optional third input is a
    /// bias broadcast to the output.
    Einsum {
        /// Expression, one char per axis.
        expr: String,
    },
    /// Convolution (inputs x, w, optional bias).
    Conv(ConvSpec),
    /// Max pool over windows (padding ignored).
    MaxPool(WindowSpec),
    /// Average pool (sum then divide by the count, padding counted iff `count_include_pad`).
    AvgPool {
        /// Window geometry.
        window: WindowSpec,
        /// Whether padding positions count in the divisor.
        count_include_pad: bool,
    },
    /// Element-wise binary op with broadcasting.
    Binary(BinaryKind),
    /// Element-wise unary function.
    Unary(UnaryFn),
    /// Same data, new shape (the output tensor's shape).
    Reshape,
    /// Axis permutation: output axis i is input axis `perm[i]`.
    Transpose {
        /// The permutation.
        perm: Vec<usize>,
    },
    /// Concatenation along `axis`.
    Concat {
        /// Axis.
        axis: usize,
    },
    /// `start..end` step `step` along `axis`.
    Slice {
        /// Axis.
        axis: usize,
        /// First index.
        start: usize,
        /// Step (≥ 1).
        step: usize,
    },
    /// Constant padding: `pads[i] = (before, after)` for axis i.
    Pad {
        /// Per-axis padding.
        pads: Vec<(usize, usize)>,
        /// Fill value.
        value: f32,
    },
    /// Gather with constant indices along `axis` (indices already normalised, flattened).
    Gather {
        /// Axis.
        axis: usize,
        /// Indices.
        indices: Vec<usize>,
    },
    /// Data movement whose map is read from an index tensor (input 1): Gather with computed
    /// indices, GatherElements/ND, ScatterElements/ND (updates as input 2). Provable when the
    /// index tensor is a public model input.
    IndexedMove {
        /// Which movement.
        kind: crate::kernels::indexed::IndexKind,
    },
    /// Broadcast to the output shape.
    Broadcast,
    /// Tiling (repeat along each axis) to the output shape.
    Tile,
    /// Reduction over `axes` (kept with size 1).
    Reduce {
        /// Axes.
        axes: Vec<usize>,
        /// Kind.
        kind: ReduceKind,
    },
    /// `cond ≠ 0 ? a : b` with broadcasting (inputs cond, a, b).
    Where,
    /// Softmax (or log-softmax) along `axis`.
    Softmax {
        /// Axis.
        axis: usize,
        /// Log-softmax.
        log: bool,
    },
    /// Index of the largest element along the last axis (ties: the lowest index), that axis
    /// removed from the shape. Greedy decoding's token choice; provable only as a public
    /// graph output (the verifier reads the indices from the statement).
    ArgMax,
}

impl FloatOp {
    /// Short name for messages.
    pub fn name(&self) -> String {
        match self {
            FloatOp::Binary(k) => format!("{k:?}"),
            FloatOp::Unary(f) => format!("{f:?}"),
            FloatOp::Conv(_) => "Conv".into(),
            other => format!("{other:?}")
                .split([' ', '(', '{'])
                .next()
                .unwrap_or("?")
                .to_string(),
        }
    }
}

/// ln(1 + eˣ) without overflow.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Error function (Numerical Recipes' Chebyshev fit of erfc, |relative err| < 1.2e-7).
pub fn erf(x: f64) -> f64 {
    // Numerical Recipes erfc (Chebyshev), relative error < 1.2e-7.
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let ans = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        1.0 - ans
    } else {
        ans - 1.0
    }
}

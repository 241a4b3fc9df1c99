//! Shape-generic kernels shared by the float evaluator (f32) and the integer run (i64).
//! Integer arithmetic wraps instead of panicking: the bounds analysis proves no wrap happens
//! on honest runs, and the checker must survive arbitrary (corrupted) traces.

pub mod gemm;
pub mod indexed;
pub mod linear;
pub mod packed;
pub mod pool;
pub mod reduce;
pub mod shape;

/// Scalar type of a kernel.
pub trait Elem: Copy + Default + PartialOrd + std::fmt::Debug + Send + Sync {
    /// a + b (wrapping for integers).
    fn add(self, o: Self) -> Self;
    /// a · b (wrapping for integers).
    fn mul(self, o: Self) -> Self;
    /// The batched product of [`gemm::GemmPlan`] (sums in k order).
    fn gemm(plan: &gemm::GemmPlan, a: &[Self], b: &[Self]) -> Vec<Self> {
        plan.run(
            a,
            b,
            |x| x,
            |x: &[Self], y: &[Self]| {
                x.iter()
                    .zip(y)
                    .fold(Self::default(), |s, (&p, &q)| s.add(p.mul(q)))
            },
        )
    }
}

impl Elem for f32 {
    fn add(self, o: Self) -> Self {
        self + o
    }
    fn mul(self, o: Self) -> Self {
        self * o
    }
}

impl Elem for i64 {
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    fn mul(self, o: Self) -> Self {
        self.wrapping_mul(o)
    }
    /// Operands are packed as narrow as their values allow; wrapping sums are order-free, so
    /// every path gives the i64 result exactly:
    /// - both fit i16 and at least 8 products fit an i32 (`max|a|·max|b| ≤ 2^28`: a 16-bit
    ///   activation times a 12-bit weight): i16, products summed in 16 i32 lanes for as many
    ///   steps as the bound allows, then widened ([`gemm::dot_i16`]; 8 products per
    ///   `vpmulld` where i32 needs one `vpmuldq` per 4);
    /// - both fit i32: i32, each product exact in i64;
    /// - otherwise i64 throughout.
    fn gemm(plan: &gemm::GemmPlan, a: &[Self], b: &[Self]) -> Vec<Self> {
        let ((ma, a16), (mb, b16)) = (gemm::extent(a), gemm::extent(b));
        if let Some(steps) = gemm::i16_steps(ma, mb).filter(|_| a16 && b16) {
            plan.run(
                a,
                b,
                |x| x as i16,
                |x: &[i16], y: &[i16]| gemm::dot_i16(x, y, steps),
            )
        } else if ma <= i32::MAX as u64 && mb <= i32::MAX as u64 {
            plan.run(
                a,
                b,
                |x| x as i32,
                |x: &[i32], y: &[i32]| {
                    x.iter().zip(y).fold(0i64, |s, (&p, &q)| {
                        s.wrapping_add(i64::from(p) * i64::from(q))
                    })
                },
            )
        } else {
            plan.run(
                a,
                b,
                |x| x,
                |x: &[i64], y: &[i64]| {
                    x.iter()
                        .zip(y)
                        .fold(0i64, |s, (&p, &q)| s.wrapping_add(p.wrapping_mul(q)))
                },
            )
        }
    }
}

/// A reproducible stream of pseudo-random 31-bit values for kernel tests (an LCG's high bits).
#[cfg(test)]
pub(crate) fn test_stream(seed: u64) -> impl FnMut() -> i64 {
    let mut s = seed;
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as i64
    }
}

/// Row-major strides.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Advances a multi-index (odometer); returns false after the last index.
pub fn next_index(idx: &mut [usize], shape: &[usize]) -> bool {
    for i in (0..idx.len()).rev() {
        idx[i] += 1;
        if idx[i] < shape[i] {
            return true;
        }
        idx[i] = 0;
    }
    false
}

/// Strides of `shape` when broadcast (right-aligned) to `out`: 0 on broadcast axes.
pub fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let s = strides(shape);
    let off = out.len().saturating_sub(shape.len());
    (0..out.len())
        .map(|i| {
            if i < off || shape[i - off] == 1 {
                0
            } else {
                s[i - off]
            }
        })
        .collect()
}

/// Numpy broadcast of two shapes; None when incompatible.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            let x = if i + a.len() >= n {
                a[i + a.len() - n]
            } else {
                1
            };
            let y = if i + b.len() >= n {
                b[i + b.len() - n]
            } else {
                1
            };
            match (x, y) {
                (x, y) if x == y => Some(x),
                (1, y) => Some(y),
                (x, 1) => Some(x),
                _ => None,
            }
        })
        .collect()
}

/// Element-wise binary op with broadcasting to `out`.
pub fn binary<T: Copy, U>(
    a: &[T],
    sa: &[usize],
    b: &[T],
    sb: &[usize],
    out: &[usize],
    f: impl Fn(T, T) -> U,
) -> Vec<U> {
    let (ta, tb) = (broadcast_strides(sa, out), broadcast_strides(sb, out));
    let n: usize = out.iter().product();
    let mut res = Vec::with_capacity(n);
    if n == 0 {
        return res;
    }
    let mut idx = vec![0; out.len()];
    loop {
        let oa: usize = idx.iter().zip(&ta).map(|(i, s)| i * s).sum();
        let ob: usize = idx.iter().zip(&tb).map(|(i, s)| i * s).sum();
        res.push(f(a[oa], b[ob]));
        if !next_index(&mut idx, out) {
            break;
        }
    }
    res
}

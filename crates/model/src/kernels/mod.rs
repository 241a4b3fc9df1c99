//! Shape-generic kernels shared by the float evaluator (f32) and the integer run (i64).
//! Integer arithmetic wraps instead of panicking: the bounds analysis proves no wrap happens
//! on honest runs, and the checker must survive arbitrary (corrupted) traces.

pub mod indexed;
pub mod linear;
pub mod pool;
pub mod reduce;
pub mod shape;

/// Scalar type of a kernel.
pub trait Elem: Copy + Default + PartialOrd + std::fmt::Debug {
    /// a + b (wrapping for integers).
    fn add(self, o: Self) -> Self;
    /// a · b (wrapping for integers).
    fn mul(self, o: Self) -> Self;
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

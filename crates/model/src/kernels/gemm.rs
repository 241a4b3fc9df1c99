//! Two-input einsum as a batched matrix product, blocked and on every core.
//!
//! Every output label is a *batch* label (both operands vary along it), an *m* label (only
//! the first does) or an *n* label (only the second does); the summed labels form *k*. With
//! offset tables for each group (any strides, broadcasts as stride 0), the einsum is
//! `out[b, i, j] = Σ_k A[b, i, k]·B[b, j, k]`: blocks of B rows are gathered into a
//! contiguous, k-major buffer that stays in cache while every row of A is dotted with it.
//! The sum over k runs in index order, so results equal the naive loop's exactly (wrapping
//! integers are associative anyway; floats keep their order).

use std::thread;

/// Rows of B gathered per block (a block of 64 rows of 4,096 i32 values is 1 MiB).
const BLOCK: usize = 64;

/// Multiply-adds below which one thread does the work.
const PARALLEL_MIN: usize = 1 << 20;

/// i32 lanes of [`dot_i16`]: lane `l` sums the products at positions `≡ l (mod LANES)`.
const LANES: usize = 16;

/// The largest absolute value in `v` and whether every value fits i16 (`+2^15` has the
/// absolute value of `i16::MIN` but does not fit, so the bound alone cannot decide).
pub fn extent(v: &[i64]) -> (u64, bool) {
    let (lo, hi) = v
        .iter()
        .fold((0i64, 0i64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    (
        lo.unsigned_abs().max(hi.unsigned_abs()),
        lo >= i64::from(i16::MIN) && hi <= i64::from(i16::MAX),
    )
}

/// The products each i32 lane of [`dot_i16`] may sum for operands bounded by `ma` and `mb` in
/// absolute value, or `None` when the i16 path does not apply (a bound above 2^15, or fewer
/// than 8 products per lane between widenings, where it would not pay). The operands must
/// also fit i16 ([`extent`]).
pub fn i16_steps(ma: u64, mb: u64) -> Option<usize> {
    if ma > 1 << 15 || mb > 1 << 15 {
        return None;
    }
    let steps = (i32::MAX as u64 / (ma * mb).max(1)) as usize;
    (steps >= 8).then_some(steps)
}

/// `Σ x_i·y_i` exactly, for operands whose products fit `steps` at a time in an i32
/// ([`i16_steps`]): [`LANES`] i32 lanes each sum at most `steps` products (i16 × i16, which
/// the vectorizer turns into `vpmulld`, 8 per instruction; it does not emit `pmaddwd` for this
/// lane-bounded loop), then are widened into i64; the tail is summed in i64.
pub fn dot_i16(x: &[i16], y: &[i16], steps: usize) -> i64 {
    let n = x.len().min(y.len());
    let body = n - n % LANES;
    let mut wide = [0i64; LANES];
    for (xc, yc) in x[..body]
        .chunks(steps * LANES)
        .zip(y[..body].chunks(steps * LANES))
    {
        let mut acc = [0i32; LANES];
        for (xs, ys) in xc.chunks_exact(LANES).zip(yc.chunks_exact(LANES)) {
            for l in 0..LANES {
                acc[l] = acc[l].wrapping_add(i32::from(xs[l]).wrapping_mul(i32::from(ys[l])));
            }
        }
        for (w, a) in wide.iter_mut().zip(acc) {
            *w += i64::from(a);
        }
    }
    let tail = x[body..n]
        .iter()
        .zip(&y[body..n])
        .fold(0i64, |s, (&p, &q)| s + i64::from(p) * i64::from(q));
    wide.iter().sum::<i64>() + tail
}

/// Offset tables of one einsum as a batched product.
pub struct GemmPlan {
    /// Per batch index: offsets in A, B and the output.
    batch: Vec<[usize; 3]>,
    /// Per m index: offsets in A and the output.
    m: Vec<[usize; 2]>,
    /// Per n index: offsets in B and the output.
    n: Vec<[usize; 2]>,
    /// Per k index: offsets in A and B.
    k: Vec<[usize; 2]>,
    /// Output length.
    len: usize,
}

/// Offsets of every multi-index over `sizes` (row-major) under each stride set.
fn offsets<const W: usize>(sizes: &[usize], strides: &[[usize; W]]) -> Vec<[usize; W]> {
    let total: usize = sizes.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; sizes.len()];
    for _ in 0..total {
        let mut o = [0usize; W];
        for (d, &i) in idx.iter().enumerate() {
            for (w, slot) in o.iter_mut().enumerate() {
                *slot += i * strides[d][w];
            }
        }
        out.push(o);
        super::next_index(&mut idx, sizes);
    }
    out
}

impl GemmPlan {
    /// The plan for output labels `out` (sizes `out_sizes`, strides in A, B and the output)
    /// and summed labels (sizes, strides in A and B).
    pub fn new(
        out_sizes: &[usize],
        out_strides: &[[usize; 3]],
        sum_sizes: &[usize],
        sum_strides: &[[usize; 2]],
    ) -> Self {
        let (mut bs, mut bst) = (Vec::new(), Vec::new());
        let (mut ms, mut mst) = (Vec::new(), Vec::new());
        let (mut ns, mut nst) = (Vec::new(), Vec::new());
        for (&s, &[ta, tb, to]) in out_sizes.iter().zip(out_strides) {
            match (ta != 0, tb != 0) {
                (true, false) => {
                    ms.push(s);
                    mst.push([ta, to]);
                }
                (false, true) => {
                    ns.push(s);
                    nst.push([tb, to]);
                }
                _ => {
                    bs.push(s);
                    bst.push([ta, tb, to]);
                }
            }
        }
        GemmPlan {
            batch: offsets(&bs, &bst),
            m: offsets(&ms, &mst),
            n: offsets(&ns, &nst),
            k: offsets(sum_sizes, sum_strides),
            len: out_sizes.iter().product(),
        }
    }

    /// Multiply-adds of the product.
    pub fn work(&self) -> usize {
        self.batch.len() * self.m.len() * self.n.len() * self.k.len()
    }

    /// Runs the product: operands are packed with `pack` (e.g. narrowed) and each output is
    /// `dot` of an A row and a B row over k, in k order.
    pub fn run<T, P, R>(
        &self,
        a: &[T],
        b: &[T],
        pack: impl Fn(T) -> P + Sync,
        dot: impl Fn(&[P], &[P]) -> R + Sync,
    ) -> Vec<R>
    where
        T: Copy + Sync,
        P: Copy + Default + Send + Sync,
        R: Copy + Default + Send,
    {
        let (nm, nk) = (self.m.len(), self.k.len());
        // Tasks: (batch, block of n rows).
        let blocks = self.n.len().div_ceil(BLOCK);
        let tasks = self.batch.len() * blocks;
        let threads = if self.work() < PARALLEL_MIN {
            1
        } else {
            thread::available_parallelism()
                .map_or(1, |t| t.get())
                .min(tasks)
                .max(1)
        };
        let task = |t: usize, apack: &mut Vec<P>, bpack: &mut Vec<P>, res: &mut Vec<R>| {
            let (bi, blk) = (t / blocks, t % blocks);
            let [ba, bb, _] = self.batch[bi];
            let rows = &self.n[blk * BLOCK..((blk + 1) * BLOCK).min(self.n.len())];
            if apack.is_empty() {
                apack.clear();
                for &[ma, _] in &self.m {
                    apack.extend(self.k.iter().map(|&[ka, _]| pack(a[ba + ma + ka])));
                }
            }
            bpack.clear();
            for &[nb, _] in rows {
                bpack.extend(self.k.iter().map(|&[_, kb]| pack(b[bb + nb + kb])));
            }
            for i in 0..nm {
                let ar = &apack[i * nk..(i + 1) * nk];
                for j in 0..rows.len() {
                    res.push(dot(ar, &bpack[j * nk..(j + 1) * nk]));
                }
            }
        };
        // Each thread takes tasks t ≡ id (mod threads) in order; A is re-packed when its
        // batch changes.
        let run_share = |id: usize| -> Vec<R> {
            let (mut ap, mut bp, mut res) = (Vec::new(), Vec::new(), Vec::new());
            let mut last_batch = usize::MAX;
            for t in (id..tasks).step_by(threads) {
                if t / blocks != last_batch {
                    ap.clear();
                    last_batch = t / blocks;
                }
                task(t, &mut ap, &mut bp, &mut res);
            }
            res
        };
        let shares: Vec<Vec<R>> = if threads == 1 {
            vec![run_share(0)]
        } else {
            thread::scope(|s| {
                let hs: Vec<_> = (0..threads)
                    .map(|id| s.spawn(move || run_share(id)))
                    .collect();
                hs.into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        let mut out = vec![R::default(); self.len];
        for (id, share) in shares.iter().enumerate() {
            let mut vals = share.iter();
            for t in (id..tasks).step_by(threads) {
                let (bi, blk) = (t / blocks, t % blocks);
                let bo = self.batch[bi][2];
                let rows = &self.n[blk * BLOCK..((blk + 1) * BLOCK).min(self.n.len())];
                for &[_, mo] in &self.m {
                    for &[_, no] in rows {
                        if let Some(&v) = vals.next() {
                            out[bo + mo + no] = v;
                        }
                    }
                }
            }
        }
        out
    }
}

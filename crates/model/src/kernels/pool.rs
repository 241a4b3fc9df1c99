//! Pooling: a fold over each window's in-bounds positions (padding is skipped).

use super::linear::{split_layout, window_pos};
use super::{next_index, strides};
use crate::ops::WindowSpec;

/// For every output position of `[N?, C, S'...]`, folds `f` over the window's in-bounds input
/// values starting from `init`; also returns the number of in-bounds positions.
pub fn window_fold<T: Copy>(
    win: &WindowSpec,
    x: &[T],
    sx: &[usize],
    out_shape: &[usize],
    init: T,
    f: impl Fn(T, T) -> T,
) -> Option<(Vec<T>, Vec<usize>)> {
    let r = win.kernel.len();
    let (n, c, sp) = split_layout(sx, r)?;
    let (n2, c2, osp) = split_layout(out_shape, r)?;
    if n != n2
        || c != c2
        || win.strides.len() != r
        || win.dilations.len() != r
        || win.pads_before.len() != r
    {
        return None;
    }
    let ksz: usize = win.kernel.iter().product();
    let (spn, ospn): (usize, usize) = (sp.iter().product(), osp.iter().product());
    let sst = strides(sp);
    let mut vals = Vec::with_capacity(n * c * ospn);
    let mut counts = Vec::with_capacity(n * c * ospn);
    for nc in 0..n * c {
        let mut op = vec![0; r];
        for _ in 0..ospn {
            let (mut acc, mut cnt) = (init, 0);
            let mut kp = vec![0; r];
            for _ in 0..ksz {
                let mut off = Some(0usize);
                for a in 0..r {
                    off = off.and_then(|o| {
                        window_pos(
                            op[a],
                            kp[a],
                            win.strides[a],
                            win.dilations[a],
                            win.pads_before[a],
                            sp[a],
                        )
                        .map(|p| o + p * sst[a])
                    });
                }
                if let Some(off) = off {
                    acc = f(acc, x[nc * spn + off]);
                    cnt += 1;
                }
                next_index(&mut kp, &win.kernel);
            }
            vals.push(acc);
            counts.push(cnt);
            next_index(&mut op, osp);
        }
    }
    Some((vals, counts))
}

/// Divisor of an average pool at each output position.
pub fn avg_divisors(win: &WindowSpec, counts: &[usize], count_include_pad: bool) -> Vec<usize> {
    let ksz: usize = win.kernel.iter().product();
    counts
        .iter()
        .map(|&c| if count_include_pad { ksz } else { c.max(1) })
        .collect()
}

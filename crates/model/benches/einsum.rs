//! The integer einsum of the quantized run at GPT-2 124M shapes (32 positions): the blocked,
//! threaded batched product (`kernels::gemm`) against the odometer loop it replaced (kept
//! here as the baseline), on the same i64 operands.
#![allow(missing_docs)] // criterion macros generate undocumented items

use criterion::{criterion_group, criterion_main, Criterion};
use zkinfer_model::kernels::linear::{einsum, EinsumExpr};
use zkinfer_model::kernels::{next_index, strides};

/// The previous kernel: one odometer over the output, one over the summed labels.
fn odometer(
    e: &EinsumExpr,
    a: &[i64],
    sa: &[usize],
    b: &[i64],
    sb: &[usize],
    out: &[usize],
) -> Vec<i64> {
    let sizes = e.sizes(&[sa, sb]).expect("sizes");
    let size = |c: char| sizes.iter().find(|(l, _)| *l == c).map_or(1, |x| x.1);
    let summed = e.summed();
    let sum_shape: Vec<usize> = summed.iter().map(|&c| size(c)).collect();
    let labels: Vec<char> = e.output.iter().chain(summed.iter()).copied().collect();
    let stride_in = |lab: &[char], shape: &[usize]| -> Vec<usize> {
        let st = strides(shape);
        labels
            .iter()
            .map(|c| {
                lab.iter()
                    .position(|x| x == c)
                    .map_or(0, |p| if shape[p] == 1 { 0 } else { st[p] })
            })
            .collect()
    };
    let (ta, tb) = (stride_in(&e.inputs[0], sa), stride_in(&e.inputs[1], sb));
    let no = e.output.len();
    let mut res = Vec::new();
    let mut oi = vec![0; no];
    loop {
        let ba: usize = oi.iter().zip(&ta).map(|(i, s)| i * s).sum();
        let bb: usize = oi.iter().zip(&tb).map(|(i, s)| i * s).sum();
        let mut acc = 0i64;
        let mut si = vec![0; summed.len()];
        loop {
            let oa: usize = ba + si.iter().zip(&ta[no..]).map(|(i, s)| i * s).sum::<usize>();
            let ob: usize = bb + si.iter().zip(&tb[no..]).map(|(i, s)| i * s).sum::<usize>();
            acc = acc.wrapping_add(a[oa].wrapping_mul(b[ob]));
            if !next_index(&mut si, &sum_shape) {
                break;
            }
        }
        res.push(acc);
        if !next_index(&mut oi, out) {
            break;
        }
    }
    res
}

fn operand(n: usize, bits: u32, seed: u64) -> Vec<i64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as i64 % (1 << bits)) - (1 << (bits - 1))
        })
        .collect()
}

/// (name, expression, A shape, B shape, output shape).
type Case = (
    &'static str,
    &'static str,
    [usize; 2],
    [usize; 2],
    [usize; 2],
);

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("einsum_i64_gpt2_124m");
    group.sample_size(10);
    let cases: &[Case] = &[
        // x[32, 768] · W_fc[3072, 768]ᵀ: the MLP up-projection (75 M multiply-adds).
        ("mlp_up", "ik,jk->ij", [32, 768], [3072, 768], [32, 3072]),
        // x[32, 768] · W[768, 2304]: the fused QKV projection, weight in [in, out] (57 M).
        (
            "qkv_in_out",
            "ik,kj->ij",
            [32, 768],
            [768, 2304],
            [32, 2304],
        ),
    ];
    for (name, expr, sa, sb, out) in cases {
        let e = EinsumExpr::parse(expr).expect("expr");
        let a = operand(sa.iter().product(), 16, 1);
        let b = operand(sb.iter().product(), 12, 2);
        group.bench_function(format!("{name}/blocked"), |bn| {
            bn.iter(|| einsum(&e, &a, sa, &b, sb, out))
        });
        group.bench_function(format!("{name}/odometer"), |bn| {
            bn.iter(|| odometer(&e, &a, sa, &b, sb, out))
        });
    }
    // The LM head over the whole vocabulary at 16 emitting positions (618 M).
    let e = EinsumExpr::parse("ik,vk->iv").expect("expr");
    let (sa, sb, out) = ([16usize, 768], [50257usize, 768], [16usize, 50257]);
    let a = operand(16 * 768, 16, 3);
    let b = operand(50257 * 768, 12, 4);
    group.bench_function("lm_head_16/blocked", |bn| {
        bn.iter(|| einsum(&e, &a, &sa, &b, &sb, &out))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

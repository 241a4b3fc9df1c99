//! Reductions over a set of axes, dimensions kept with size 1.

use super::{next_index, strides};

/// Output shape of a keep-dims reduction.
pub fn reduced_shape(shape: &[usize], axes: &[usize]) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if axes.contains(&i) { 1 } else { d })
        .collect()
}

/// Groups the input by output position: returns, for each output element, the flat input
/// indices reduced into it (in row-major order).
pub fn reduce_groups(shape: &[usize], axes: &[usize]) -> Vec<Vec<usize>> {
    let out = reduced_shape(shape, axes);
    let ost = strides(&out);
    let n_out: usize = out.iter().product();
    let mut groups = vec![Vec::new(); n_out];
    let n: usize = shape.iter().product();
    if n == 0 {
        return groups;
    }
    let mut idx = vec![0; shape.len()];
    let mut flat = 0;
    loop {
        let o: usize = idx
            .iter()
            .enumerate()
            .map(|(i, &v)| if axes.contains(&i) { 0 } else { v * ost[i] })
            .sum();
        groups[o].push(flat);
        flat += 1;
        if !next_index(&mut idx, shape) {
            break;
        }
    }
    groups
}

/// Index of the first largest element (0 for an empty row). NaN never wins.
pub fn argmax<T: PartialOrd + Copy>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate().skip(1) {
        if v > row[best] {
            best = i;
        }
    }
    best
}

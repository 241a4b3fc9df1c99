//! The Fiat–Shamir challenger handed to p3-whir: p3's `SerializingChallenger64` over a Blake3
//! `HashChallenger`, seeded from our transcript, with *deterministic* proof-of-work grinding.
//!
//! p3's grinder searches candidates with rayon's `find_map_any`, so with two threads it may
//! return a different (equally valid) witness than with one, and proof bytes would depend on
//! scheduling. [`DetBlake3`] keeps p3's fast batched-SIMD search but then re-searches below each
//! hit until none is left, so it always returns the *smallest* passing witness: proofs are
//! byte-identical for any `RAYON_NUM_THREADS`. It searches windows of doubling width (capped at 2^16) from 0, so
//! the total work stays within a small factor of the expected 2^bits candidates. Verification is
//! p3's unchanged `check_witness`.

use p3_blake3::Blake3;
use p3_challenger::{
    ByteGrindingChallenger, CanObserve, CanSample, HashChallenger, SerializingChallenger64,
};

/// Widest search window: large enough that rayon's per-window dispatch is noise (~1 ms of
/// hashing on two cores), small enough that the re-search below a hit is cheap.
const MAX_WINDOW: u64 = 1 << 16;

/// Blake3 byte challenger whose witness search is deterministic (see the module docs).
#[derive(Clone, Debug)]
pub struct DetBlake3(HashChallenger<u8, Blake3, 32>);

impl CanObserve<u8> for DetBlake3 {
    #[inline]
    fn observe(&mut self, value: u8) {
        self.0.observe(value);
    }

    #[inline]
    fn observe_slice(&mut self, values: &[u8]) {
        self.0.observe_slice(values);
    }
}

impl CanSample<u8> for DetBlake3 {
    #[inline]
    fn sample(&mut self) -> u8 {
        self.0.sample()
    }
}

impl ByteGrindingChallenger for DetBlake3 {
    fn find_witness<const W: usize, const S: usize>(
        &self,
        num_candidates: u64,
        encode: impl Fn(u64) -> [u8; W] + Sync,
        accepts: impl Fn([u8; S]) -> bool + Sync,
    ) -> Option<u64> {
        // Windows [lo, lo + width) of doubling width, capped: a parallel search over all of
        // 0..p would send the second thread to p/2, far from the smallest witness, and
        // re-searching below a hit costs at most one window, so the cap keeps the total near
        // the expected 2^bits candidates (uncapped doubling scanned ~2.5× that).
        let (mut lo, mut width) = (0u64, 1u64 << 10);
        while lo < num_candidates {
            let n = width.min(num_candidates - lo);
            let enc = |i: u64| encode(lo + i);
            if let Some(mut best) = self.0.find_witness(n, enc, &accepts) {
                // Any hit below `best`? It becomes the new bound; stop when none is left.
                while let Some(smaller) = self.0.find_witness(best, enc, &accepts) {
                    best = smaller;
                }
                return Some(lo + best);
            }
            lo += n;
            width = (width * 2).min(MAX_WINDOW);
        }
        None
    }
}

/// The challenger p3-whir runs on: canonical 64-bit serialization of field elements into a
/// Blake3 hash chain with deterministic grinding.
pub type WhirChallenger<F> = SerializingChallenger64<F, DetBlake3>;

/// A challenger whose state starts from a 32-byte seed (drawn from our transcript).
pub fn challenger_from_seed<F: p3_field::PrimeField64>(seed: [u8; 32]) -> WhirChallenger<F> {
    SerializingChallenger64::new(DetBlake3(HashChallenger::new(seed.to_vec(), Blake3)))
}

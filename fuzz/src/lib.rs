//! Fixtures shared by the fuzz targets: verifying keys and valid proofs (plain, and masked for
//! the CNN) of two bundled models (the small CNN of `examples/models/small_cnn` and the tiny
//! GPT-2 of `examples/llm/gpt2`), made by `fuzz/make_fixtures.sh` with the release CLI and
//! read once per process.

use std::path::PathBuf;
use std::sync::OnceLock;

use zkinfer_generation::GenerationProof;
use zkinfer_prover::{ModelProof, VerifyingKey};

/// The fixtures folder: `$ZKINFER_FUZZ_FIXTURES`, else `fuzz/fixtures`.
pub fn fixtures() -> PathBuf {
    std::env::var_os("ZKINFER_FUZZ_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures"))
}

fn read(name: &str) -> Vec<u8> {
    let p = fixtures().join(name);
    std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "fixture {} missing ({e}): run `bash fuzz/make_fixtures.sh` first",
            p.display()
        )
    })
}

/// The small CNN's verifying key.
pub fn cnn_vk() -> &'static VerifyingKey {
    static VK: OnceLock<VerifyingKey> = OnceLock::new();
    VK.get_or_init(|| VerifyingKey::from_bytes(&read("small_cnn/model.vk")).expect("cnn vk"))
}

/// A valid proof for [`cnn_vk`] (checked once).
pub fn cnn_proof() -> &'static ModelProof {
    static P: OnceLock<ModelProof> = OnceLock::new();
    P.get_or_init(|| {
        let p = ModelProof::from_bytes(&read("small_cnn/proof")).expect("cnn proof");
        zkinfer_prover::verify(cnn_vk(), &p).expect("the cnn fixture proof must verify");
        p
    })
}

/// A valid masked-walk proof for [`cnn_vk`] (`prove --masked-sumchecks`; checked once).
pub fn cnn_masked_proof() -> &'static ModelProof {
    static P: OnceLock<ModelProof> = OnceLock::new();
    P.get_or_init(|| {
        let p = ModelProof::from_bytes(&read("small_cnn/masked.proof")).expect("masked proof");
        assert!(
            zkinfer_prover::transcript_is_masked(&p.transcript),
            "the masked fixture is not a masked proof"
        );
        zkinfer_prover::verify(cnn_vk(), &p).expect("the masked fixture proof must verify");
        p
    })
}

/// The tiny GPT-2's verifying key.
pub fn gpt2_vk() -> &'static VerifyingKey {
    static VK: OnceLock<VerifyingKey> = OnceLock::new();
    VK.get_or_init(|| VerifyingKey::from_bytes(&read("gpt2/model.vk")).expect("gpt2 vk"))
}

/// A valid generation proof for [`gpt2_vk`] (checked once).
pub fn gpt2_proof() -> &'static GenerationProof {
    static P: OnceLock<GenerationProof> = OnceLock::new();
    P.get_or_init(|| {
        let p = GenerationProof::from_bytes(&read("gpt2/gen.proof")).expect("gpt2 proof");
        zkinfer_generation::verify(gpt2_vk(), &p).expect("the gpt2 fixture proof must verify");
        p
    })
}

/// Applies `data` as mutations to `bytes`: each 3-byte record `(hi, lo, x)` xors `x` into
/// byte `(hi·256 + lo)·stride mod len`, where `stride` spreads 16 bits of position over the
/// whole buffer. Returns whether anything changed.
pub fn mutate(bytes: &mut [u8], data: &[u8]) -> bool {
    if bytes.is_empty() {
        return false;
    }
    let stride = bytes.len().div_ceil(1 << 16).max(1);
    let mut changed = false;
    for rec in data.chunks_exact(3) {
        let pos = ((usize::from(rec[0]) << 8 | usize::from(rec[1])) * stride
            + usize::from(rec[2] >> 4) % stride)
            % bytes.len();
        let x = rec[2] | 1;
        bytes[pos] ^= x;
        changed = true;
    }
    changed
}

/// Lets panics raised inside the named third-party crates unwind to the guard (a
/// `catch_unwind` in our loader) instead of aborting: those libraries are not written for
/// hostile input and our code turns their panics into errors. A panic anywhere else — in
/// zkinfer's own code, even one its own guards would catch — still aborts and is a finding.
/// Call at the top of a target; installs the hook once.
pub fn tolerate_panics_in(crates: &'static [&'static str]) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let abort_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let third_party = info.location().is_some_and(|l| {
                let f = l.file();
                f.contains("/.cargo/registry/")
                    && crates.iter().any(|c| f.contains(&format!("/{c}-")))
            });
            if !third_party {
                abort_hook(info);
            }
        }));
    });
}

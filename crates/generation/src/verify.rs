//! The generation proof file and its verifier.

use serde::{Deserialize, Serialize};
use zkinfer_prover::{ModelProof, VerifyingKey};
use zkinfer_transcript::{decode_envelope, encode_envelope};

use crate::error::{proof, GenError, Result};
use crate::meta::LlmMeta;
use crate::statement::{expected_outputs, pass_layout, quantize_pass, Statement, Stop};

/// Envelope kind of generation proofs (after the `ZKIF` magic).
pub const GEN_KIND: [u8; 4] = *b"ZKGN";
/// Format version of generation proofs.
pub const GEN_FORMAT_VERSION: u16 = 1;

/// A proof of greedy generation: the statement and the model proof's transcript. The pass
/// inputs and outputs are not stored: the verifier rebuilds them from the statement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerationProof {
    /// What is claimed.
    pub statement: Statement,
    /// The proof transcript of the pass.
    pub transcript: Vec<u8>,
}

impl GenerationProof {
    /// Encodes the proof file.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_envelope(
            GEN_KIND,
            GEN_FORMAT_VERSION,
            &postcard::to_allocvec(self).unwrap_or_default(),
        )
    }

    /// Decodes untrusted bytes (exactly one encoding: trailing bytes are an error).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let body = decode_envelope(bytes, GEN_KIND, GEN_FORMAT_VERSION)
            .map_err(|e| GenError::Decode(e.to_string()))?;
        let (p, rest) =
            postcard::take_from_bytes::<Self>(body).map_err(|e| GenError::Decode(e.to_string()))?;
        if !rest.is_empty() {
            return Err(GenError::Decode(format!("{} trailing bytes", rest.len())));
        }
        Ok(p)
    }
}

/// A verified generation.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    /// The statement that holds.
    pub statement: Statement,
    /// Why generation stopped.
    pub stop: Stop,
    /// The prompt, decoded with the committed tokenizer.
    pub prompt_text: String,
    /// The generated text, decoded with the committed tokenizer.
    pub text: String,
    /// The model commitment.
    pub commitment: [u8; 32],
}

/// Verifies `p` against `vk`: the statement's shape and stop rule, then the model proof of
/// the pass rebuilt from the statement (inputs = the prompt and generated ids laid out as
/// [`pass_layout`] says, outputs = the generated ids).
pub fn verify(vk: &VerifyingKey, p: &GenerationProof) -> Result<Verified> {
    let meta = LlmMeta::from_vk(vk)?;
    let s = &p.statement;
    let stop = s.check(&meta)?;
    let k = s.generated.len();
    let (ids, emit) = pass_layout(&meta, &s.prompt, &s.generated[..k - 1])
        .map_err(|e| GenError::Rejected(e.to_string()))?;
    let inputs =
        quantize_pass(&vk.graph, &ids, &emit).map_err(|e| GenError::Rejected(e.to_string()))?;
    let mp = ModelProof {
        inputs,
        outputs: vec![expected_outputs(&meta, &s.generated)],
        transcript: p.transcript.clone(),
    };
    zkinfer_prover::verify(vk, &mp).map_err(proof("verify"))?;
    let tok = meta.tokenizer()?;
    Ok(Verified {
        statement: s.clone(),
        stop,
        prompt_text: tok.decode(&s.prompt)?,
        text: tok.decode(&s.generated)?,
        commitment: vk.commitment().map_err(proof("commitment"))?,
    })
}

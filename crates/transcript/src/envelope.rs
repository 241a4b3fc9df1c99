//! Versioned proof files: `MAGIC ‖ kind ‖ version ‖ body`.
//!
//! The body is a transcript's bytes. The kind (4 ASCII bytes, e.g. `b"SUMC"`, `b"MODL"`) and
//! version are checked before anything else is parsed, so a proof of one kind or format version
//! is never misread as another.

use thiserror::Error;

/// File magic of every zkinfer proof.
pub const MAGIC: [u8; 4] = *b"ZKIF";

/// Why an envelope was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Fewer than the 10 header bytes.
    #[error("proof file too short for its header ({0} bytes)")]
    TooShort(usize),
    /// Wrong magic.
    #[error("not a zkinfer proof (bad magic)")]
    BadMagic,
    /// Another proof kind.
    #[error("proof kind {got:?} where {expected:?} was expected")]
    WrongKind {
        /// Expected kind.
        expected: [u8; 4],
        /// Kind found.
        got: [u8; 4],
    },
    /// Unsupported format version.
    #[error("proof format version {got} is not supported (this build reads version {expected})")]
    WrongVersion {
        /// Version this build reads.
        expected: u16,
        /// Version found.
        got: u16,
    },
}

/// Wraps a transcript's bytes in a versioned envelope.
pub fn encode_envelope(kind: [u8; 4], version: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&kind);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Checks magic, kind and version; returns the body.
pub fn decode_envelope(bytes: &[u8], kind: [u8; 4], version: u16) -> Result<&[u8], EnvelopeError> {
    if bytes.len() < 10 {
        return Err(EnvelopeError::TooShort(bytes.len()));
    }
    if bytes[..4] != MAGIC {
        return Err(EnvelopeError::BadMagic);
    }
    let got = [bytes[4], bytes[5], bytes[6], bytes[7]];
    if got != kind {
        return Err(EnvelopeError::WrongKind {
            expected: kind,
            got,
        });
    }
    let v = u16::from_le_bytes([bytes[8], bytes[9]]);
    if v != version {
        return Err(EnvelopeError::WrongVersion {
            expected: version,
            got: v,
        });
    }
    Ok(&bytes[10..])
}

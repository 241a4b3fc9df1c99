//! The bytes of a checkpoint file: memory-mapped read-only, or owned (tests, empty files).

use std::fs::File;
use std::ops::Deref;
use std::path::Path;

use memmap2::Mmap;

use crate::error::{LlmError, Result};

/// The immutable contents of one checkpoint file. Every byte is treated as untrusted input.
pub(crate) enum FileBytes {
    /// A read-only memory map of the file.
    Mapped(Mmap),
    /// Bytes held in memory.
    Owned(Vec<u8>),
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Owned(v) => v,
        }
    }
}

impl FileBytes {
    /// Opens `path` read-only and maps it into memory (an empty file is held as an empty buffer).
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let io = |source| LlmError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len == 0 {
            return Ok(FileBytes::Owned(Vec::new()));
        }
        map_read_only(&file).map(FileBytes::Mapped).map_err(io)
    }
}

/// Maps `file` read-only.
#[allow(unsafe_code)]
fn map_read_only(file: &File) -> std::io::Result<Mmap> {
    // SAFETY: `Mmap::map` is unsafe because the mapped memory can change (or vanish, raising
    // SIGBUS) if another process modifies or truncates the file while it is mapped; Rust cannot
    // rule that out. The file was opened read-only by us and the map is never written through
    // (`Mmap` only hands out `&[u8]`). Its contents are treated as untrusted bytes: every length
    // and offset read from them is bounds-checked before use, so arbitrary (even changing)
    // contents can at worst produce an error or wrong values, not an out-of-bounds access.
    // Checkpoint files are not expected to be modified while a model is being loaded.
    unsafe { Mmap::map(file) }
}

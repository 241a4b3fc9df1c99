//! Arbitrary bytes as an ONNX model: load into a float graph (tract + our conversion).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    zkinfer_fuzz::tolerate_panics_in(&["tract", "prost"]);
    let _ = zkinfer_onnx::load_bytes(data, None);
});

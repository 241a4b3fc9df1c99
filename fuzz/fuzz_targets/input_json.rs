//! Arbitrary text as an EZKL-style input file, then applied to one- and two-input models.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkinfer_model::input::InputFile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(f) = InputFile::parse(text) {
        for names in [
            &["input"][..],
            &["input", "input1"][..],
            &["x", "y", "z"][..],
        ] {
            if let Ok(a) = f.for_inputs(names) {
                let _ = a.samples(&vec![4; names.len()]);
            }
        }
    }
});

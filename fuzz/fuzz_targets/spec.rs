//! Fuzzes the `op` command's `--in` spec parser (`cli/src/inputs.rs`): `FILE.npy` or
//! `FILE.bin:FORMAT:RxC`. Parsing only; a raw spec that parses is then loaded from a small file
//! the target writes once, so the size checks against the declared format and shape run too.

#![no_main]

use edgehal_fuzz::inputs::{InputSpec, fmt_dims, parse_dims};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// A 288-byte file (one row of 256 q8_0 elements, or 72 f32) that raw specs are loaded from.
fn raw_file() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("edgehal-fuzz-spec-{}.bin", std::process::id()));
        std::fs::write(&path, [0x11u8; 288]).expect("write the spec target's input file");
        path.display().to_string()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(arg) = std::str::from_utf8(data) else { return };
    if let Some(dims) = parse_dims(arg) {
        assert!(!dims.is_empty());
        assert_eq!(parse_dims(&fmt_dims(&dims)), Some(dims));
    }
    if let Ok(InputSpec::Raw { format, dims, .. }) = InputSpec::parse(arg) {
        let spec = InputSpec::Raw { path: raw_file().into(), format, dims };
        let _ = spec.load();
    }
});

//! Fuzzes the CLI's `.npy` reader (`cli/src/npy.rs`): any bytes must parse to a tensor or give
//! an error message, and a tensor that parses must encode back to a file that parses to the same
//! tensor.

#![no_main]

use edgehal_fuzz::npy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = npy::parse(data) {
        let again = npy::encode(&t).map(|b| npy::parse(&b));
        assert!(matches!(again, Ok(Ok(ref u)) if *u == t), "encode/parse round trip changed {t:?}");
    }
});

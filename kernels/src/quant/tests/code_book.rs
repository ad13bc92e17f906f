//! The lattice code books as the GPU decoders receive them ([`crate::quant::code_book`]).

use crate::DType;
use crate::quant::{code_book, is_lattice};

/// Every lattice format has its code book, of the size ggml's table has; no other dtype has one.
#[test]
fn every_lattice_format_has_its_code_book() {
    let words = [
        (DType::IQ2_XXS, 512),
        (DType::IQ2_XS, 1024),
        (DType::IQ2_S, 2048),
        (DType::IQ3_XXS, 256),
        (DType::IQ3_S, 512),
        (DType::IQ1_S, 4096),
        (DType::IQ1_M, 4096),
    ];
    for (dtype, n) in words {
        assert_eq!(code_book(dtype).map(|b| b.len()), Some(n), "{dtype}");
    }
    for dtype in DType::ALL.into_iter().filter(|&d| !is_lattice(d)) {
        assert!(code_book(dtype).is_none(), "{dtype}");
    }
}

/// The GPU's signed-point decoders negate a packed byte as `(m ^ 0xff) + 1`, which carries into
/// the next byte only for m = 0: every IQ2/IQ3 magnitude is 1..=127. IQ1's coordinates are -1, 0
/// or 1 (as bytes 0xff, 0, 1).
#[test]
fn code_book_bytes_are_in_range() {
    for dtype in [DType::IQ2_XXS, DType::IQ2_XS, DType::IQ2_S, DType::IQ3_XXS, DType::IQ3_S, DType::IQ1_S] {
        for w in code_book(dtype).unwrap() {
            for b in w.to_le_bytes() {
                let ok = if dtype == DType::IQ1_S { matches!(b, 0xff | 0 | 1) } else { (1..=127).contains(&b) };
                assert!(ok, "{dtype} holds byte {b:#x}");
            }
        }
    }
}

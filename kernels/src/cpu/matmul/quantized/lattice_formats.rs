//! The lattice formats (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M) as the const
//! parameter of the x86 lattice kernels ([`super::gemv_avx512_lattice`],
//! [`super::gemv_avx2_lattice`]), the map between parameter and `DType`, and the IQ1 code book
//! in the biased form both kernel families read.
#![cfg(target_arch = "x86_64")]

use crate::DType;
use crate::quant::iq1s_grid::IQ1S_GRID;

/// The formats, as the const parameter of the kernels.
pub(super) const IQ2_XXS: u8 = 0;
pub(super) const IQ2_XS: u8 = 1;
pub(super) const IQ2_S: u8 = 2;
pub(super) const IQ3_XXS: u8 = 3;
pub(super) const IQ3_S: u8 = 4;
pub(super) const IQ1_S: u8 = 5;
pub(super) const IQ1_M: u8 = 6;

/// The kernel parameter of a signed lattice `dtype`.
pub(super) fn format_of(dtype: DType) -> Option<u8> {
    Some(match dtype {
        DType::IQ2_XXS => IQ2_XXS,
        DType::IQ2_XS => IQ2_XS,
        DType::IQ2_S => IQ2_S,
        DType::IQ3_XXS => IQ3_XXS,
        DType::IQ3_S => IQ3_S,
        DType::IQ1_S => IQ1_S,
        DType::IQ1_M => IQ1_M,
        _ => return None,
    })
}

/// The `dtype` of kernel parameter `f`.
pub(super) const fn dtype_of(f: u8) -> DType {
    match f {
        IQ2_XXS => DType::IQ2_XXS,
        IQ2_XS => DType::IQ2_XS,
        IQ2_S => DType::IQ2_S,
        IQ3_XXS => DType::IQ3_XXS,
        IQ3_S => DType::IQ3_S,
        IQ1_S => DType::IQ1_S,
        _ => DType::IQ1_M,
    }
}

/// `iq1s_grid` with each point `g` (a byte of −1, 0 or 1) stored as `8g + 127`: the level
/// `8g − 1` plus 128, to which a positive shift adds 2.
pub(super) static IQ1_GRID_BIASED: [u64; 2048] = {
    let mut t = [0u64; 2048];
    let mut i = 0;
    while i < 2048 {
        let mut j = 0;
        while j < 8 {
            let g = (IQ1S_GRID[i] >> (8 * j)) as u8 as i8;
            t[i] |= ((8 * g as i16 + 127) as u8 as u64) << (8 * j);
            j += 1;
        }
        i += 1;
    }
    t
};

/// The `$family::<F>` instance for lattice `$dtype` as a `RowsKernel`, or `None` for a dtype
/// that is not a lattice format (`$family` must be in scope at the call site).
macro_rules! lattice_kernel {
    ($dtype:expr, $family:ident) => {{
        use super::gemv::RowsKernel;
        use super::lattice_formats::*;
        match format_of($dtype) {
            Some(IQ2_XXS) => Some($family::<IQ2_XXS> as RowsKernel),
            Some(IQ2_XS) => Some($family::<IQ2_XS> as RowsKernel),
            Some(IQ2_S) => Some($family::<IQ2_S> as RowsKernel),
            Some(IQ3_XXS) => Some($family::<IQ3_XXS> as RowsKernel),
            Some(IQ3_S) => Some($family::<IQ3_S> as RowsKernel),
            Some(IQ1_S) => Some($family::<IQ1_S> as RowsKernel),
            Some(IQ1_M) => Some($family::<IQ1_M> as RowsKernel),
            _ => None,
        }
    }};
}
pub(super) use lattice_kernel;

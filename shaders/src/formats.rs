//! Weight formats the GPU kernels decode: one WGSL decoder part per format (`shaders/formats/`),
//! and optionally an encoder part (for casts to the format).
//!
//! Decoder interface (every `formats/<name>.wgsl`): it reads the module-scope
//! `w: array<u32>` that the including family file declares, and defines
//! ```wgsl
//! const W_BLOCK: u32;        // elements per block (32 or 256)
//! const W_BLOCK_BYTES: u32;  // bytes per block, as in GGUF
//! // Elements 8j .. 8j+7 of the block starting at byte `block_byte` of `w`, as f32.
//! fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2>;
//! ```
//! Integer decoder (optional; a format that has one gets a `matmul.<name>.dot4` module): the same
//! part also defines
//! ```wgsl
//! const W_I8_MIN: bool;  // whether w_scale8's min can be non-zero (the kernel then sums x)
//! // Elements 8j .. 8j+7 as signed 8-bit levels q, four per word (element 8j in the low byte of
//! // .x, 8j+4 in the low byte of .y), for dot4I8Packed.
//! fn w_decode8_i8(block_byte: u32, j: u32) -> vec2<u32>;
//! // (scale, min) of those elements: element value = scale * q - min.
//! fn w_scale8(block_byte: u32, j: u32) -> vec2<f32>;
//! ```
//! A decoder may read a code book (the lattice formats): it then uses
//! `code_book: array<u32>` without declaring it, and every module built with it declares it as the
//! storage buffer after the family's own bindings ([`Format::needs_code_book`], [`with_code_book`]);
//! the host binds the words of `edgehal_kernels::quant::code_book` there.
//!
//! Encoder interface (`formats/<name>_encode.wgsl`): it reads the module-scope `x: array<f32>` and
//! defines `fn w_encode(x_base: u32) -> array<u32, W_BLOCK_BYTES>`: the block's bytes (one byte per
//! entry) for `x[x_base .. x_base + W_BLOCK]`.

mod codebook;
mod fp4_ternary;
mod kquant;
mod lattice;
mod legacy;

use crate::ModuleSpec;

/// One weight format's WGSL parts.
#[derive(Copy, Clone, Debug)]
pub struct Format {
    /// The dtype name as `edgehal_kernels::DType::name` spells it (`q4_0`, `q4_k`, `iq4_nl`).
    pub name: &'static str,
    /// The decoder part.
    pub decode: &'static str,
    /// The encoder part, where the GPU can quantize to this format.
    pub encode: Option<&'static str>,
}

/// Every format with a GPU decoder.
pub fn all() -> Vec<Format> {
    let mut v = legacy::formats();
    v.extend(kquant::formats());
    v.extend(codebook::formats());
    v.extend(fp4_ternary::formats());
    v.extend(lattice::formats());
    v
}

impl Format {
    /// Whether the decoder part has the integer decoder (`w_decode8_i8`, `w_scale8`, `W_I8_MIN`).
    pub fn has_i8(&self) -> bool {
        self.decode.contains("fn w_decode8_i8(")
    }

    /// Whether the decoder reads a code book: modules with it then have one more storage binding,
    /// after all others, which the host binds to the format's code-book words.
    pub fn needs_code_book(&self) -> bool {
        self.decode.contains("code_book[")
    }
}

/// `spec` with the code-book binding appended when `format` needs one (see
/// [`Format::needs_code_book`]).
pub(crate) fn with_code_book(mut spec: ModuleSpec, format: &Format) -> ModuleSpec {
    if format.needs_code_book() {
        let at = spec.bindings().len();
        let Some(decl) = CODE_BOOK_AT.get(at) else {
            panic!(
                "edgehal-shaders: {} has {at} bindings, no code-book declaration for that (a bug in this crate)",
                spec.name
            )
        };
        spec.parts.push(decl);
    }
    spec
}

/// The code book's declaration at binding 0, 1, 2, ... (WGSL binding numbers are literals).
const CODE_BOOK_AT: [&str; 8] = [
    "@group(0) @binding(0) var<storage, read> code_book: array<u32>;",
    "@group(0) @binding(1) var<storage, read> code_book: array<u32>;",
    "@group(0) @binding(2) var<storage, read> code_book: array<u32>;",
    "@group(0) @binding(3) var<storage, read> code_book: array<u32>;",
    "@group(0) @binding(4) var<storage, read> code_book: array<u32>;",
    "@group(0) @binding(5) var<storage, read> code_book: array<u32>;",
    "@group(0) @binding(6) var<storage, read> code_book: array<u32>;",
    "@group(0) @binding(7) var<storage, read> code_book: array<u32>;",
];

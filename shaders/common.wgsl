// Helpers every module starts with. Pure functions only: WGSL cannot pass storage arrays to
// functions, so each family file declares its own bindings and accessors.

// A workgroup's linear index when the host spread a large 1-D grid over x and y (and z)
// because one dimension is limited to 65535 workgroups; the host rounds up, so kernels must
// bounds-check the index.
fn linear_workgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

// Element `i` (0 or 1) of two f16 values packed in a word, as f32.
fn f16_of(word: u32, i: u32) -> f32 {
    let pair = unpack2x16float(word);
    return select(pair.x, pair.y, i == 1u);
}

// The f16 bits (low 16 bits of the result) nearest to `x`.
fn f16_bits(x: f32) -> u32 {
    return pack2x16float(vec2<f32>(x, 0.0)) & 0xffffu;
}

// Two f32 values as two f16 values packed in a word (`a` in the low half).
fn pack_f16(a: f32, b: f32) -> u32 {
    return pack2x16float(vec2<f32>(a, b));
}

// bf16 bits (low 16 bits of `bits`) as f32.
fn bf16_to_f32(bits: u32) -> f32 {
    return bitcast<f32>((bits & 0xffffu) << 16u);
}

// The bf16 bits nearest to `x` (round to nearest even; NaN stays a quiet NaN).
fn bf16_bits(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    if ((b & 0x7fffffffu) > 0x7f800000u) {
        return ((b >> 16u) | 0x40u) & 0xffffu;
    }
    return ((b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u) & 0xffffu;
}

// Byte `i` (0..3) of a word.
fn byte_of(word: u32, i: u32) -> u32 {
    return (word >> (8u * i)) & 0xffu;
}

// The four bytes of `q`, each minus `bias` (an integer 0..255), as f32: 2^23 + b as f32 (the
// byte in the mantissa) minus 2^23 + bias, exact, and cheaper than an int-to-float conversion on
// GPUs where those run at a quarter rate.
fn bytes_minus(q: u32, bias: f32) -> vec4<f32> {
    let b = (vec4<u32>(q) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
    return bitcast<vec4<f32>>(b | vec4<u32>(0x4b000000u)) - (8388608.0 + bias);
}

// A byte as a signed 8-bit integer.
fn sext8(b: u32) -> i32 {
    return (bitcast<i32>(b << 24u)) >> 24u;
}

// 4 bytes starting at byte offset `byte` of a buffer whose words are `lo` (word byte/4) and
// `hi` (the word after), for reads at offsets that are not multiples of 4.
fn unaligned_word(lo: u32, hi: u32, byte: u32) -> u32 {
    let shift = 8u * (byte & 3u);
    if (shift == 0u) {
        return lo;
    }
    return (lo >> shift) | (hi << (32u - shift));
}

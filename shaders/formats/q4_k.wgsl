// ggml Q4_K decoder: `{ f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }`, 256 elements in 8 sub-blocks of 32
// with 6-bit scales and mins. Elements 64c .. 64c+31 are the low nibbles of qs[32c .. 32c+32], the next 32
// the high nibbles. Value = d * scale * q - dmin * min.

const W_BLOCK: u32 = 256u;
const W_BLOCK_BYTES: u32 = 144u;

// The 4 bytes at byte `byte` of `w`. Q4_K blocks are 144 bytes, so they start on a word wherever the
// tensor does: the second word is read only otherwise.
fn q4k_word(byte: u32) -> u32 {
    let i = byte >> 2u;
    let lo = w[i];
    if ((byte & 3u) == 0u) {
        return lo;
    }
    return unaligned_word(lo, w[i + 1u], byte);
}

// Four bytes of `q` as f32 levels, times `scale`, minus `offset`.
fn q4k_scaled(q: u32, scale: f32, offset: f32) -> vec4<f32> {
    return bytes_minus(q, 0.0) * scale - offset;
}

// (scale, min) of elements 8j .. 8j+7 (sub-block j / 4): d * scale and dmin * min. Scale/min packing
// (ggml get_scale_min_k4): bytes 0..4 scales 0..4, bytes 4..8 mins 0..4 (6 bits each); sub-blocks 4..8
// keep their low nibbles in bytes 8..12 and top bits in bits 6..8 of bytes 0..8.
fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    let s = j >> 2u; // sub-block of 32
    let t = s & 3u;
    let dm = unpack2x16float(q4k_word(block_byte));
    let a = byte_of(q4k_word(block_byte + 4u), t);
    let b = byte_of(q4k_word(block_byte + 8u), t);
    let c = byte_of(q4k_word(block_byte + 12u), t);
    let upper = s >= 4u;
    let sc = select(a & 63u, (c & 15u) | ((a >> 6u) << 4u), upper);
    let mn = select(b & 63u, (c >> 4u) | ((b >> 6u) << 4u), upper);
    return vec2<f32>(dm.x * f32(sc), dm.y * f32(mn));
}

// Integer decoder (dot4 kernels): the levels 0..15; value = scale * q - min (w_scale8).
const W_I8_MIN: bool = true;

fn w_decode8_i8(block_byte: u32, j: u32) -> vec2<u32> {
    let q = block_byte + 16u + 32u * (j >> 3u) + 8u * (j & 3u);
    let shift = 4u * ((j >> 2u) & 1u);
    return (vec2<u32>(q4k_word(q), q4k_word(q + 4u)) >> vec2<u32>(shift)) & vec2<u32>(0x0f0f0f0fu);
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let sm = w_scale8(block_byte, j);
    let q = w_decode8_i8(block_byte, j);
    return array<vec4<f32>, 2>(q4k_scaled(q.x, sm.x, sm.y), q4k_scaled(q.y, sm.x, sm.y));
}

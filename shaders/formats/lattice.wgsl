// Shared by the lattice decoders (IQ2_*, IQ3_*, IQ1_*): 256-element blocks of 8 sub-blocks of 32
// elements, each four 8-element groups, every group one code-book point. Blocks have an even size,
// so they start at any even byte: byte, u16 and u32 reads at even offsets inside a block. The
// format's code book is the storage buffer `code_book: array<u32>` (one byte per coordinate, an
// 8-coordinate point as two words), which the module declares after the family's own bindings.

const W_BLOCK: u32 = 256u;

// The byte at `byte` of `w`.
fn lat_byte(byte: u32) -> u32 {
    return byte_of(w[byte >> 2u], byte & 3u);
}

// The u16 at an even byte (always inside one word).
fn lat_u16(byte: u32) -> u32 {
    return (w[byte >> 2u] >> (8u * (byte & 2u))) & 0xffffu;
}

// The u32 at an even byte (the word after is read only when the u32 straddles two).
fn lat_u32(byte: u32) -> u32 {
    let i = byte >> 2u;
    if ((byte & 2u) == 0u) {
        return w[i];
    }
    return (w[i] >> 16u) | (w[i + 1u] << 16u);
}

// An f16 at an even byte.
fn lat_f16(byte: u32) -> f32 {
    return unpack2x16float(lat_u16(byte)).x;
}

// ggml's `ksigns_iq2xs`: 7 sign bits plus an eighth that makes the count of negatives even.
fn lat_ksigns(i: u32) -> u32 {
    return i | ((countOneBits(i) & 1u) << 7u);
}

// Bits 0..3 of `s`, one per lane.
fn lat_sign_bits(s: u32) -> vec4<u32> {
    return (vec4<u32>(s) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u);
}

// The four magnitude bytes of `m`, negated where bits 0..3 of `s` are set, as f32.
fn lat_signed4(m: u32, s: u32) -> vec4<f32> {
    let mag = vec4<f32>((vec4<u32>(m) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu));
    return select(mag, -mag, lat_sign_bits(s) == vec4<u32>(1u));
}

// The same as signed bytes, four per word: `(m ^ 0xff) + 1` negates a byte, and no code-book
// magnitude is 0, so the + 1 never carries into the next byte.
fn lat_signed4_i8(m: u32, s: u32) -> u32 {
    let b = lat_sign_bits(s);
    let mask = (b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u)) * 0xffu;
    return (m ^ mask) + (mask & 0x01010101u);
}

// Four ternary code-book bytes of `g` (-1, 0 or 1 each) as 8g + shift.
fn lat_shifted4(g: u32, shift: i32) -> vec4<i32> {
    return ((bitcast<vec4<i32>>(vec4<u32>(g) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u)) * 8) + shift;
}

// Four small integers as signed bytes in a word.
fn lat_pack_i8(v: vec4<i32>) -> u32 {
    let b = bitcast<vec4<u32>>(v) & vec4<u32>(0xffu);
    return b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
}

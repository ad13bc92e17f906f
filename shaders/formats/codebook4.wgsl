// Shared by the 4-bit code-book decoders (IQ4_NL, IQ4_XS, MXFP4): a 16-entry table of signed
// bytes held in four words (entry i in byte i % 4 of word i / 4), looked up by selecting from
// registers instead of indexing an array dynamically.

// The 4 bytes of `w` from byte `byte` on (the second word is read only when they straddle two).
fn codebook_bytes(byte: u32) -> u32 {
    let i = byte >> 2u;
    let s = 8u * (byte & 3u);
    if (s == 0u) {
        return w[i];
    }
    return (w[i] >> s) | (w[i + 1u] << (32u - s));
}

// The table word holding each of 4 codes (0..15).
fn codebook_words(q: vec4<u32>, t: vec4<u32>) -> vec4<u32> {
    let hi = q >> vec4<u32>(2u);
    return select(select(vec4<u32>(t.x), vec4<u32>(t.y), hi == vec4<u32>(1u)),
                  select(vec4<u32>(t.z), vec4<u32>(t.w), hi == vec4<u32>(3u)),
                  hi >= vec4<u32>(2u));
}

// The table value of each of 4 codes, as f32.
fn codebook_values(q: vec4<u32>, t: vec4<u32>) -> vec4<f32> {
    let byte = codebook_words(q, t) << (24u - 8u * (q & vec4<u32>(3u)));
    return vec4<f32>(bitcast<vec4<i32>>(byte) >> vec4<u32>(24u));
}

// The table bytes of the 4 codes at bit `s` of the bytes of `q`, packed in a word (dot4 kernels).
fn codebook_packed(q: u32, s: u32, t: vec4<u32>) -> u32 {
    let n = (vec4<u32>(q) >> vec4<u32>(s, s + 8u, s + 16u, s + 24u)) & vec4<u32>(15u);
    let b = (codebook_words(n, t) >> (8u * (n & vec4<u32>(3u)))) & vec4<u32>(0xffu);
    return b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
}

// kvalues_iq4nl {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}.
const IQ4NL_TABLE: vec4<u32> = vec4<u32>(0xbfad9881u, 0xf6eaddcfu, 0x26190d01u, 0x71594535u);

// Codes 8j .. 8j+7 of a 32-element sub-block whose 16 quant bytes start at byte `qs` (element
// e < 16 in the low nibble of byte e, e + 16 in its high nibble): (shift, first byte).
fn codebook_at(qs: u32, j: u32) -> vec2<u32> {
    return vec2<u32>(4u * (j >> 1u), qs + 8u * (j & 1u));
}

// Elements 8j .. 8j+7 of such a sub-block as table values times `d`.
fn codebook_decode8(qs: u32, j: u32, t: vec4<u32>, d: f32) -> array<vec4<f32>, 2> {
    let at = codebook_at(qs, j);
    let sh = vec4<u32>(at.x, at.x + 8u, at.x + 16u, at.x + 24u);
    let lo = (vec4<u32>(codebook_bytes(at.y)) >> sh) & vec4<u32>(15u);
    let hi = (vec4<u32>(codebook_bytes(at.y + 4u)) >> sh) & vec4<u32>(15u);
    return array<vec4<f32>, 2>(codebook_values(lo, t) * d, codebook_values(hi, t) * d);
}

// The same elements as signed table bytes, four per word.
fn codebook_decode8_i8(qs: u32, j: u32, t: vec4<u32>) -> vec2<u32> {
    let at = codebook_at(qs, j);
    return vec2<u32>(codebook_packed(codebook_bytes(at.y), at.x, t), codebook_packed(codebook_bytes(at.y + 4u), at.x, t));
}

// Data movement: casts between f32, f16, bf16 and i32, and axis permutation of 2- or 4-byte
// elements. One invocation per output word (two 16-bit elements share a word). Reshape and copy
// are buffer copies on the host side.

// Permuted axes handled in one dispatch; the host collapses axes that stay adjacent first and
// splits what remains beyond this over several dispatches (`off_*`).
const MAX_RANK: u32 = 12u;

// Element kinds (`src_kind`, `dst_kind`).
const F32: u32 = 0u;
const F16: u32 = 1u;
const BF16: u32 = 2u;
const I32: u32 = 3u;

struct Params {
    // Output elements of this dispatch.
    n: u32,
    // cast: element kinds (F32, F16, BF16, I32).
    src_kind: u32,
    dst_kind: u32,
    // permute: bytes per element (2 or 4).
    elem_bytes: u32,
    // permute: axes in use (1..=MAX_RANK).
    rank: u32,
    // permute: element offsets of this dispatch's block in x and y (y's even for 2-byte elements).
    off_x: u32,
    off_y: u32,
    // permute: output extents, innermost axis first.
    d0: u32, d1: u32, d2: u32, d3: u32, d4: u32, d5: u32, d6: u32, d7: u32, d8: u32, d9: u32, d10: u32, d11: u32,
    // permute: element strides of x along those axes.
    s0: u32, s1: u32, s2: u32, s3: u32, s4: u32, s5: u32, s6: u32, s7: u32, s8: u32, s9: u32, s10: u32, s11: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

// f16 bits (low half of `h`) as f32, exactly (subnormals included, whatever the device does
// with f16 denormals in unpack2x16float).
fn f16_to_f32_exact(h: u32) -> f32 {
    let sign = (h & 0x8000u) << 16u;
    let e = (h >> 10u) & 0x1fu;
    let m = h & 0x3ffu;
    if (e == 31u) {
        return bitcast<f32>(sign | 0x7f800000u | (m << 13u));
    }
    if (e == 0u) {
        // m · 2⁻²⁴ is a normal f32, computed exactly.
        return bitcast<f32>(sign | bitcast<u32>(f32(m) * 5.9604644775390625e-8));
    }
    return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

// The f16 bits nearest to `v` (round to nearest even, overflow to inf, subnormals, NaN stays a
// quiet NaN), in integer arithmetic: pack2x16float's rounding is not specified everywhere.
fn f16_bits_rne(v: f32) -> u32 {
    let bits = bitcast<u32>(v);
    let sign = (bits >> 16u) & 0x8000u;
    let a = bits & 0x7fffffffu;
    if (a > 0x7f800000u) {
        return sign | 0x7e00u | ((a >> 13u) & 0x3ffu);
    }
    // 65520 and up round to inf.
    if (a >= 0x477ff000u) {
        return sign | 0x7c00u;
    }
    // Normal f16 (2⁻¹⁴ and up): rebias the exponent, round away 13 mantissa bits.
    if (a >= 0x38800000u) {
        let r = a - 0x38000000u;
        return sign | ((r + 0xfffu + ((r >> 13u) & 1u)) >> 13u);
    }
    // 2⁻²⁵ and below round to zero (2⁻²⁵ itself is a tie, to even).
    if (a <= 0x33000000u) {
        return sign;
    }
    // Subnormal: the value in units of 2⁻²⁴ is m · 2^(e - 126), a right shift by 14..24.
    let e = a >> 23u;
    let m = (a & 0x7fffffu) | 0x800000u;
    let shift = 126u - e;
    var h = m >> shift;
    let rem = m & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (h & 1u) == 1u)) {
        h += 1u;
    }
    return sign | h;
}

// f32 to i32 like Rust's `as`: toward zero, saturating, NaN to 0.
fn i32_sat(v: f32) -> u32 {
    if ((bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u) {
        return 0u;
    }
    if (v >= 2147483648.0) {
        return 0x7fffffffu;
    }
    if (v <= -2147483648.0) {
        return 0x80000000u;
    }
    return bitcast<u32>(i32(v));
}

// Element `e` of x, of kind `src_kind`, as f32.
fn load(e: u32) -> f32 {
    switch p.src_kind {
        case F16: { return f16_to_f32_exact((x[e >> 1u] >> (16u * (e & 1u))) & 0xffffu); }
        case BF16: { return bf16_to_f32(x[e >> 1u] >> (16u * (e & 1u))); }
        case I32: { return f32(bitcast<i32>(x[e])); }
        default: { return bitcast<f32>(x[e]); }
    }
}

// `v` as a 16-bit element of kind `dst_kind`.
fn bits16(v: f32) -> u32 {
    if (p.dst_kind == BF16) {
        return bf16_bits(v);
    }
    return f16_bits_rne(v);
}

// Output word `i`: one f32/i32 element, or elements 2i and 2i + 1 of f16/bf16.
@compute @workgroup_size(256)
fn convert(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = linear_workgroup(wid, nwg) * 256u + lid;
    if (p.dst_kind == F32 || p.dst_kind == I32) {
        if (i < p.n) {
            let v = load(i);
            y[i] = select(bitcast<u32>(v), i32_sat(v), p.dst_kind == I32);
        }
        return;
    }
    if (2u * i < p.n) {
        var word = bits16(load(2u * i));
        if (2u * i + 1u < p.n) {
            word |= bits16(load(2u * i + 1u)) << 16u;
        }
        y[i] = word;
    }
}

// One axis of the index walk: `st` = (index left, offset in x).
fn axis(st: vec2<u32>, d: u32, s: u32, last: bool) -> vec2<u32> {
    var q = 0u;
    var k = st.x;
    if (!last) {
        q = st.x / d;
        k = st.x - q * d;
    }
    return vec2<u32>(q, st.y + k * s);
}

// Element offset in x of output element `i` of this dispatch's block.
fn source(i: u32) -> u32 {
    var st = vec2<u32>(i, p.off_x);
    let r = p.rank;
    st = axis(st, p.d0, p.s0, r == 1u);
    if (r > 1u) { st = axis(st, p.d1, p.s1, r == 2u); }
    if (r > 2u) { st = axis(st, p.d2, p.s2, r == 3u); }
    if (r > 3u) { st = axis(st, p.d3, p.s3, r == 4u); }
    if (r > 4u) { st = axis(st, p.d4, p.s4, r == 5u); }
    if (r > 5u) { st = axis(st, p.d5, p.s5, r == 6u); }
    if (r > 6u) { st = axis(st, p.d6, p.s6, r == 7u); }
    if (r > 7u) { st = axis(st, p.d7, p.s7, r == 8u); }
    if (r > 8u) { st = axis(st, p.d8, p.s8, r == 9u); }
    if (r > 9u) { st = axis(st, p.d9, p.s9, r == 10u); }
    if (r > 10u) { st = axis(st, p.d10, p.s10, r == 11u); }
    if (r > 11u) { st = axis(st, p.d11, p.s11, true); }
    return st.y;
}

// 16-bit element `e` of x.
fn half_of(e: u32) -> u32 {
    return (x[e >> 1u] >> (16u * (e & 1u))) & 0xffffu;
}

// Output word `i` of this dispatch: a gather through the collapsed strides (coalesced writes;
// reads are coalesced too when the innermost output axis is contiguous in x).
@compute @workgroup_size(256)
fn permute(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let i = linear_workgroup(wid, nwg) * 256u + lid;
    if (p.elem_bytes == 4u) {
        if (i < p.n) {
            y[p.off_y + i] = x[source(i)];
        }
        return;
    }
    if (2u * i < p.n) {
        var word = half_of(source(2u * i));
        if (2u * i + 1u < p.n) {
            word |= half_of(source(2u * i + 1u)) << 16u;
        }
        y[(p.off_y >> 1u) + i] = word;
    }
}

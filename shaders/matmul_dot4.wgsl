// The matmul family's dot4 kernels (`matmul.<format>.dot4`): the quantized GEMV with 8-bit
// activations and `dot4I8Packed`. Glued after a format's decoder part (which must define the
// integer decoder `w_decode8_i8`, `w_scale8`, `W_I8_MIN`; see src/formats.rs) and matmul.wgsl's
// `common` section (Params, x, w, y). Two dispatches with the same bindings:
// 1. `quantize_x`: every run of 32 values of each row of x to int8, ggml Q8_0 style
//    (d = amax / 127, q = round(x / d)), into `xq`: the quants of row c at bytes c·k .. c·k + k
//    (four per word, lowest element in the low byte), then the f32 scale of 32-block b of row c at
//    word m·k/4 + c·k/32 + b. A block holding a NaN or an infinity gets a NaN scale (and zero
//    quants), so every output of its row is NaN, as the f32 product of that row would be NaN or ±∞.
// 2. `gemv`: y = x·wᵀ from xq and the weights' integer levels (value = scale·q − min per 8-group).

// @section gemv_dot4
@group(0) @binding(4) var<storage, read_write> xq: array<u32>;

// 32-blocks of x per quantize_x workgroup (one invocation each).
const Q8X_WG: u32 = 64u;

// Four i32 values in -127..127 as packed bytes (lowest in the low byte).
fn q8x_pack(q: vec4<i32>) -> u32 {
    let b = bitcast<vec4<u32>>(q) & vec4<u32>(0xffu);
    return b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
}

@compute @workgroup_size(64)
fn quantize_x(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let blocks = p.k / 32u;
    let g = linear_workgroup(wid, nwg) * Q8X_WG + lid;
    if (g >= p.m * blocks) {
        return;
    }
    let row = g / blocks;
    let k0 = 32u * (g % blocks);
    // Largest |x| as bits: for non-negative floats the integer order is the float order, and NaN
    // and ±∞ (at least 0x7f800000) come out on top without a float comparison that could drop them.
    var amax = 0u;
    for (var j = 0u; j < 4u; j++) {
        let v = mm_x8(row, k0 + 8u * j);
        let mag = vec4<u32>(0x7fffffffu);
        let b = max(bitcast<vec4<u32>>(v[0]) & mag, bitcast<vec4<u32>>(v[1]) & mag);
        amax = max(amax, max(max(b.x, b.y), max(b.z, b.w)));
    }
    let out = (row * p.k + k0) / 4u;
    let scale_at = p.m * (p.k / 4u) + g;
    if (amax >= 0x7f800000u) {
        for (var i = 0u; i < 8u; i++) {
            xq[out + i] = 0u;
        }
        xq[scale_at] = 0x7fc00000u;
        return;
    }
    let a = bitcast<f32>(amax);
    // x · (1 / amax) · 127 rather than x / d: 1 / amax stays finite for every normal amax.
    // Below the smallest normal the block counts as zeros.
    var inv = 0.0;
    if (amax >= 0x00800000u) {
        inv = 1.0 / a;
    }
    for (var j = 0u; j < 4u; j++) {
        let v = mm_x8(row, k0 + 8u * j);
        let lo = vec4<i32>(clamp(round(v[0] * inv * 127.0), vec4<f32>(-127.0), vec4<f32>(127.0)));
        let hi = vec4<i32>(clamp(round(v[1] * inv * 127.0), vec4<f32>(-127.0), vec4<f32>(127.0)));
        xq[out + 2u * j] = q8x_pack(lo);
        xq[out + 2u * j + 1u] = q8x_pack(hi);
    }
    xq[scale_at] = bitcast<u32>(select(0.0, a / 127.0, amax >= 0x00800000u));
}

// GEMV: one workgroup per DOT4_ROWS rows of w and every row of x (m ≤ DOT4_COLS), so each weight
// byte is read and decoded once. Invocation `lid` takes the 32-element chunks lid, lid + 128, ... of
// the k axis (one 32-block of x each; adjacent invocations read adjacent weight and activation
// bytes, and the four 8-groups of a chunk share their weight words and scales, which the compiler
// loads once). Per 8-group, row and x row: two dot4I8Packed, then
// d_x · (scale_w · dot − min_w · Σq_x) (the last term for formats with mins). The per-invocation
// sums are reduced in workgroup memory.
const DOT4_WG: u32 = 128u;
const DOT4_ROWS: u32 = 4u;
const DOT4_COLS: u32 = 4u;
const DOT4_ACC: u32 = 16u; // DOT4_ROWS * DOT4_COLS

var<workgroup> dot4_red: array<f32, 2048>; // DOT4_ACC * DOT4_WG

@compute @workgroup_size(128)
fn gemv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let row0 = linear_workgroup(wid, nwg) * DOT4_ROWS;
    if (p.m == 0u || row0 >= p.n) {
        return;
    }
    let chunks = p.k / 32u;
    let blocks = p.k / W_BLOCK;
    let row_words = p.k / 4u;
    let scales = p.m * row_words;
    var acc = array<f32, DOT4_ACC>();
    for (var o = lid; o < chunks; o += DOT4_WG) {
        // The chunk's activations of every x row (constant trip counts keep these in registers).
        var qx = array<array<u32, 8>, DOT4_COLS>();
        var sq = array<vec4<i32>, DOT4_COLS>();
        var dx = array<f32, DOT4_COLS>();
        for (var c = 0u; c < DOT4_COLS; c++) {
            if (c < p.m) {
                for (var i = 0u; i < 8u; i++) {
                    qx[c][i] = xq[c * row_words + 8u * o + i];
                }
                dx[c] = bitcast<f32>(xq[scales + c * chunks + o]);
                if (W_I8_MIN) {
                    for (var g = 0u; g < 4u; g++) {
                        let ones = 0x01010101u;
                        sq[c][g] = dot4I8Packed(qx[c][2u * g], ones) + dot4I8Packed(qx[c][2u * g + 1u], ones);
                    }
                }
            }
        }
        let blk = (32u * o) / W_BLOCK;
        let j0 = ((32u * o) % W_BLOCK) / 8u;
        for (var r = 0u; r < DOT4_ROWS; r++) {
            if (row0 + r < p.n) {
                let bb = ((row0 + r) * blocks + blk) * W_BLOCK_BYTES;
                var part = array<f32, DOT4_COLS>();
                for (var g = 0u; g < 4u; g++) {
                    let qw = w_decode8_i8(bb, j0 + g);
                    let sw = w_scale8(bb, j0 + g);
                    for (var c = 0u; c < DOT4_COLS; c++) {
                        if (c < p.m) {
                            let dot = dot4I8Packed(qw.x, qx[c][2u * g]) + dot4I8Packed(qw.y, qx[c][2u * g + 1u]);
                            part[c] += sw.x * f32(dot) - sw.y * f32(sq[c][g]);
                        }
                    }
                }
                for (var c = 0u; c < DOT4_COLS; c++) {
                    acc[r * DOT4_COLS + c] += dx[c] * part[c];
                }
            }
        }
    }
    // Tree reduction of the m · DOT4_ROWS live sums (value v = r · m + c).
    let live = DOT4_ROWS * p.m;
    for (var r = 0u; r < DOT4_ROWS; r++) {
        for (var c = 0u; c < DOT4_COLS; c++) {
            if (c < p.m) {
                dot4_red[(r * p.m + c) * DOT4_WG + lid] = acc[r * DOT4_COLS + c];
            }
        }
    }
    workgroupBarrier();
    for (var s = DOT4_WG / 2u; s > 0u; s >>= 1u) {
        for (var t = lid; t < live * s; t += DOT4_WG) {
            let at = (t / s) * DOT4_WG + t % s;
            dot4_red[at] += dot4_red[at + s];
        }
        workgroupBarrier();
    }
    if (lid < live) {
        let r = lid / p.m;
        let c = lid % p.m;
        if (row0 + r < p.n) {
            y[c * p.n + row0 + r] = dot4_red[lid * DOT4_WG];
        }
    }
}

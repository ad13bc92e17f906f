// The matmul family: y[m, n] = x[m, k] · w[n, k]ᵀ (f32 accumulation), x f32 or f16, y f32, w a
// plain float matrix or quant blocks decoded on the fly. Sections (`// @section NAME`) are glued
// into modules by src/matmul.rs: a weight part (`w_load8` from a float part, or `w_decode8` from a
// format's decoder plus `quant_w`), `common`, then the kernels of the module's variant.

// @section common
struct Params {
    // Rows of x and y (all batch axes folded in), columns of y (rows of w), depth.
    m: u32,
    n: u32,
    k: u32,
    // 1 when x is f16 (two elements per word), else f32.
    x_f16: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// Element `i` of x.
fn mm_x(i: u32) -> f32 {
    if (p.x_f16 == 1u) {
        return f16_of(x[i >> 1u], i & 1u);
    }
    return bitcast<f32>(x[i]);
}

// Elements k0 .. k0+7 of row `row` of x (0 from column k on).
fn mm_x8(row: u32, k0: u32) -> array<vec4<f32>, 2> {
    let base = row * p.k + k0;
    if (k0 + 8u <= p.k) {
        if (p.x_f16 == 0u) {
            return array<vec4<f32>, 2>(
                bitcast<vec4<f32>>(vec4<u32>(x[base], x[base + 1u], x[base + 2u], x[base + 3u])),
                bitcast<vec4<f32>>(vec4<u32>(x[base + 4u], x[base + 5u], x[base + 6u], x[base + 7u])));
        }
        if ((base & 1u) == 0u) {
            let i = base >> 1u;
            return array<vec4<f32>, 2>(
                vec4<f32>(unpack2x16float(x[i]), unpack2x16float(x[i + 1u])),
                vec4<f32>(unpack2x16float(x[i + 2u]), unpack2x16float(x[i + 3u])));
        }
    }
    var v = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
    for (var i = 0u; i < 8u && k0 + i < p.k; i++) {
        v[i >> 2u][i & 3u] = mm_x(base + i);
    }
    return v;
}

fn mm_dot8(a: array<vec4<f32>, 2>, b: array<vec4<f32>, 2>) -> f32 {
    return dot(a[0], b[0]) + dot(a[1], b[1]);
}

// @section quant_w
// Elements k0 .. k0+7 (k0 a multiple of 8) of row `row` of quant weights [rows, k] (k a multiple
// of W_BLOCK); 0 from column k on.
fn w_load8(row: u32, k0: u32, k: u32) -> array<vec4<f32>, 2> {
    if (k0 >= k) {
        return array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
    }
    let block = row * (k / W_BLOCK) + k0 / W_BLOCK;
    return w_decode8(block * W_BLOCK_BYTES, (k0 % W_BLOCK) / 8u);
}

// @section gemv
// Matrix-vector product for few rows of x: one workgroup per GEMV_ROWS rows of w and one row of
// x (workgroup index = row block × m + x row, so the x rows sharing weights run together); the k
// axis is split over the invocations in runs of 8, then reduced in workgroup memory.
const GEMV_WG: u32 = 128u;
const GEMV_ROWS: u32 = 2u;

var<workgroup> mm_red: array<f32, 256>;

@compute @workgroup_size(128)
fn gemv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let g = linear_workgroup(wid, nwg);
    if (p.m == 0u || g >= ((p.n + GEMV_ROWS - 1u) / GEMV_ROWS) * p.m) {
        return;
    }
    let xrow = g % p.m;
    let row0 = (g / p.m) * GEMV_ROWS;
    var acc = array<f32, GEMV_ROWS>();
    for (var o = lid; 8u * o < p.k; o += GEMV_WG) {
        let xv = mm_x8(xrow, 8u * o);
        for (var r = 0u; r < GEMV_ROWS; r++) {
            if (row0 + r < p.n) {
                acc[r] += mm_dot8(xv, w_load8(row0 + r, 8u * o, p.k));
            }
        }
    }
    for (var r = 0u; r < GEMV_ROWS; r++) {
        mm_red[r * GEMV_WG + lid] = acc[r];
    }
    workgroupBarrier();
    for (var s = GEMV_WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            for (var r = 0u; r < GEMV_ROWS; r++) {
                mm_red[r * GEMV_WG + lid] += mm_red[r * GEMV_WG + lid + s];
            }
        }
        workgroupBarrier();
    }
    if (lid < GEMV_ROWS && row0 + lid < p.n) {
        y[xrow * p.n + row0 + lid] = mm_red[lid * GEMV_WG];
    }
}

// @section gemv_subgroup
// As `gemv`, reduced with subgroupAdd, then across subgroups in workgroup memory.
const GEMV_WG: u32 = 128u;
const GEMV_ROWS: u32 = 2u;

var<workgroup> mm_red: array<f32, 256>;

@compute @workgroup_size(128)
fn gemv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_id) sg: u32, @builtin(num_subgroups) nsg: u32) {
    let g = linear_workgroup(wid, nwg);
    if (p.m == 0u || g >= ((p.n + GEMV_ROWS - 1u) / GEMV_ROWS) * p.m) {
        return;
    }
    let xrow = g % p.m;
    let row0 = (g / p.m) * GEMV_ROWS;
    var acc = array<f32, GEMV_ROWS>();
    for (var o = lid; 8u * o < p.k; o += GEMV_WG) {
        let xv = mm_x8(xrow, 8u * o);
        for (var r = 0u; r < GEMV_ROWS; r++) {
            if (row0 + r < p.n) {
                acc[r] += mm_dot8(xv, w_load8(row0 + r, 8u * o, p.k));
            }
        }
    }
    for (var r = 0u; r < GEMV_ROWS; r++) {
        let s = subgroupAdd(acc[r]);
        if (lane == 0u) {
            mm_red[r * GEMV_WG + sg] = s;
        }
    }
    workgroupBarrier();
    if (lid < GEMV_ROWS && row0 + lid < p.n) {
        var s = 0.0;
        for (var i = 0u; i < nsg; i++) {
            s += mm_red[lid * GEMV_WG + i];
        }
        y[xrow * p.n + row0 + lid] = s;
    }
}

// @section tiled
// Tiled product: one workgroup per 64×64 block of y (workgroup index = m tile × n tiles + n tile),
// k in steps of 32 through workgroup memory (x and decoded w, k-major, 4 rows per vec4), each of
// the 16×16 invocations a 4×4 register tile.
const TL: u32 = 64u;
const TLK: u32 = 32u;

var<workgroup> mm_xs: array<vec4<f32>, 512>;
var<workgroup> mm_ws: array<vec4<f32>, 512>;

@compute @workgroup_size(256)
fn tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let g = linear_workgroup(wid, nwg);
    let tiles_n = (p.n + TL - 1u) / TL;
    if (g >= tiles_n * ((p.m + TL - 1u) / TL)) {
        return;
    }
    let m0 = (g / tiles_n) * TL;
    let n0 = (g % tiles_n) * TL;
    let tx = lid % 16u;
    let ty = lid / 16u;
    // Loader: row `lr` of both tiles, columns 8·lo .. 8·lo+7 of the k step.
    let lr = lid / 4u;
    let lo = lid % 4u;
    var acc = array<vec4<f32>, 4>();
    for (var k0 = 0u; k0 < p.k; k0 += TLK) {
        var xv = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
        var wv = xv;
        if (m0 + lr < p.m) {
            xv = mm_x8(m0 + lr, k0 + 8u * lo);
        }
        if (n0 + lr < p.n) {
            wv = w_load8(n0 + lr, k0 + 8u * lo, p.k);
        }
        for (var i = 0u; i < 8u; i++) {
            let at = (8u * lo + i) * (TL / 4u) + lr / 4u;
            mm_xs[at][lr & 3u] = xv[i >> 2u][i & 3u];
            mm_ws[at][lr & 3u] = wv[i >> 2u][i & 3u];
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TLK; kk++) {
            let a = mm_xs[kk * (TL / 4u) + ty];
            let b = mm_ws[kk * (TL / 4u) + tx];
            acc[0] += a.x * b;
            acc[1] += a.y * b;
            acc[2] += a.z * b;
            acc[3] += a.w * b;
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let row = m0 + 4u * ty + i;
        for (var j = 0u; j < 4u; j++) {
            let col = n0 + 4u * tx + j;
            if (row < p.m && col < p.n) {
                y[row * p.n + col] = acc[i][j];
            }
        }
    }
}

// @section tiled_f16
// Tiled product of f16 x and f16 w (k a multiple of 8): one workgroup per 128×128 block of y, k in
// steps of 32 through f16 workgroup memory (half the bytes of f32 tiles, so twice the tile), each
// of the 16×16 invocations an 8×8 register tile (rows 4·ty+i and 64+4·ty+i, columns likewise).
// Products and sums stay f32: a product of two f16 values is exact in f32.
const TH: u32 = 128u;
const THK: u32 = 32u;

var<workgroup> mm_xh: array<vec4<f16>, 1024>;
var<workgroup> mm_wh: array<vec4<f16>, 1024>;

// Eight f16 values (4 words from word `i`) of x, or zeros when `valid` is false.
fn mm_xh8(i: u32, valid: bool) -> array<vec2<f16>, 4> {
    var v = array<vec2<f16>, 4>();
    if (valid) {
        for (var t = 0u; t < 4u; t++) {
            v[t] = vec2<f16>(unpack2x16float(x[i + t]));
        }
    }
    return v;
}

// Eight f16 values (4 words from word `i`) of w, or zeros when `valid` is false.
fn mm_wh8(i: u32, valid: bool) -> array<vec2<f16>, 4> {
    var v = array<vec2<f16>, 4>();
    if (valid) {
        for (var t = 0u; t < 4u; t++) {
            v[t] = vec2<f16>(unpack2x16float(w[i + t]));
        }
    }
    return v;
}

@compute @workgroup_size(256)
fn tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let g = linear_workgroup(wid, nwg);
    let tiles_n = (p.n + TH - 1u) / TH;
    if (g >= tiles_n * ((p.m + TH - 1u) / TH)) {
        return;
    }
    let m0 = (g / tiles_n) * TH;
    let n0 = (g % tiles_n) * TH;
    let tx = lid % 16u;
    let ty = lid / 16u;
    // Loader: row `lr` of both tiles, columns 16·lh .. 16·lh+15 of the k step.
    let lr = lid / 2u;
    let lh = lid % 2u;
    var acc = array<vec4<f32>, 16>();
    for (var k0 = 0u; k0 < p.k; k0 += THK) {
        for (var half = 0u; half < 2u; half++) {
            let kc = k0 + 16u * lh + 8u * half;
            let xv = mm_xh8(((m0 + lr) * p.k + kc) / 2u, m0 + lr < p.m && kc < p.k);
            let wv = mm_wh8(((n0 + lr) * p.k + kc) / 2u, n0 + lr < p.n && kc < p.k);
            for (var i = 0u; i < 8u; i++) {
                let at = (16u * lh + 8u * half + i) * (TH / 4u) + lr / 4u;
                mm_xh[at][lr & 3u] = xv[i >> 1u][i & 1u];
                mm_wh[at][lr & 3u] = wv[i >> 1u][i & 1u];
            }
        }
        workgroupBarrier();
        for (var kk = 0u; kk < THK; kk++) {
            let a0 = vec4<f32>(mm_xh[kk * (TH / 4u) + ty]);
            let a1 = vec4<f32>(mm_xh[kk * (TH / 4u) + 16u + ty]);
            let b0 = vec4<f32>(mm_wh[kk * (TH / 4u) + tx]);
            let b1 = vec4<f32>(mm_wh[kk * (TH / 4u) + 16u + tx]);
            for (var i = 0u; i < 4u; i++) {
                acc[2u * i] += a0[i] * b0;
                acc[2u * i + 1u] += a0[i] * b1;
                acc[8u + 2u * i] += a1[i] * b0;
                acc[9u + 2u * i] += a1[i] * b1;
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 8u; i++) {
        let row = m0 + 4u * ty + (i & 3u) + 64u * (i >> 2u);
        for (var c = 0u; c < 2u; c++) {
            for (var j = 0u; j < 4u; j++) {
                let col = n0 + 4u * tx + j + 64u * c;
                if (row < p.m && col < p.n) {
                    y[row * p.n + col] = acc[2u * i + c][j];
                }
            }
        }
    }
}

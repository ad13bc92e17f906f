// The quant family: dequantize (to f32 or f16), get_rows (rows of a table by i32 id, as f32) and
// quantize (f32 to a block format). Sections (`// @section NAME`) are glued into modules by
// src/quant.rs: `common` always; `blocks` after a format's decoder (`w_decode8`); `encode` after
// its encoder (`w_encode`); `floats` after a plain float part (`w_elem`).

// @section common
struct Params {
    // Invocations that do work (the grid is rounded up).
    count: u32,
    // Elements of the source (dequantize) or blocks to encode (quantize).
    elems: u32,
    // get_rows: the table's columns and rows (ids outside 0..rows give a row of NaN).
    cols: u32,
    rows: u32,
    // dequantize: 1 when the output is f16 (two elements per word), else f32.
    out_f16: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<u32>;

const QT_WG: u32 = 64u;

fn qt_nan() -> f32 {
    return bitcast<f32>(0x7fc00000u);
}

// The table row of get_rows output row `r`, or -1 when its id is out of range.
fn qt_row(r: u32) -> i32 {
    let id = bitcast<i32>(ids[r]);
    if (id < 0 || u32(id) >= p.rows) {
        return -1;
    }
    return id;
}

// @section blocks
const QT_OCTETS: u32 = W_BLOCK / 8u;

// Stores 8 values as elements 8o .. 8o+7 of the output (f32, or f16 when `f16` is set).
fn qt_store8(o: u32, v: array<vec4<f32>, 2>, f16: bool) {
    if (f16) {
        y[4u * o] = pack_f16(v[0].x, v[0].y);
        y[4u * o + 1u] = pack_f16(v[0].z, v[0].w);
        y[4u * o + 2u] = pack_f16(v[1].x, v[1].y);
        y[4u * o + 3u] = pack_f16(v[1].z, v[1].w);
        return;
    }
    for (var i = 0u; i < 8u; i++) {
        y[8u * o + i] = bitcast<u32>(v[i >> 2u][i & 3u]);
    }
}

// One invocation per 8 elements (`count` = elements / 8).
@compute @workgroup_size(64)
fn dequantize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let o = linear_workgroup(wid, nwg) * QT_WG + lid;
    if (o >= p.count) {
        return;
    }
    qt_store8(o, w_decode8((o / QT_OCTETS) * W_BLOCK_BYTES, o % QT_OCTETS), p.out_f16 == 1u);
}

// One invocation per 8 output elements (`count` = ids × cols / 8; cols is a multiple of W_BLOCK).
@compute @workgroup_size(64)
fn get_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let o = linear_workgroup(wid, nwg) * QT_WG + lid;
    if (o >= p.count) {
        return;
    }
    let per_row = p.cols / 8u;
    let id = qt_row(o / per_row);
    if (id < 0) {
        let nan = vec4<f32>(qt_nan());
        qt_store8(o, array<vec4<f32>, 2>(nan, nan), false);
        return;
    }
    let e = u32(id) * p.cols + 8u * (o % per_row);
    qt_store8(o, w_decode8((e / W_BLOCK) * W_BLOCK_BYTES, (e % W_BLOCK) / 8u), false);
}

// @section encode
// Blocks per invocation, so that each invocation writes whole words: 4 / gcd(W_BLOCK_BYTES, 4).
fn qt_group() -> u32 {
    if ((W_BLOCK_BYTES & 3u) == 0u) {
        return 1u;
    }
    if ((W_BLOCK_BYTES & 1u) == 0u) {
        return 2u;
    }
    return 4u;
}

// One invocation per group of blocks (`count` groups of `elems` blocks in all), from f32 `x`.
@compute @workgroup_size(64)
fn quantize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let g = linear_workgroup(wid, nwg) * QT_WG + lid;
    if (g >= p.count) {
        return;
    }
    let first = g * qt_group();
    let blocks = min(qt_group(), p.elems - first);
    let base = first * W_BLOCK_BYTES / 4u;
    var word = 0u;
    var t = 0u;
    for (var b = 0u; b < blocks; b++) {
        var bytes = w_encode((first + b) * W_BLOCK);
        for (var i = 0u; i < W_BLOCK_BYTES; i++) {
            word |= (bytes[i] & 0xffu) << (8u * (t & 3u));
            if ((t & 3u) == 3u) {
                y[base + (t >> 2u)] = word;
                word = 0u;
            }
            t++;
        }
    }
    if ((t & 3u) != 0u) {
        y[base + (t >> 2u)] = word;
    }
}

// @section floats
// One invocation per output word: an f32 element, or two f16 elements (`count` words, `elems`
// elements).
@compute @workgroup_size(64)
fn dequantize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let i = linear_workgroup(wid, nwg) * QT_WG + lid;
    if (i >= p.count) {
        return;
    }
    if (p.out_f16 == 0u) {
        y[i] = bitcast<u32>(w_elem(i));
        return;
    }
    let a = w_elem(2u * i);
    var b = 0.0;
    if (2u * i + 1u < p.elems) {
        b = w_elem(2u * i + 1u);
    }
    y[i] = pack_f16(a, b);
}

// One invocation per output element (`count` = ids × cols).
@compute @workgroup_size(64)
fn get_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = linear_workgroup(wid, nwg) * QT_WG + lid;
    if (i >= p.count) {
        return;
    }
    let id = qt_row(i / p.cols);
    if (id < 0) {
        y[i] = bitcast<u32>(qt_nan());
        return;
    }
    y[i] = bitcast<u32>(w_elem(u32(id) * p.cols + i % p.cols));
}

//! The fake driver's arithmetic: evaluates the operations a fake model recorded, in f32, checking
//! that every output operand's declared dimensions are what the operation produces.

use super::{FakeModel, FakeOperand};
use crate::model::{OperandCode as C, OperationCode as Op};
use half::f16;

/// A dense f32 tensor (ints and bools are held as f32 too; they are small).
#[derive(Clone, Debug)]
pub struct Dense {
    pub dims: Vec<usize>,
    pub data: Vec<f32>,
}

/// Decodes `bytes` as operand `o`.
pub fn decode(o: &FakeOperand, bytes: &[u8]) -> Dense {
    let data = match o.ty {
        t if t == C::TensorFloat32 as i32 || t == C::Float32 as i32 => {
            bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
        }
        t if t == C::TensorInt32 as i32 || t == C::Int32 as i32 => {
            bytes.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32).collect()
        }
        t if t == C::TensorFloat16 as i32 => {
            bytes.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect()
        }
        t if t == C::TensorQuant8SymmPerChannel as i32 => bytes.iter().map(|&b| b as i8 as f32).collect(),
        t if t == C::Bool as i32 => bytes.iter().map(|&b| f32::from(b)).collect(),
        _ => Vec::new(),
    };
    Dense { dims: o.dims.iter().map(|&d| d as usize).collect(), data }
}

/// Encodes `t` as operand `o` (f32 or f16).
pub fn encode(o: &FakeOperand, t: &Dense) -> Vec<u8> {
    if o.ty == C::TensorFloat16 as i32 {
        t.data.iter().flat_map(|v| f16::from_f32(*v).to_le_bytes()).collect()
    } else {
        t.data.iter().flat_map(|v| v.to_le_bytes()).collect()
    }
}

fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1];
    }
    s
}

/// The multi-index of flat index `i` in `dims`.
fn unravel(mut i: usize, dims: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; dims.len()];
    for d in (0..dims.len()).rev() {
        idx[d] = i % dims[d].max(1);
        i /= dims[d].max(1);
    }
    idx
}

/// Numpy broadcasting of `a` and `b` through `f`.
fn broadcast(a: &Dense, b: &Dense, f: impl Fn(f32, f32) -> f32) -> Result<Dense, String> {
    let rank = a.dims.len().max(b.dims.len());
    let pad = |d: &[usize]| [vec![1; rank - d.len()], d.to_vec()].concat();
    let (da, db) = (pad(&a.dims), pad(&b.dims));
    let mut dims = Vec::with_capacity(rank);
    for (&x, &y) in da.iter().zip(&db) {
        if x != y && x != 1 && y != 1 {
            return Err(format!("dims {:?} and {:?} do not broadcast", a.dims, b.dims));
        }
        dims.push(x.max(y));
    }
    let (sa, sb) = (strides(&da), strides(&db));
    let n: usize = dims.iter().product();
    let data = (0..n)
        .map(|i| {
            let idx = unravel(i, &dims);
            let at = |d: &[usize], s: &[usize]| {
                idx.iter().zip(d).zip(s).map(|((&k, &n), &s)| if n == 1 { 0 } else { k * s }).sum::<usize>()
            };
            f(a.data[at(&da, &sa)], b.data[at(&db, &sb)])
        })
        .collect();
    Ok(Dense { dims, data })
}

/// Evaluates every operation of `model` with `values` holding the inputs and constants.
pub fn run(model: &FakeModel, values: &mut [Option<Dense>]) -> Result<(), String> {
    for (code, ins, outs) in &model.operations {
        let get = |i: usize| -> Result<Dense, String> {
            values[ins[i] as usize].clone().ok_or_else(|| format!("operation {code}: operand {} has no value", ins[i]))
        };
        let ints = |i: usize| -> Result<Vec<usize>, String> { Ok(get(i)?.data.iter().map(|&v| v as usize).collect()) };
        let unary = |f: fn(f32) -> f32| -> Result<Dense, String> {
            let x = get(0)?;
            Ok(Dense { dims: x.dims, data: x.data.into_iter().map(f).collect() })
        };
        let out = match *code {
            c if c == Op::Add as i32 => broadcast(&get(0)?, &get(1)?, |a, b| a + b)?,
            c if c == Op::Mul as i32 => broadcast(&get(0)?, &get(1)?, |a, b| a * b)?,
            c if c == Op::Logistic as i32 => unary(|v| 1.0 / (1.0 + (-v).exp()))?,
            c if c == Op::Tanh as i32 => unary(f32::tanh)?,
            c if c == Op::Rsqrt as i32 => unary(|v| 1.0 / v.sqrt())?,
            c if c == Op::Cast as i32 || c == Op::Reshape as i32 => {
                let x = get(0)?;
                let dims = model.operands[outs[0] as usize].dims.iter().map(|&d| d as usize).collect::<Vec<_>>();
                if c == Op::Reshape as i32 && ints(1)? != dims {
                    return Err(format!("RESHAPE: shape tensor {:?} differs from output dims {dims:?}", ints(1)?));
                }
                if dims.iter().product::<usize>() != x.data.len() {
                    return Err(format!("{c}: {} elements into {dims:?}", x.data.len()));
                }
                Dense { dims, data: x.data }
            }
            c if c == Op::FullyConnected as i32 => {
                let (x, w, bias) = (get(0)?, get(1)?, get(2)?);
                let (n, k) = (w.dims[0], w.dims[1]);
                let rows = x.data.len() / k;
                let mut data = vec![0.0; rows * n];
                for r in 0..rows {
                    for j in 0..n {
                        let dot: f32 = (0..k).map(|i| x.data[r * k + i] * w.data[j * k + i]).sum();
                        data[r * n + j] = dot + bias.data[j];
                    }
                }
                Dense { dims: vec![rows, n], data }
            }
            c if c == Op::Softmax as i32 => {
                let (x, beta) = (get(0)?, get(1)?.data[0]);
                let d = *x.dims.last().unwrap_or(&1);
                let mut data = x.data.clone();
                for row in data.chunks_mut(d) {
                    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                    row.iter_mut().for_each(|v| *v = ((*v - max) * beta).exp());
                    let sum: f32 = row.iter().sum();
                    row.iter_mut().for_each(|v| *v /= sum);
                }
                Dense { dims: x.dims, data }
            }
            c if c == Op::Mean as i32 => {
                let (x, axes) = (get(0)?, ints(1)?);
                if axes != [x.dims.len() - 1] || get(2)?.data[0] != 1.0 {
                    return Err("MEAN: the fake reduces only the last axis with keep_dims".into());
                }
                let d = *x.dims.last().unwrap_or(&1);
                let data = x.data.chunks(d).map(|r| r.iter().sum::<f32>() / d as f32).collect();
                let mut dims = x.dims.clone();
                *dims.last_mut().unwrap_or(&mut 0) = 1;
                Dense { dims, data }
            }
            c if c == Op::Transpose as i32 => {
                let (x, perm) = (get(0)?, ints(1)?);
                let dims: Vec<usize> = perm.iter().map(|&p| x.dims[p]).collect();
                let s = strides(&x.dims);
                let data = (0..x.data.len())
                    .map(|i| {
                        let idx = unravel(i, &dims);
                        x.data[idx.iter().zip(&perm).map(|(&k, &p)| k * s[p]).sum::<usize>()]
                    })
                    .collect();
                Dense { dims, data }
            }
            c if c == Op::Slice as i32 => {
                let (x, begin, size) = (get(0)?, ints(1)?, ints(2)?);
                let s = strides(&x.dims);
                let n: usize = size.iter().product();
                let data = (0..n)
                    .map(|i| {
                        let idx = unravel(i, &size);
                        x.data[idx.iter().zip(&begin).zip(&s).map(|((&k, &b), &s)| (k + b) * s).sum::<usize>()]
                    })
                    .collect();
                Dense { dims: size, data }
            }
            c if c == Op::Tile as i32 => {
                let (x, mult) = (get(0)?, ints(1)?);
                let dims: Vec<usize> = x.dims.iter().zip(&mult).map(|(d, m)| d * m).collect();
                let s = strides(&x.dims);
                let n: usize = dims.iter().product();
                let data = (0..n)
                    .map(|i| {
                        let idx = unravel(i, &dims);
                        x.data[idx.iter().zip(&x.dims).zip(&s).map(|((&k, &d), &s)| (k % d) * s).sum::<usize>()]
                    })
                    .collect();
                Dense { dims, data }
            }
            c if c == Op::Dequantize as i32 => {
                let x = get(0)?;
                let (dim, scales) = model
                    .channel_quant
                    .get(&ins[0])
                    .cloned()
                    .ok_or("DEQUANTIZE: the fake takes per-channel int8 only")?;
                let s = strides(&x.dims);
                let data = x
                    .data
                    .iter()
                    .enumerate()
                    .map(|(i, &q)| q * scales[(i / s[dim as usize]) % x.dims[dim as usize]])
                    .collect();
                Dense { dims: x.dims, data }
            }
            c if c == Op::BatchMatmul as i32 => {
                batch_matmul(&get(0)?, &get(1)?, get(2)?.data[0] != 0.0, get(3)?.data[0] != 0.0)?
            }
            other => return Err(format!("the fake has no operation {other}")),
        };
        let declared: Vec<usize> = model.operands[outs[0] as usize].dims.iter().map(|&d| d as usize).collect();
        if out.dims != declared {
            return Err(format!("operation {code} produces {:?}, its output operand declares {declared:?}", out.dims));
        }
        values[outs[0] as usize] = Some(out);
    }
    Ok(())
}

/// `BATCH_MATMUL` over equal batch dimensions.
fn batch_matmul(a: &Dense, b: &Dense, adj_x: bool, adj_y: bool) -> Result<Dense, String> {
    let r = a.dims.len();
    if r < 2 || b.dims.len() != r || a.dims[..r - 2] != b.dims[..r - 2] {
        return Err(format!("BATCH_MATMUL: {:?} and {:?}", a.dims, b.dims));
    }
    let (ar, ac) = (a.dims[r - 2], a.dims[r - 1]);
    let (br, bc) = (b.dims[r - 2], b.dims[r - 1]);
    let (m, k) = if adj_x { (ac, ar) } else { (ar, ac) };
    let (k2, n) = if adj_y { (bc, br) } else { (br, bc) };
    if k != k2 {
        return Err(format!("BATCH_MATMUL: inner dims {k} and {k2}"));
    }
    let batches: usize = a.dims[..r - 2].iter().product();
    let mut data = vec![0.0; batches * m * n];
    for bt in 0..batches {
        let (pa, pb) = (&a.data[bt * ar * ac..], &b.data[bt * br * bc..]);
        for i in 0..m {
            for j in 0..n {
                data[bt * m * n + i * n + j] = (0..k)
                    .map(|t| {
                        let x = if adj_x { pa[t * ac + i] } else { pa[i * ac + t] };
                        let y = if adj_y { pb[j * bc + t] } else { pb[t * bc + j] };
                        x * y
                    })
                    .sum();
            }
        }
    }
    let mut dims = a.dims[..r - 2].to_vec();
    dims.extend([m, n]);
    Ok(Dense { dims, data })
}

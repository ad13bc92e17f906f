//! Lowering of float casts, reshape, copy and permute, and the strided index walk that permute
//! and the broadcast binary ops share.

use super::{Cx, u32_word};
use crate::caps::Caps;
use crate::program::Word;
use edgehal::{DType, Error, Op, Result, TensorDesc};

/// Axes the `permute` and broadcast kernels walk in one dispatch (`MAX_RANK` in their WGSL).
pub(super) const MAX_RANK: usize = 12;

/// Most dispatches one node may split into when its collapsed rank exceeds [`MAX_RANK`].
const MAX_BLOCKS: usize = 1 << 16;

/// A strided walk over a row-major output: the output's extents and, per operand, the element
/// stride of each axis in that operand, after collapsing; innermost axis first.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Walk {
    /// Extents, innermost first (at least one axis).
    pub dims: Vec<usize>,
    /// `strides[o][k]`: operand `o`'s element stride along axis `k`.
    pub strides: Vec<Vec<usize>>,
}

impl Walk {
    /// The walk over `shape` (outermost axis first) with per-operand `strides` (same order):
    /// size-1 axes dropped, neighbouring axes merged where every operand is contiguous across
    /// them. A walk of no axes becomes one axis of extent 1, an empty one a single axis of 0.
    pub fn new(shape: &[usize], strides: &[Vec<usize>]) -> Walk {
        if shape.contains(&0) {
            return Walk { dims: vec![0], strides: vec![vec![0]; strides.len()] };
        }
        let mut dims: Vec<usize> = Vec::new();
        let mut st: Vec<Vec<usize>> = vec![Vec::new(); strides.len()];
        for (axis, &d) in shape.iter().enumerate() {
            if d == 1 {
                continue;
            }
            // Merge into the previous (outer) axis when, for every operand, stepping the outer
            // axis equals stepping this one `d` times.
            let mergeable = !dims.is_empty() && st.iter().zip(strides).all(|(s, o)| s[s.len() - 1] == o[axis] * d);
            if mergeable {
                let last = dims.len() - 1;
                dims[last] *= d;
                for (s, o) in st.iter_mut().zip(strides) {
                    s[last] = o[axis];
                }
            } else {
                dims.push(d);
                for (s, o) in st.iter_mut().zip(strides) {
                    s.push(o[axis]);
                }
            }
        }
        if dims.is_empty() {
            dims.push(shape.iter().product());
            st.iter_mut().for_each(|s| s.push(1));
        }
        dims.reverse();
        st.iter_mut().for_each(|s| s.reverse());
        Walk { dims, strides: st }
    }

    /// Elements per dispatch: the product of the innermost [`MAX_RANK`] extents.
    pub fn block(&self) -> usize {
        self.dims.iter().take(MAX_RANK).product()
    }

    /// The dispatch blocks: for each, the starting element offset of every operand and of the
    /// output (one block when the walk has at most [`MAX_RANK`] axes).
    pub fn blocks(&self) -> Vec<(Vec<usize>, usize)> {
        let outer = &self.dims[self.dims.len().min(MAX_RANK)..];
        let count: usize = outer.iter().product();
        let mut out = Vec::with_capacity(count);
        let mut idx = vec![0usize; outer.len()];
        for b in 0..count {
            let offs = self
                .strides
                .iter()
                .map(|s| idx.iter().zip(&s[MAX_RANK.min(s.len())..]).map(|(i, st)| i * st).sum())
                .collect();
            out.push((offs, b * self.block()));
            for (i, d) in idx.iter_mut().zip(outer) {
                *i += 1;
                if *i < *d {
                    break;
                }
                *i = 0;
            }
        }
        out
    }

    /// Why the walk cannot run, if it cannot: too many dispatch blocks, or blocks that would
    /// split 16-bit output words when `packed16`.
    pub fn check(&self, packed16: bool) -> Result<(), String> {
        if self.dims.len() <= MAX_RANK {
            return Ok(());
        }
        let blocks: usize = self.dims[MAX_RANK..].iter().product();
        if blocks > MAX_BLOCKS {
            return Err(format!(
                "{} axes that do not merge need {blocks} dispatches (at most {MAX_BLOCKS})",
                self.dims.len()
            ));
        }
        if packed16 && !self.block().is_multiple_of(2) {
            return Err(format!(
                "{} axes that do not merge with an odd inner block of {} 16-bit elements",
                self.dims.len(),
                self.block()
            ));
        }
        Ok(())
    }

    /// The `rank, d0..d11, strides of each operand` parameter words of a block (axes beyond
    /// [`MAX_RANK`] are the blocks'; unused axes are 1 / 0).
    pub fn axis_words(&self) -> Result<Vec<Word>> {
        let rank = self.dims.len().min(MAX_RANK);
        let mut words = vec![Word::U32(rank as u32)];
        let mut push = |v: &[usize], pad: u32, what: &str| -> Result<()> {
            for k in 0..MAX_RANK {
                words.push(if k < rank { u32_word(what, v[k])? } else { Word::U32(pad) });
            }
            Ok(())
        };
        push(&self.dims, 1, "extent")?;
        for s in &self.strides {
            push(s, 0, "stride")?;
        }
        Ok(words)
    }
}

/// Row-major element strides of `shape`.
pub(super) fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The permute walk: output axes with the input's strides, 4-byte elements where possible.
/// Returns the walk and the element size the kernel moves (2 or 4 bytes).
fn permute_walk(x: &TensorDesc, perm: &[usize]) -> (Walk, usize) {
    let in_strides = contiguous_strides(&x.shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let mut walk = Walk::new(&out_shape, &[strides]);
    let mut elem = x.dtype.block_bytes();
    // 16-bit elements whose innermost run is contiguous and even move as pairs in 4-byte words
    // (every other stride is then a multiple of the run, so even).
    if elem == 2 && walk.strides[0][0] == 1 && walk.dims[0].is_multiple_of(2) {
        walk.dims[0] /= 2;
        for s in walk.strides[0].iter_mut().skip(1) {
            *s /= 2;
        }
        elem = 4;
    }
    (walk, elem)
}

/// The cast kernel's element kind of a dtype (`F32`/`F16`/`BF16`/`I32` in layout.wgsl).
fn kind(d: DType) -> Option<u32> {
    match d {
        DType::F32 => Some(0),
        DType::F16 => Some(1),
        DType::BF16 => Some(2),
        DType::I32 => Some(3),
        _ => None,
    }
}

/// Whether the layout kernels take this node.
pub(crate) fn supports(op: &Op, inputs: &[&TensorDesc], _output: &TensorDesc, _caps: &Caps) -> Result<(), String> {
    let x = inputs[0];
    match op {
        Op::Cast { to } => match (kind(x.dtype), kind(*to)) {
            (Some(_), Some(_)) => Ok(()),
            _ => Err(format!("cast from {} to {to} is not a float/i32 cast", x.dtype)),
        },
        Op::Reshape { .. } | Op::Copy => Ok(()),
        Op::Permute { perm } => {
            if x.dtype.block_len() != 1 || !matches!(x.dtype.block_bytes(), 2 | 4) {
                return Err(format!("permute moves 2- or 4-byte elements, not {}", x.dtype));
            }
            let (walk, elem) = permute_walk(x, perm);
            walk.check(elem == 2)
        }
        _ => Err(format!("{} is not a layout op", op.name())),
    }
}

/// The dispatches (or copies) for one layout node.
pub(crate) fn lower(cx: &mut Cx, op: &Op) -> Result<()> {
    let x = cx.input_desc(0).clone();
    match op {
        Op::Cast { to } if *to == x.dtype => copy(cx),
        Op::Reshape { .. } | Op::Copy => copy(cx),
        Op::Cast { to } => {
            let (Some(src), Some(dst)) = (kind(x.dtype), kind(*to)) else {
                return Err(refused(op, &x));
            };
            let n = x.elems();
            let words = if to.block_bytes() == 2 { n.div_ceil(2) } else { n };
            let mut params = vec![u32_word("elements", n)?, Word::U32(src), Word::U32(dst)];
            params.resize(PARAM_WORDS, Word::U32(0));
            let bufs = vec![cx.input(0), cx.out()];
            cx.dispatch_1d("layout.base".into(), "convert", bufs, params, (words as u64).div_ceil(256));
            Ok(())
        }
        Op::Permute { perm } => {
            let (walk, elem) = permute_walk(&x, perm);
            walk.check(elem == 2).map_err(|why| Error::Unsupported {
                backend: "gpu".into(),
                op: op.name().into(),
                why,
            })?;
            let axes = walk.axis_words()?;
            let n = walk.block();
            let words = if elem == 2 { n.div_ceil(2) } else { n };
            for (offs, off_y) in walk.blocks() {
                let mut params = vec![u32_word("elements", n)?, Word::U32(0), Word::U32(0), Word::U32(elem as u32)];
                params.push(axes[0]);
                params.push(u32_word("offset", offs[0])?);
                params.push(u32_word("offset", off_y)?);
                params.extend_from_slice(&axes[1..]);
                let bufs = vec![cx.input(0), cx.out()];
                cx.dispatch_1d("layout.base".into(), "permute", bufs, params, (words as u64).div_ceil(256));
            }
            Ok(())
        }
        _ => Err(refused(op, &x)),
    }
}

/// Words in layout.wgsl's `Params`.
const PARAM_WORDS: usize = 7 + 2 * MAX_RANK;

/// A byte-for-byte copy of the input (reshape, copy, a cast to the same dtype).
fn copy(cx: &mut Cx) -> Result<()> {
    let bytes = cx.input_desc(0).byte_len("input")? as u64;
    let (src, dst) = (cx.input(0), cx.out());
    cx.copy(src, dst, bytes);
    Ok(())
}

fn refused(op: &Op, x: &TensorDesc) -> Error {
    Error::Unsupported {
        backend: "gpu".into(),
        op: op.name().into(),
        why: format!("not a layout node for {}", x.dtype),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_merge_contiguous_axes_and_drop_unit_axes() {
        // Same-shape operands collapse to one axis.
        let s = contiguous_strides(&[2, 3, 4]);
        assert_eq!(Walk::new(&[2, 3, 4], &[s.clone(), s]), Walk { dims: vec![24], strides: vec![vec![1], vec![1]] });
        // Row broadcast: [64, 4096] + [4096] keeps two axes.
        let w = Walk::new(&[64, 4096], &[vec![4096, 1], vec![0, 1]]);
        assert_eq!(w, Walk { dims: vec![4096, 64], strides: vec![vec![1, 4096], vec![1, 0]] });
        // Head split permute [1, 512, 32, 128] -> [0, 2, 1, 3]: three axes remain.
        let x = TensorDesc::new(DType::F32, vec![1, 512, 32, 128]);
        let (w, elem) = permute_walk(&x, &[0, 2, 1, 3]);
        assert_eq!((w.dims.clone(), w.strides[0].clone(), elem), (vec![128, 512, 32], vec![1, 4096, 128], 4));
        // All unit axes: one axis of one element.
        assert_eq!(Walk::new(&[1, 1], &[vec![1, 1]]).dims, vec![1]);
    }

    #[test]
    fn even_f16_runs_move_as_words() {
        let x = TensorDesc::new(DType::F16, vec![3, 4, 6]);
        let (w, elem) = permute_walk(&x, &[1, 0, 2]);
        assert_eq!((w.dims, w.strides[0].clone(), elem), (vec![3, 3, 4], vec![1, 12, 3], 4));
        // A transpose of the last axis stays per element.
        let (_, elem) = permute_walk(&x, &[0, 2, 1]);
        assert_eq!(elem, 2);
    }

    #[test]
    fn high_ranks_split_into_blocks_with_offsets() {
        // 14 axes of 2 that never merge (reversed): 4 blocks of 2^12 elements.
        let shape = vec![2usize; 14];
        let perm: Vec<usize> = (0..14).rev().collect();
        let x = TensorDesc::new(DType::F32, shape);
        let (w, _) = permute_walk(&x, &perm);
        assert_eq!(w.dims.len(), 14);
        let blocks = w.blocks();
        assert_eq!(blocks.len(), 4);
        // Output axis 1 (outermost-but-one) is input axis 12, stride 2; axis 0 is input axis 13.
        let offs: Vec<(usize, usize)> = blocks.iter().map(|(o, y)| (o[0], *y)).collect();
        assert_eq!(offs, vec![(0, 0), (2, 4096), (1, 8192), (3, 12288)]);
        assert!(w.check(false).is_ok());
    }
}

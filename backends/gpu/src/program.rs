//! A lowered partition: the commands both GPU backends execute.

use edgehal::{NodeId, Tensor};
use std::sync::Arc;

/// A buffer a command reads or writes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Buf {
    /// The partition's input `i` (bound per run).
    Input(usize),
    /// The partition's output `i` (bound per run).
    Output(usize),
    /// The partition's state `i` (bound per run, updated in place).
    State(usize),
    /// Constant `i` of [`Program::consts`] (uploaded once at compile time).
    Const(usize),
    /// Scratch buffer `i` of [`Program::scratch_bytes`] (owned by the executable).
    Scratch(usize),
}

/// One 4-byte field of a kernel's uniform parameters.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Word {
    /// A constant unsigned integer.
    U32(u32),
    /// A constant float.
    F32(f32),
    /// The run's position plus a constant (for `Position::Run` ops), as u32.
    Position {
        /// Added to the run position.
        plus: u32,
    },
}

impl Word {
    /// The word's bits for a run at `position`.
    pub fn resolve(self, position: usize) -> u32 {
        match self {
            Word::U32(v) => v,
            Word::F32(v) => v.to_bits(),
            Word::Position { plus } => (position as u32).wrapping_add(plus),
        }
    }

    /// Whether the word depends on the run position.
    pub fn depends_on_position(self) -> bool {
        matches!(self, Word::Position { .. })
    }
}

/// A compute dispatch.
#[derive(Clone, Debug, PartialEq)]
pub struct Dispatch {
    /// The node it belongs to (for per-op timings).
    pub node: NodeId,
    /// The shader module's name in `edgehal_shaders::modules()`.
    pub module: String,
    /// The entry point.
    pub entry: &'static str,
    /// Storage buffers bound at bindings 1, 2, ... in this order.
    pub buffers: Vec<Buf>,
    /// The uniform `Params` at binding 0, field by field.
    pub params: Vec<Word>,
    /// Workgroup counts (each ≤ the device's per-dimension limit).
    pub workgroups: [u32; 3],
}

/// One step of a program.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run a kernel.
    Dispatch(Dispatch),
    /// Copy `bytes` bytes (a multiple of 4) from the start of `src` to the start of `dst`.
    Copy {
        /// The node it belongs to.
        node: NodeId,
        /// Source.
        src: Buf,
        /// Destination.
        dst: Buf,
        /// Bytes.
        bytes: u64,
    },
}

impl Command {
    /// The node the command belongs to.
    pub fn node(&self) -> NodeId {
        match self {
            Command::Dispatch(d) => d.node,
            Command::Copy { node, .. } => *node,
        }
    }
}

/// A lowered partition.
#[derive(Clone, Debug, Default)]
pub struct Program {
    /// The commands, in order; each reads what earlier ones wrote (backends insert the barriers).
    pub commands: Vec<Command>,
    /// Constants (weights), uploaded unchanged.
    pub consts: Vec<Arc<Tensor>>,
    /// Sizes of the scratch buffers, in bytes (already rounded up to 4).
    pub scratch_bytes: Vec<u64>,
    /// The partition's nodes in order (every node has at least one command).
    pub nodes: Vec<NodeId>,
    /// The largest run position the program can run at (a KV cache written or read at
    /// `Position::Run` must fit its capacity), with what limits it; executors refuse a run past it
    /// with `Error::Input` instead of letting kernels clamp silently.
    pub position_limit: Option<(usize, String)>,
}

impl Program {
    /// `Err(Error::Input)` when `position` is past [`Program::position_limit`].
    pub fn check_position(&self, position: usize) -> edgehal::Result<()> {
        match &self.position_limit {
            Some((max, why)) if position > *max => {
                Err(edgehal::Error::Input(format!("run position {position} is past {max}: {why}")))
            }
            _ => Ok(()),
        }
    }

    /// Whether any command's parameters depend on the run position.
    pub fn depends_on_position(&self) -> bool {
        self.commands.iter().any(|c| match c {
            Command::Dispatch(d) => d.params.iter().any(|w| w.depends_on_position()),
            Command::Copy { .. } => false,
        })
    }
}

/// Workgroup counts for `n` workgroups in a 1-D grid: `n` spread over x and y (and z) when it
/// exceeds `max_per_dim`; kernels recover the index with `linear_workgroup` and bounds-check it.
pub fn grid(n: u64, max_per_dim: u32) -> [u32; 3] {
    let max = max_per_dim.max(1) as u64;
    let n = n.max(1);
    if n <= max {
        return [n as u32, 1, 1];
    }
    let y = n.div_ceil(max);
    if y <= max {
        return [max as u32, y as u32, 1];
    }
    [max as u32, max as u32, y.div_ceil(max) as u32]
}

#[cfg(test)]
mod tests {
    use super::grid;

    #[test]
    fn grids_cover_every_workgroup() {
        for n in [1u64, 7, 65535, 65536, 200_000, 65535 * 65535 + 3] {
            let g = grid(n, 65535);
            assert!(g.iter().all(|&d| d <= 65535));
            assert!(g.iter().map(|&d| d as u64).product::<u64>() >= n);
        }
    }
}

//! The energy model for devices without a meter: `E = FLOPs · pJ/FLOP(class) + bytes · pJ/byte +
//! static W · t`.
//!
//! Defaults per device kind are order-of-magnitude figures, not measurements of this machine:
//! * arithmetic: Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm): f32 add 0.9 pJ and
//!   multiply 3.7 pJ, f16 0.4 / 1.1 pJ, int8 0.03 / 0.2 pJ; a core's instruction overhead
//!   (fetch, decode, register file: ~70 pJ per instruction there) dominates and SIMD spreads it
//!   over its lanes. The CPU defaults add that overhead over 32 f32 lanes × 2 FLOPs; GPUs and
//!   NPUs amortise it over far wider issue.
//! * memory: Horowitz gives 1.3–2.6 nJ per 64-bit DRAM access (160–320 pJ/byte at 45 nm); newer
//!   interfaces are cheaper: GDDR5 ≈ 14 pJ/bit and HBM2 ≈ 3.9 pJ/bit (O'Connor et al.,
//!   "Fine-Grained DRAM", MICRO 2017), LPDDR4/5 a few pJ/bit. Every byte an op reports is
//!   charged as a DRAM byte, so ops whose data sit in cache are over-charged.
//! * static power: the share of idle/leakage power the device burns while busy; it makes the
//!   model prefer the faster device at equal dynamic energy.
//!
//! * NPU cycles: where a device counts cycles per op (QNN HTP profiling), the op's device time
//!   is `cycles / NPU_CLOCK_HZ` and the static term uses it, not the host's wall time (which for
//!   the HTP simulator is the simulation's time). 1 GHz is the order of Hexagon clocks
//!   (Snapdragon 8-series HTPs run at roughly 0.5–1.5 GHz); the figure is not measured here.
//!
//! Fit the model to a meter where one exists; until then its figures carry the label
//! [`Modelled`](super::EnergyLabel::Modelled).

use crate::DeviceKind;
use serde::{Deserialize, Serialize};

/// The clock that turns an NPU's per-op cycle counts into device time (see the module docs).
pub const NPU_CLOCK_HZ: f64 = 1.0e9;

/// What kind of arithmetic an op's FLOPs are.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComputeClass {
    /// f32 arithmetic (also element-wise ops and everything unclassified).
    F32,
    /// f16 / bf16 arithmetic.
    F16,
    /// 8-bit integer multiply-adds (quantized matmul with 8-bit activations).
    Int8,
}

/// Energy per operation and per byte, and static power, for one device.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergyModel {
    /// pJ per f32 FLOP.
    pub pj_per_flop_f32: f64,
    /// pJ per f16/bf16 FLOP.
    pub pj_per_flop_f16: f64,
    /// pJ per int8 operation.
    pub pj_per_op_int8: f64,
    /// pJ per byte read from or written to device memory.
    pub pj_per_byte: f64,
    /// Static power while the device runs, in W.
    pub static_w: f64,
}

impl ComputeClass {
    /// The class of a node's FLOPs from its op and input dtypes: a matmul or attention on
    /// quantized operands is int8 (the CPU kernels quantize activations to 8 bits and use integer
    /// dot products), on f16/bf16 operands f16, everything else f32. A model, not a trace of the
    /// instructions: a backend that dequantizes to f32 first is charged the int8 rate.
    pub fn of(op: &crate::Op, inputs: &[&crate::TensorDesc]) -> ComputeClass {
        use crate::DType;
        if !matches!(op, crate::Op::MatMul | crate::Op::Attention(_)) {
            return ComputeClass::F32;
        }
        if inputs.iter().any(|d| d.dtype.is_quantized()) {
            ComputeClass::Int8
        } else if inputs.iter().any(|d| matches!(d.dtype, DType::F16 | DType::BF16)) {
            ComputeClass::F16
        } else {
            ComputeClass::F32
        }
    }
}

impl EnergyModel {
    /// The default for a device kind (see the module docs for where the figures come from).
    pub fn for_kind(kind: DeviceKind) -> EnergyModel {
        match kind {
            DeviceKind::Cpu => EnergyModel {
                pj_per_flop_f32: 8.0,
                pj_per_flop_f16: 4.0,
                pj_per_op_int8: 1.5,
                pj_per_byte: 100.0,
                static_w: 3.0,
            },
            DeviceKind::Gpu => EnergyModel {
                pj_per_flop_f32: 2.0,
                pj_per_flop_f16: 1.0,
                pj_per_op_int8: 0.5,
                pj_per_byte: 40.0,
                static_w: 10.0,
            },
            DeviceKind::Npu => EnergyModel {
                pj_per_flop_f32: 2.0,
                pj_per_flop_f16: 0.5,
                pj_per_op_int8: 0.1,
                pj_per_byte: 40.0,
                static_w: 0.5,
            },
        }
    }

    /// The five coefficients in a fixed order: pJ/FLOP f32, f16, int8, pJ/byte, static W.
    pub fn coefficients(&self) -> [f64; 5] {
        [self.pj_per_flop_f32, self.pj_per_flop_f16, self.pj_per_op_int8, self.pj_per_byte, self.static_w]
    }

    /// The model of [`coefficients`](Self::coefficients) `c`.
    pub fn from_coefficients(c: [f64; 5]) -> EnergyModel {
        EnergyModel {
            pj_per_flop_f32: c[0],
            pj_per_flop_f16: c[1],
            pj_per_op_int8: c[2],
            pj_per_byte: c[3],
            static_w: c[4],
        }
    }

    /// pJ per FLOP of `class`.
    pub fn pj_per_flop(&self, class: ComputeClass) -> f64 {
        match class {
            ComputeClass::F32 => self.pj_per_flop_f32,
            ComputeClass::F16 => self.pj_per_flop_f16,
            ComputeClass::Int8 => self.pj_per_op_int8,
        }
    }

    /// Joules of an op: `flops` of `class`, `bytes` moved, running `seconds`.
    pub fn joules(&self, flops: u64, class: ComputeClass, bytes: u64, seconds: f64) -> f64 {
        (flops as f64 * self.pj_per_flop(class) + bytes as f64 * self.pj_per_byte) * 1e-12 + self.static_w * seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joules_adds_compute_memory_and_static() {
        let m = EnergyModel::for_kind(DeviceKind::Cpu);
        let e = m.joules(1_000_000_000, ComputeClass::F32, 1_000_000_000, 0.5);
        assert!((e - (8e-3 + 100e-3 + 1.5)).abs() < 1e-12, "{e}");
        assert!(m.pj_per_flop(ComputeClass::Int8) < m.pj_per_flop(ComputeClass::F16));
    }
}

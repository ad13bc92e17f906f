//! The registry of backends the CLI can create by name. A new backend (wgpu, vulkan, qnn, nnapi)
//! plugs in by adding one entry to [`BACKENDS`].

use crate::error::{CliError, Result};
use edgehal::{Backend, CpuBackend};
use std::sync::Arc;

/// A backend the CLI knows how to construct.
pub struct BackendEntry {
    /// The name used with `--backend`.
    pub name: &'static str,
    /// One line for `devices` and `--help`.
    pub description: &'static str,
    /// Creates the backend, or says why it is not available on this machine.
    pub create: fn() -> edgehal::Result<Arc<dyn Backend>>,
    /// Lists every adapter/device the backend could pick (with features and limits), where it
    /// has more than one.
    pub adapters: Option<fn() -> Vec<String>>,
}

/// Every backend compiled into this binary, in order of preference.
pub const BACKENDS: &[BackendEntry] = &[
    BackendEntry {
        name: "cpu",
        description: "SIMD kernels on all cores (always available)",
        create: create_cpu,
        adapters: None,
    },
    BackendEntry {
        name: "wgpu",
        description: "WGSL kernels through wgpu (Vulkan on Linux; EDGEHAL_WGPU_ADAPTER picks the adapter)",
        create: create_wgpu,
        adapters: Some(wgpu_adapters),
    },
    BackendEntry {
        name: "vulkan",
        description: "WGSL kernels as SPIR-V on native Vulkan (ash; EDGEHAL_VULKAN_DEVICE picks the device)",
        create: create_vulkan,
        adapters: Some(vulkan_devices),
    },
    BackendEntry {
        name: "qnn-cpu",
        description: "Qualcomm QNN CPU backend (libQnnCpu.so at run time; EDGEHAL_QNN_LIB_DIR)",
        create: create_qnn_cpu,
        adapters: None,
    },
    BackendEntry {
        name: "qnn-htp",
        description: "Qualcomm QNN HTP NPU backend (libQnnHtp.so; on x86-64 the simulator; EDGEHAL_QNN_LIB_DIR)",
        create: create_qnn_htp,
        adapters: None,
    },
    BackendEntry {
        name: "nnapi",
        description: "Android NNAPI (libneuralnetworks.so at run time; EDGEHAL_NNAPI_DEVICE picks the device)",
        create: create_nnapi,
        adapters: Some(nnapi_devices),
    },
];

fn create_qnn_cpu() -> edgehal::Result<Arc<dyn Backend>> {
    Ok(Arc::new(edgehal_qnn::QnnBackend::new(edgehal_qnn::QnnBackendKind::Cpu)?))
}

fn create_qnn_htp() -> edgehal::Result<Arc<dyn Backend>> {
    Ok(Arc::new(edgehal_qnn::QnnBackend::new(edgehal_qnn::QnnBackendKind::Htp)?))
}

fn create_nnapi() -> edgehal::Result<Arc<dyn Backend>> {
    Ok(Arc::new(edgehal_nnapi::NnapiBackend::new()?))
}

fn nnapi_devices() -> Vec<String> {
    match edgehal_nnapi::list_devices() {
        Ok(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                format!("#{i} {} ({}, feature level {}, {})", d.name, d.type_name(), d.feature_level, d.version)
            })
            .collect(),
        Err(e) => vec![format!("cannot enumerate: {e}")],
    }
}

fn create_vulkan() -> edgehal::Result<Arc<dyn Backend>> {
    Ok(Arc::new(edgehal_vulkan::VulkanBackend::new()?))
}

fn vulkan_devices() -> Vec<String> {
    match edgehal_vulkan::devices() {
        Ok(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, d)| format!("#{i} {} ({:?}): {}", d.name, d.kind, d.features.join(" ")))
            .collect(),
        Err(e) => vec![format!("cannot enumerate: {e}")],
    }
}

fn wgpu_adapters() -> Vec<String> {
    edgehal_wgpu::adapters(&edgehal_wgpu::WgpuOptions::from_env())
        .into_iter()
        .map(|a| {
            format!(
                "#{} {} ({:?}, {:?}, {} {}): {}",
                a.index,
                a.info.name,
                a.info.device_type,
                a.info.backend,
                a.info.driver,
                a.info.driver_info,
                a.caps.feature_names().join(" ")
            )
        })
        .collect()
}

fn create_wgpu() -> edgehal::Result<Arc<dyn Backend>> {
    Ok(Arc::new(edgehal_wgpu::WgpuBackend::new()?))
}

fn create_cpu() -> edgehal::Result<Arc<dyn Backend>> {
    Ok(Arc::new(CpuBackend::new()?))
}

/// The names of all registered backends.
pub fn names() -> impl Iterator<Item = &'static str> {
    BACKENDS.iter().map(|b| b.name)
}

/// The registry entry called `name`, or an error listing the known ones.
pub fn entry(name: &str) -> Result<&'static BackendEntry> {
    BACKENDS.iter().find(|b| b.name == name).ok_or_else(|| CliError::unknown("backend", name, names()))
}

/// Creates the backend called `name`.
pub fn create(name: &str) -> Result<Arc<dyn Backend>> {
    Ok((entry(name)?.create)()?)
}

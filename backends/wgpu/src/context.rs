//! Adapter choice, device creation, the capability table and error capture.

use crate::backend_error;
use crate::pipelines::Pipelines;
use edgehal::{Error, Result};
use edgehal_gpu::Caps;
use edgehal_gpu::health::{DeviceHealth, INJECTED};
use std::sync::{Arc, Mutex};

/// How to pick the adapter.
#[derive(Clone, Debug, Default)]
pub struct WgpuOptions {
    /// The graphics APIs to ask (`None`: Vulkan only on Linux/Android, the platform default elsewhere).
    pub backends: Option<wgpu::Backends>,
    /// An index into [`adapters`] or a substring of the adapter's name.
    pub adapter: Option<String>,
    /// Use only the base kernel variants (no f16, subgroups or dot4), whatever the adapter offers.
    pub base_only: bool,
    /// Keep matmul activations in f32 (no 8-bit dot4 GEMV): slower decode, logits within f32
    /// rounding of an exact product (also on with `EDGEHAL_F32_ACTIVATIONS=1`).
    pub f32_activations: bool,
}

impl WgpuOptions {
    /// Options from `EDGEHAL_WGPU_BACKENDS`, `EDGEHAL_WGPU_ADAPTER` and `EDGEHAL_GPU_BASE_ONLY`.
    pub fn from_env() -> Self {
        let backends = std::env::var("EDGEHAL_WGPU_BACKENDS").ok().map(|s| {
            if s.eq_ignore_ascii_case("all") { wgpu::Backends::all() } else { wgpu::Backends::from_comma_list(&s) }
        });
        WgpuOptions {
            backends,
            adapter: std::env::var("EDGEHAL_WGPU_ADAPTER").ok().filter(|s| !s.is_empty()),
            base_only: std::env::var("EDGEHAL_GPU_BASE_ONLY").is_ok_and(|v| v == "1"),
            f32_activations: std::env::var("EDGEHAL_F32_ACTIVATIONS").is_ok_and(|v| v == "1"),
        }
    }

    fn backends(&self) -> wgpu::Backends {
        self.backends.unwrap_or(if cfg!(any(target_os = "linux", target_os = "android")) {
            wgpu::Backends::VULKAN
        } else {
            wgpu::Backends::PRIMARY
        })
    }
}

/// One adapter as [`adapters`] lists it.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    /// Position in the list (what `EDGEHAL_WGPU_ADAPTER` takes).
    pub index: usize,
    /// wgpu's description of it.
    pub info: wgpu::AdapterInfo,
    /// The capability table the kernels would be picked from.
    pub caps: Caps,
}

fn instance(options: &WgpuOptions) -> wgpu::Instance {
    let desc = wgpu::InstanceDescriptor {
        backends: options.backends(),
        ..wgpu::InstanceDescriptor::new_without_display_handle_from_env()
    };
    wgpu::Instance::new(desc)
}

/// Every adapter wgpu finds for the backends `options` asks.
pub fn adapters(options: &WgpuOptions) -> Vec<AdapterSummary> {
    let instance = instance(options);
    let list = pollster::block_on(instance.enumerate_adapters(options.backends()));
    list.iter()
        .enumerate()
        .map(|(index, a)| AdapterSummary { index, info: a.get_info(), caps: caps_of(a, &instance, false) })
        .collect()
}

/// The capability table of an adapter.
fn caps_of(adapter: &wgpu::Adapter, instance: &wgpu::Instance, base_only: bool) -> Caps {
    let f = adapter.features();
    let l = adapter.limits();
    let info = adapter.get_info();
    let caps = Caps {
        f16: f.contains(wgpu::Features::SHADER_F16),
        subgroups: f.contains(wgpu::Features::SUBGROUP),
        subgroup_size: (info.subgroup_min_size, info.subgroup_max_size),
        dot4: instance.wgsl_language_features().contains(wgpu::WgslLanguageFeatures::Packed4x8IntegerDotProduct),
        max_storage_binding: l.max_storage_buffer_binding_size,
        max_buffer: l.max_buffer_size,
        max_workgroup_storage: l.max_compute_workgroup_storage_size,
        max_invocations: l.max_compute_invocations_per_workgroup,
        max_workgroups_per_dim: l.max_compute_workgroups_per_dimension,
        uniform_offset_alignment: l.min_uniform_buffer_offset_alignment,
    };
    if base_only { caps.base_only() } else { caps }
}

/// The device and everything compiled on it.
pub(crate) struct Context {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub caps: Caps,
    /// Timestamp queries between passes.
    pub timestamps: bool,
    /// Timestamps on the encoder (around buffer copies).
    pub timestamps_in_encoders: bool,
    /// Timestamps inside compute passes (between dispatches of one pass).
    pub timestamps_in_passes: bool,
    pub pipelines: Pipelines,
    errors: Arc<Mutex<Vec<String>>>,
    /// Lost or not (sticky; set by wgpu's device-lost callback), and the device-lost test hook.
    pub health: Arc<DeviceHealth>,
}

impl Context {
    pub(crate) fn new(options: &WgpuOptions) -> Result<Self> {
        let instance = instance(options);
        let list = pollster::block_on(instance.enumerate_adapters(options.backends()));
        if list.is_empty() {
            return Err(backend_error(format!(
                "unavailable: no adapter for {:?} (is a Vulkan driver installed? on a machine without a GPU, \
                 Mesa's lavapipe: apt install mesa-vulkan-drivers)",
                options.backends()
            )));
        }
        let adapter = pick(list, options.adapter.as_deref())?;
        let info = adapter.get_info();
        let mut caps = caps_of(&adapter, &instance, options.base_only);
        if options.f32_activations {
            caps = caps.f32_activations();
        }
        let available = adapter.features();
        let mut features = wgpu::Features::empty();
        for f in [
            wgpu::Features::SHADER_F16,
            wgpu::Features::SUBGROUP,
            wgpu::Features::TIMESTAMP_QUERY,
            wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS,
            wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES,
        ] {
            if available.contains(f) {
                features |= f;
            }
        }
        let desc = wgpu::DeviceDescriptor {
            label: Some("edgehal"),
            required_features: features,
            required_limits: adapter.limits(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| backend_error(format!("unavailable: cannot open {}: {e}", info.name)))?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let health = Arc::new(DeviceHealth::new("wgpu"));
        let lost_sink = health.clone();
        device.set_device_lost_callback(move |reason, message| {
            tracing::error!("wgpu: device lost: {reason:?}: {message}");
            lost_sink.mark_lost("wgpu's device-lost callback", &format!("{reason:?}: {message}"));
        });
        Ok(Context {
            timestamps: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            timestamps_in_encoders: features.contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS),
            timestamps_in_passes: features.contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES),
            pipelines: Pipelines::default(),
            device,
            queue,
            info,
            caps,
            errors,
            health,
        })
    }

    /// Errors no scope caught so far.
    pub(crate) fn uncaptured_errors(&self) -> Vec<String> {
        self.errors.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// `Error::DeviceLost` (naming `during`) if the device was lost.
    pub(crate) fn check_lost(&self, during: &str) -> Result<()> {
        self.health.check(during)
    }

    /// Runs `f` inside validation and out-of-memory error scopes and turns what they caught into
    /// typed errors (`bytes` names the allocation size for out-of-memory).
    pub(crate) fn scoped<T>(&self, what: &str, bytes: u64, f: impl FnOnce() -> T) -> Result<T> {
        self.check_lost(what)?;
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let value = f();
        let oom = pollster::block_on(oom.pop());
        let validation = pollster::block_on(validation.pop());
        if oom.is_some() {
            return Err(Error::OutOfMemory { backend: "wgpu".into(), bytes });
        }
        if let Some(e) = validation {
            return Err(backend_error(format!("{what}: {e}")));
        }
        self.check_lost(what)?;
        Ok(value)
    }

    /// Waits for the queue to finish. A loss injected by the test hook is made real here:
    /// recorded first (so the error names the hook), then the device is destroyed, which is
    /// wgpu's own way to lose a device (everything later on it fails inside wgpu too).
    pub(crate) fn wait(&self) -> Result<()> {
        self.check_lost("waiting for the GPU")?;
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| backend_error(format!("waiting for the GPU: {e}")))?;
        if self.health.take_injected() {
            let e = self.health.mark_lost("waiting for the GPU", INJECTED);
            tracing::error!("{e}");
            self.device.destroy();
            return Err(e);
        }
        self.check_lost("waiting for the GPU")
    }
}

fn pick(list: Vec<wgpu::Adapter>, wanted: Option<&str>) -> Result<wgpu::Adapter> {
    let names: Vec<String> = list.iter().map(|a| a.get_info().name).collect();
    let index = match wanted {
        Some(w) => match w.parse::<usize>() {
            Ok(i) if i < list.len() => i,
            _ => names
                .iter()
                .position(|n| n.to_lowercase().contains(&w.to_lowercase()))
                .ok_or_else(|| Error::Unknown { kind: "wgpu adapter", name: w.into(), known: names.join(", ") })?,
        },
        None => list
            .iter()
            .position(|a| matches!(a.get_info().device_type, wgpu::DeviceType::DiscreteGpu))
            .or_else(|| list.iter().position(|a| a.get_info().device_type != wgpu::DeviceType::Cpu))
            .unwrap_or(0),
    };
    Ok(list.into_iter().nth(index).expect("index checked"))
}

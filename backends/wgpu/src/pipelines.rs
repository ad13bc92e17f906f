//! Shader modules and compute pipelines, created on first use and kept for the device's life.

use crate::backend_error;
use crate::context::Context;
use edgehal::Result;
use edgehal_shaders::BindingKind;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A module's compiled shader and its one bind-group layout (all entry points share the bindings).
struct Module {
    shader: wgpu::ShaderModule,
    layout: wgpu::BindGroupLayout,
    pipeline_layout: wgpu::PipelineLayout,
    bindings: Vec<(u32, BindingKind)>,
}

/// A pipeline ready to dispatch.
pub(crate) struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    /// The module's bindings (0 = params, then storage).
    pub bindings: Vec<(u32, BindingKind)>,
}

/// The cache.
#[derive(Default)]
pub(crate) struct Pipelines {
    modules: Mutex<HashMap<String, Arc<Module>>>,
    pipelines: Mutex<HashMap<(String, &'static str), Arc<Pipeline>>>,
}

impl Pipelines {
    /// The pipeline of `entry` in `module`, created on first use.
    pub(crate) fn get(&self, cx: &Context, module: &str, entry: &'static str) -> Result<Arc<Pipeline>> {
        let key = (module.to_string(), entry);
        if let Some(p) = self.pipelines.lock().map_err(poisoned)?.get(&key) {
            return Ok(p.clone());
        }
        let m = self.module(cx, module)?;
        let pipeline = cx.scoped(&format!("compiling {module}::{entry}"), 0, || {
            cx.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&format!("{module}::{entry}")),
                layout: Some(&m.pipeline_layout),
                module: &m.shader,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        })?;
        let p = Arc::new(Pipeline { pipeline, layout: m.layout.clone(), bindings: m.bindings.clone() });
        self.pipelines.lock().map_err(poisoned)?.insert(key, p.clone());
        Ok(p)
    }

    fn module(&self, cx: &Context, name: &str) -> Result<Arc<Module>> {
        if let Some(m) = self.modules.lock().map_err(poisoned)?.get(name) {
            return Ok(m.clone());
        }
        let spec = edgehal_shaders::module(name)
            .ok_or_else(|| backend_error(format!("no shader module `{name}` (a lowering bug)")))?;
        if !cx.caps.has(spec.variant) {
            return Err(backend_error(format!("module `{name}` needs {:?}, which the device lacks", spec.variant)));
        }
        let source = spec.source();
        let bindings = spec.bindings();
        let m = cx.scoped(&format!("compiling shader module {name}"), 0, || {
            let shader = cx.device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
            let entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
                .iter()
                .map(|&(binding, kind)| wgpu::BindGroupLayoutEntry {
                    binding,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: match kind {
                            BindingKind::Uniform => wgpu::BufferBindingType::Uniform,
                            BindingKind::StorageRead => wgpu::BufferBindingType::Storage { read_only: true },
                            BindingKind::StorageReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                        },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                })
                .collect();
            let layout = cx
                .device
                .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(name), entries: &entries });
            let pipeline_layout = cx.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(name),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
            Module { shader, layout, pipeline_layout, bindings: bindings.clone() }
        })?;
        let m = Arc::new(m);
        self.modules.lock().map_err(poisoned)?.insert(name.to_string(), m.clone());
        Ok(m)
    }
}

fn poisoned<T>(_: T) -> edgehal::Error {
    backend_error("pipeline cache lock poisoned by an earlier panic")
}

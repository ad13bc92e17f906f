//! A compiled partition: pipelines, constants and scratch buffers created once; each run writes the
//! parameters (again only when the position changes them), binds the run's buffers, records one
//! command buffer and submits it.

use crate::backend_error;
use crate::buffer::{read_back, storage_buffer, wgpu_buffer, write_padded};
use crate::context::Context;
use crate::pipelines::Pipeline;
use edgehal::{Bindings, Executable, NodeId, NodeTiming, Result};
use edgehal_gpu::{Buf, Command, Program};
use std::sync::Arc;
use std::time::Instant;

/// Bytes reserved per dispatch in the parameter buffer (≥ 64 words, ≥ the offset alignment).
fn params_stride(cx: &Context) -> u64 {
    256u64.max(cx.caps.uniform_offset_alignment as u64)
}

pub(crate) struct WgpuExecutable {
    cx: Arc<Context>,
    program: Program,
    /// One per command (`None` for copies).
    pipelines: Vec<Option<Arc<Pipeline>>>,
    consts: Vec<wgpu::Buffer>,
    scratch: Vec<wgpu::Buffer>,
    params: wgpu::Buffer,
    /// The position the parameter buffer was last written for.
    params_written_for: Option<usize>,
    /// Bind groups of the last run and the run buffers they were made for (a decode loop binds
    /// the same buffers every step, so they are made once).
    groups: Option<(Vec<wgpu::Buffer>, Vec<Option<wgpu::BindGroup>>)>,
    constant_bytes: u64,
}

impl WgpuExecutable {
    pub(crate) fn new(cx: Arc<Context>, program: Program) -> Result<Self> {
        let mut pipelines = Vec::with_capacity(program.commands.len());
        for c in &program.commands {
            pipelines.push(match c {
                Command::Dispatch(d) => {
                    check_workgroups(&cx, d.workgroups)?;
                    Some(cx.pipelines.get(&cx, &d.module, d.entry)?)
                }
                Command::Copy { .. } => None,
            });
        }
        let mut consts = Vec::with_capacity(program.consts.len());
        let mut constant_bytes = 0;
        for t in &program.consts {
            let b = storage_buffer(&cx, t.bytes().len() as u64, "weight")?;
            write_padded(&cx, &b, t.bytes())?;
            constant_bytes += t.bytes().len() as u64;
            consts.push(b);
        }
        let scratch =
            program.scratch_bytes.iter().map(|&n| storage_buffer(&cx, n, "scratch")).collect::<Result<_>>()?;
        let size = params_stride(&cx) * program.commands.len().max(1) as u64;
        let params = cx.scoped("creating the parameter buffer", size, || {
            cx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("params"),
                size,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })?;
        cx.wait()?;
        Ok(WgpuExecutable {
            cx,
            program,
            pipelines,
            consts,
            scratch,
            params,
            params_written_for: None,
            groups: None,
            constant_bytes,
        })
    }

    fn write_params(&mut self, position: usize) -> Result<()> {
        if self.params_written_for.is_some()
            && (!self.program.depends_on_position() || self.params_written_for == Some(position))
        {
            return Ok(());
        }
        let stride = params_stride(&self.cx) as usize;
        let mut bytes = vec![0u8; stride * self.program.commands.len().max(1)];
        for (i, c) in self.program.commands.iter().enumerate() {
            if let Command::Dispatch(d) = c {
                if d.params.len() * 4 > stride {
                    return Err(backend_error(format!(
                        "{}::{} has {} parameter words, over 64",
                        d.module,
                        d.entry,
                        d.params.len()
                    )));
                }
                for (j, w) in d.params.iter().enumerate() {
                    let at = i * stride + 4 * j;
                    bytes[at..at + 4].copy_from_slice(&w.resolve(position).to_le_bytes());
                }
            }
        }
        write_padded(&self.cx, &self.params, &bytes)?;
        self.params_written_for = Some(position);
        Ok(())
    }

    /// One bind group per dispatch for the run's buffers.
    fn bind_groups(&self, resolved: &Resolved) -> Result<Vec<Option<wgpu::BindGroup>>> {
        let cx = &self.cx;
        let stride = params_stride(cx);
        let mut groups = Vec::with_capacity(self.program.commands.len());
        for (i, c) in self.program.commands.iter().enumerate() {
            let (Command::Dispatch(d), Some(p)) = (c, &self.pipelines[i]) else {
                groups.push(None);
                continue;
            };
            if d.buffers.len() + 1 != p.bindings.len() {
                return Err(backend_error(format!(
                    "{}::{} binds {} buffers, the module declares {} (a lowering bug)",
                    d.module,
                    d.entry,
                    d.buffers.len(),
                    p.bindings.len() - 1
                )));
            }
            let mut entries = vec![wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &self.params,
                    offset: i as u64 * stride,
                    size: wgpu::BufferSize::new(stride),
                }),
            }];
            for (j, &b) in d.buffers.iter().enumerate() {
                entries.push(wgpu::BindGroupEntry {
                    binding: j as u32 + 1,
                    resource: resolved.get(b)?.as_entire_binding(),
                });
            }
            let group = cx.scoped(&format!("binding {}::{}", d.module, d.entry), 0, || {
                cx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &p.layout,
                    entries: &entries,
                })
            })?;
            groups.push(Some(group));
        }
        Ok(groups)
    }
}

fn check_workgroups(cx: &Context, wg: [u32; 3]) -> Result<()> {
    let max = cx.caps.max_workgroups_per_dim;
    if let Some(&over) = wg.iter().find(|&&n| n > max) {
        return Err(edgehal::Error::DeviceLimit {
            backend: "wgpu".into(),
            what: "workgroups per dispatch dimension".into(),
            needed: over as u64,
            limit: max as u64,
        });
    }
    Ok(())
}

/// The run's view of every buffer a command names.
struct Resolved<'a> {
    inputs: Vec<&'a wgpu::Buffer>,
    outputs: Vec<&'a wgpu::Buffer>,
    states: Vec<&'a wgpu::Buffer>,
    consts: &'a [wgpu::Buffer],
    scratch: &'a [wgpu::Buffer],
}

impl Resolved<'_> {
    fn get(&self, b: Buf) -> Result<&wgpu::Buffer> {
        let found = match b {
            Buf::Input(i) => self.inputs.get(i).copied(),
            Buf::Output(i) => self.outputs.get(i).copied(),
            Buf::State(i) => self.states.get(i).copied(),
            Buf::Const(i) => self.consts.get(i),
            Buf::Scratch(i) => self.scratch.get(i),
        };
        found.ok_or_else(|| backend_error(format!("{b:?} is not bound (a lowering bug)")))
    }
}

impl Executable for WgpuExecutable {
    fn run(&mut self, bindings: Bindings<'_>, position: usize, profile: bool) -> Result<Vec<NodeTiming>> {
        self.program.check_position(position)?;
        self.write_params(position)?;
        let cx = self.cx.clone();
        let resolved = Resolved {
            inputs: bindings.inputs.iter().map(|b| wgpu_buffer(*b).map(|b| &b.buffer)).collect::<Result<_>>()?,
            outputs: bindings.outputs.iter().map(|b| wgpu_buffer(&**b).map(|b| &b.buffer)).collect::<Result<_>>()?,
            states: bindings.states.iter().map(|b| wgpu_buffer(&**b).map(|b| &b.buffer)).collect::<Result<_>>()?,
            consts: &self.consts,
            scratch: &self.scratch,
        };
        let key: Vec<wgpu::Buffer> =
            resolved.inputs.iter().chain(&resolved.outputs).chain(&resolved.states).map(|&b| b.clone()).collect();
        let groups = match self.groups.take() {
            Some((k, g)) if k == key => g,
            _ => self.bind_groups(&resolved)?,
        };
        let timed = profile && cx.timestamps;
        let queries = if timed { Some(Timestamps::new(&cx, self.program.commands.len())?) } else { None };
        let host_start = Instant::now();
        let mut host_times = Vec::new();
        let mut encoder =
            cx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("partition") });
        let mut i = 0;
        let commands = &self.program.commands;
        while i < commands.len() {
            match &commands[i] {
                Command::Copy { src, dst, bytes, .. } => {
                    if let Some(q) = queries.as_ref().filter(|_| cx.timestamps_in_encoders) {
                        encoder.write_timestamp(&q.set, 2 * i as u32);
                    }
                    encoder.copy_buffer_to_buffer(resolved.get(*src)?, 0, resolved.get(*dst)?, 0, *bytes);
                    if let Some(q) = queries.as_ref().filter(|_| cx.timestamps_in_encoders) {
                        encoder.write_timestamp(&q.set, 2 * i as u32 + 1);
                    }
                    i += 1;
                }
                Command::Dispatch(_) => {
                    // Untimed: consecutive dispatches share one pass (wgpu orders them with barriers).
                    // Timed: one pass per dispatch, timestamps at its beginning and end.
                    let timestamp_writes = queries.as_ref().map(|q| wgpu::ComputePassTimestampWrites {
                        query_set: &q.set,
                        beginning_of_pass_write_index: Some(2 * i as u32),
                        end_of_pass_write_index: Some(2 * i as u32 + 1),
                    });
                    let mut pass =
                        encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes });
                    while let Command::Dispatch(d) = &commands[i] {
                        let p = self.pipelines[i].as_ref().expect("dispatches have pipelines");
                        pass.set_pipeline(&p.pipeline);
                        pass.set_bind_group(0, groups[i].as_ref(), &[]);
                        pass.dispatch_workgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
                        i += 1;
                        if timed || i == commands.len() {
                            break;
                        }
                    }
                    drop(pass);
                    if profile && !timed {
                        // No timestamps: time each dispatch on the host, one submission each.
                        cx.scoped("running", 0, || cx.queue.submit([encoder.finish()]))?;
                        cx.wait()?;
                        host_times.push((commands[i - 1].node(), host_start.elapsed().as_nanos() as u64));
                        encoder = cx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
                    }
                }
            }
        }
        if let Some(q) = &queries {
            q.resolve(&mut encoder);
        }
        cx.scoped("running the partition", 0, || cx.queue.submit([encoder.finish()]))?;
        cx.wait()?;
        self.groups = Some((key, groups));
        if !profile {
            return Ok(Vec::new());
        }
        match queries {
            Some(q) => {
                let ticks = q.read(&cx)?;
                Ok(node_timings(commands.iter().map(Command::node), &ticks, cx.queue.get_timestamp_period() as f64))
            }
            None => Ok(host_timings(&host_times)),
        }
    }

    fn scratch_bytes(&self) -> u64 {
        self.program.scratch_bytes.iter().sum()
    }

    fn constant_bytes(&self) -> u64 {
        self.constant_bytes
    }
}

/// A query set with two timestamps per command.
struct Timestamps {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    count: u32,
}

impl Timestamps {
    fn new(cx: &Context, commands: usize) -> Result<Self> {
        let count = 2 * commands.max(1) as u32;
        cx.scoped("creating timestamp queries", count as u64 * 8, || Timestamps {
            set: cx.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count,
            }),
            resolve: cx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps"),
                size: count as u64 * 8,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            count,
        })
    }

    fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.resolve_query_set(&self.set, 0..self.count, &self.resolve, 0);
    }

    /// The raw ticks, two per command (zero where a command wrote none).
    fn read(&self, cx: &Context) -> Result<Vec<u64>> {
        let bytes = read_back(cx, &self.resolve, self.count as u64 * 8)?;
        Ok(bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
    }
}

/// Per-node timings from two ticks per command: start relative to the first command's start,
/// durations summed over a node's commands. Commands without timestamps (copies where the device
/// cannot time encoders) count zero.
fn node_timings(nodes: impl Iterator<Item = NodeId>, ticks: &[u64], period_ns: f64) -> Vec<NodeTiming> {
    let nodes: Vec<NodeId> = nodes.collect();
    let origin = ticks.chunks(2).filter(|t| t[0] != 0).map(|t| t[0]).min().unwrap_or(0);
    let mut out: Vec<NodeTiming> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let (a, b) = (ticks[2 * i], ticks[2 * i + 1]);
        let (start, dur) = if a != 0 && b >= a {
            (((a - origin) as f64 * period_ns) as u64, ((b - a) as f64 * period_ns) as u64)
        } else {
            (out.last().map_or(0, |t| t.start_ns + t.duration_ns), 0)
        };
        match out.last_mut() {
            Some(t) if t.node == *node => t.duration_ns += dur,
            _ => out.push(NodeTiming { node: *node, start_ns: start, duration_ns: dur }),
        }
    }
    out
}

/// Per-node timings from host clocks taken after each dispatch's submission completed.
fn host_timings(marks: &[(NodeId, u64)]) -> Vec<NodeTiming> {
    let mut out: Vec<NodeTiming> = Vec::new();
    let mut prev = 0;
    for &(node, end) in marks {
        match out.last_mut() {
            Some(t) if t.node == node => t.duration_ns += end - prev,
            _ => out.push(NodeTiming { node, start_ns: prev, duration_ns: end - prev }),
        }
        prev = end;
    }
    out
}

//! A compiled partition: pipelines resolved, constants uploaded, scratch and parameter buffers
//! allocated, one command buffer recorded and re-recorded only when the bound buffers change.

use crate::context::Context;
use crate::error::{BACKEND, Check, backend_error};
use crate::memory::{RawBuffer, Use, VulkanBuffer};
use crate::pipelines::Resolved;
use ash::vk;
use edgehal::{Bindings, DeviceBuffer, Error, Executable, Graph, NodeTiming, Partition, TensorDesc};
use edgehal_gpu::{Buf, Command, Program};
use std::sync::Arc;
use std::time::Instant;

/// Words of a kernel's `Params` at most.
const MAX_PARAM_WORDS: usize = 64;

/// What a command needs at record time beyond the program.
pub(crate) enum Step {
    /// A dispatch: its pipeline and where its parameters live in the uniform buffer.
    Dispatch {
        /// Pipeline, layout, module.
        resolved: Resolved,
        /// Byte offset of its parameters.
        offset: u64,
        /// Bytes bound (a multiple of 16).
        range: u64,
    },
    /// A buffer copy.
    Copy,
}

/// The buffers of one run, resolved to handles: `(handle, bytes, id)`.
pub(crate) type Bound = (vk::Buffer, u64, u64);

/// A compiled partition on the Vulkan device.
pub(crate) struct VulkanExecutable {
    pub(crate) ctx: Arc<Context>,
    pub(crate) program: Program,
    pub(crate) steps: Vec<Step>,
    /// Expected descriptions of the bound inputs, outputs, states.
    expected: [Vec<TensorDesc>; 3],
    pub(crate) consts: Vec<RawBuffer>,
    pub(crate) scratch: Vec<RawBuffer>,
    /// Host-visible uniform buffer with every dispatch's parameters.
    pub(crate) params: Option<RawBuffer>,
    pub(crate) pool: vk::CommandPool,
    pub(crate) cmd: vk::CommandBuffer,
    fence: vk::Fence,
    /// Descriptor pool and one set per dispatch, for modules without push descriptors.
    pub(crate) descriptor_pool: vk::DescriptorPool,
    pub(crate) sets: Vec<vk::DescriptorSet>,
    /// Timestamp queries (commands + 1), created on the first profiled run.
    pub(crate) queries: vk::QueryPool,
    /// What the command buffer was recorded for: bound buffer ids and whether it has timestamps.
    recorded: Option<(Vec<u64>, bool)>,
    /// The position the parameters were last written for.
    position: Option<usize>,
    const_bytes: u64,
    /// Profile with host clocks even where the queue has timestamps (tests of that path).
    pub(crate) host_timing: bool,
}

impl VulkanExecutable {
    /// Compiles `program` (lowered from `part` of `graph`).
    pub fn for_partition(
        ctx: Arc<Context>,
        graph: &Graph,
        part: &Partition,
        program: Program,
    ) -> edgehal::Result<Self> {
        let descs = |vs: &[edgehal::ValueId]| vs.iter().map(|&v| graph.value(v).desc.clone()).collect::<Vec<_>>();
        Self::new(ctx, program, [descs(&part.inputs), descs(&part.outputs), descs(&part.states)])
    }

    /// Compiles `program`, whose runs bind buffers of the `expected` inputs, outputs and states.
    pub fn new(ctx: Arc<Context>, program: Program, expected: [Vec<TensorDesc>; 3]) -> edgehal::Result<Self> {
        let mut exe = VulkanExecutable {
            ctx: ctx.clone(),
            steps: Vec::with_capacity(program.commands.len()),
            expected,
            consts: Vec::new(),
            scratch: Vec::new(),
            params: None,
            pool: vk::CommandPool::null(),
            cmd: vk::CommandBuffer::null(),
            fence: vk::Fence::null(),
            descriptor_pool: vk::DescriptorPool::null(),
            sets: Vec::new(),
            queries: vk::QueryPool::null(),
            recorded: None,
            position: None,
            const_bytes: 0,
            host_timing: false,
            program,
        };
        // Every early return below drops `exe`, which releases what was created so far.
        exe.resolve_steps()?;
        for (i, t) in exe.program.consts.iter().enumerate() {
            let b = ctx.create_buffer(t.bytes().len() as u64, Use::Storage, &format!("const {i}"))?;
            exe.const_bytes += b.size;
            exe.consts.push(b);
            ctx.write(&exe.consts[i], t.bytes())?;
        }
        for (i, &bytes) in exe.program.scratch_bytes.iter().enumerate() {
            exe.scratch.push(ctx.create_buffer(bytes, Use::Storage, &format!("scratch {i}"))?);
            // Kernels are written for wgpu, which zero-initialises buffers.
            ctx.zero(&exe.scratch[i])?;
        }
        let param_bytes = exe
            .steps
            .iter()
            .map(|s| if let Step::Dispatch { offset, range, .. } = s { offset + range } else { 0 })
            .max();
        if let Some(bytes) = param_bytes.filter(|&b| b > 0) {
            let b = ctx.create_buffer(bytes, Use::Uniform, "params")?;
            if b.mapped().is_none() {
                exe.params = Some(b);
                return Err(backend_error("the parameter buffer is not host-visible"));
            }
            exe.params = Some(b);
        }
        exe.create_command_objects()?;
        Ok(exe)
    }

    /// Pipelines and parameter offsets for every dispatch, checking them against the module.
    fn resolve_steps(&mut self) -> edgehal::Result<()> {
        let align = self.ctx.physical.limits.min_uniform_buffer_offset_alignment.max(16);
        let max_groups = self.ctx.physical.limits.max_compute_work_group_count;
        let mut end = 0u64;
        for c in &self.program.commands {
            let Command::Dispatch(d) = c else {
                self.steps.push(Step::Copy);
                continue;
            };
            let resolved = self.ctx.pipeline(&d.module, d.entry)?;
            let m = resolved.module;
            if d.buffers.len() != m.storage_bindings() {
                return Err(backend_error(format!(
                    "{}::{} declares {} storage bindings, the dispatch binds {}",
                    d.module,
                    d.entry,
                    m.storage_bindings(),
                    d.buffers.len()
                )));
            }
            if d.params.len() > MAX_PARAM_WORDS {
                return Err(backend_error(format!("{}: {} parameter words (at most 64)", d.module, d.params.len())));
            }
            for (axis, (&n, &max)) in d.workgroups.iter().zip(&max_groups).enumerate() {
                if n > max {
                    return Err(Error::DeviceLimit {
                        backend: BACKEND.into(),
                        what: format!("{}::{} workgroups along axis {axis}", d.module, d.entry),
                        needed: n as u64,
                        limit: max as u64,
                    });
                }
            }
            let offset = end.next_multiple_of(align);
            let range = ((d.params.len() * 4) as u64).next_multiple_of(16).max(16);
            end = offset + range;
            self.steps.push(Step::Dispatch { resolved, offset, range });
        }
        Ok(())
    }

    fn create_command_objects(&mut self) -> edgehal::Result<()> {
        let d = &self.ctx.device;
        let (family, _) = self.ctx.physical.queue.ok_or_else(|| backend_error("no compute queue"))?;
        // SAFETY: valid create infos; objects are destroyed in Drop.
        unsafe {
            let info = vk::CommandPoolCreateInfo::default().queue_family_index(family);
            self.pool = d.create_command_pool(&info, None).check("vkCreateCommandPool")?;
            let alloc = vk::CommandBufferAllocateInfo::default()
                .command_pool(self.pool)
                .level(vk::CommandBufferLevel::PRIMARY)
                .command_buffer_count(1);
            self.cmd = d.allocate_command_buffers(&alloc).check("vkAllocateCommandBuffers")?[0];
            self.fence = d.create_fence(&vk::FenceCreateInfo::default(), None).check("vkCreateFence")?;
            let pooled: Vec<&Step> =
                self.steps.iter().filter(|s| matches!(s, Step::Dispatch { resolved, .. } if !resolved.push)).collect();
            if !pooled.is_empty() {
                let storage: u32 = pooled
                    .iter()
                    .map(|s| {
                        if let Step::Dispatch { resolved, .. } = s {
                            resolved.module.storage_bindings() as u32
                        } else {
                            0
                        }
                    })
                    .sum();
                let mut sizes = vec![vk::DescriptorPoolSize {
                    ty: vk::DescriptorType::UNIFORM_BUFFER,
                    descriptor_count: pooled.len() as u32,
                }];
                if storage > 0 {
                    sizes.push(vk::DescriptorPoolSize {
                        ty: vk::DescriptorType::STORAGE_BUFFER,
                        descriptor_count: storage,
                    });
                }
                let info = vk::DescriptorPoolCreateInfo::default().max_sets(pooled.len() as u32).pool_sizes(&sizes);
                self.descriptor_pool = d.create_descriptor_pool(&info, None).check("vkCreateDescriptorPool")?;
                let layouts: Vec<_> = pooled
                    .iter()
                    .filter_map(
                        |s| if let Step::Dispatch { resolved, .. } = s { Some(resolved.set_layout) } else { None },
                    )
                    .collect();
                let info = vk::DescriptorSetAllocateInfo::default()
                    .descriptor_pool(self.descriptor_pool)
                    .set_layouts(&layouts);
                self.sets = d.allocate_descriptor_sets(&info).check("vkAllocateDescriptorSets")?;
            }
        }
        Ok(())
    }

    /// The handles of the run's buffers, checked against the partition.
    fn bind(&self, bindings: &Bindings<'_>) -> edgehal::Result<[Vec<Bound>; 3]> {
        let inputs: Vec<&dyn DeviceBuffer> = bindings.inputs.to_vec();
        let outputs: Vec<&dyn DeviceBuffer> = bindings.outputs.iter().map(|b| &**b).collect();
        let states: Vec<&dyn DeviceBuffer> = bindings.states.iter().map(|b| &**b).collect();
        let mut out: [Vec<Bound>; 3] = Default::default();
        for (k, (list, kind)) in [(inputs, "input"), (outputs, "output"), (states, "state")].into_iter().enumerate() {
            let expected = &self.expected[k];
            if list.len() != expected.len() {
                return Err(Error::Input(format!(
                    "{} {kind} buffers bound, the partition has {}",
                    list.len(),
                    expected.len()
                )));
            }
            for (i, (b, want)) in list.into_iter().zip(expected).enumerate() {
                let vb: &VulkanBuffer = b
                    .as_any()
                    .downcast_ref()
                    .filter(|vb: &&VulkanBuffer| vb.is_on(&self.ctx))
                    .ok_or_else(|| Error::Input(format!("{kind} {i} is not a buffer of this Vulkan device")))?;
                if b.desc() != want {
                    return Err(Error::Input(format!(
                        "{kind} {i} is {} {:?}, the partition expects {} {:?}",
                        b.desc().dtype,
                        b.desc().shape,
                        want.dtype,
                        want.shape
                    )));
                }
                let raw = vb.raw()?;
                out[k].push((raw.buffer, raw.size, raw.id));
            }
        }
        Ok(out)
    }

    /// The handle of `buf` for this run.
    pub(crate) fn resolve(&self, bound: &[Vec<Bound>; 3], buf: Buf) -> edgehal::Result<Bound> {
        let own = |b: &RawBuffer| (b.buffer, b.size, b.id);
        let found = match buf {
            Buf::Input(i) => bound[0].get(i).copied(),
            Buf::Output(i) => bound[1].get(i).copied(),
            Buf::State(i) => bound[2].get(i).copied(),
            Buf::Const(i) => self.consts.get(i).map(own),
            Buf::Scratch(i) => self.scratch.get(i).map(own),
        };
        found.ok_or_else(|| backend_error(format!("the program uses {buf:?}, which does not exist")))
    }

    /// Writes every dispatch's parameters for `position`.
    fn write_params(&mut self, position: usize) -> edgehal::Result<()> {
        let Some(params) = &self.params else { return Ok(()) };
        let base = params.mapped().ok_or_else(|| backend_error("the parameter buffer is not mapped"))?;
        for (c, s) in self.program.commands.iter().zip(&self.steps) {
            if let (Command::Dispatch(d), Step::Dispatch { offset, .. }) = (c, s) {
                let words: Vec<u32> = d.params.iter().map(|w| w.resolve(position)).collect();
                let bytes: &[u8] = bytemuck::cast_slice(&words);
                // SAFETY: offsets + ranges were laid out inside the buffer; the device is idle.
                unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), base.add(*offset as usize), bytes.len()) };
            }
        }
        self.position = Some(position);
        Ok(())
    }

    /// Submits the recorded command buffer and waits for it.
    fn submit(&self) -> edgehal::Result<()> {
        let q = self.ctx.queue()?;
        self.ctx.submit_and_wait(q.raw, self.cmd, self.fence)
    }

    /// Creates the timestamp query pool on first use.
    fn ensure_queries(&mut self) -> edgehal::Result<()> {
        if self.queries == vk::QueryPool::null() {
            let info = vk::QueryPoolCreateInfo::default()
                .query_type(vk::QueryType::TIMESTAMP)
                .query_count(self.program.commands.len() as u32 + 1);
            // SAFETY: valid create info; destroyed in Drop.
            self.queries = unsafe { self.ctx.device.create_query_pool(&info, None) }.check("vkCreateQueryPool")?;
        }
        Ok(())
    }

    /// Per-node timings from the timestamps of the last run.
    fn read_timestamps(&self) -> edgehal::Result<Vec<NodeTiming>> {
        let n = self.program.commands.len() + 1;
        let mut ticks = vec![0u64; n];
        // SAFETY: the run finished (fence waited); every query was written.
        unsafe {
            self.ctx
                .device
                .get_query_pool_results(
                    self.queries,
                    0,
                    &mut ticks,
                    vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WAIT,
                )
                .check("vkGetQueryPoolResults")?;
        }
        let bits = self.ctx.physical.queue.map(|q| q.1).unwrap_or(64);
        let mask = if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
        let period = self.ctx.physical.limits.timestamp_period as f64;
        let ns = |a: u64, b: u64| ((b.wrapping_sub(a) & mask) as f64 * period).round() as u64;
        let mut out: Vec<NodeTiming> = Vec::with_capacity(self.program.nodes.len());
        for (i, c) in self.program.commands.iter().enumerate() {
            let node = c.node();
            let duration = ns(ticks[i], ticks[i + 1]);
            match out.iter_mut().find(|t| t.node == node) {
                Some(t) => t.duration_ns += duration,
                None => out.push(NodeTiming { node, start_ns: ns(ticks[0], ticks[i]), duration_ns: duration }),
            }
        }
        Ok(out)
    }

    /// Profiling without device timestamps: each node submitted alone and timed on the host.
    fn run_host_timed(&mut self, bound: &[Vec<Bound>; 3]) -> edgehal::Result<Vec<NodeTiming>> {
        let start = Instant::now();
        let mut out = Vec::new();
        let mut first = 0;
        while first < self.program.commands.len() {
            let node = self.program.commands[first].node();
            let last = (first..self.program.commands.len())
                .take_while(|&i| self.program.commands[i].node() == node)
                .last()
                .unwrap_or(first);
            self.record(bound, first..last + 1, false)?;
            let t = Instant::now();
            self.submit()?;
            out.push(NodeTiming {
                node,
                start_ns: (t - start).as_nanos() as u64,
                duration_ns: t.elapsed().as_nanos() as u64,
            });
            first = last + 1;
        }
        self.recorded = None;
        Ok(out)
    }
}

impl Executable for VulkanExecutable {
    fn run(&mut self, bindings: Bindings<'_>, position: usize, profile: bool) -> edgehal::Result<Vec<NodeTiming>> {
        self.program.check_position(position)?;
        let bound = self.bind(&bindings)?;
        if self.position.is_none() || (self.position != Some(position) && self.program.depends_on_position()) {
            self.write_params(position)?;
        }
        if profile && (self.host_timing || !self.ctx.physical.timestamps()) {
            return self.run_host_timed(&bound);
        }
        let ids: Vec<u64> = bound.iter().flatten().map(|b| b.2).collect();
        if self.recorded.as_ref() != Some(&(ids.clone(), profile)) {
            if profile {
                self.ensure_queries()?;
            }
            self.recorded = None;
            self.record(&bound, 0..self.program.commands.len(), profile)?;
            self.recorded = Some((ids, profile));
        }
        self.submit()?;
        if profile { self.read_timestamps() } else { Ok(Vec::new()) }
    }

    fn scratch_bytes(&self) -> u64 {
        self.scratch.iter().map(|b| b.size).sum::<u64>() + self.params.as_ref().map_or(0, |b| b.size)
    }

    fn constant_bytes(&self) -> u64 {
        self.const_bytes
    }
}

impl Drop for VulkanExecutable {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: every submission was waited for; nothing of this executable is in use.
        unsafe {
            if self.queries != vk::QueryPool::null() {
                d.destroy_query_pool(self.queries, None);
            }
            if self.descriptor_pool != vk::DescriptorPool::null() {
                d.destroy_descriptor_pool(self.descriptor_pool, None);
            }
            if self.fence != vk::Fence::null() {
                d.destroy_fence(self.fence, None);
            }
            if self.pool != vk::CommandPool::null() {
                d.destroy_command_pool(self.pool, None);
            }
        }
        let buffers: Vec<RawBuffer> =
            self.consts.drain(..).chain(self.scratch.drain(..)).chain(self.params.take()).collect();
        match self.ctx.allocator() {
            Ok(mut a) => buffers.into_iter().for_each(|b| b.destroy(d, &mut a)),
            Err(e) => tracing::warn!("leaking an executable's buffers: {e}"),
        }
    }
}

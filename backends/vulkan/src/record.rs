//! Recording a compiled partition's command buffer: dispatches with their descriptors (pushed
//! or from the executable's pool), buffer copies, buffer memory barriers only where a command
//! depends on an earlier one, timestamps around each command when profiling, and a final barrier
//! that makes the results visible to the host.

use crate::error::{Check, backend_error};
use crate::executable::{Bound, Step, VulkanExecutable};
use crate::memory::global_barrier;
use ash::vk;
use edgehal_gpu::{Buf, Command};
use edgehal_shaders::BindingKind;
use std::collections::HashSet;
use std::ops::Range;

const STAGES: vk::PipelineStageFlags = vk::PipelineStageFlags::from_raw(
    vk::PipelineStageFlags::COMPUTE_SHADER.as_raw() | vk::PipelineStageFlags::TRANSFER.as_raw(),
);

/// Buffers read and written since the last barrier, by handle (so two `Buf`s bound to one buffer
/// are one buffer).
#[derive(Default)]
struct Hazards {
    written: HashSet<vk::Buffer>,
    read: HashSet<vk::Buffer>,
}

impl Hazards {
    /// The buffers a command reading `reads` and writing `writes` must wait for: earlier writes
    /// to anything it touches, earlier reads of anything it writes.
    fn conflicts(&self, reads: &[vk::Buffer], writes: &[vk::Buffer]) -> Vec<vk::Buffer> {
        let mut out: Vec<vk::Buffer> = reads.iter().chain(writes).copied().filter(|b| self.written.contains(b)).collect();
        out.extend(writes.iter().copied().filter(|b| self.read.contains(b)));
        out.sort_by_key(|b| ash::vk::Handle::as_raw(*b));
        out.dedup();
        out
    }

    /// After a barrier over `covered`: their writes are visible, and every earlier read is done
    /// (the barrier waits for all earlier compute and transfer work).
    fn barrier(&mut self, covered: &[vk::Buffer]) {
        for b in covered {
            self.written.remove(b);
        }
        self.read.clear();
    }

    fn access(&mut self, reads: &[vk::Buffer], writes: &[vk::Buffer]) {
        self.read.extend(reads);
        self.written.extend(writes);
    }
}

impl VulkanExecutable {
    /// Records `commands` of the program into the command buffer (with timestamps if `profile`).
    pub(crate) fn record(&mut self, bound: &[Vec<Bound>; 3], commands: Range<usize>, profile: bool) -> edgehal::Result<()> {
        self.write_descriptor_sets(bound)?;
        let d = &self.ctx.device;
        let cmd = self.cmd;
        // SAFETY: the previous submission finished (every run waits), so the pool can be reset.
        unsafe {
            d.reset_command_pool(self.pool, vk::CommandPoolResetFlags::empty()).check("vkResetCommandPool")?;
            d.begin_command_buffer(cmd, &vk::CommandBufferBeginInfo::default()).check("vkBeginCommandBuffer")?;
        }
        // Host writes (uploads, parameters) and earlier submissions before this one's work.
        global_barrier(d, cmd, vk::PipelineStageFlags::ALL_COMMANDS, STAGES);
        if profile {
            let n = self.program.commands.len() as u32 + 1;
            // SAFETY: recording; the pool has `n` queries.
            unsafe {
                d.cmd_reset_query_pool(cmd, self.queries, 0, n);
                d.cmd_write_timestamp(cmd, vk::PipelineStageFlags::BOTTOM_OF_PIPE, self.queries, 0);
            }
        }
        let mut hazards = Hazards::default();
        let mut bound_pipeline = vk::Pipeline::null();
        // Pooled sets are allocated in dispatch order for the dispatches that do not push.
        let mut set_of = Vec::with_capacity(self.steps.len());
        let mut pooled = 0usize;
        for s in &self.steps {
            set_of.push(pooled);
            if matches!(s, Step::Dispatch { resolved, .. } if !resolved.push) {
                pooled += 1;
            }
        }
        for i in commands {
            let (reads, writes) = self.accesses(bound, i)?;
            let conflicts = hazards.conflicts(&reads, &writes);
            if !conflicts.is_empty() {
                let barriers: Vec<_> = conflicts
                    .iter()
                    .map(|&b| {
                        vk::BufferMemoryBarrier::default()
                            .src_access_mask(vk::AccessFlags::SHADER_WRITE | vk::AccessFlags::TRANSFER_WRITE)
                            .dst_access_mask(
                                vk::AccessFlags::SHADER_READ
                                    | vk::AccessFlags::SHADER_WRITE
                                    | vk::AccessFlags::TRANSFER_READ
                                    | vk::AccessFlags::TRANSFER_WRITE,
                            )
                            .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                            .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                            .buffer(b)
                            .offset(0)
                            .size(vk::WHOLE_SIZE)
                    })
                    .collect();
                // SAFETY: recording.
                unsafe { d.cmd_pipeline_barrier(cmd, STAGES, STAGES, vk::DependencyFlags::empty(), &[], &barriers, &[]) };
                hazards.barrier(&conflicts);
            }
            hazards.access(&reads, &writes);
            match (&self.program.commands[i], &self.steps[i]) {
                (Command::Dispatch(disp), Step::Dispatch { resolved, offset, range }) => {
                    // SAFETY: recording; the pipeline and its layout live as long as the device.
                    unsafe {
                        if resolved.pipeline != bound_pipeline {
                            d.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::COMPUTE, resolved.pipeline);
                            bound_pipeline = resolved.pipeline;
                        }
                        if resolved.push {
                            let push = self.ctx.push.as_ref().ok_or_else(|| backend_error("push descriptors not loaded"))?;
                            let infos = self.buffer_infos(bound, &disp.buffers, *offset, *range)?;
                            let writes = descriptor_writes(vk::DescriptorSet::null(), &infos);
                            push.cmd_push_descriptor_set(cmd, vk::PipelineBindPoint::COMPUTE, resolved.layout, 0, &writes);
                        } else {
                            let set = *self.sets.get(set_of[i]).ok_or_else(|| backend_error("descriptor set missing"))?;
                            d.cmd_bind_descriptor_sets(cmd, vk::PipelineBindPoint::COMPUTE, resolved.layout, 0, &[set], &[]);
                        }
                        let [x, y, z] = disp.workgroups;
                        d.cmd_dispatch(cmd, x, y, z);
                    }
                }
                (Command::Copy { src, dst, bytes, .. }, _) => {
                    let (s, d_) = (self.resolve(bound, *src)?, self.resolve(bound, *dst)?);
                    if *bytes > s.1 || *bytes > d_.1 {
                        return Err(backend_error(format!("copy of {bytes} bytes between buffers of {} and {}", s.1, d_.1)));
                    }
                    let region = vk::BufferCopy { src_offset: 0, dst_offset: 0, size: *bytes };
                    // SAFETY: recording; both buffers are alive for the run.
                    unsafe { d.cmd_copy_buffer(cmd, s.0, d_.0, &[region]) };
                }
                _ => return Err(backend_error("command and step out of step")),
            }
            if profile {
                // SAFETY: recording; query i + 1 exists.
                unsafe { d.cmd_write_timestamp(cmd, vk::PipelineStageFlags::BOTTOM_OF_PIPE, self.queries, i as u32 + 1) };
            }
        }
        let to_host = vk::MemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::SHADER_WRITE | vk::AccessFlags::TRANSFER_WRITE)
            .dst_access_mask(vk::AccessFlags::HOST_READ);
        // SAFETY: recording.
        unsafe {
            d.cmd_pipeline_barrier(cmd, STAGES, vk::PipelineStageFlags::HOST, vk::DependencyFlags::empty(), &[to_host], &[], &[]);
            d.end_command_buffer(cmd).check("vkEndCommandBuffer")?;
        }
        Ok(())
    }

    /// The buffers command `i` reads and writes.
    fn accesses(&self, bound: &[Vec<Bound>; 3], i: usize) -> edgehal::Result<(Vec<vk::Buffer>, Vec<vk::Buffer>)> {
        let mut reads = Vec::new();
        let mut writes = Vec::new();
        match (&self.program.commands[i], &self.steps[i]) {
            (Command::Dispatch(disp), Step::Dispatch { resolved, .. }) => {
                let storage = resolved.module.bindings.iter().filter(|(_, k)| *k != BindingKind::Uniform);
                for (&buf, &(_, kind)) in disp.buffers.iter().zip(storage) {
                    let b = self.resolve(bound, buf)?.0;
                    if kind == BindingKind::StorageReadWrite {
                        writes.push(b);
                    }
                    reads.push(b);
                }
            }
            (Command::Copy { src, dst, .. }, _) => {
                reads.push(self.resolve(bound, *src)?.0);
                writes.push(self.resolve(bound, *dst)?.0);
            }
            _ => return Err(backend_error("command and step out of step")),
        }
        Ok((reads, writes))
    }

    /// Binding 0 (the parameters) and the storage buffers of one dispatch.
    fn buffer_infos(&self, bound: &[Vec<Bound>; 3], bufs: &[Buf], offset: u64, range: u64) -> edgehal::Result<Vec<vk::DescriptorBufferInfo>> {
        let params = self.params.as_ref().ok_or_else(|| backend_error("no parameter buffer"))?;
        let mut infos = vec![vk::DescriptorBufferInfo { buffer: params.buffer, offset, range }];
        for &b in bufs {
            let (buffer, _, _) = self.resolve(bound, b)?;
            infos.push(vk::DescriptorBufferInfo { buffer, offset: 0, range: vk::WHOLE_SIZE });
        }
        Ok(infos)
    }

    /// Points the pooled descriptor sets at this run's buffers.
    fn write_descriptor_sets(&self, bound: &[Vec<Bound>; 3]) -> edgehal::Result<()> {
        if self.sets.is_empty() {
            return Ok(());
        }
        let mut set_index = 0;
        let mut all_infos = Vec::new();
        for (c, s) in self.program.commands.iter().zip(&self.steps) {
            if let (Command::Dispatch(disp), Step::Dispatch { resolved, offset, range }) = (c, s)
                && !resolved.push
            {
                let set = *self.sets.get(set_index).ok_or_else(|| backend_error("descriptor set missing"))?;
                set_index += 1;
                all_infos.push((set, self.buffer_infos(bound, &disp.buffers, *offset, *range)?));
            }
        }
        let writes: Vec<vk::WriteDescriptorSet> =
            all_infos.iter().flat_map(|(set, infos)| descriptor_writes(*set, infos)).collect();
        // SAFETY: the sets are not in use by a pending submission (every run waits).
        unsafe { self.ctx.device.update_descriptor_sets(&writes, &[]) };
        Ok(())
    }
}

/// One write per binding: binding 0 the uniform parameters, then the storage buffers.
fn descriptor_writes(set: vk::DescriptorSet, infos: &[vk::DescriptorBufferInfo]) -> Vec<vk::WriteDescriptorSet<'_>> {
    infos
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let ty = if i == 0 { vk::DescriptorType::UNIFORM_BUFFER } else { vk::DescriptorType::STORAGE_BUFFER };
            vk::WriteDescriptorSet::default()
                .dst_set(set)
                .dst_binding(i as u32)
                .descriptor_type(ty)
                .buffer_info(std::slice::from_ref(info))
        })
        .collect()
}

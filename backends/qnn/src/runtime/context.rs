//! Context binaries: saving a compiled graph's context and creating one from saved bytes.

use std::ffi::c_void;
use std::sync::Arc;

use crate::desc::QnnGraphDesc;

use super::error::{backend_error, call_error};
use super::ffi::{self, Handle};
use super::graph::{CompileOptions, QnnGraph};
use super::library::{QnnRuntime, qnn_fn};
use super::log;
use super::system;
use super::tensors::{TensorSet, c_string};

impl QnnGraph {
    /// contextGetBinarySize + contextGetBinary: the serialized context holding this graph.
    pub fn context_binary(&self) -> edgehal::Result<Vec<u8>> {
        let name = self.rt.kind().name();
        let get_size = qnn_fn!(self.rt, context_get_binary_size)?;
        let get_binary = qnn_fn!(self.rt, context_get_binary)?;
        let _guard = self.rt.lock();
        let mark = log::mark();
        let mut size = 0u64;
        // SAFETY: valid context; out-pointer valid for writes.
        let err = unsafe { get_size(self.context, &mut size) };
        if err != ffi::SUCCESS {
            return Err(call_error(name, "contextGetBinarySize", err, mark));
        }
        let mut bytes = vec![0u8; size as usize];
        let mut written = 0u64;
        // SAFETY: `bytes` has `size` writable bytes; out-pointer valid for writes.
        let err = unsafe { get_binary(self.context, bytes.as_mut_ptr() as *mut c_void, size, &mut written) };
        if err != ffi::SUCCESS {
            return Err(call_error(name, "contextGetBinary", err, mark));
        }
        if written > size {
            return Err(backend_error(name, format!("contextGetBinary wrote {written} bytes into {size}")));
        }
        bytes.truncate(written as usize);
        Ok(bytes)
    }
}

impl QnnRuntime {
    /// contextCreateFromBinary + graphRetrieve(`graph.name`). `graph` supplies the input and
    /// output tensors' metadata; their ids are the ones the binary records (read with
    /// `libQnnSystem.so`'s systemContextGetBinaryInfo, from the backend library's directory),
    /// matched by tensor name. The binary must hold exactly one graph.
    pub fn load_context_binary(
        self: &Arc<Self>,
        bytes: &[u8],
        graph: &QnnGraphDesc,
        options: &CompileOptions,
    ) -> edgehal::Result<QnnGraph> {
        let name = self.kind().name();
        graph.check().map_err(|why| backend_error(name, format!("graph `{}`: {why}", graph.name)))?;
        let create = qnn_fn!(self, context_create_from_binary)?;
        let retrieve = qnn_fn!(self, graph_retrieve)?;
        let mut g = QnnGraph::empty(self, graph, options);
        let _guard = self.lock();
        let mark = log::mark();
        let mut context: Handle = std::ptr::null_mut();
        // SAFETY: valid backend/device handles; `bytes` is readable for its length during the
        // call (no persistent-binary config is given, so the backend copies what it keeps).
        let err = unsafe {
            create(
                self.backend_handle(),
                self.device_handle(),
                std::ptr::null(),
                bytes.as_ptr() as *const c_void,
                bytes.len() as u64,
                &mut context,
                std::ptr::null_mut(),
            )
        };
        if err != ffi::SUCCESS {
            return Err(call_error(name, "contextCreateFromBinary", err, mark));
        }
        g.context = context;
        let graph_name = c_string(&graph.name);
        let mark = log::mark();
        // SAFETY: valid context; NUL-terminated name; out-pointer valid for writes.
        let err = unsafe { retrieve(g.context, graph_name.as_ptr(), &mut g.graph) };
        if err != ffi::SUCCESS {
            return Err(call_error(name, &format!("graphRetrieve(`{}`)", graph.name), err, mark));
        }
        // Tensor ids: from the binary's metadata (libQnnSystem), matched by name.
        let system = system::system_library_path(self.library_path());
        let ids = system::graph_io_ids(name, &system, bytes, &graph.name)?;
        let mut tensors = TensorSet::default();
        for t in &graph.tensors {
            tensors.add(t);
        }
        tensors.release_static_data();
        for &i in graph.inputs.iter().chain(&graph.outputs) {
            let t = &graph.tensors[i];
            let id = ids.get(&t.name).copied().ok_or_else(|| {
                let mut known: Vec<_> = ids.keys().cloned().collect();
                known.sort();
                backend_error(
                    name,
                    format!(
                        "context binary's graph `{}` has no input/output `{}` (it has {known:?})",
                        graph.name, t.name
                    ),
                )
            })?;
            tensors.tensors[i].v.id = id;
        }
        g.tensors = tensors;
        Ok(g)
    }
}

//! `libQnnSystem.so`: reading a context binary's metadata (the ids and names of each graph's
//! input and output tensors), which graphExecute needs for a graph retrieved from a binary.

use std::collections::HashMap;
use std::ffi::{CStr, c_void};
use std::path::{Path, PathBuf};

use super::error::{backend_error, describe};
use super::ffi::{self, Handle, SystemInterfaceProvider};

/// The system library's file name.
pub const SYSTEM_LIBRARY_FILE: &str = "libQnnSystem.so";
/// The oldest system API version whose table layout is declared in `ffi` (1.11, as in the
/// `onnxruntime-qnn` 2.3.0 wheel).
const MIN_SYSTEM_API: (u32, u32) = (1, 11);

/// The system library next to `backend_library` (or by plain name when that has no directory).
pub fn system_library_path(backend_library: &Path) -> PathBuf {
    match backend_library.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(SYSTEM_LIBRARY_FILE),
        _ => PathBuf::from(SYSTEM_LIBRARY_FILE),
    }
}

/// Name to id of the inputs and outputs of graph `graph_name` in the context binary `bytes`.
pub fn graph_io_ids(
    backend: &str,
    library: &Path,
    bytes: &[u8],
    graph_name: &str,
) -> edgehal::Result<HashMap<String, u32>> {
    let err_at = |why: String| backend_error(backend, format!("{}: {why}", library.display()));
    // SAFETY: loading Qualcomm's system library runs its initializers, as its clients are expected to.
    let lib = unsafe { libloading::Library::new(library) }
        .map_err(|e| backend_error(backend, format!("unavailable: {}: {e}", library.display())))?;
    // SAFETY: the symbol has this signature in QnnSystemInterface.h.
    let get: libloading::Symbol<ffi::GetSystemProvidersFn> = unsafe { lib.get(ffi::GET_SYSTEM_PROVIDERS_SYMBOL) }
        .map_err(|e| backend_error(backend, format!("unavailable: {}: {e}", library.display())))?;
    let mut providers: *const *const SystemInterfaceProvider = std::ptr::null();
    let mut n = 0u32;
    // SAFETY: out-pointers valid for writes.
    let err = unsafe { get(&mut providers, &mut n) };
    if err != ffi::SUCCESS || providers.is_null() {
        return Err(err_at(format!("QnnSystemInterface_getProviders failed: {}", describe(err))));
    }
    let provider = (0..n as usize)
        // SAFETY: the library returned `n` provider pointers.
        .map(|i| unsafe { *providers.add(i) })
        .find(|&p| {
            // SAFETY: a non-null provider's version prefix is the same in every version.
            !p.is_null() && {
                let v = unsafe { (*p).system_api_version };
                v.major == MIN_SYSTEM_API.0 && v.minor >= MIN_SYSTEM_API.1
            }
        })
        .ok_or_else(|| {
            err_at(format!("no system interface provider with API {}.x (x >= {})", MIN_SYSTEM_API.0, MIN_SYSTEM_API.1))
        })?;
    // SAFETY: checked non-null, with the declared layout.
    let table = unsafe { &(*provider).table };
    let (Some(create), Some(get_info), Some(free)) =
        (table.system_context_create, table.system_context_get_binary_info, table.system_context_free)
    else {
        return Err(err_at("the system interface lacks systemContextCreate/GetBinaryInfo/Free".into()));
    };
    let mut handle: Handle = std::ptr::null_mut();
    // SAFETY: out-pointer valid for writes.
    let err = unsafe { create(&mut handle) };
    if err != ffi::SUCCESS {
        return Err(err_at(format!("systemContextCreate failed: {}", describe(err))));
    }
    // The API takes a mutable pointer but only reads the binary; use a private copy regardless.
    let mut copy = bytes.to_vec();
    let mut info: *const ffi::SystemBinaryInfo = std::ptr::null();
    let mut info_size = 0u64;
    // SAFETY: valid system context handle; `copy` is readable/writable for its length; the
    // returned metadata is owned by `handle` until systemContextFree.
    let err =
        unsafe { get_info(handle, copy.as_mut_ptr() as *mut c_void, copy.len() as u64, &mut info, &mut info_size) };
    let result = if err != ffi::SUCCESS || info.is_null() {
        Err(err_at(format!("systemContextGetBinaryInfo failed: {}", describe(err))))
    } else {
        // SAFETY: `info` points to metadata owned by `handle`, freed only below.
        unsafe { read_graph_ids(&*info, graph_name) }.map_err(err_at)
    };
    // SAFETY: `handle` came from systemContextCreate and is freed once, after its metadata is read.
    let err = unsafe { free(handle) };
    if err != ffi::SUCCESS {
        tracing::warn!("{backend}: systemContextFree: {}", describe(err));
    }
    result
}

/// # Safety
/// `info` must be binary metadata returned by systemContextGetBinaryInfo, still alive.
unsafe fn read_graph_ids(info: &ffi::SystemBinaryInfo, graph_name: &str) -> Result<HashMap<String, u32>, String> {
    // Where `numGraphs` and `graphs` are: versions 1 and 2 share the layout declared in `ffi`;
    // version 3 leaves out the hardware-info blob fields (version, size, pointer), which moves
    // them 24 bytes earlier (observed with system API 1.11: `numGraphs` at byte 96).
    let base = info as *const ffi::SystemBinaryInfo as *const u8;
    let (num_graphs, graphs) = match info.version {
        // SAFETY: versions 1 and 2 have the declared layout.
        1 | 2 => (info.num_graphs, info.graphs),
        // SAFETY: version 3's numGraphs (u32) and graphs (pointer) are at bytes 96 and 104 of the
        // struct, which is at least 112 bytes long.
        3 => unsafe {
            (
                std::ptr::read_unaligned(base.add(96) as *const u32),
                std::ptr::read_unaligned(base.add(104) as *const *const ffi::SystemGraphInfo),
            )
        },
        v => return Err(format!("context binary info version {v} is not supported")),
    };
    if graphs.is_null() || num_graphs == 0 {
        return Err("the context binary holds no graph".into());
    }
    if num_graphs != 1 {
        // Graph-info entries grow between versions, so only the first one can be addressed.
        return Err(format!("the context binary holds {num_graphs} graphs; only single-graph binaries are supported"));
    }
    // SAFETY: one entry, checked above.
    let g = unsafe { &*graphs };
    let name = if g.graph_name.is_null() {
        String::new()
    } else {
        // SAFETY: NUL-terminated string in the metadata.
        unsafe { CStr::from_ptr(g.graph_name) }.to_string_lossy().into_owned()
    };
    if name != graph_name {
        return Err(format!("the context binary's graph is `{name}`, not `{graph_name}`"));
    }
    let mut ids = HashMap::new();
    for (list, count) in [(g.inputs, g.num_inputs), (g.outputs, g.num_outputs)] {
        if list.is_null() {
            continue;
        }
        for i in 0..count as usize {
            // SAFETY: `count` Qnn_Tensor_t entries; id and name are in the V1 prefix shared by V2.
            let t = unsafe { &*list.add(i) };
            if t.v.name.is_null() {
                continue;
            }
            // SAFETY: NUL-terminated string in the metadata.
            let tname = unsafe { CStr::from_ptr(t.v.name) }.to_string_lossy().into_owned();
            ids.insert(tname, t.v.id);
        }
    }
    Ok(ids)
}

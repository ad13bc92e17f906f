//! Context binaries on disk: a compiled partition is saved as a QNN context binary named by a
//! hash of everything that shapes it (the graph description with its weights, the backend, the
//! library's API version and build), and loaded instead of compiled when the same partition
//! comes again — QNN's start-up path on devices, where finalizing a graph for HTP takes seconds.

use crate::desc::{ParamValue, QnnGraphDesc};
use crate::runtime::{CompileOptions, QnnGraph, QnnRuntime};
use edgehal::{Error, Result};
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::Xxh3;

/// A directory of context binaries for one runtime.
pub(crate) struct ContextCache {
    dir: PathBuf,
    /// Hash of the runtime's identity (backend, API version, build id).
    runtime_key: u64,
    backend: &'static str,
}

impl ContextCache {
    pub fn new(dir: &Path, runtime: &QnnRuntime) -> Self {
        let mut h = Xxh3::new();
        for part in [runtime.kind().name().to_string(), runtime.api_version(), runtime.build_id()] {
            h.update(part.as_bytes());
            h.update(&[0]);
        }
        ContextCache { dir: dir.to_path_buf(), runtime_key: h.digest(), backend: runtime.kind().name() }
    }

    /// A stable hash of the description (names, roles, dtypes, dims, bytes, ops, params).
    fn key(&self, desc: &QnnGraphDesc) -> u64 {
        let mut h = Xxh3::new();
        h.update(&self.runtime_key.to_le_bytes());
        for t in &desc.tensors {
            h.update(format!("{}|{:?}|{:?}|{:?}|{:?}", t.name, t.role, t.dtype, t.quant, t.dims).as_bytes());
            if let Some(d) = &t.data {
                h.update(&(d.len() as u64).to_le_bytes());
                h.update(d);
            }
        }
        for op in &desc.ops {
            h.update(
                format!("{}|{}|{}|{:?}|{:?}", op.name, op.package, op.type_name, op.inputs, op.outputs).as_bytes(),
            );
            for (name, value) in &op.params {
                let v = match value {
                    ParamValue::Scalar(s) => format!("{s:?}"),
                    ParamValue::Tensor(t) => format!("tensor {t}"),
                };
                h.update(format!("{name}={v};").as_bytes());
            }
        }
        h.update(format!("{:?}{:?}", desc.inputs, desc.outputs).as_bytes());
        h.digest()
    }

    /// The graph name for `desc`: its content hash (the name is stored in the binary).
    pub fn graph_name(&self, desc: &QnnGraphDesc) -> String {
        let mut named = desc.clone();
        named.name = String::new();
        format!("edgehal_{:016x}", self.key(&named))
    }

    fn path(&self, desc: &QnnGraphDesc) -> PathBuf {
        self.dir.join(format!("{}-{}.bin", self.backend, desc.name))
    }

    /// The saved graph for `desc`, if there is one the library accepts.
    pub fn load(
        &self,
        runtime: &std::sync::Arc<QnnRuntime>,
        desc: &QnnGraphDesc,
        options: &CompileOptions,
    ) -> Result<Option<QnnGraph>> {
        let path = self.path(desc);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::Io { path: path.display().to_string(), source: e }),
        };
        match runtime.load_context_binary(&bytes, desc, options) {
            Ok(g) => Ok(Some(g)),
            Err(e) => {
                tracing::warn!("{}: the QNN library refused the context binary ({e}); compiling again", path.display());
                Ok(None)
            }
        }
    }

    /// Saves `graph`'s context binary for `desc` (written to a temporary file, then renamed, so a
    /// reader never sees half a file).
    pub fn save(&self, desc: &QnnGraphDesc, graph: &QnnGraph) -> Result<()> {
        let io = |path: &Path, e| Error::Io { path: path.display().to_string(), source: e };
        std::fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        let bytes = graph.context_binary()?;
        let path = self.path(desc);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &bytes).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        Ok(())
    }
}

//! Loading a QNN backend library: interface provider, log, backend and device handles.

use std::ffi::{CStr, c_char};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::error::{backend_error, call_error, describe};
use super::ffi::{self, ApiVersion, Handle, InterfaceProvider, InterfaceTable};
use super::log;

/// The QNN core API major version this runtime's declarations are written for.
pub const CORE_API_MAJOR: u32 = 2;
/// The oldest core API minor version accepted: the function table's layout is that of 2.x with
/// `backendSetConfig`, `graphCreateSubgraph`, `profileSetConfig` and `profileGetExtendedEventData`
/// (absent in 2.7), verified against 2.36.
pub const MIN_CORE_API_MINOR: u32 = 20;

/// Which QNN backend library.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum QnnBackendKind {
    /// `libQnnCpu.so`, Qualcomm's reference CPU backend.
    Cpu,
    /// `libQnnHtp.so`, the Hexagon NPU (on x86-64 Linux, Qualcomm's functional simulator).
    Htp,
}

impl QnnBackendKind {
    /// The edgehal backend name, `"qnn-cpu"` / `"qnn-htp"`.
    pub fn name(self) -> &'static str {
        match self {
            QnnBackendKind::Cpu => "qnn-cpu",
            QnnBackendKind::Htp => "qnn-htp",
        }
    }

    /// The library's file name, `"libQnnCpu.so"` / `"libQnnHtp.so"`.
    pub fn library_file(self) -> &'static str {
        match self {
            QnnBackendKind::Cpu => "libQnnCpu.so",
            QnnBackendKind::Htp => "libQnnHtp.so",
        }
    }

    fn file_env(self) -> &'static str {
        match self {
            QnnBackendKind::Cpu => "EDGEHAL_QNN_CPU_LIB",
            QnnBackendKind::Htp => "EDGEHAL_QNN_HTP_LIB",
        }
    }
}

/// Options for [`QnnRuntime::load`].
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The library file, or a directory holding it; `None` loads the plain file name through the
    /// dynamic loader's search path.
    pub library: Option<PathBuf>,
    /// Maximum QNN log level passed to `logCreate` (1 error .. 5 debug); `None` means warnings.
    pub log_level: Option<u32>,
}

impl LoadOptions {
    /// From the environment: `EDGEHAL_QNN_CPU_LIB` / `EDGEHAL_QNN_HTP_LIB` (a file) if set, else
    /// `EDGEHAL_QNN_LIB_DIR` (a directory holding the libraries), else the directory
    /// `scripts/qnn-libs.sh` unpacks into by default (`$EDGEHAL_QNN_CACHE` or
    /// `~/.cache/edgehal/qnn`, then `onnxruntime_qnn`) when it holds the library, else the plain
    /// file name (the dynamic loader's search path).
    /// `EDGEHAL_QNN_LOG_LEVEL` (1..5) sets the log level.
    pub fn from_env(kind: QnnBackendKind) -> Self {
        let library = std::env::var_os(kind.file_env())
            .filter(|v| !v.is_empty())
            .or_else(|| std::env::var_os("EDGEHAL_QNN_LIB_DIR").filter(|v| !v.is_empty()))
            .map(PathBuf::from)
            .or_else(|| default_cache_dir().filter(|d| d.join(kind.library_file()).is_file()));
        let log_level = std::env::var("EDGEHAL_QNN_LOG_LEVEL").ok().and_then(|v| v.parse().ok());
        LoadOptions { library, log_level }
    }

    fn resolve(&self, kind: QnnBackendKind) -> PathBuf {
        match &self.library {
            Some(p) if p.is_dir() => p.join(kind.library_file()),
            Some(p) => p.clone(),
            None => PathBuf::from(kind.library_file()),
        }
    }
}

/// One loaded QNN backend: the library, its interface table, and the log, backend and (where the
/// backend has devices) device handles. Calls into the backend are serialized by a mutex.
pub struct QnnRuntime {
    kind: QnnBackendKind,
    path: PathBuf,
    table: *const InterfaceTable,
    provider_version: ApiVersion,
    backend_version: ApiVersion,
    build_id: String,
    log: Handle,
    backend: Handle,
    device: Handle,
    lock: Mutex<()>,
    // Dropped after `Drop::drop` has freed every handle: the table points into the library.
    _library: libloading::Library,
}

// SAFETY: the handles and the table pointer are plain addresses owned by the library; every call
// that uses them goes through `QnnRuntime::lock` (QNN handles may be used from any thread), and
// the library stays loaded as long as the runtime exists.
unsafe impl Send for QnnRuntime {}
// SAFETY: as above; shared access only reads immutable fields or takes `lock`.
unsafe impl Sync for QnnRuntime {}

impl std::fmt::Debug for QnnRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QnnRuntime")
            .field("kind", &self.kind)
            .field("path", &self.path)
            .field("api", &self.api_version())
            .finish()
    }
}

/// Looks up a function of the table, or says which one the library leaves out.
macro_rules! qnn_fn {
    ($rt:expr, $field:ident) => {
        $rt.table().$field.ok_or_else(|| {
            $crate::runtime::error::backend_error(
                $rt.kind().name(),
                concat!("the library's interface has no ", stringify!($field)),
            )
        })
    };
}
pub(crate) use qnn_fn;

impl QnnRuntime {
    /// Loads the library, picks the interface provider whose core API major version is
    /// [`CORE_API_MAJOR`], and creates the log, backend and device handles.
    pub fn load(kind: QnnBackendKind, options: &LoadOptions) -> edgehal::Result<Arc<QnnRuntime>> {
        let name = kind.name();
        let path = options.resolve(kind);
        // SAFETY: loading a QNN backend library runs its initializers, which is what the QNN API
        // expects of its clients; nothing else is assumed about the library yet.
        let library = unsafe { libloading::Library::new(&path) }
            .map_err(|e| backend_error(name, format!("unavailable: {}: {e}", path.display())))?;
        // SAFETY: the symbol is declared in QnnInterface.h with exactly this signature.
        let get_providers: libloading::Symbol<ffi::GetProvidersFn> = unsafe { library.get(ffi::GET_PROVIDERS_SYMBOL) }
            .map_err(|e| backend_error(name, format!("unavailable: {}: {e}", path.display())))?;
        let mut providers: *const *const InterfaceProvider = std::ptr::null();
        let mut count = 0u32;
        // SAFETY: both out-pointers are valid for writes.
        let err = unsafe { get_providers(&mut providers, &mut count) };
        if err != ffi::SUCCESS || providers.is_null() {
            return Err(backend_error(name, format!("QnnInterface_getProviders failed: {}", describe(err))));
        }
        let mut found = Vec::new();
        let mut chosen: Option<*const InterfaceProvider> = None;
        for i in 0..count as usize {
            // SAFETY: the library returned `count` provider pointers, valid while it is loaded.
            let p = unsafe { *providers.add(i) };
            if p.is_null() {
                continue;
            }
            // SAFETY: `p` points to a QnnInterface_t; its version prefix has the same layout in
            // every API version.
            let v = unsafe { (*p).api_version.core };
            found.push(format!("{}.{}.{}", v.major, v.minor, v.patch));
            if v.major == CORE_API_MAJOR && v.minor >= MIN_CORE_API_MINOR && chosen.is_none() {
                chosen = Some(p);
            }
        }
        let provider = chosen.ok_or_else(|| {
            backend_error(
                name,
                format!(
                    "{}: no interface provider with core API {CORE_API_MAJOR}.x (x >= {MIN_CORE_API_MINOR}); \
                     the library offers [{}]",
                    path.display(),
                    found.join(", ")
                ),
            )
        })?;
        // SAFETY: `provider` was checked non-null and has the 2.x layout declared in `ffi`.
        let (table, provider_version) =
            unsafe { (&(*provider).table as *const InterfaceTable, (*provider).api_version) };
        let mut rt = QnnRuntime {
            kind,
            path,
            table,
            provider_version,
            backend_version: provider_version,
            build_id: String::new(),
            log: std::ptr::null_mut(),
            backend: std::ptr::null_mut(),
            device: std::ptr::null_mut(),
            lock: Mutex::new(()),
            _library: library,
        };
        rt.init(options.log_level.unwrap_or(log::LEVEL_WARN))?;
        Ok(Arc::new(rt))
    }

    /// Creates the handles; on error, `Drop` frees whatever was created.
    fn init(&mut self, log_level: u32) -> edgehal::Result<()> {
        let name = self.kind.name();
        if let Some(get_version) = self.table().backend_get_api_version {
            let mut v = ApiVersion::default();
            // SAFETY: `v` is valid for writes; the call needs no backend handle.
            let err = unsafe { get_version(&mut v) };
            if err == ffi::SUCCESS {
                self.backend_version = v;
            }
        }
        if let Some(get_build_id) = self.table().backend_get_build_id {
            let mut id: *const c_char = std::ptr::null();
            // SAFETY: `id` is valid for writes; the string is owned by the library.
            let err = unsafe { get_build_id(&mut id) };
            if err == ffi::SUCCESS && !id.is_null() {
                // SAFETY: a NUL-terminated string from the library.
                self.build_id = unsafe { CStr::from_ptr(id) }.to_string_lossy().into_owned();
            }
        }
        let mark = log::mark();
        let log_create = qnn_fn!(self, log_create)?;
        // SAFETY: the callback matches QnnLog_Callback_t and lives for the whole process.
        let err = unsafe { log_create(Some(log::callback), log_level.clamp(1, 5), &mut self.log) };
        if err != ffi::SUCCESS {
            // Logging is a convenience: go on without it.
            tracing::warn!("{name}: logCreate failed: {}", describe(err));
            self.log = std::ptr::null_mut();
        }
        let backend_create = qnn_fn!(self, backend_create)?;
        // SAFETY: a null config list is allowed; `self.backend` is valid for writes.
        let err = unsafe { backend_create(self.log, std::ptr::null(), &mut self.backend) };
        if err != ffi::SUCCESS {
            self.backend = std::ptr::null_mut();
            return Err(call_error(name, "backendCreate", err, mark));
        }
        if let Some(device_create) = self.table().device_create {
            let mut device: Handle = std::ptr::null_mut();
            // SAFETY: a null config list is allowed; `device` is valid for writes.
            let err = unsafe { device_create(self.log, std::ptr::null(), &mut device) };
            if err == ffi::SUCCESS {
                self.device = device;
            } else {
                // The CPU backend has no devices (QNN_DEVICE_ERROR_UNSUPPORTED_FEATURE); contexts
                // then use the default device (a null handle).
                tracing::debug!("{name}: deviceCreate: {}; using the default device", describe(err));
            }
        }
        Ok(())
    }

    /// Which backend this is.
    pub fn kind(&self) -> QnnBackendKind {
        self.kind
    }

    /// The library file as it was opened.
    pub fn library_path(&self) -> &Path {
        &self.path
    }

    /// `"core 2.x.y, backend a.b.c"`, as `backendGetApiVersion` reports it.
    pub fn api_version(&self) -> String {
        let (c, b) = (self.backend_version.core, self.backend_version.backend);
        format!("core {}.{}.{}, backend {}.{}.{}", c.major, c.minor, c.patch, b.major, b.minor, b.patch)
    }

    /// `backendGetBuildId` (empty if the backend gives none).
    pub fn build_id(&self) -> String {
        self.build_id.clone()
    }

    /// The core API version of the interface provider in use.
    pub fn provider_api_version(&self) -> (u32, u32, u32) {
        let c = self.provider_version.core;
        (c.major, c.minor, c.patch)
    }

    pub(crate) fn table(&self) -> &InterfaceTable {
        // SAFETY: the table lives in the library, which stays loaded while `self` exists.
        unsafe { &*self.table }
    }

    pub(crate) fn backend_handle(&self) -> Handle {
        self.backend
    }

    pub(crate) fn device_handle(&self) -> Handle {
        self.device
    }

    /// Serializes calls into the backend.
    pub(crate) fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for QnnRuntime {
    fn drop(&mut self) {
        // Contexts are freed by their `QnnGraph`s, which keep the runtime alive; what is left is
        // device, backend and log, in the reverse order of creation.
        let table = self.table();
        if !self.device.is_null()
            && let Some(free) = table.device_free
        {
            // SAFETY: `device` came from deviceCreate and is freed once.
            let err = unsafe { free(self.device) };
            if err != ffi::SUCCESS {
                tracing::warn!("{}: deviceFree: {}", self.kind.name(), describe(err));
            }
        }
        if !self.backend.is_null()
            && let Some(free) = table.backend_free
        {
            // SAFETY: `backend` came from backendCreate and is freed once.
            let err = unsafe { free(self.backend) };
            if err != ffi::SUCCESS {
                tracing::warn!("{}: backendFree: {}", self.kind.name(), describe(err));
            }
        }
        if !self.log.is_null()
            && let Some(free) = table.log_free
        {
            // SAFETY: `log` came from logCreate and is freed once, after the backend using it.
            let err = unsafe { free(self.log) };
            if err != ffi::SUCCESS {
                tracing::warn!("{}: logFree: {}", self.kind.name(), describe(err));
            }
        }
    }
}

/// Where `scripts/qnn-libs.sh` puts the libraries by default (`$EDGEHAL_QNN_CACHE` or
/// `~/.cache/edgehal/qnn`, then `onnxruntime_qnn`).
pub fn default_cache_dir() -> Option<PathBuf> {
    let cache = std::env::var_os("EDGEHAL_QNN_CACHE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/edgehal/qnn")))?;
    Some(cache.join("onnxruntime_qnn"))
}

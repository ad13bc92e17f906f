//! A recording fake of the NeuralNetworks C API, for tests: `extern "C"` functions that record
//! every call (name and arguments) in a thread-local log, return configurable result codes, and
//! compute executions with a small interpreter ([`interp`]) so outputs reach the caller.
//!
//! **Threads.** The fake's state ([`FakeState`]: the log, injected failures, listed devices, live
//! handle counts) is thread-local, so tests running in parallel do not see each other's calls. A
//! call made on another thread (a session run in a spawned thread) records into that thread's
//! own state, a default one unless the thread called [`reset`]: no failures, no devices listed
//! (device handles, leaked for the process, stay valid on every thread). Handles are separate
//! heap objects, mutated only while a model is built, so calls from two threads at once share
//! nothing mutable: the fake is as thread-safe as the NNAPI contract the backend relies on.

mod interp;

use crate::ffi::*;
use crate::symbols::Symbols;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::ffi::{CStr, CString, c_char, c_void};

/// An operand as the fake saw it in `addOperand`.
#[derive(Clone, Debug)]
pub struct FakeOperand {
    pub ty: i32,
    pub dims: Vec<u32>,
}

/// A model as built through the fake.
#[derive(Default)]
pub struct FakeModel {
    pub operands: Vec<FakeOperand>,
    pub values: HashMap<u32, Vec<u8>>,
    pub channel_quant: HashMap<u32, (u32, Vec<f32>)>,
    pub operations: Vec<(i32, Vec<u32>, Vec<u32>)>,
    pub inputs: Vec<u32>,
    pub outputs: Vec<u32>,
}

struct FakeCompilation {
    model: *const FakeModel,
}

struct FakeExecution {
    compilation: *const FakeCompilation,
    inputs: HashMap<i32, (*const u8, usize)>,
    outputs: HashMap<i32, (*mut u8, usize)>,
}

/// A device the fake lists.
pub struct FakeDevice {
    pub name: CString,
    pub ty: i32,
    pub level: i64,
    pub version: CString,
}

/// What the fake does and has seen, per test thread.
#[derive(Default)]
pub struct FakeState {
    /// Every call, in order, e.g. `addOperation(9, in=[0, 1, 2, 3], out=[4])`.
    pub calls: Vec<String>,
    /// Entry points made to fail: name (as recorded) → result code.
    pub fail: HashMap<&'static str, i32>,
    /// Devices listed (leaked for the process).
    pub devices: Vec<&'static FakeDevice>,
    /// Operation codes the device reports unsupported.
    pub unsupported_ops: Vec<i32>,
    /// What `getDuration` reports for `ON_HARDWARE`.
    pub duration_ns: u64,
    /// Runtime feature level.
    pub runtime_level: i64,
    /// Handles created and not yet freed on this thread, by kind (`model`, `compilation`,
    /// `execution`, `burst`): only failed creates hand out none, as NNAPI documents.
    pub live: BTreeMap<&'static str, i64>,
}

thread_local! {
    static STATE: RefCell<FakeState> = RefCell::new(FakeState::default());
}

/// Resets the thread's fake: one accelerator `fake-npu` of feature level `level`.
pub fn reset(level: i64) {
    let device = Box::leak(Box::new(FakeDevice {
        name: CString::from(c"fake-npu"),
        ty: device_type::ACCELERATOR,
        level,
        version: CString::from(c"1.0"),
    }));
    STATE.with(|s| {
        *s.borrow_mut() =
            FakeState { devices: vec![device], duration_ns: 1234, runtime_level: level, ..FakeState::default() }
    });
}

/// Runs `f` on the thread's fake state.
pub fn with<R>(f: impl FnOnce(&mut FakeState) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

/// The kinds of handle created on this thread and not freed, with how many (empty: no leak).
pub fn leaked_handles() -> Vec<(&'static str, i64)> {
    with(|s| s.live.iter().filter(|(_, n)| **n != 0).map(|(k, n)| (*k, *n)).collect())
}

/// Counts a handle of `kind` created (`+1`) or freed (`-1`) on this thread.
fn count_live(kind: &'static str, delta: i64) {
    with(|s| *s.live.entry(kind).or_default() += delta);
}

/// The calls recorded so far (and clears them).
pub fn take_calls() -> Vec<String> {
    with(|s| std::mem::take(&mut s.calls))
}

/// Records `call` under `name`; returns the configured failure code for `name`, if any.
fn record(name: &'static str, call: String) -> i32 {
    with(|s| {
        s.calls.push(call);
        s.fail.get(name).copied().unwrap_or(result::NO_ERROR)
    })
}

fn list(ids: *const u32, n: u32) -> Vec<u32> {
    if n == 0 || ids.is_null() {
        return Vec::new();
    }
    // SAFETY: the caller passes `n` valid indices.
    unsafe { std::slice::from_raw_parts(ids, n as usize) }.to_vec()
}

/// The symbol table pointing at this fake, with every entry point present.
pub fn symbols() -> Symbols {
    Symbols {
        model_create,
        model_free,
        model_finish,
        model_add_operand,
        model_set_operand_value,
        model_add_operation,
        model_identify_inputs_and_outputs,
        compilation_create,
        compilation_free,
        compilation_set_preference,
        compilation_finish,
        execution_create,
        execution_free,
        execution_set_input,
        execution_set_output,
        execution_compute,
        model_set_operand_symm_per_channel_quant_params: Some(model_set_channel_quant),
        model_get_supported_operations_for_devices: Some(model_get_supported),
        compilation_create_for_devices: Some(compilation_create_for_devices),
        compilation_set_caching: Some(compilation_set_caching),
        execution_set_measure_timing: Some(execution_set_measure_timing),
        execution_get_duration: Some(execution_get_duration),
        execution_burst_compute: Some(execution_burst_compute),
        burst_create: Some(burst_create),
        burst_free: Some(burst_free),
        get_device_count: Some(get_device_count),
        get_device: Some(get_device),
        device_get_name: Some(device_get_name),
        device_get_type: Some(device_get_type),
        device_get_version: Some(device_get_version),
        device_get_feature_level: Some(device_get_feature_level),
        get_runtime_feature_level: Some(get_runtime_feature_level),
    }
}

// The fake's handles are Box pointers it hands out itself; the SAFETY of each dereference below
// rests on the backend passing back only handles the fake created and not yet freed.

unsafe extern "C" fn model_create(model: *mut *mut ANeuralNetworksModel) -> i32 {
    let code = record("model_create", "Model_create".into());
    if code == result::NO_ERROR {
        // SAFETY: `model` is the caller's out-pointer.
        unsafe { *model = Box::into_raw(Box::new(FakeModel::default())).cast() };
        count_live("model", 1);
    }
    code
}

unsafe extern "C" fn model_free(model: *mut ANeuralNetworksModel) {
    record("model_free", "Model_free".into());
    count_live("model", -1);
    // SAFETY: a handle from `model_create`, freed once.
    drop(unsafe { Box::from_raw(model.cast::<FakeModel>()) });
}

unsafe extern "C" fn model_finish(_model: *mut ANeuralNetworksModel) -> i32 {
    record("model_finish", "Model_finish".into())
}

unsafe extern "C" fn model_add_operand(model: *mut ANeuralNetworksModel, ty: *const ANeuralNetworksOperandType) -> i32 {
    // SAFETY: the caller passes a valid operand type.
    let ty = unsafe { *ty };
    let dims = list(ty.dimensions, ty.dimension_count);
    let code = record("model_add_operand", format!("addOperand(type={}, dims={dims:?})", ty.type_));
    // SAFETY: a live handle from `model_create`.
    unsafe { &mut *model.cast::<FakeModel>() }.operands.push(FakeOperand { ty: ty.type_, dims });
    code
}

unsafe extern "C" fn model_set_operand_value(
    model: *mut ANeuralNetworksModel,
    index: i32,
    buffer: *const c_void,
    length: usize,
) -> i32 {
    let code = record("model_set_operand_value", format!("setOperandValue({index}, {length} bytes)"));
    // SAFETY: the caller passes `length` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts(buffer.cast::<u8>(), length) }.to_vec();
    // SAFETY: a live handle from `model_create`.
    unsafe { &mut *model.cast::<FakeModel>() }.values.insert(index as u32, bytes);
    code
}

unsafe extern "C" fn model_set_channel_quant(
    model: *mut ANeuralNetworksModel,
    index: i32,
    q: *const ANeuralNetworksSymmPerChannelQuantParams,
) -> i32 {
    // SAFETY: the caller passes valid params with `scale_count` scales.
    let (dim, scales) =
        unsafe { ((*q).channel_dim, std::slice::from_raw_parts((*q).scales, (*q).scale_count as usize)) };
    let code = record(
        "model_set_channel_quant",
        format!("setOperandSymmPerChannelQuantParams({index}, dim={dim}, scales={scales:?})"),
    );
    // SAFETY: a live handle from `model_create`.
    unsafe { &mut *model.cast::<FakeModel>() }.channel_quant.insert(index as u32, (dim, scales.to_vec()));
    code
}

unsafe extern "C" fn model_add_operation(
    model: *mut ANeuralNetworksModel,
    ty: i32,
    n_in: u32,
    ins: *const u32,
    n_out: u32,
    outs: *const u32,
) -> i32 {
    let (ins, outs) = (list(ins, n_in), list(outs, n_out));
    let code = record("model_add_operation", format!("addOperation({ty}, in={ins:?}, out={outs:?})"));
    // SAFETY: a live handle from `model_create`.
    unsafe { &mut *model.cast::<FakeModel>() }.operations.push((ty, ins, outs));
    code
}

unsafe extern "C" fn model_identify_inputs_and_outputs(
    model: *mut ANeuralNetworksModel,
    n_in: u32,
    ins: *const u32,
    n_out: u32,
    outs: *const u32,
) -> i32 {
    let (ins, outs) = (list(ins, n_in), list(outs, n_out));
    let code = record("model_identify", format!("identifyInputsAndOutputs(in={ins:?}, out={outs:?})"));
    // SAFETY: a live handle from `model_create`.
    let m = unsafe { &mut *model.cast::<FakeModel>() };
    (m.inputs, m.outputs) = (ins, outs);
    code
}

unsafe extern "C" fn model_get_supported(
    model: *const ANeuralNetworksModel,
    _devices: *const *const ANeuralNetworksDevice,
    n: u32,
    flags: *mut bool,
) -> i32 {
    let code = record("model_get_supported", format!("getSupportedOperationsForDevices({n} devices)"));
    // SAFETY: a live, finished handle from `model_create`.
    let m = unsafe { &*model.cast::<FakeModel>() };
    let refused = with(|s| s.unsupported_ops.clone());
    for (i, (ty, _, _)) in m.operations.iter().enumerate() {
        // SAFETY: the caller passes one flag per operation.
        unsafe { *flags.add(i) = !refused.contains(ty) };
    }
    code
}

/// Hands out a compilation of `model` when `code` is success, else a null one (as NNAPI does).
fn new_compilation(code: i32, model: *mut ANeuralNetworksModel, out: *mut *mut ANeuralNetworksCompilation) -> i32 {
    if code != result::NO_ERROR {
        // SAFETY: `out` is the caller's out-pointer.
        unsafe { *out = std::ptr::null_mut() };
        return code;
    }
    // SAFETY: `out` is the caller's out-pointer.
    unsafe { *out = Box::into_raw(Box::new(FakeCompilation { model: model.cast_const().cast() })).cast() };
    count_live("compilation", 1);
    code
}

unsafe extern "C" fn compilation_create(
    model: *mut ANeuralNetworksModel,
    out: *mut *mut ANeuralNetworksCompilation,
) -> i32 {
    let code = record("compilation_create", "Compilation_create".into());
    new_compilation(code, model, out)
}

unsafe extern "C" fn compilation_create_for_devices(
    model: *mut ANeuralNetworksModel,
    devices: *const *const ANeuralNetworksDevice,
    n: u32,
    out: *mut *mut ANeuralNetworksCompilation,
) -> i32 {
    // SAFETY: the caller passes `n` device handles, which the fake made from `FakeDevice`s.
    let names: Vec<String> = unsafe { std::slice::from_raw_parts(devices, n as usize) }
        .iter()
        .map(|&d| unsafe { &*d.cast::<FakeDevice>() }.name.to_string_lossy().into_owned())
        .collect();
    let code = record("compilation_create_for_devices", format!("Compilation_createForDevices({names:?})"));
    new_compilation(code, model, out)
}

unsafe extern "C" fn compilation_free(c: *mut ANeuralNetworksCompilation) {
    record("compilation_free", "Compilation_free".into());
    count_live("compilation", -1);
    // SAFETY: a handle from a compilation create, freed once.
    drop(unsafe { Box::from_raw(c.cast::<FakeCompilation>()) });
}

unsafe extern "C" fn compilation_set_preference(_c: *mut ANeuralNetworksCompilation, p: i32) -> i32 {
    record("compilation_set_preference", format!("setPreference({p})"))
}

unsafe extern "C" fn compilation_set_caching(
    _c: *mut ANeuralNetworksCompilation,
    dir: *const c_char,
    token: *const u8,
) -> i32 {
    // SAFETY: the caller passes a NUL-terminated directory and a 32-byte token.
    let (dir, token) = unsafe { (CStr::from_ptr(dir), std::slice::from_raw_parts(token, CACHE_TOKEN_BYTES)) };
    let hex: String = token.iter().map(|b| format!("{b:02x}")).collect();
    record("compilation_set_caching", format!("setCaching({}, {hex})", dir.to_string_lossy()))
}

unsafe extern "C" fn compilation_finish(_c: *mut ANeuralNetworksCompilation) -> i32 {
    record("compilation_finish", "Compilation_finish".into())
}

unsafe extern "C" fn burst_create(_c: *mut ANeuralNetworksCompilation, out: *mut *mut ANeuralNetworksBurst) -> i32 {
    let code = record("burst_create", "Burst_create".into());
    if code != result::NO_ERROR {
        // SAFETY: `out` is the caller's out-pointer.
        unsafe { *out = std::ptr::null_mut() };
        return code;
    }
    // SAFETY: `out` is the caller's out-pointer; the burst is a dummy allocation.
    unsafe { *out = Box::into_raw(Box::new(0u8)).cast() };
    count_live("burst", 1);
    code
}

unsafe extern "C" fn burst_free(b: *mut ANeuralNetworksBurst) {
    record("burst_free", "Burst_free".into());
    count_live("burst", -1);
    // SAFETY: a handle from `burst_create`, freed once.
    drop(unsafe { Box::from_raw(b.cast::<u8>()) });
}

unsafe extern "C" fn execution_create(
    c: *mut ANeuralNetworksCompilation,
    out: *mut *mut ANeuralNetworksExecution,
) -> i32 {
    let code = record("execution_create", "Execution_create".into());
    if code != result::NO_ERROR {
        // SAFETY: `out` is the caller's out-pointer.
        unsafe { *out = std::ptr::null_mut() };
        return code;
    }
    count_live("execution", 1);
    let e = FakeExecution { compilation: c.cast_const().cast(), inputs: HashMap::new(), outputs: HashMap::new() };
    // SAFETY: `out` is the caller's out-pointer.
    unsafe { *out = Box::into_raw(Box::new(e)).cast() };
    code
}

unsafe extern "C" fn execution_free(e: *mut ANeuralNetworksExecution) {
    record("execution_free", "Execution_free".into());
    count_live("execution", -1);
    // SAFETY: a handle from `execution_create`, freed once.
    drop(unsafe { Box::from_raw(e.cast::<FakeExecution>()) });
}

unsafe extern "C" fn execution_set_input(
    e: *mut ANeuralNetworksExecution,
    i: i32,
    _ty: *const ANeuralNetworksOperandType,
    buf: *const c_void,
    len: usize,
) -> i32 {
    let code = record("execution_set_input", format!("setInput({i}, {len} bytes)"));
    // SAFETY: a live handle from `execution_create`.
    unsafe { &mut *e.cast::<FakeExecution>() }.inputs.insert(i, (buf.cast(), len));
    code
}

unsafe extern "C" fn execution_set_output(
    e: *mut ANeuralNetworksExecution,
    i: i32,
    _ty: *const ANeuralNetworksOperandType,
    buf: *mut c_void,
    len: usize,
) -> i32 {
    let code = record("execution_set_output", format!("setOutput({i}, {len} bytes)"));
    // SAFETY: a live handle from `execution_create`.
    unsafe { &mut *e.cast::<FakeExecution>() }.outputs.insert(i, (buf.cast(), len));
    code
}

unsafe extern "C" fn execution_set_measure_timing(_e: *mut ANeuralNetworksExecution, on: bool) -> i32 {
    record("execution_set_measure_timing", format!("setMeasureTiming({on})"))
}

unsafe extern "C" fn execution_get_duration(_e: *const ANeuralNetworksExecution, which: i32, ns: *mut u64) -> i32 {
    let code = record("execution_get_duration", format!("getDuration({which})"));
    let d = with(|s| s.duration_ns);
    // SAFETY: `ns` is the caller's out-pointer.
    unsafe { *ns = if which == duration::ON_HARDWARE { d } else { duration::UNAVAILABLE } };
    code
}

/// Evaluates the execution's model on its inputs and writes its outputs.
fn compute(e: *mut ANeuralNetworksExecution) -> i32 {
    // SAFETY: a live execution, whose compilation and model are alive (the backend frees them later).
    let (exec, model) = unsafe {
        let exec = &*e.cast::<FakeExecution>();
        (exec, &*(*exec.compilation).model)
    };
    let mut values: Vec<Option<interp::Dense>> = vec![None; model.operands.len()];
    for (&i, bytes) in &model.values {
        values[i as usize] = Some(interp::decode(&model.operands[i as usize], bytes));
    }
    for (pos, &i) in model.inputs.iter().enumerate() {
        let Some(&(ptr, len)) = exec.inputs.get(&(pos as i32)) else { return result::BAD_STATE };
        // SAFETY: the caller keeps `len` readable bytes at `ptr` until compute returns.
        let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
        values[i as usize] = Some(interp::decode(&model.operands[i as usize], bytes));
    }
    if let Err(why) = interp::run(model, &mut values) {
        with(|s| s.calls.push(format!("fake driver error: {why}")));
        return result::OP_FAILED;
    }
    for (pos, &i) in model.outputs.iter().enumerate() {
        let Some(&(ptr, len)) = exec.outputs.get(&(pos as i32)) else { return result::BAD_STATE };
        let Some(value) = &values[i as usize] else { return result::OP_FAILED };
        let bytes = interp::encode(&model.operands[i as usize], value);
        if bytes.len() != len {
            return result::OUTPUT_INSUFFICIENT_SIZE;
        }
        // SAFETY: the caller keeps `len` writable bytes at `ptr` until compute returns.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, len) };
    }
    result::NO_ERROR
}

unsafe extern "C" fn execution_compute(e: *mut ANeuralNetworksExecution) -> i32 {
    let code = record("execution_compute", "compute".into());
    if code != result::NO_ERROR { code } else { compute(e) }
}

unsafe extern "C" fn execution_burst_compute(e: *mut ANeuralNetworksExecution, _b: *mut ANeuralNetworksBurst) -> i32 {
    let code = record("execution_burst_compute", "burstCompute".into());
    if code != result::NO_ERROR { code } else { compute(e) }
}

unsafe extern "C" fn get_device_count(n: *mut u32) -> i32 {
    let count = with(|s| s.devices.len() as u32);
    let code = record("get_device_count", "getDeviceCount".into());
    // SAFETY: `n` is the caller's out-pointer.
    unsafe { *n = count };
    code
}

unsafe extern "C" fn get_device(i: u32, out: *mut *mut ANeuralNetworksDevice) -> i32 {
    let dev = with(|s| s.devices.get(i as usize).map(|d| std::ptr::from_ref(*d)));
    let code = record("get_device", format!("getDevice({i})"));
    // SAFETY: `out` is the caller's out-pointer.
    unsafe { *out = dev.map_or(std::ptr::null_mut(), |d| d.cast_mut().cast()) };
    if dev.is_none() { result::BAD_DATA } else { code }
}

fn device<'a>(d: *const ANeuralNetworksDevice) -> &'a FakeDevice {
    // SAFETY: device handles are leaked `FakeDevice`s from `get_device`.
    unsafe { &*d.cast::<FakeDevice>() }
}

unsafe extern "C" fn device_get_name(d: *const ANeuralNetworksDevice, name: *mut *const c_char) -> i32 {
    // SAFETY: `name` is the caller's out-pointer; the string is leaked with its device.
    unsafe { *name = device(d).name.as_ptr() };
    record("device_get_name", "Device_getName".into())
}

unsafe extern "C" fn device_get_type(d: *const ANeuralNetworksDevice, ty: *mut i32) -> i32 {
    // SAFETY: `ty` is the caller's out-pointer.
    unsafe { *ty = device(d).ty };
    record("device_get_type", "Device_getType".into())
}

unsafe extern "C" fn device_get_version(d: *const ANeuralNetworksDevice, v: *mut *const c_char) -> i32 {
    // SAFETY: `v` is the caller's out-pointer; the string is leaked with its device.
    unsafe { *v = device(d).version.as_ptr() };
    record("device_get_version", "Device_getVersion".into())
}

unsafe extern "C" fn device_get_feature_level(d: *const ANeuralNetworksDevice, l: *mut i64) -> i32 {
    // SAFETY: `l` is the caller's out-pointer.
    unsafe { *l = device(d).level };
    record("device_get_feature_level", "Device_getFeatureLevel".into())
}

unsafe extern "C" fn get_runtime_feature_level() -> i64 {
    with(|s| s.runtime_level)
}

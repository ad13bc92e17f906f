//! `edgehal devices` and `edgehal conform` on the QNN backends, as a chip vendor runs them: the
//! binary itself, on Qualcomm's x86-64 libraries (`scripts/qnn-libs.sh`). Without the libraries
//! these tests say so and pass, unless `EDGEHAL_QNN_REQUIRED` is set (CI sets it).

mod common;

use common::{edgehal, ok, temp_dir};
use serde_json::Value;

/// Whether the QNN libraries are where the backend looks (after saying why not).
fn libraries_present() -> bool {
    let dir = std::env::var_os("EDGEHAL_QNN_LIB_DIR")
        .map(std::path::PathBuf::from)
        .or_else(edgehal_qnn::runtime::default_cache_dir);
    let present = dir.as_ref().is_some_and(|d| d.join("libQnnCpu.so").is_file() && d.join("libQnnHtp.so").is_file());
    if !present {
        assert!(
            std::env::var_os("EDGEHAL_QNN_REQUIRED").is_none(),
            "EDGEHAL_QNN_REQUIRED is set but the QNN libraries are not in {dir:?} (run scripts/qnn-libs.sh)"
        );
        eprintln!("skipping: no QNN libraries in {dir:?} (run scripts/qnn-libs.sh)");
    }
    present
}

#[test]
fn devices_lists_both_qnn_backends() {
    if !libraries_present() {
        return;
    }
    let listed = ok(&["devices"]);
    for name in ["qnn-cpu", "qnn-htp"] {
        assert!(listed.contains(name), "`edgehal devices` does not list {name}:\n{listed}");
    }
}

/// The quick suite through the binary: exit 0, no case failed, and the core ops ran.
fn conform_passes(backend: &str, must_run: &[&str]) {
    if !libraries_present() {
        return;
    }
    let dir = temp_dir(backend);
    let json = dir.join("report.json");
    let out = edgehal(&["conform", "--backend", backend, "--json", json.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "edgehal conform --backend {backend} failed:\n{stdout}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).expect("valid JSON");
    assert_eq!(v["summary"]["failed"].as_u64(), Some(0), "{stdout}");
    assert_eq!(v["summary"]["errors"].as_u64(), Some(0), "{stdout}");
    let cases = v["cases"].as_array().unwrap();
    for op in must_run {
        let passed = cases.iter().filter(|c| c["op"] == *op && c["status"] == "pass").count();
        assert!(passed > 0, "no {op} case passed on {backend}:\n{stdout}");
    }
    // Special values are among the cases run, not only declined.
    let special = cases.iter().filter(|c| c["family"] == "nan" && c["status"] == "pass").count();
    assert!(special > 0, "no special-value case ran on {backend}");
}

#[test]
fn conform_passes_on_qnn_cpu() {
    conform_passes("qnn-cpu", &["matmul", "attention", "softmax", "rms_norm", "add", "permute"]);
}

#[test]
fn conform_passes_on_qnn_htp() {
    conform_passes("qnn-htp", &["matmul", "attention", "softmax", "add", "permute"]);
}

//! `devices` and `bench`: machine-readable output that parses and holds what it promises.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn devices_json_without_probes() {
    let out = ok(&["devices", "--json", "--no-probe"]);
    let v: Value = serde_json::from_str(&out).expect("devices --json prints JSON");
    assert!(v["machine"]["llc_bytes"].as_u64().unwrap() > 0);
    let cpu = &v["backends"][0];
    assert_eq!(cpu["backend"], "cpu");
    assert_eq!(cpu["available"], true);
    assert_eq!(cpu["device"]["kind"], "cpu");
    assert!(!cpu["device"]["features"].as_array().unwrap().is_empty());
    assert!(cpu["device"]["workers"].as_u64().unwrap() >= 1);
    assert!(cpu.get("peaks").is_none(), "--no-probe measures nothing");
}

#[test]
fn devices_text_with_probes() {
    let out = ok(&["devices"]);
    assert!(out.contains("cpu: available"), "{out}");
    assert!(out.contains("GFLOP/s f32 FMA") && out.contains("GB/s read"), "{out}");
}

#[test]
fn bench_small_preset_writes_json() {
    let dir = temp_dir("bench_small");
    let path = dir.join("bench.json");
    let out = ok(&["bench", "--preset", "small", "--iters", "2", "--json", path.to_str().unwrap()]);
    assert!(out.contains("GFLOP/s") && out.contains("matmul q4_0"), "{out}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("valid JSON");
    assert_eq!(v["preset"], "small");
    assert!(v["peaks"]["f32_gflops"].as_f64().unwrap() > 0.0);
    assert!(v["peaks"]["read_gbps"].as_f64().unwrap() > 0.0);
    let probes = v["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 2);
    let best = probes.iter().map(|p| p["f32_gflops"].as_f64().unwrap()).fold(0.0, f64::max);
    assert_eq!(v["peaks"]["f32_gflops"].as_f64().unwrap(), best);
    assert!(v["machine"]["cpus"].as_u64().unwrap() >= 1);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), ok(&["bench", "--preset", "small", "--list"]).lines().count());
    for r in results {
        assert!(r.get("error").is_none(), "{r}");
        assert_eq!(r["iters"], 2, "{r}");
        let (median, best) = (r["median_ns"].as_u64().unwrap(), r["best_ns"].as_u64().unwrap());
        assert!(best > 0 && best <= median, "{r}");
        assert!(r["gbps"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["pct_bw_peak"].as_f64().unwrap().is_finite(), "{r}");
        assert!(["memory", "compute"].contains(&r["bound"].as_str().unwrap()), "{r}");
        if r["bound"] == "memory" {
            assert!(r["copies"].as_u64().unwrap() > 1, "tiny memory-bound cases cycle over copies: {r}");
        }
    }
}

#[test]
fn bench_custom_shape_and_filters() {
    let dir = temp_dir("bench_custom");
    let path = dir.join("b.json");
    ok(&[
        "bench",
        "--op",
        "matmul",
        "--dtype",
        "q8_0",
        "--shape",
        "2x64x128",
        "--iters",
        "1",
        "--json",
        path.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["preset"], "custom");
    let r = &v["results"][0];
    assert_eq!((r["op"].as_str(), r["dtype"].as_str()), (Some("matmul"), Some("q8_0")));
    assert_eq!(r["flops"], 2 * 2 * 64 * 128);

    let listed = ok(&["bench", "--preset", "llama-matmul", "--dtype", "q6_k", "--list"]);
    assert_eq!(listed.lines().count(), 6, "{listed}");
    assert!(listed.lines().all(|l| l.starts_with("matmul q6_k")), "{listed}");

    // A case that cannot be built (a q4_0 KV cache) is reported and fails the run.
    let out = edgehal(&["bench", "--op", "attention", "--dtype", "q4_0", "--shape", "2x1x1x4x32", "--iters", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error: 1 of 1 benchmarks failed"));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("tensor `k` has dtype q4_0, expected f32 or f16"), "{table}");
    assert!(fails(&["bench", "--shape", "1x64x64"]).contains("--shape needs --op"));
    assert!(fails(&["bench", "--op", "matmul", "--shape", "1x64"]).contains("M,N,K"));
    assert!(fails(&["bench", "--op", "fft"]).contains("unknown bench op `fft`"));
    assert!(fails(&["bench", "--preset", "attention", "--dtype", "q4_0"]).contains("no case matching"));
}

#[test]
fn conform_quick_on_one_op_writes_every_report() {
    let dir = temp_dir("conform");
    let (json, junit, md) = (dir.join("c.json"), dir.join("c.xml"), dir.join("c.md"));
    let out = edgehal(&[
        "conform",
        "--op",
        "rms_norm",
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).expect("valid JSON");
    let cases = v["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    assert!(cases.iter().all(|c| c["op"] == "rms_norm"));
    let failed = v["summary"]["failed"].as_u64().unwrap() + v["summary"]["errors"].as_u64().unwrap();
    assert_eq!(out.status.success(), failed == 0, "exit status follows the failures");
    assert_eq!(std::fs::read_to_string(&md).unwrap(), stdout, "the markdown printed is the markdown written");
    assert!(stdout.contains("rms_norm"), "{stdout}");
    assert!(std::fs::read_to_string(&junit).unwrap().contains("<testsuite"));

    let listed = ok(&["conform", "--op", "rms_norm", "--list"]);
    assert_eq!(listed.lines().count(), cases.len());
    assert!(fails(&["conform", "--op", "conv"]).contains("unknown op `conv`; known: matmul"));
    assert!(fails(&["conform", "--backend", "npu0"]).contains("unknown backend `npu0`"));
}

#[test]
fn conform_exits_non_zero_when_a_case_fails() {
    // The cases test the CPU kernels; whatever their state, the exit code must say whether any
    // failed (silu's wide-range case failed when this was written, exercising exit 1).
    let dir = temp_dir("conform_silu");
    let json = dir.join("c.json");
    let out = edgehal(&["conform", "--op", "silu", "--json", json.to_str().unwrap()]);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let failed = v["summary"]["failed"].as_u64().unwrap() + v["summary"]["errors"].as_u64().unwrap();
    assert_eq!(out.status.code(), Some(if failed == 0 { 0 } else { 1 }));
    if failed > 0 {
        assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("error: {failed} of ")));
    }
}

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
fn bench_small_preset_writes_json() {
    let dir = temp_dir("bench_small");
    let path = dir.join("bench.json");
    let out = ok(&["bench", "--preset", "small", "--iters", "2", "--json", path.to_str().unwrap()]);
    assert!(out.contains("GFLOP/s") && out.contains("matmul q4_0"), "{out}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("valid JSON");
    assert_eq!(v["preset"], "small");
    assert!(v["peaks"]["f32_gflops"].as_f64().unwrap() > 0.0);
    assert!(v["peaks"]["read_gbps"].as_f64().unwrap() > 0.0);
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

    assert!(fails(&["bench", "--shape", "1x64x64"]).contains("--shape needs --op"));
    assert!(fails(&["bench", "--op", "matmul", "--shape", "1x64"]).contains("M,N,K"));
    assert!(fails(&["bench", "--op", "fft"]).contains("unknown bench op `fft`"));
    assert!(fails(&["bench", "--preset", "attention", "--dtype", "q4_0"]).contains("no case matching"));
}

//! `edgehal calibrate`: fits the energy model to a fake RAPL tree counting a constant power (so
//! the fit must put it all in the static term), writes the model where `bench` reads it back, and
//! fails cleanly without a meter.

mod common;

use common::fake_rapl::FakeRapl;
use common::temp_dir;
use serde_json::Value;
use std::fs;
use std::process::Command;

/// Package power of the fake tree (DRAM adds a quarter).
const WATTS: f64 = 2.0;

fn edgehal(args: &[&str], powercap: &std::path::Path, model_dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_edgehal"))
        .args(args)
        .env("EDGEHAL_POWERCAP_ROOT", powercap)
        .env("EDGEHAL_ENERGY_MODEL_DIR", model_dir)
        .output()
        .expect("the binary runs")
}

#[test]
fn a_constant_power_meter_fits_to_static_power_and_bench_uses_the_fit() {
    let dir = temp_dir("calibrate_fake_rapl");
    let rapl = FakeRapl::start(&dir, WATTS);
    let models = dir.join("models");
    let json = dir.join("report.json");
    let args = ["calibrate", "--small", "--window-ms", "30", "--windows", "2", "--json", json.to_str().unwrap()];
    let out = edgehal(&args, &rapl.root, &models);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("fitted to rapl:package-0, rapl:dram"), "{stdout}");

    let path = models.join("energy-model-cpu.json");
    let fitted: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let m = &fitted["model"];
    let total = FakeRapl::total_watts(WATTS);
    let static_w = m["static_w"].as_f64().unwrap();
    assert!((static_w - total).abs() < 0.1 * total, "static {static_w} W, the meter counts {total} W: {fitted}");
    assert!(fitted["rms_relative_error"].as_f64().unwrap() < 0.1, "{fitted}");
    assert_eq!(fitted["windows"], 12, "6 cases x 2 windows: {fitted}");
    // Each window's fitted joules are within 10 % of the meter's.
    let report: Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    for case in report["cases"].as_array().unwrap() {
        let measured = case["measured_j"].as_array().unwrap();
        let fit = case["fitted_j"].as_array().unwrap();
        assert_eq!(measured.len(), 2, "{case}");
        for (a, b) in measured.iter().zip(fit) {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(a > 0.0 && (a - b).abs() < 0.1 * a, "{case}");
        }
    }

    // bench prices modelled energy with the fitted model (no meter this time: an empty root).
    let empty = dir.join("no-powercap");
    fs::create_dir_all(&empty).unwrap();
    let bench_json = dir.join("bench.json");
    let bench = ["bench", "--preset", "small", "--op", "add", "--iters", "2", "--json", bench_json.to_str().unwrap()];
    let out = edgehal(&bench, &empty, &models);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("energy model for cpu: fitted to rapl:package-0"), "{stdout}");
    let v: Value = serde_json::from_str(&fs::read_to_string(&bench_json).unwrap()).unwrap();
    let r = &v["results"][0];
    assert_eq!(r["energy_label"], "modelled", "{r}");
    // With the fit's near-zero dynamic terms, the op's energy is about its time at static power.
    let seconds = r["median_ns"].as_f64().unwrap() * 1e-9;
    let j = r["energy_j"].as_f64().unwrap();
    assert!(j > 0.5 * static_w * seconds && j < 2.0 * static_w * seconds, "{j} J in {seconds} s: {r}");
}

#[test]
fn without_a_meter_calibrate_says_why_and_a_bad_model_file_is_named() {
    let dir = temp_dir("calibrate_no_meter");
    let empty = dir.join("no-powercap");
    fs::create_dir_all(&empty).unwrap();
    let out = edgehal(&["calibrate", "--small"], &empty, &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no energy meter covers") && stderr.contains("rapl:"), "{stderr}");
    assert!(!dir.join("energy-model-cpu.json").exists());

    let bad = dir.join("bad.json");
    fs::write(&bad, "{\"backend\": \"cpu\"}").unwrap();
    let out =
        edgehal(&["bench", "--preset", "small", "--op", "add", "--energy-model", bad.to_str().unwrap()], &empty, &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("bad.json") && stderr.contains("not an energy model"), "{stderr}");
}

//! `edgehal profile`: bench cases with modelled energy (no meter), and attributed from a fake RAPL
//! tree whose counters advance at an exact power; a fitted energy model pricing the ops; a
//! model's prefill and decode with energy per token; usage errors.

mod common;

use common::fake_rapl::FakeRapl;
use common::{fails, temp_dir};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// The three tiny matmuls of the `small` preset: well under a second each in a debug build.
const MATMULS: &[&str] = &["profile", "--preset", "small", "--op", "matmul"];

/// What one `edgehal profile` run left: stdout, the parsed trace and JSON.
struct Run {
    stdout: String,
    trace: Value,
    json: Value,
}

/// Runs `edgehal` with `args` plus `--trace` and `--json` into `dir`, the powercap root at
/// `powercap` and no cached energy model; expects success.
fn profile(dir: &Path, powercap: &Path, args: &[&str]) -> Run {
    let (trace, json) = (dir.join("trace.json"), dir.join("profile.json"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_edgehal"))
        .args(args)
        .args(["--trace", trace.to_str().unwrap(), "--json", json.to_str().unwrap()])
        .env("EDGEHAL_POWERCAP_ROOT", powercap)
        .env("EDGEHAL_ENERGY_MODEL_DIR", dir.join("no-fitted-models"))
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "edgehal {args:?} failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let parse = |p: &Path| -> Value { serde_json::from_str(&fs::read_to_string(p).unwrap()).expect("valid JSON") };
    Run { stdout, trace: parse(&trace), json: parse(&json) }
}

/// An empty directory as the powercap root: no meter.
fn no_meter(dir: &Path) -> PathBuf {
    let root = dir.join("no-powercap");
    fs::create_dir_all(&root).unwrap();
    root
}

fn events(trace: &Value) -> &Vec<Value> {
    trace["traceEvents"].as_array().expect("traceEvents")
}

/// The names of the trace's processes, in order.
fn processes(trace: &Value) -> Vec<String> {
    events(trace)
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "process_name")
        .map(|e| e["args"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// Counter events whose track name starts with `prefix`.
fn counters<'t>(trace: &'t Value, prefix: &str) -> Vec<&'t Value> {
    events(trace).iter().filter(|e| e["ph"] == "C" && e["name"].as_str().unwrap().starts_with(prefix)).collect()
}

#[test]
fn bench_cases_without_a_meter_have_modelled_energy() {
    let dir = temp_dir("profile_modelled");
    let run = profile(&dir, &no_meter(&dir), MATMULS);
    for needle in ["energy (mJ)", "pJ/FLOP", "modelled", "== matmul f32 m=4 n=64 k=64 on cpu", "energy model for cpu"] {
        assert!(run.stdout.contains(needle), "missing `{needle}`: {}", run.stdout);
    }
    let phases = run.json["phases"].as_array().unwrap();
    let labels: Vec<&str> = phases.iter().map(|p| p["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["matmul f32 m=4 n=64 k=64", "matmul q4_0 m=1 n=64 k=256", "matmul q4_k m=2 n=32 k=256"]);
    for p in phases {
        assert_eq!(p["energy_label"], "modelled", "{p}");
        assert!(p["energy_j"].as_f64().unwrap() > 0.0, "{p}");
        assert_eq!(p["profile"]["energy_window_runs"], 1, "one run without a meter: {p}");
        assert!(p["profile"]["energy_windows"].as_array().unwrap().is_empty(), "{p}");
    }
    // One process per case, laid end to end; spans carry their energy; power tracks per backend.
    assert_eq!(processes(&run.trace), labels);
    let spans: Vec<&Value> = events(&run.trace).iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(spans.len(), 3);
    for (i, s) in spans.iter().enumerate() {
        assert_eq!(s["pid"], i + 1, "{s}");
        assert!(s["args"]["energy_j"].as_f64().unwrap() > 0.0, "{s}");
        assert_eq!(s["args"]["energy_label"], "modelled", "{s}");
    }
    let ts = |i: usize| spans[i]["ts"].as_f64().unwrap();
    let first_total_us = phases[0]["profile"]["total_ns"].as_f64().unwrap() / 1e3;
    assert!(ts(1) >= first_total_us && ts(2) > ts(1), "cases end to end: {spans:?}");
    let power = counters(&run.trace, "power ");
    assert_eq!(power.len(), 6);
    assert!(power.iter().any(|c| c["args"]["W"].as_f64().unwrap() > 0.0));
    assert!(counters(&run.trace, "meter ").is_empty());
}

/// The package's power in the fake RAPL tree (its DRAM draws a quarter of it).
const WATTS: f64 = 2.0;

#[test]
fn a_fake_rapl_tree_gives_attributed_energy_and_meter_tracks() {
    let dir = temp_dir("profile_rapl");
    let rapl = FakeRapl::start(&dir, WATTS);
    let run = profile(&dir, &rapl.root, MATMULS);
    drop(rapl);
    assert!(run.stdout.contains("energy: meters rapl:package-0, rapl:dram"), "{}", run.stdout);
    assert!(run.stdout.contains("runs in one meter window"), "{}", run.stdout);
    let phases = run.json["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 3);
    for p in phases {
        let label = p["energy_label"].as_str().unwrap();
        assert!(["attributed", "measured"].contains(&label), "{p}");
        let profile = &p["profile"];
        assert!(profile["energy_notes"].as_array().unwrap().is_empty(), "{profile}");
        // Several runs (a tiny matmul takes well under a ms), for 10 update periods of 1 ms.
        let runs = profile["energy_window_runs"].as_f64().unwrap();
        assert!(runs > 1.0, "{profile}");
        let windows = profile["energy_windows"].as_array().unwrap();
        assert_eq!(windows.len(), 2, "{profile}");
        // The runs' energies add up to the meters' windows (package and DRAM both used).
        let joules: f64 = windows.iter().map(|w| w["joules"].as_f64().unwrap()).sum();
        let per_run = p["energy_j"].as_f64().unwrap();
        assert!((per_run * runs - joules).abs() <= 1e-9 * joules, "{per_run} J x {runs} vs {joules} J");
        for r in profile["records"].as_array().unwrap() {
            assert_ne!(r["energy"]["label"], "modelled", "{r}");
        }
    }
    // Each case's two meter tracks, at the window's average power over its case's span.
    let meters = counters(&run.trace, "meter rapl:");
    assert_eq!(meters.len(), 3 * 2 * 2);
    let pids: Vec<u64> = meters.iter().map(|m| m["pid"].as_u64().unwrap()).collect();
    assert_eq!(pids, [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    let spans = events(&run.trace).iter().filter(|e| e["ph"] == "X");
    assert!(spans.into_iter().all(|s| s["args"]["energy_label"] != "modelled"));

    // Windows of --repeat runs, long enough (~100 ms) that the writer's scheduling delays on a
    // busy machine stay small beside them, count the power the writer set: the package's and
    // its DRAM's together.
    let rapl = FakeRapl::start(&dir, WATTS);
    let run = profile(&dir, &rapl.root, &[MATMULS, &["--dtype", "f32", "--repeat", "300"]].concat());
    drop(rapl);
    assert!(run.stdout.contains("300 runs in one meter window"), "{}", run.stdout);
    let profile = &run.json["phases"][0]["profile"];
    assert_eq!(profile["energy_window_runs"], 300);
    let want = FakeRapl::total_watts(WATTS);
    let close = |w: f64| (w / want - 1.0).abs() < 0.1;
    let windows = profile["energy_windows"].as_array().unwrap();
    let joules: f64 = windows.iter().map(|w| w["joules"].as_f64().unwrap()).sum();
    let watts = joules / windows[0]["seconds"].as_f64().unwrap();
    assert!(close(watts), "{watts} W, want {want}: {windows:?}");
    let tracks: Vec<f64> =
        counters(&run.trace, "meter rapl:").iter().map(|m| m["args"]["W"].as_f64().unwrap()).collect();
    assert_eq!(tracks.len(), 4);
    assert!(close(tracks.iter().sum()), "{tracks:?}, want {want} W in all");
}

#[test]
fn a_fitted_energy_model_prices_the_ops() {
    let dir = temp_dir("profile_fitted");
    // 1 pJ per f32 FLOP and nothing else: the f32 matmul costs exactly 1 pJ/FLOP.
    let fitted = serde_json::json!({
        "backend": "cpu",
        "model": { "pj_per_flop_f32": 1.0, "pj_per_flop_f16": 1.0, "pj_per_op_int8": 1.0, "pj_per_byte": 0.0,
                   "static_w": 0.0 },
        "meters": ["rapl:package-0"], "windows": 12, "rms_relative_error": 0.05, "fitted_unix_s": 0
    });
    let path = dir.join("fitted.json");
    fs::write(&path, fitted.to_string()).unwrap();
    let args = [MATMULS, &["--dtype", "f32", "--energy-model", path.to_str().unwrap()]].concat();
    let run = profile(&dir, &no_meter(&dir), &args);
    assert!(run.stdout.contains("energy model for cpu: fitted to rapl:package-0"), "{}", run.stdout);
    let row = run.stdout.lines().find(|l| l.starts_with("matmul@cpu")).unwrap();
    assert!(row.contains(" 1.00 ") && row.contains("modelled"), "{row}");
    let p = &run.json["phases"][0];
    let want = 2.0 * 4.0 * 64.0 * 64.0 * 1e-12;
    assert!((p["energy_j"].as_f64().unwrap() - want).abs() <= 1e-9 * want, "{p}");
    // A model fitted for another backend is refused.
    let other = dir.join("other.json");
    fs::write(&other, fitted.to_string().replace("\"cpu\"", "\"wgpu\"")).unwrap();
    let err = fails(&[MATMULS, &["--energy-model", other.to_str().unwrap()]].concat());
    assert!(err.contains("not `cpu`"), "{err}");
}

#[test]
fn a_model_profiles_prefill_and_decode() {
    let Some(model) = common::smollm2_path() else { return };
    let dir = temp_dir("profile_model");
    let model = model.to_str().unwrap();
    let args = ["profile", "--model", model, "--prompt-tokens", "8", "--gen-tokens", "2", "--ctx", "64"];
    let run = profile(&dir, &no_meter(&dir), &args);
    // 8 tokens are under a quarter of the 64-token chunk: the model runs them as 8 decode steps.
    for needle in ["== prefill of SmolLM2", "8 tokens in 8 runs", "== decode of SmolLM2", "2 steps", "matmul@cpu"] {
        assert!(run.stdout.contains(needle), "missing `{needle}`: {}", run.stdout);
    }
    let line = run.stdout.lines().find(|l| l.starts_with("energy per token:")).expect("a J/token line");
    assert!(line.contains("prefill") && line.contains("decode") && line.contains("mJ/token (modelled)"), "{line}");
    let phases = run.json["phases"].as_array().unwrap();
    let labels: Vec<&str> = phases.iter().map(|p| p["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["prefill", "decode"]);
    assert_eq!((&phases[0]["tokens"], &phases[1]["tokens"]), (&Value::from(8), &Value::from(2)));
    for p in phases {
        let (j, per_token) = (p["energy_j"].as_f64().unwrap(), p["j_per_token"].as_f64().unwrap());
        assert!(per_token > 0.0 && (per_token * p["tokens"].as_f64().unwrap() - j).abs() <= 1e-9 * j, "{p}");
    }
    // Every run's records, end to end: prefill's 8 runs hold 4x the records of decode's 2.
    let records = |i: usize| phases[i]["profile"]["records"].as_array().unwrap().len();
    assert_eq!(records(0), 4 * records(1));
    assert_eq!(processes(&run.trace), ["prefill", "decode"]);
    let prefill_us = phases[0]["profile"]["total_ns"].as_f64().unwrap() / 1e3;
    let decode_spans = events(&run.trace).iter().filter(|e| e["ph"] == "X" && e["pid"] == 2);
    assert!(decode_spans.into_iter().all(|s| s["ts"].as_f64().unwrap() >= prefill_us));
}

#[test]
fn usage_errors_are_one_line() {
    let err = fails(&["profile"]);
    assert!(err.contains("nothing to profile: give --preset P"), "{err}");
    let err = fails(&["profile", "--preset", "small", "--model", "m.gguf"]);
    assert!(err.contains("either --preset P or --model M.gguf, not both"), "{err}");
    let err = fails(&["profile", "--model", "m.gguf", "--op", "matmul"]);
    assert!(err.contains("go with --preset"), "{err}");
    let err = fails(&["profile", "--preset", "small", "--gen-tokens", "4"]);
    assert!(err.contains("go with --model"), "{err}");
    let err = fails(&["profile", "--preset", "small", "--repeat", "0"]);
    assert!(err.contains("at least 1"), "{err}");
    let err = fails(&["profile", "--preset", "huge"]);
    assert!(err.contains("unknown preset `huge`"), "{err}");
    let err = fails(&["profile", "--preset", "small", "--op", "conv"]);
    assert!(err.contains("unknown bench op `conv`"), "{err}");
    let err = fails(&["profile", "--model", "/nonexistent/m.gguf"]);
    assert!(err.contains("/nonexistent/m.gguf"), "{err}");
}

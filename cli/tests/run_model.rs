//! `edgehal run` and `edgehal bench --model` through the binary: SmolLM2 continues the France
//! prompt with " Paris", the model benchmark reports its figures as JSON, and bad model files or
//! arguments give one clean error line.

mod common;

use common::{fails, ok, temp_dir};

fn smollm2() -> Option<String> {
    common::smollm2_path().map(|p| p.to_string_lossy().into_owned())
}

#[test]
fn run_continues_the_prompt_and_reports_speed() {
    let Some(model) = smollm2() else { return };
    let out = common::edgehal(&["run", "--model", &model, "--prompt", "The capital of France is", "-n", "8"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("The capital of France is Paris."), "{stdout}");
    for needle in ["prefill", "decode", "tokens/s", "time to first token"] {
        assert!(stderr.contains(needle), "missing `{needle}`: {stderr}");
    }
    // The GPU backends (lavapipe in CI) give the same answer through the CLI.
    for backend in ["wgpu", "vulkan"] {
        let args = ["run", "--model", &model, "--prompt", "The capital of France is", "-n", "2", "--backend", backend];
        let stdout = ok(&args);
        assert!(stdout.starts_with("The capital of France is Paris."), "{backend}: {stdout}");
    }
    // Seeded sampling repeats itself.
    let args =
        ["run", "--model", &model, "--prompt", "Once upon a time", "-n", "12", "--temperature", "0.8", "--top-k", "40"];
    let a = ok(&[&args[..], &["--seed", "3"]].concat());
    let b = ok(&[&args[..], &["--seed", "3"]].concat());
    assert_eq!(a, b);
}

#[test]
fn bench_model_writes_its_figures() {
    let Some(model) = smollm2() else { return };
    let dir = temp_dir("bench-model");
    let json = dir.join("m.json");
    let json_s = json.to_string_lossy().into_owned();
    let args =
        ["bench", "--model", &model, "--prompt-tokens", "16", "--gen-tokens", "4", "--repeats", "1", "--ctx", "64"];
    let stdout = ok(&[&args[..], &["--json", &json_s]].concat());
    assert!(stdout.contains("% of the") && stdout.contains("tokens/s"), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for key in [
        "prefill_tokens_per_s",
        "decode_tokens_per_s",
        "decode_percent_of_read_peak",
        "weight_bytes_per_token",
        "prefill_j_per_token",
        "decode_j_per_token",
    ] {
        assert!(v[key].as_f64().is_some_and(|x| x > 0.0), "{key}: {v}");
    }
    // No meter here: J/token is labelled modelled, the mean of every decode step asked for.
    assert_eq!(v["energy_label"], "modelled", "{v}");
    assert_eq!(v["energy_decode_steps"], 4, "{v}");
    assert!(stdout.contains("mJ/token"), "{stdout}");
    let too_long = ["bench", "--model", &model, "--prompt-tokens", "60", "--gen-tokens", "10", "--ctx", "64"];
    let err = fails(&too_long);
    assert!(err.contains("exceed the context"), "{err}");
}

#[test]
fn bad_model_files_are_clean_errors() {
    let dir = temp_dir("bad-model");
    let missing = dir.join("none.gguf").to_string_lossy().into_owned();
    let err = fails(&["run", "--model", &missing, "--prompt", "hi"]);
    assert!(err.contains("none.gguf"), "{err}");
    let junk = dir.join("junk.gguf");
    std::fs::write(&junk, b"GGUF\x03\x00\x00\x00 truncated").unwrap();
    let err = fails(&["run", "--model", &junk.to_string_lossy(), "--prompt", "hi"]);
    assert!(err.contains("GGUF") && err.contains("byte"), "{err}");
    let err = fails(&["bench", "--model", &junk.to_string_lossy()]);
    assert!(err.contains("GGUF"), "{err}");
}

//! `bench --plot`: the SVG parses, holds one marker per case in each panel and the peaks' labels;
//! the JSON carries energy per op, modelled without a meter and measured (attributed) with a fake
//! RAPL tree whose counters a writer thread advances.

mod common;

use common::fake_rapl::FakeRapl;
use common::temp_dir;
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Tiny matmuls (three cases): seconds even in a debug build.
const CASES: &[&str] = &["--preset", "small", "--op", "matmul", "--iters", "2"];
/// Generous: the machine is shared and the bench probes the peaks twice.
const TIMEOUT: Duration = Duration::from_secs(600);

/// Runs `edgehal bench` with `CASES`, `--plot` and `--json` into `dir`, the powercap root set to
/// `powercap`; returns the parsed JSON and the SVG text.
fn bench(dir: &Path, powercap: &Path) -> (Value, String) {
    let (svg, json) = (dir.join("x.svg"), dir.join("x.json"));
    let (out, err) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgehal"))
        .arg("bench")
        .args(CASES)
        .args(["--plot", svg.to_str().unwrap(), "--json", json.to_str().unwrap()])
        .env("EDGEHAL_POWERCAP_ROOT", powercap)
        .stdout(Stdio::from(fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(fs::File::create(&err).unwrap()))
        .spawn()
        .expect("the binary runs");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("edgehal bench ran over {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (fs::read_to_string(out).unwrap(), fs::read_to_string(err).unwrap());
    assert!(status.success(), "edgehal bench failed: {err}\n{out}");
    assert!(out.contains("J/op") && out.contains("pJ/FLOP"), "{out}");
    let v: Value = serde_json::from_str(&fs::read_to_string(json).unwrap()).expect("valid JSON");
    (v, fs::read_to_string(svg).unwrap())
}

/// What the SVG holds: `<text>` contents, filled and hollow markers.
struct Svg {
    texts: Vec<String>,
    filled: usize,
    hollow: usize,
}

fn parse_svg(text: &str) -> Svg {
    let doc = roxmltree::Document::parse(text).expect("the SVG is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert!(root.attribute("width").is_some() && root.attribute("viewBox").is_some());
    let mut svg = Svg { texts: Vec::new(), filled: 0, hollow: 0 };
    for n in root.descendants().filter(|n| n.is_element()) {
        match n.tag_name().name() {
            "text" => svg.texts.push(n.text().unwrap_or("").trim().to_string()),
            "polygon" => svg.filled += 1,
            "circle" if n.attribute("fill") == Some("none") => svg.hollow += 1,
            "circle" => svg.filled += 1,
            _ => {}
        }
    }
    svg
}

/// Checks shared by both runs; returns the results.
fn check_common(v: &Value, svg: &Svg) -> Vec<Value> {
    let results = v["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 3, "{v}");
    for r in &results {
        assert!(r.get("error").is_none(), "{r}");
        assert!(r["energy_j"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["pj_per_flop"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["gflops_per_w"].as_f64().unwrap() > 0.0, "{r}");
        // Each case is named once per panel.
        let short = r["short"].as_str().unwrap();
        assert_eq!(svg.texts.iter().filter(|t| *t == short).count(), 2, "{short}: {:?}", svg.texts);
    }
    // One marker per case in each panel (the legends are text).
    assert_eq!(svg.filled + svg.hollow, 2 * results.len(), "{:?}", svg.texts);
    let peak = format!("f32 FMA peak {:.1} GFLOP/s", v["peaks"]["f32_gflops"].as_f64().unwrap());
    let bw = format!("read bandwidth {:.1} GB/s", v["peaks"]["read_gbps"].as_f64().unwrap());
    for label in [peak, bw] {
        assert!(svg.texts.contains(&label), "{label} not in {:?}", svg.texts);
    }
    assert!(svg.texts.iter().any(|t| t == "arithmetic intensity (FLOP/byte)"), "{:?}", svg.texts);
    results
}

#[test]
fn plot_and_modelled_energy_without_a_meter() {
    let dir = temp_dir("bench_plot_modelled");
    let no_powercap = dir.join("no-powercap");
    fs::create_dir_all(&no_powercap).unwrap();
    let (v, text) = bench(&dir, &no_powercap);
    let svg = parse_svg(&text);
    let results = check_common(&v, &svg);
    assert!(v["energy_meters"].as_array().unwrap().is_empty(), "{v}");
    for r in &results {
        assert_eq!(r["energy_label"], "modelled", "{r}");
        assert_eq!(r["energy_runs_per_window"], 0, "{r}");
    }
    // Modelled energy is drawn as hollow circles, and the title says so.
    assert_eq!(svg.hollow, results.len());
    assert!(svg.texts.iter().any(|t| t.starts_with("energy per op: MODELLED")), "{:?}", svg.texts);
}

#[test]
fn a_fake_rapl_tree_gives_measured_energy() {
    let dir = temp_dir("bench_plot_rapl");
    let rapl = FakeRapl::start(&dir, 0.5);
    let (v, text) = bench(&dir, &rapl.root);
    drop(rapl);
    let svg = parse_svg(&text);
    let results = check_common(&v, &svg);
    let meters: Vec<&str> = v["energy_meters"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert_eq!(meters, ["rapl:package-0", "rapl:dram"], "{v}");
    for r in &results {
        let label = r["energy_label"].as_str().unwrap();
        assert!(["attributed", "measured"].contains(&label), "{r}");
        assert!(r["energy_runs_per_window"].as_u64().unwrap() >= 1, "{r}");
        assert_eq!(r["energy_windows"], 3, "{r}");
        assert!(!r["energy_meters"].as_array().unwrap().is_empty(), "{r}");
    }
    // No modelled marker; the title says the figures are measured.
    assert_eq!(svg.hollow, 0);
    assert!(svg.texts.iter().any(|t| t.starts_with("energy per op: MEASURED")), "{:?}", svg.texts);
}

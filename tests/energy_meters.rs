//! Energy meters on fake powercap trees, and the attribution of a window over ops.

use edgehal::energy::attribution::{EnergyWindow, OpWork};
use edgehal::energy::{ComputeClass, EnergyLabel, EnergyMeter, EnergyModel, Scope, WindowGuard, attribute, rapl};
use edgehal::{DeviceKind, Error};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A fake `/sys/class/powercap` with a package zone and its DRAM sub-zone.
fn fake_tree(tag: &str, package_uj: &str, range_uj: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("edgehal-powercap-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    for (zone, name, energy) in [("intel-rapl:0", "package-0", package_uj), ("intel-rapl:0:0", "dram", "5000")] {
        let dir = root.join(zone);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("name"), format!("{name}\n")).unwrap();
        fs::write(dir.join("energy_uj"), format!("{energy}\n")).unwrap();
        fs::write(dir.join("max_energy_range_uj"), format!("{range_uj}\n")).unwrap();
    }
    fs::create_dir_all(root.join("intel-rapl")).unwrap(); // the control-type directory, not a zone
    root
}

fn set_energy(root: &Path, uj: u64) {
    fs::write(root.join("intel-rapl:0/energy_uj"), format!("{uj}\n")).unwrap();
}

#[test]
fn finds_zones_with_their_scopes() {
    let root = fake_tree("scopes", "1000", "262143328850");
    let (meters, probes) = rapl::discover(&root);
    let names: Vec<&str> = meters.iter().map(|m| m.info().name.as_str()).collect();
    assert_eq!(names, ["rapl:package-0", "rapl:dram"]);
    assert_eq!(meters[0].info().scope, Scope::Package);
    assert_eq!(meters[1].info().scope, Scope::Dram);
    assert!(meters.iter().all(|m| m.info().covers == [DeviceKind::Cpu]));
    assert!((meters[0].info().wrap_range_j.unwrap() - 262143.328851).abs() < 1e-6);
    assert!(probes.iter().all(|p| p.available));
}

#[test]
fn unfolds_wraparound_once_and_twice() {
    let root = fake_tree("wrap", "900000", "999999"); // wraps every 1 J
    let (mut meters, _) = rapl::discover(&root);
    let pkg = &mut meters[0];
    assert_eq!(pkg.read_joules().unwrap(), 0.0);
    set_energy(&root, 100_000); // +0.2 J across one wrap
    assert!((pkg.read_joules().unwrap() - 0.2).abs() < 1e-9);
    set_energy(&root, 950_000);
    set_energy(&root, 950_000);
    assert!((pkg.read_joules().unwrap() - 1.05).abs() < 1e-9);
    set_energy(&root, 50_000); // second wrap
    assert!((pkg.read_joules().unwrap() - 1.15).abs() < 1e-9);
}

#[test]
fn a_counter_that_does_not_advance_is_an_error_not_zero_joules() {
    let root = fake_tree("stuck", "1000", "999999999");
    let (meters, _) = rapl::discover(&root);
    let mut meters: Vec<Box<dyn EnergyMeter>> = meters.into_iter().map(|m| Box::new(m) as _).collect();
    let w = WindowGuard::open(&mut meters).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(15)); // over 10 update periods
    match w.close().remove(0) {
        Err(Error::Meter { meter, why }) => {
            assert_eq!(meter, "rapl:package-0");
            assert!(why.contains("did not advance"), "{why}");
        }
        other => panic!("expected a stuck-counter error, got {other:?}"),
    }
}

#[test]
fn a_window_counts_the_joules_between_its_ends() {
    let root = fake_tree("window", "1000", "999999999");
    let (meters, _) = rapl::discover(&root);
    let mut meters: Vec<Box<dyn EnergyMeter>> = meters.into_iter().map(|m| Box::new(m) as _).collect();
    let w = WindowGuard::open(&mut meters[..1]).unwrap();
    set_energy(&root, 2_501_000);
    let got: Vec<_> = w.close().into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(got.len(), 1);
    assert!((got[0].joules - 2.5).abs() < 1e-9);
}

#[test]
fn permission_denied_is_unavailable_with_the_reason() {
    let root = fake_tree("denied", "1000", "999999999");
    // Root reads any file, so the denial comes through the reader seam.
    let reader: rapl::FileReader = Arc::new(|p: &Path| {
        if p.ends_with("energy_uj") {
            Err(io::Error::from(io::ErrorKind::PermissionDenied))
        } else {
            fs::read_to_string(p)
        }
    });
    let (meters, probes) = rapl::discover_with(&root, reader);
    assert!(meters.is_empty());
    assert_eq!(probes.len(), 2);
    for p in &probes {
        assert!(!p.available);
        assert!(p.detail.contains("permission denied") && p.detail.contains("5.10"), "{}", p.detail);
    }
}

#[test]
fn malformed_values_are_refused_when_opening_and_when_reading() {
    let root = fake_tree("malformed", "12 34", "999999999");
    let (meters, probes) = rapl::discover(&root);
    assert_eq!(meters.len(), 1, "only the DRAM zone opens");
    let pkg = probes.iter().find(|p| p.name == "rapl:package-0").unwrap();
    assert!(!pkg.available && pkg.detail.contains("not a counter value"), "{}", pkg.detail);

    let root = fake_tree("malformed-later", "1000", "999999999");
    let (mut meters, _) = rapl::discover(&root);
    fs::write(root.join("intel-rapl:0/energy_uj"), "garbage\n").unwrap();
    assert!(matches!(meters[0].read_joules(), Err(Error::Meter { .. })));
    set_energy(&root, 2_000_000_000); // past max_energy_range_uj
    let err = meters[0].read_joules().unwrap_err().to_string();
    assert!(err.contains("wrap range"), "{err}");
}

#[test]
fn no_powercap_says_why() {
    let (meters, probes) = rapl::discover(Path::new("/nonexistent/powercap"));
    assert!(meters.is_empty());
    assert_eq!(probes.len(), 1);
    assert!(!probes[0].available && probes[0].detail.contains("no powercap"), "{}", probes[0].detail);
}

fn op(kind: DeviceKind, flops: u64, bytes: u64, seconds: f64) -> OpWork {
    OpWork { kind, model: EnergyModel::for_kind(kind), class: ComputeClass::F32, flops, bytes, seconds }
}

fn window(joules: f64, seconds: f64) -> EnergyWindow {
    let root = fake_tree("attr", "1000", "999999999");
    let (meters, _) = rapl::discover(&root);
    EnergyWindow { meter: meters[0].info().clone(), joules, seconds }
}

#[test]
fn attribution_sums_to_the_window_and_labels_each_figure() {
    let ops = [
        op(DeviceKind::Cpu, 2_000_000_000, 100_000_000, 0.020),
        op(DeviceKind::Cpu, 10_000_000, 400_000_000, 0.010),
        op(DeviceKind::Gpu, 5_000_000_000, 10_000_000, 0.005),
    ];
    let w = window(1.7, 0.040);
    let a = attribute(&ops, std::slice::from_ref(&w));
    let cpu_sum = a.ops[0].joules + a.ops[1].joules + a.between_ops_j;
    assert!((cpu_sum - 1.7).abs() < 1e-12, "{cpu_sum}");
    assert_eq!(a.ops[0].label, EnergyLabel::Attributed);
    assert_eq!(a.ops[0].scopes, [Scope::Package]);
    assert_eq!(a.ops[2].label, EnergyLabel::Modelled, "the GPU op is outside the package meter");
    assert_eq!(a.ops[2].joules, a.ops[2].modelled_joules);
    // Shares follow modelled energy: op 1 moves 4× the bytes.
    let ratio = a.ops[1].joules / a.ops[0].joules;
    let model_ratio = a.ops[1].modelled_joules / a.ops[0].modelled_joules;
    assert!((ratio - model_ratio).abs() < 1e-9);
    assert_eq!(a.total().1, EnergyLabel::Modelled, "a sum takes its weakest label");
}

#[test]
fn an_op_alone_in_a_long_window_is_measured_and_short_windows_are_not() {
    let a = attribute(&[op(DeviceKind::Cpu, 1_000_000, 1_000_000, 0.095)], &[window(3.0, 0.1)]);
    assert_eq!(a.ops[0].label, EnergyLabel::Measured);
    assert!((a.ops[0].joules + a.between_ops_j - 3.0).abs() < 1e-12);
    let a = attribute(&[op(DeviceKind::Cpu, 1_000_000, 1_000_000, 0.0009)], &[window(0.01, 0.001)]);
    assert_eq!(a.ops[0].label, EnergyLabel::Attributed, "1 ms is one RAPL update period");
    let a = attribute(&[op(DeviceKind::Cpu, 1, 1, 0.001)], &[]);
    assert_eq!(a.ops[0].label, EnergyLabel::Modelled);
    assert!(a.ops[0].joules > 0.0);
}

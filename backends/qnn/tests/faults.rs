//! A wrong vendor library: the C math library handed over as the QNN backend library loads (it is
//! a valid shared object) but has no `QnnInterface_getProviders`; the typed error names the path
//! and the missing symbol, and a backend on the real library, made afterwards in the same
//! process, computes correctly. (A library path that does not exist: runtime.rs,
//! `a_missing_library_is_unavailable`.)

use edgehal::{Backend, CpuBackend, DType, Error, Graph, Policy, Session, Tensor};
use edgehal_qnn::runtime::LoadOptions;
use edgehal_qnn::{QnnBackend, QnnBackendKind, QnnOptions};
use std::path::PathBuf;
use std::sync::Arc;

/// The C math library of this machine.
fn libm() -> PathBuf {
    let candidates = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/lib/aarch64-linux-gnu/libm.so.6",
        "/usr/lib64/libm.so.6",
        "/lib64/libm.so.6",
        "/usr/lib/libm.so.6",
    ];
    candidates.iter().map(PathBuf::from).find(|p| p.is_file()).expect("libm.so.6 in a standard directory")
}

/// `x [2, 32] → matmul (w [16, 32]) → add b`, with its input.
fn graph() -> (Graph, Tensor) {
    let v = |n: usize, s: usize| (0..n).map(move |i| (((i + s) * 2654435761usize % 1000) as f32 / 500.0) - 1.0);
    let mut g = Graph::new();
    let x = g.input("x", DType::F32, &[2, 32]).unwrap();
    let w = g.weight("w", Tensor::from_f32([16, 32], &v(512, 3).collect::<Vec<_>>()).unwrap());
    let b = g.weight("b", Tensor::from_f32([2, 16], &v(32, 9).collect::<Vec<_>>()).unwrap());
    let y = g.matmul(x, w).unwrap();
    let y = g.add(y, b).unwrap();
    g.output(y).unwrap();
    (g, Tensor::from_f32([2, 32], &v(64, 5).collect::<Vec<_>>()).unwrap())
}

#[test]
fn a_wrong_library_names_the_path_and_the_missing_symbol_and_the_real_one_works_after() {
    let wrong = libm();
    let options = QnnOptions {
        load: LoadOptions { library: Some(wrong.clone()), log_level: None },
        ..QnnOptions::from_env(QnnBackendKind::Cpu)
    };
    let err = QnnBackend::with_options(QnnBackendKind::Cpu, options).err().expect("libm accepted as a QNN backend");
    match &err {
        Error::Backend { backend, why } => {
            assert_eq!(backend, "qnn-cpu");
            assert!(why.starts_with("unavailable: "), "{why}");
            assert!(why.contains(&wrong.display().to_string()), "names the path: {why}");
            assert!(why.contains("QnnInterface_getProviders"), "names the missing symbol: {why}");
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
    eprintln!("{err}");

    let qnn = match QnnBackend::new(QnnBackendKind::Cpu) {
        Ok(b) => b,
        Err(e) if std::env::var_os("EDGEHAL_QNN_REQUIRED").is_none() => {
            eprintln!("skipping the recovery half: {e} (scripts/qnn-libs.sh fetches the libraries)");
            return;
        }
        Err(e) => panic!("qnn-cpu must load (EDGEHAL_QNN_REQUIRED is set): {e}"),
    };
    let (g, x) = graph();
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::with_threads(1).unwrap());
    let want = Session::new(g.clone(), vec![cpu], Policy::strict()).unwrap().run(&[("x", &x)]).unwrap();
    let mut s = Session::new(g, vec![Arc::new(qnn)], Policy::strict()).expect("a session on the real library");
    let got = s.run(&[("x", &x)]).expect("run").at(0).unwrap().to_f32_vec().unwrap();
    for (i, (g, w)) in got.iter().zip(want.at(0).unwrap().to_f32_vec().unwrap()).enumerate() {
        assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "y[{i}]: qnn-cpu {g}, cpu {w}");
    }
}

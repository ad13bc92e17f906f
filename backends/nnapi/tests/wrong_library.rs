//! A wrong library handed over as `libneuralnetworks.so`: a valid shared object of this machine
//! that is not NNAPI (the C math library) opens but lacks the first entry point read,
//! `ANeuralNetworksModel_create`; a file that is no shared object at all does not open. Each is
//! the typed `Error::Backend { backend: "nnapi", why: "unavailable: ..." }` naming the path (and
//! the missing symbol), never a panic. (A path that does not exist: `src/tests/ffi_calls.rs`,
//! `a_missing_library_is_a_typed_unavailable_error`; a working backend made after a failed one:
//! the fake's tests, since no machine here has the real library.)

use edgehal::Error;
use edgehal_nnapi::{NnapiBackend, NnapiOptions};
use std::path::{Path, PathBuf};

/// A shared library every Linux machine has that is not NNAPI: the C math library (else the C
/// library), found in the standard directories.
fn not_nnapi_library() -> PathBuf {
    let dirs = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64"];
    let names = ["libm.so.6", "libc.so.6"];
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| Path::new(d).join(n)))
        .find(|p| p.is_file())
        .expect("libm.so.6 or libc.so.6 in a standard library directory")
}

/// The `why` of an "unavailable" backend error for `path`.
fn unavailable_why(path: &Path) -> String {
    let options = NnapiOptions { library: Some(path.to_path_buf()), ..NnapiOptions::default() };
    let err = NnapiBackend::with_options(options).err().expect("a library that is not NNAPI was accepted");
    eprintln!("{err}");
    match err {
        Error::Backend { backend, why } => {
            assert_eq!(backend, "nnapi");
            assert!(why.starts_with("unavailable: "), "{why}");
            assert!(why.contains(&path.display().to_string()), "names the path: {why}");
            why
        }
        other => panic!("expected Error::Backend, got {other:?}"),
    }
}

#[test]
fn a_shared_library_that_is_not_nnapi_names_the_path_and_the_missing_symbol() {
    let wrong = not_nnapi_library();
    let why = unavailable_why(&wrong);
    assert!(why.ends_with("has no symbol ANeuralNetworksModel_create"), "names the missing symbol: {why}");
}

#[test]
fn a_file_that_is_no_shared_library_is_unavailable_naming_the_path() {
    let dir = std::env::temp_dir().join(format!("edgehal-nnapi-wrong-library-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("libneuralnetworks.so");
    std::fs::write(&garbage, b"\x7fELF but not really: these bytes are no shared object").unwrap();
    let why = unavailable_why(&garbage);
    assert!(why.contains("cannot open"), "{why}");
    std::fs::remove_dir_all(&dir).unwrap();
}

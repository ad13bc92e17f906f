//! Fuzzes the graph builder and the CPU executor with random op sequences (see
//! `edgehal_fuzz::graph::Program`): every builder call, the session's planning and the runs may
//! fail with an error, never panic.

#![no_main]

use edgehal_fuzz::graph::Program;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|program: Program| program.run());

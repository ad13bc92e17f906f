//! `--objective` and `--backend a,b`: which backends a model may use and what placement optimises.

use crate::backends;
use crate::error::{CliError, Result};
use edgehal::{Backend, Objective, Policy, RooflineCosts};
use std::sync::Arc;

/// Parses `preference`, `latency`, `energy` or `energy-within=F` (F ≥ 1: allowed slow-down).
pub fn parse(text: &str) -> Result<Objective> {
    let bad = || {
        CliError::Usage(format!(
            "--objective `{text}`: use preference, latency, energy or energy-within=F (F >= 1, e.g. 1.5)"
        ))
    };
    Ok(match text {
        "preference" => Objective::Preference,
        "latency" => Objective::Latency,
        "energy" => Objective::Energy,
        _ => {
            let factor: f64 = text.strip_prefix("energy-within=").ok_or_else(bad)?.parse().map_err(|_| bad())?;
            if !factor.is_finite() || factor < 1.0 {
                return Err(bad());
            }
            Objective::EnergyWithin { factor }
        }
    })
}

/// The backends of a comma-separated list, in order of preference.
pub fn backends(list: &str) -> Result<Vec<Arc<dyn Backend>>> {
    list.split(',').map(|name| backends::create(name.trim())).collect()
}

/// The policy for `objective` on `backends`: roofline costs from probed peaks (a few seconds per
/// backend) unless the objective is `preference`.
pub fn policy(objective: Objective, backends: &[Arc<dyn Backend>]) -> Result<Policy> {
    if objective == Objective::Preference {
        return Ok(Policy::default());
    }
    let spinner = crate::progress::spinner("probing peaks for cost-based placement");
    let costs = RooflineCosts::measure(backends);
    spinner.finish_and_clear();
    Ok(Policy::optimise(objective, Arc::new(costs?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_objective_and_refuses_bad_factors() {
        assert_eq!(parse("energy").unwrap(), Objective::Energy);
        assert_eq!(parse("energy-within=1.5").unwrap(), Objective::EnergyWithin { factor: 1.5 });
        for bad in ["fast", "energy-within=0.5", "energy-within=x", "energy-within=NaN"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}

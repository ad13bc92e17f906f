//! Picking the next token from logits: greedy, or temperature with top-k and top-p, seeded.

use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How the next token is chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerConfig {
    /// 0 picks the most likely token (greedy); otherwise logits are divided by it.
    pub temperature: f32,
    /// Keep only the `k` most likely tokens (0: all).
    pub top_k: usize,
    /// Keep the smallest set of most likely tokens whose probability reaches `p` (1: all).
    pub top_p: f32,
    /// Seed of the random stream, so a run can be repeated.
    pub seed: u64,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig { temperature: 0.0, top_k: 0, top_p: 1.0, seed: 0 }
    }
}

/// A token picker with its own seeded random stream.
pub struct Sampler {
    config: SamplerConfig,
    rng: StdRng,
}

impl Sampler {
    /// A sampler; a typed error for a negative or non-finite temperature or a top-p outside (0, 1].
    pub fn new(config: SamplerConfig) -> Result<Sampler> {
        if !(config.temperature.is_finite() && config.temperature >= 0.0) {
            return Err(Error::param("sampler", "temperature", config.temperature, "must be finite and >= 0"));
        }
        if !(config.top_p > 0.0 && config.top_p <= 1.0) {
            return Err(Error::param("sampler", "top_p", config.top_p, "must be in (0, 1]"));
        }
        let rng = StdRng::seed_from_u64(config.seed);
        Ok(Sampler { config, rng })
    }

    /// The greedy sampler.
    pub fn greedy() -> Sampler {
        Sampler::new(SamplerConfig::default()).expect("the default config is valid")
    }

    /// The next token. A typed error when the logits are empty or hold NaN (a broken kernel
    /// must not pass as a token).
    pub fn sample(&mut self, logits: &[f32]) -> Result<u32> {
        if logits.is_empty() {
            return Err(Error::Input("sampling from empty logits".into()));
        }
        if let Some(i) = logits.iter().position(|l| l.is_nan()) {
            return Err(Error::Input(format!("logit {i} is NaN")));
        }
        if self.config.temperature == 0.0 {
            return Ok(argmax(logits));
        }
        let mut order: Vec<u32> = (0..logits.len() as u32).collect();
        // Ties go to the lower id, as in argmax, so top-k 1 is greedy.
        order.sort_unstable_by(|&a, &b| logits[b as usize].total_cmp(&logits[a as usize]).then(a.cmp(&b)));
        if self.config.top_k > 0 {
            order.truncate(self.config.top_k);
        }
        let top = logits[order[0] as usize];
        let weights: Vec<f64> =
            order.iter().map(|&i| (((logits[i as usize] - top) / self.config.temperature) as f64).exp()).collect();
        let total: f64 = weights.iter().sum();
        let mut kept = weights.len();
        let mut mass = 0.0;
        for (i, w) in weights.iter().enumerate() {
            mass += w / total;
            if mass >= self.config.top_p as f64 {
                kept = i + 1;
                break;
            }
        }
        let kept_total: f64 = weights[..kept].iter().sum();
        let mut u = self.rng.random::<f64>() * kept_total;
        for (i, w) in weights[..kept].iter().enumerate() {
            if u < *w {
                return Ok(order[i]);
            }
            u -= w;
        }
        Ok(order[kept - 1])
    }
}

/// The index of the largest logit (the first on ties).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_first_maximum_and_refuses_nan() {
        let mut s = Sampler::greedy();
        assert_eq!(s.sample(&[0.5, 2.0, 2.0, -1.0]).unwrap(), 1);
        assert!(s.sample(&[0.5, f32::NAN]).is_err());
        assert!(s.sample(&[]).is_err());
    }

    #[test]
    fn top_k_one_is_greedy_and_seeds_repeat() {
        let logits: Vec<f32> = (0..50).map(|i| ((i * 37) % 11) as f32 * 0.3).collect();
        let cfg = SamplerConfig { temperature: 0.8, top_k: 1, top_p: 1.0, seed: 7 };
        let mut s = Sampler::new(cfg.clone()).unwrap();
        assert_eq!(s.sample(&logits).unwrap(), argmax(&logits));
        let wide = SamplerConfig { top_k: 0, top_p: 0.9, ..cfg };
        let draws = |c: &SamplerConfig| {
            let mut s = Sampler::new(c.clone()).unwrap();
            (0..20).map(|_| s.sample(&logits).unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(draws(&wide), draws(&wide));
        let distinct: std::collections::HashSet<_> = draws(&wide).into_iter().collect();
        assert!(distinct.len() > 1, "temperature sampling should vary: {distinct:?}");
    }

    #[test]
    fn bad_configs_are_typed_errors() {
        assert!(Sampler::new(SamplerConfig { temperature: -1.0, ..Default::default() }).is_err());
        assert!(Sampler::new(SamplerConfig { top_p: 0.0, ..Default::default() }).is_err());
    }
}

//! Unfolding a hardware counter that wraps to zero.

/// Accumulates a raw counter that counts up to `range` and wraps to zero. Each
/// [`update`](WrappingCounter::update) adds the step since the previous one, assuming at most one
/// wrap in between; a value past `range` is an error (the caller reports a malformed counter).
#[derive(Clone, Debug)]
pub struct WrappingCounter {
    range: u64,
    last: u64,
    total: u128,
}

impl WrappingCounter {
    /// Starts at the raw value `first`; `range` is the counter's maximum + 1 (its wrap modulus).
    pub fn new(first: u64, range: u64) -> Result<WrappingCounter, String> {
        let mut c = WrappingCounter { range, last: 0, total: 0 };
        c.check(first)?;
        c.last = first;
        Ok(c)
    }

    fn check(&self, raw: u64) -> Result<(), String> {
        if self.range != 0 && raw >= self.range {
            return Err(format!("value {raw} is not below the wrap range {}", self.range));
        }
        Ok(())
    }

    /// Takes a new raw value; returns the unfolded total since the first.
    pub fn update(&mut self, raw: u64) -> Result<u128, String> {
        self.check(raw)?;
        let step = if raw >= self.last {
            raw - self.last
        } else if self.range == 0 {
            return Err(format!("counter went back from {} to {raw} and has no wrap range", self.last));
        } else {
            self.range - self.last + raw
        };
        self.total += step as u128;
        self.last = raw;
        Ok(self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfolds_one_and_two_wraps() {
        let mut c = WrappingCounter::new(900, 1000).unwrap();
        assert_eq!(c.update(950).unwrap(), 50);
        assert_eq!(c.update(20).unwrap(), 120); // wrapped once
        assert_eq!(c.update(990).unwrap(), 1090);
        assert_eq!(c.update(5).unwrap(), 1105); // wrapped twice in all
        assert_eq!(c.update(5).unwrap(), 1105); // did not advance
    }

    #[test]
    fn refuses_values_past_the_range_and_backwards_steps_without_one() {
        assert!(WrappingCounter::new(1000, 1000).is_err());
        let mut c = WrappingCounter::new(10, 1000).unwrap();
        assert!(c.update(1001).is_err());
        let mut c = WrappingCounter::new(10, 0).unwrap();
        assert!(c.update(5).is_err());
    }
}

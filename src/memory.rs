//! Memory planning by liveness: intermediate values whose lifetimes do not overlap share a buffer.
//! Backends use it when compiling a partition; the plan's total is the partition's peak scratch.

/// One value to place: its size and the steps at which it is first written and last read.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Lifetime {
    /// Bytes it needs.
    pub bytes: usize,
    /// Step that produces it.
    pub first: usize,
    /// Last step that reads it (>= first).
    pub last: usize,
}

/// Which buffer each value got, and how large each buffer is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BufferPlan {
    /// `assignment[i]` is the buffer of value `i`.
    pub assignment: Vec<usize>,
    /// Buffer sizes in bytes.
    pub buffer_bytes: Vec<usize>,
}

impl BufferPlan {
    /// Total bytes of all buffers: the peak scratch memory.
    pub fn total_bytes(&self) -> usize {
        self.buffer_bytes.iter().sum()
    }
}

/// Greedy best-fit: values in order of production; each takes the free buffer whose size is
/// closest to what it needs (growing the largest free one if none is big enough), or a new buffer.
/// A buffer frees after the last read of its value, so a step's output never shares with its inputs.
pub fn plan_buffers(values: &[Lifetime]) -> BufferPlan {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by_key(|&i| (values[i].first, i));
    let mut plan = BufferPlan { assignment: vec![0; values.len()], buffer_bytes: Vec::new() };
    let mut busy_until: Vec<usize> = Vec::new();
    for i in order {
        let v = values[i];
        let free = (0..plan.buffer_bytes.len()).filter(|&b| busy_until[b] < v.first);
        let fitting = free.clone().filter(|&b| plan.buffer_bytes[b] >= v.bytes).min_by_key(|&b| plan.buffer_bytes[b]);
        let chosen = fitting.or_else(|| free.max_by_key(|&b| plan.buffer_bytes[b]));
        let b = match chosen {
            Some(b) => b,
            None => {
                plan.buffer_bytes.push(0);
                busy_until.push(0);
                plan.buffer_bytes.len() - 1
            }
        };
        plan.buffer_bytes[b] = plan.buffer_bytes[b].max(v.bytes);
        busy_until[b] = v.last;
        plan.assignment[i] = b;
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_reuses_two_buffers() {
        // a -> b -> c -> d: each value read only by the next step.
        let values: Vec<_> = (0..4).map(|i| Lifetime { bytes: 100, first: i, last: i + 1 }).collect();
        let plan = plan_buffers(&values);
        assert_eq!(plan.buffer_bytes.len(), 2);
        assert_eq!(plan.total_bytes(), 200);
        for w in plan.assignment.windows(2) {
            assert_ne!(w[0], w[1], "producer and consumer must not share");
        }
    }

    #[test]
    fn overlapping_lives_get_distinct_buffers() {
        let values = [
            Lifetime { bytes: 10, first: 0, last: 3 },
            Lifetime { bytes: 20, first: 1, last: 2 },
            Lifetime { bytes: 30, first: 2, last: 3 },
            Lifetime { bytes: 5, first: 3, last: 4 },
        ];
        let plan = plan_buffers(&values);
        for i in 0..values.len() {
            for j in 0..i {
                let overlap = values[i].first <= values[j].last && values[j].first <= values[i].last;
                if overlap {
                    assert_ne!(plan.assignment[i], plan.assignment[j], "values {i} and {j} overlap");
                }
            }
            assert!(plan.buffer_bytes[plan.assignment[i]] >= values[i].bytes);
        }
        assert!(plan.total_bytes() < 65, "some reuse expected, got {}", plan.total_bytes());
    }
}

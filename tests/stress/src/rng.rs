//! A small deterministic PRNG (SplitMix64): every worker thread has its own, seeded from
//! the run's seed and the thread's index, so that a seed and a thread count reproduce
//! each thread's sequence of choices.

/// The SplitMix64 increment (2^64 / golden ratio).
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 output function: a bijection of `u64` that mixes all bits.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A SplitMix64 generator.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose sequence is determined by `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The generator of worker `index` in a run with seed `seed`. Distinct indexes give
    /// unrelated sequences (`mix64` is a bijection, so their start states differ).
    pub fn for_thread(seed: u64, index: u64) -> Rng {
        Rng::new(seed ^ mix64(index.wrapping_add(1).wrapping_mul(GOLDEN)))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix64(self.state)
    }

    /// A number in `0..n` (0 when `n` is 0), by multiply-shift (bias below 2^-32 for
    /// the small `n` used here).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// An index in `0..n` (0 when `n` is 0).
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// One element of `items` (which must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// An index into `weights`, each chosen with probability proportional to its weight.
    /// Zero weights are never chosen; if all are zero, returns 0.
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut r = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic() {
        let a: Vec<u64> = {
            let mut r = Rng::new(42);
            (0..100).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(42);
            (0..100).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        let mut c = Rng::new(43);
        assert_ne!(a[0], c.next_u64());
    }

    #[test]
    fn reference_values() {
        // SplitMix64 from seed 0, as published with the algorithm.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(r.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn threads_differ_and_replay() {
        let firsts: Vec<u64> = (0..64).map(|i| Rng::for_thread(7, i).next_u64()).collect();
        for (i, a) in firsts.iter().enumerate() {
            assert!(firsts[i + 1..].iter().all(|b| a != b));
        }
        assert_eq!(
            Rng::for_thread(7, 3).next_u64(),
            Rng::for_thread(7, 3).next_u64()
        );
        assert_ne!(
            Rng::for_thread(7, 3).next_u64(),
            Rng::for_thread(8, 3).next_u64()
        );
    }

    #[test]
    fn ranges() {
        let mut r = Rng::new(1);
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            let x = r.below(10);
            assert!(x < 10);
            seen[x as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
        assert_eq!(r.below(0), 0);
        assert_eq!(r.index(1), 0);
        let hits = (0..10_000).filter(|_| r.chance(100)).count();
        assert!((800..1200).contains(&hits), "{hits}");
        assert!((0..100).all(|_| !r.chance(0)));
        assert!((0..100).all(|_| r.chance(1000)));
        assert_eq!(*r.pick(&[5]), 5);
    }

    #[test]
    fn weighted_choice() {
        let mut r = Rng::new(9);
        let w = [0, 3, 0, 1];
        let mut seen = [0u32; 4];
        for _ in 0..4000 {
            seen[r.weighted(&w)] += 1;
        }
        assert_eq!(seen[0], 0);
        assert_eq!(seen[2], 0);
        assert!(seen[1] > 2 * seen[3], "{seen:?}");
        assert_eq!(r.weighted(&[0, 0]), 0);
    }
}

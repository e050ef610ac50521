//! Carter-Wegman universal hashing, `h(x) = ((a*x + b) mod p) mod m` with the Mersenne prime
//! `p = 2^61 - 1` (Carter and Wegman, "Universal classes of hash functions", JCSS 1979, class H1).

use pifs_rng::Rng;

/// The prime modulus, 2^61 - 1.
pub const P: u64 = (1 << 61) - 1;

/// One member of the family, fixed by its seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UniversalHash {
    a: u64,
    b: u64,
}

impl UniversalHash {
    /// Draws `a` in `1..p` and `b` in `0..p` from `rng`.
    pub fn draw(rng: &mut Rng) -> UniversalHash {
        UniversalHash {
            a: rng.range(1, P - 1),
            b: rng.below(P),
        }
    }

    /// The member with the given seed (same seed, same function, on any machine).
    pub fn seeded(seed: u64) -> UniversalHash {
        UniversalHash::draw(&mut Rng::new(seed))
    }

    /// `((a*x + b) mod p) mod m`; `m >= 1`. IDs at or above `p` are reduced mod `p` first.
    pub fn hash(&self, x: u64, m: u64) -> u64 {
        let v = (self.a as u128 * (x % P) as u128 + self.b as u128) % P as u128;
        v as u64 % m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic_and_seeds_differ() {
        let h = UniversalHash::seeded(7);
        assert_eq!(h, UniversalHash::seeded(7));
        let g = UniversalHash::seeded(8);
        let same = (0..1000u64)
            .filter(|&x| h.hash(x, 1 << 20) == g.hash(x, 1 << 20))
            .count();
        assert!(same < 5, "{same} of 1000 IDs hash alike under two seeds");
    }

    #[test]
    fn matches_a_direct_formula_and_stays_below_m() {
        // a*x+b computed with u128 by hand for a small a, checked against the struct.
        let h = UniversalHash { a: 3, b: 5 };
        for x in [0u64, 1, 2, P - 1, P, P + 1, u64::MAX] {
            let want = ((3u128 * (x % P) as u128 + 5) % P as u128) as u64 % 1000;
            assert_eq!(h.hash(x, 1000), want, "x = {x}");
        }
        let h = UniversalHash::seeded(1);
        assert!((0..10_000u64).all(|x| h.hash(x * 7919, 37) < 37));
    }

    #[test]
    fn spreads_keys_evenly() {
        // Universal hashing of 0..n into m buckets: every bucket near n/m (checked loosely).
        let h = UniversalHash::seeded(3);
        let m = 64u64;
        let mut counts = vec![0u32; m as usize];
        for x in 0..64_000u64 {
            counts[h.hash(x, m) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }
}

//! Routing users to islands: the fleet is split into islands, each a replicated vault holding a share of the
//! users. Routing must be a pure function of the user id, so that every frontend agrees without coordination.

use sha2::{Digest, Sha256};

/// Domain-separation prefix of the routing hash.
pub const ISLAND_ROUTING_LABEL: &[u8] = b"vault-core/v1/island";

/// Maps user ids to one of `count` islands.
///
/// The user id is hashed (SHA-256 of [`ISLAND_ROUTING_LABEL`] || user id, first 8 bytes big-endian) and the hash
/// is placed with jump consistent hashing (Lamping and Veach, "A Fast, Minimal Memory, Consistent Hash
/// Algorithm", 2014): growing the fleet from n to n + 1 islands moves only about 1/(n + 1) of the users, all of
/// them to the new island.
///
/// ```
/// use vault_core::IslandRouter;
/// let router = IslandRouter::new(8).unwrap();
/// let island = router.island_for(b"15551234567@s.whatsapp.net");
/// assert!(island < 8);
/// assert_eq!(island, router.island_for(b"15551234567@s.whatsapp.net"));
/// assert!(IslandRouter::new(0).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IslandRouter {
    count: u32,
}

impl IslandRouter {
    /// A router over `count` islands; `None` for zero islands.
    pub fn new(count: u32) -> Option<Self> {
        (count > 0).then_some(Self { count })
    }

    /// The number of islands.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The island (0 to count - 1) that holds `user_id`.
    pub fn island_for(&self, user_id: &[u8]) -> u32 {
        let digest = Sha256::new()
            .chain_update(ISLAND_ROUTING_LABEL)
            .chain_update(user_id)
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        jump_consistent_hash(u64::from_be_bytes(first), self.count)
    }
}

/// Jump consistent hash: follows the key's pseudo-random sequence of jumps and returns the last bucket below
/// `buckets`. The constants are the paper's 64-bit linear congruential generator.
fn jump_consistent_hash(mut key: u64, buckets: u32) -> u32 {
    let mut bucket: i64 = -1;
    let mut next: i64 = 0;
    while next < i64::from(buckets) {
        bucket = next;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        // (bucket + 1) * 2^31 / ((key >> 33) + 1), computed in f64 as in the paper.
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_wrap, clippy::cast_sign_loss)]
        let jump = ((bucket + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
        next = jump;
    }
    // `bucket` lies in 0..buckets here, so it fits a u32.
    #[allow(clippy::cast_sign_loss)]
    let island = bucket as u32;
    island
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_users_evenly_and_moves_few_when_growing() {
        let users: std::vec::Vec<std::string::String> = (0..20_000).map(|i| std::format!("user-{i}")).collect();
        let eight = IslandRouter::new(8).unwrap();
        let nine = IslandRouter::new(9).unwrap();
        let mut per_island = [0u32; 8];
        let mut moved = 0;
        for user in &users {
            let before = eight.island_for(user.as_bytes());
            per_island[before as usize] += 1;
            let after = nine.island_for(user.as_bytes());
            if after != before {
                assert_eq!(after, 8, "a user that moves goes to the new island");
                moved += 1;
            }
        }
        // 2500 expected per island; allow 10 %.
        assert!(per_island.iter().all(|&n| (2250..=2750).contains(&n)), "{per_island:?}");
        // About 1/9 of the users move.
        assert!((1800..=2650).contains(&moved), "{moved}");
    }

    #[test]
    fn one_island_takes_everyone() {
        let router = IslandRouter::new(1).unwrap();
        assert!((0..100).all(|i: u32| router.island_for(&i.to_be_bytes()) == 0));
    }
}

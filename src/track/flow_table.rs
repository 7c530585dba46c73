//! The analyzer's index from 4-tuple to connection slot: open addressing
//! with linear probing over 8-byte buckets (a 32-bit hash tag and the
//! slot). The keys themselves live in the connections, which the analyzer
//! reads anyway, so a lookup touches one small bucket line and then the
//! connection it needed: with thousands of live connections the index stays
//! a few tens of kilobytes, in the CPU's nearest caches, where a general map
//! holding the 40-byte keys spread them over hundreds of kilobytes.
//!
//! Deletion shifts the following entries back (no tombstones), so probe
//! sequences stay as short as the load allows (at most one half).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bucket {
    /// The hash's low 32 bits (its home bucket is `tag & mask`).
    tag: u32,
    slot: u32,
}

const EMPTY: Bucket = Bucket {
    tag: 0,
    slot: u32::MAX,
};

#[derive(Debug, Default)]
pub(super) struct FlowTable {
    buckets: Vec<Bucket>,
    len: usize,
}

impl FlowTable {
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    /// Walks `hash`'s probe run: `Ok(bucket)` of the entry with the hash's
    /// tag whose slot `matches`, else `Err(bucket)` of the empty bucket that
    /// ends the run. The table must have buckets.
    #[inline]
    fn probe(&self, hash: u64, matches: impl Fn(usize) -> bool) -> Result<usize, usize> {
        let tag = hash as u32;
        let mask = self.mask();
        let mut i = tag as usize & mask;
        loop {
            let b = self.buckets[i];
            if b.slot == EMPTY.slot {
                return Err(i);
            }
            if b.tag == tag && matches(b.slot as usize) {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// The slot of the entry with this hash whose key `matches`.
    #[inline]
    pub(super) fn get(&self, hash: u64, matches: impl Fn(usize) -> bool) -> Option<usize> {
        if self.buckets.is_empty() {
            return None;
        }
        let i = self.probe(hash, matches).ok()?;
        Some(self.buckets[i].slot as usize)
    }

    /// Points the entry whose key `matches` at `slot`, or adds an entry.
    pub(super) fn set(&mut self, hash: u64, slot: usize, matches: impl Fn(usize) -> bool) {
        debug_assert!(slot < u32::MAX as usize);
        if (self.len + 1) * 2 > self.buckets.len() {
            self.grow();
        }
        match self.probe(hash, matches) {
            Ok(i) => self.buckets[i].slot = slot as u32,
            Err(i) => {
                self.buckets[i] = Bucket {
                    tag: hash as u32,
                    slot: slot as u32,
                };
                self.len += 1;
            }
        }
    }

    /// Removes the entry holding `slot`, found from `hash` (the hash it was
    /// set with). False if no entry holds it.
    pub(super) fn remove(&mut self, hash: u64, slot: usize) -> bool {
        if self.buckets.is_empty() {
            return false;
        }
        let Ok(mut i) = self.probe(hash, |s| s == slot) else {
            return false;
        };
        let mask = self.mask();
        // Backward-shift deletion: move each following entry into the hole
        // unless its home lies cyclically in (hole, entry].
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let b = self.buckets[j];
            if b.slot == EMPTY.slot {
                break;
            }
            let home = b.tag as usize & mask;
            let stays = if i <= j {
                i < home && home <= j
            } else {
                i < home || home <= j
            };
            if !stays {
                self.buckets[i] = b;
                i = j;
            }
        }
        self.buckets[i] = EMPTY;
        self.len -= 1;
        true
    }

    fn grow(&mut self) {
        let cap = (self.buckets.len() * 2).max(64);
        let old = std::mem::replace(&mut self.buckets, vec![EMPTY; cap]);
        let mask = cap - 1;
        for b in old.into_iter().filter(|b| b.slot != EMPTY.slot) {
            let mut i = b.tag as usize & mask;
            while self.buckets[i].slot != EMPTY.slot {
                i = (i + 1) & mask;
            }
            self.buckets[i] = b;
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Random operations against a HashMap model, with hashes drawn from a
    /// small range so that probe runs collide, wrap around the end and get
    /// shifted by deletions.
    #[test]
    fn behaves_as_a_map_under_random_operations() {
        let mut t = FlowTable::default();
        // key -> (hash, slot); keys[slot] is the key a slot holds.
        let mut model: HashMap<u32, (u64, usize)> = HashMap::new();
        let mut keys: Vec<Option<u32>> = Vec::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for step in 0..200_000 {
            let key = rnd(3000) as u32;
            // Home buckets clustered on 280 values (long runs that wrap and
            // get shifted by deletions); the high bits tell keys apart.
            let h = ((u64::from(key) * 0x9e37_79b9) % 40) ^ (u64::from(key % 7) << 20)
                | (u64::from(key) << 40);
            let matches =
                |keys: &Vec<Option<u32>>, s: usize| keys.get(s).copied().flatten() == Some(key);
            match rnd(3) {
                0 | 1 => {
                    // Insert or re-point.
                    let slot = keys.len();
                    keys.push(Some(key));
                    let ks = &keys;
                    t.set(h, slot, |s| s != slot && matches(ks, s));
                    if let Some((_, old)) = model.insert(key, (h, slot)) {
                        keys[old] = None;
                    }
                }
                _ => {
                    if let Some((hh, slot)) = model.remove(&key) {
                        assert!(
                            t.remove(hh, slot),
                            "step {step}: entry of key {key} missing"
                        );
                        keys[slot] = None;
                    } else {
                        assert!(!t.remove(h, usize::MAX - 1));
                    }
                }
            }
            if step % 997 == 0 {
                assert_eq!(t.len(), model.len());
                for (&k, &(hh, slot)) in &model {
                    let got = t.get(hh, |s| keys.get(s).copied().flatten() == Some(k));
                    assert_eq!(got, Some(slot), "step {step}: key {k}");
                }
            }
            let got = t.get(h, |s| keys.get(s).copied().flatten() == Some(key));
            assert_eq!(
                got,
                model.get(&key).map(|&(_, s)| s),
                "step {step}: key {key}"
            );
        }
    }
}

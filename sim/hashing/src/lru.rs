//! An LRU row buffer (the stand-in for issue 7's on-switch buffer): a fixed number of rows, keyed
//! by (table, row), least recently used row evicted on a miss when full. O(1) per access (a hash
//! map into an index-linked list).

use std::collections::HashMap;

const NIL: usize = usize::MAX;

struct Node {
    key: (u32, u64),
    prev: usize,
    next: usize,
}

/// The buffer: `capacity` rows; 0 means no buffer (every access misses).
pub struct Lru {
    capacity: usize,
    slot: HashMap<(u32, u64), usize>,
    nodes: Vec<Node>,
    /// Most recently used.
    head: usize,
    /// Least recently used.
    tail: usize,
}

impl Lru {
    /// An empty buffer of `capacity` rows.
    pub fn new(capacity: usize) -> Lru {
        Lru {
            capacity,
            slot: HashMap::new(),
            nodes: Vec::new(),
            head: NIL,
            tail: NIL,
        }
    }

    fn unlink(&mut self, i: usize) {
        let (p, n) = (self.nodes[i].prev, self.nodes[i].next);
        if p == NIL {
            self.head = n;
        } else {
            self.nodes[p].next = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.nodes[n].prev = p;
        }
    }

    fn push_front(&mut self, i: usize) {
        self.nodes[i].prev = NIL;
        self.nodes[i].next = self.head;
        if self.head != NIL {
            self.nodes[self.head].prev = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }

    /// Looks up row `row` of table `table`; true on a hit. The row becomes the most recently
    /// used; on a miss it is inserted, evicting the least recently used row when full.
    pub fn access(&mut self, table: u32, row: u64) -> bool {
        if self.capacity == 0 {
            return false;
        }
        let key = (table, row);
        if let Some(&i) = self.slot.get(&key) {
            self.unlink(i);
            self.push_front(i);
            return true;
        }
        let i = if self.nodes.len() < self.capacity {
            self.nodes.push(Node {
                key,
                prev: NIL,
                next: NIL,
            });
            self.nodes.len() - 1
        } else {
            let victim = self.tail;
            self.unlink(victim);
            self.slot.remove(&self.nodes[victim].key);
            self.nodes[victim].key = key;
            victim
        };
        self.slot.insert(key, i);
        self.push_front(i);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pifs_rng::Rng;

    /// A list kept in recency order, searched linearly: the definition of LRU, written plainly.
    fn naive_hits(cap: usize, keys: &[(u32, u64)]) -> Vec<bool> {
        let mut list: Vec<(u32, u64)> = Vec::new();
        keys.iter()
            .map(|k| {
                let hit = if let Some(p) = list.iter().position(|x| x == k) {
                    list.remove(p);
                    true
                } else {
                    if list.len() == cap && cap > 0 {
                        list.pop();
                    }
                    false
                };
                if cap > 0 {
                    list.insert(0, *k);
                }
                hit
            })
            .collect()
    }

    #[test]
    fn matches_a_naive_lru() {
        let mut rng = Rng::new(5);
        let keys: Vec<(u32, u64)> = (0..5000)
            .map(|_| (rng.below(3) as u32, rng.below(40)))
            .collect();
        for cap in [0usize, 1, 2, 7, 50, 200] {
            let mut lru = Lru::new(cap);
            let got: Vec<bool> = keys.iter().map(|&(t, r)| lru.access(t, r)).collect();
            assert_eq!(got, naive_hits(cap, &keys), "capacity {cap}");
        }
    }
}

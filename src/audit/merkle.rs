//! RFC 6962 / RFC 9162 Merkle tree arithmetic: leaf and node hashes, an append-only compact range,
//! inclusion proofs computed from stored perfect-subtree roots, and proof verification.
//!
//! Hand-written because it is ~150 lines of pure arithmetic over SHA-256, and the crates that
//! offer it keep the whole tree in memory; sidian keeps the tree in the database and touches only
//! O(log n) nodes per append or proof.

use crate::crypto::sha256;

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// A perfect subtree: `2^height` leaves starting at leaf `index << height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves (0 = a leaf).
    pub height: u32,
    /// Position among the subtrees of this height.
    pub index: u64,
}

/// `SHA-256(0x00 ‖ record)`: the hash of one log entry.
pub fn leaf_hash(record: &[u8]) -> Hash {
    let mut buf = Vec::with_capacity(record.len() + 1);
    buf.push(0);
    buf.extend_from_slice(record);
    sha256(&buf)
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 1;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    sha256(&buf)
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
    sha256(b"")
}

/// The right edge of a tree: enough to append leaves and compute the root without the leaves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompactRange {
    size: u64,
    /// Roots of the perfect subtrees that make up the tree, largest (leftmost) first.
    frontier: Vec<Hash>,
}

impl CompactRange {
    /// Rebuilds a compact range from its stored form, checking the frontier fits the size.
    pub fn from_parts(size: u64, frontier: &[u8]) -> Option<Self> {
        if !frontier.len().is_multiple_of(32) || frontier.len() / 32 != size.count_ones() as usize {
            return None;
        }
        let frontier = frontier
            .chunks_exact(32)
            .map(|c| <Hash>::try_from(c).ok())
            .collect::<Option<Vec<_>>>()?;
        Some(Self { size, frontier })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier in its stored form (concatenated hashes).
    pub fn frontier_bytes(&self) -> Vec<u8> {
        self.frontier.concat()
    }

    /// Appends one leaf; `completed` is told of every perfect subtree (height ≥ 1) this closes.
    pub fn append(&mut self, leaf: Hash, mut completed: impl FnMut(NodeId, Hash)) {
        let index = self.size;
        let mut hash = leaf;
        let mut height = 0;
        while index >> height & 1 == 1 {
            let Some(left) = self.frontier.pop() else {
                unreachable!("frontier holds one hash per set bit of size");
            };
            hash = node_hash(&left, &hash);
            height += 1;
            completed(
                NodeId {
                    height,
                    index: index >> height,
                },
                hash,
            );
        }
        self.frontier.push(hash);
        self.size += 1;
    }

    /// The tree head: RFC 6962 `MTH` of all leaves appended so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.frontier.iter().rev();
        match iter.next() {
            None => empty_root(),
            Some(last) => iter.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

/// Largest power of two strictly less than `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// Computes `MTH(D[start..end])`, asking `node` for the root of each perfect aligned subtree.
fn subtree_root(start: u64, end: u64, node: &mut impl FnMut(NodeId) -> Hash) -> Hash {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        let height = n.trailing_zeros();
        return node(NodeId {
            height,
            index: start >> height,
        });
    }
    let k = split_point(n);
    let left = subtree_root(start, start + k, node);
    let right = subtree_root(start + k, end, node);
    node_hash(&left, &right)
}

/// The ranges whose roots form the audit path of leaf `index` in a tree of `size` (RFC 6962 §2.1.1).
fn path_ranges(index: u64, start: u64, end: u64, out: &mut Vec<(u64, u64)>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    if index < start + k {
        path_ranges(index, start, start + k, out);
        out.push((start + k, end));
    } else {
        path_ranges(index, start + k, end, out);
        out.push((start, start + k));
    }
}

/// The stored subtree roots an inclusion proof of `index` in a tree of `size` needs.
pub fn inclusion_proof_nodes(index: u64, size: u64) -> Vec<NodeId> {
    let mut ranges = Vec::new();
    path_ranges(index, 0, size, &mut ranges);
    let mut needed = Vec::new();
    for (s, e) in ranges {
        subtree_root(s, e, &mut |id| {
            needed.push(id);
            [0; 32]
        });
    }
    needed.sort_unstable();
    needed.dedup();
    needed
}

/// Builds the audit path of `index` in a tree of `size` from the nodes `inclusion_proof_nodes` named.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    mut node: impl FnMut(NodeId) -> Option<Hash>,
) -> Option<Vec<Hash>> {
    let mut ranges = Vec::new();
    path_ranges(index, 0, size, &mut ranges);
    let mut missing = false;
    let proof = ranges
        .into_iter()
        .map(|(s, e)| {
            subtree_root(s, e, &mut |id| {
                node(id).unwrap_or_else(|| {
                    missing = true;
                    [0; 32]
                })
            })
        })
        .collect();
    (!missing).then_some(proof)
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && &r == root
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)] // test trees are tiny
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// RFC 6962 MTH straight from the definition, as the reference.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn rfc6962_empty_and_known_roots() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // The RFC 6962 test vector tree (certificate-transparency-go merkle tests): leaves
        // "", 0x00, 0x10, 0x2021, 0x3031, 0x40414243, …; the 1-leaf root is SHA-256(0x00).
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let data: [&[u8]; 8] = [
            b"",
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[
                0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                0x6e, 0x6f,
            ],
        ];
        let mut range = CompactRange::default();
        for d in data {
            range.append(leaf_hash(d), |_, _| {});
        }
        assert_eq!(
            hex::encode(range.root()),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        );
    }

    #[test]
    fn compact_range_matches_reference_and_reports_nodes() {
        let all = leaves(70);
        let mut range = CompactRange::default();
        let mut nodes: HashMap<NodeId, Hash> = HashMap::new();
        for (i, leaf) in all.iter().enumerate() {
            nodes.insert(
                NodeId {
                    height: 0,
                    index: i as u64,
                },
                *leaf,
            );
            range.append(*leaf, |id, h| {
                nodes.insert(id, h);
            });
            assert_eq!(range.root(), mth(&all[..=i]), "size {}", i + 1);
            let stored = range.frontier_bytes();
            assert_eq!(
                CompactRange::from_parts(range.size(), &stored),
                Some(range.clone())
            );
        }
        // Every reported node is the root of the subtree it names.
        for (id, h) in &nodes {
            let start = (id.index << id.height) as usize;
            assert_eq!(mth(&all[start..start + (1 << id.height)]), *h);
        }
        // Proofs for every leaf of every size verify, and fail for another leaf or root.
        for size in 1..=70u64 {
            let root = mth(&all[..size as usize]);
            for index in 0..size {
                for id in inclusion_proof_nodes(index, size) {
                    assert!(nodes.contains_key(&id), "needed {id:?} not stored");
                }
                let proof = inclusion_proof(index, size, |id| nodes.get(&id).copied())
                    .expect("all nodes present");
                assert!(verify_inclusion(
                    &all[index as usize],
                    index,
                    size,
                    &proof,
                    &root
                ));
                let other = leaf_hash(b"forged");
                assert!(!verify_inclusion(&other, index, size, &proof, &root));
                if size > 1 {
                    assert!(!verify_inclusion(
                        &all[index as usize],
                        index,
                        size,
                        &proof[1..],
                        &root
                    ));
                }
            }
        }
    }

    #[test]
    fn from_parts_rejects_inconsistent_frontier() {
        assert!(CompactRange::from_parts(3, &[0; 32]).is_none());
        assert!(CompactRange::from_parts(1, &[0; 31]).is_none());
        assert!(CompactRange::from_parts(0, &[]).is_some());
    }
}

//! RFC 6962 / RFC 9162 Merkle tree arithmetic: leaf and node hashes, an append-only compact range,
//! inclusion and consistency proofs computed from stored perfect-subtree roots, and their
//! verification.
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

/// The ranges whose roots form the consistency proof from `m` leaves to the tree `start..end`
/// (RFC 6962 §2.1.2 `SUBPROOF`; `m` counts from `start`, `whole` is its flag `b`).
fn consistency_ranges(m: u64, start: u64, end: u64, whole: bool, out: &mut Vec<(u64, u64)>) {
    let n = end - start;
    if m == n {
        if !whole {
            out.push((start, end));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        consistency_ranges(m, start, start + k, whole, out);
        out.push((start + k, end));
    } else {
        consistency_ranges(m - k, start + k, end, false, out);
        out.push((start, start + k));
    }
}

/// The ranges of a consistency proof from `from` to `to` leaves; none when the proof is empty.
fn consistency_proof_ranges(from: u64, to: u64) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    if 0 < from && from < to {
        consistency_ranges(from, 0, to, true, &mut ranges);
    }
    ranges
}

/// The ranges of the audit path of `index` in a tree of `size`.
fn inclusion_proof_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    path_ranges(index, 0, size, &mut ranges);
    ranges
}

/// The stored perfect-subtree roots that the roots of `ranges` are made of.
fn nodes_of(ranges: Vec<(u64, u64)>) -> Vec<NodeId> {
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

/// The roots of `ranges` from stored subtree roots; None if `node` lacks one.
fn roots_of(
    ranges: Vec<(u64, u64)>,
    mut node: impl FnMut(NodeId) -> Option<Hash>,
) -> Option<Vec<Hash>> {
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

/// The stored subtree roots an inclusion proof of `index` in a tree of `size` needs.
pub fn inclusion_proof_nodes(index: u64, size: u64) -> Vec<NodeId> {
    nodes_of(inclusion_proof_ranges(index, size))
}

/// Builds the audit path of `index` in a tree of `size` from the nodes `inclusion_proof_nodes` named.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    node: impl FnMut(NodeId) -> Option<Hash>,
) -> Option<Vec<Hash>> {
    roots_of(inclusion_proof_ranges(index, size), node)
}

/// The stored subtree roots a consistency proof from `from` to `to` leaves needs.
pub fn consistency_proof_nodes(from: u64, to: u64) -> Vec<NodeId> {
    nodes_of(consistency_proof_ranges(from, to))
}

/// Builds the RFC 6962 §2.1.2 consistency proof from `from` to `to` leaves (`from ≤ to`) from
/// the nodes `consistency_proof_nodes` named; empty when `from` is 0 or equals `to`.
pub fn consistency_proof(
    from: u64,
    to: u64,
    node: impl FnMut(NodeId) -> Option<Hash>,
) -> Option<Vec<Hash>> {
    roots_of(consistency_proof_ranges(from, to), node)
}

/// Checks that the tree of `to` leaves with root `new_root` extends the tree of `from` leaves
/// with root `old_root` (RFC 9162 §2.1.4.2; an empty tree is extended by every tree, a tree only
/// by itself at its own size).
pub fn verify_consistency(
    from: u64,
    to: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> bool {
    if from > to {
        return false;
    }
    if from == 0 {
        return proof.is_empty() && *old_root == empty_root();
    }
    if from == to {
        return proof.is_empty() && old_root == new_root;
    }
    let mut path = proof.iter();
    // A power-of-two old tree is itself a node of the new one: the proof leaves it out.
    let first = if from.is_power_of_two() {
        old_root
    } else {
        match path.next() {
            Some(h) => h,
            None => return false,
        }
    };
    let (mut fn_, mut sn) = (from - 1, to - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in path {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *old_root && sr == *new_root
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

    /// Appends `all` to an empty range, keeping every node it reports (leaves as height 0),
    /// and calls `each` with the range after every append.
    fn grow(all: &[Hash], mut each: impl FnMut(usize, &CompactRange)) -> HashMap<NodeId, Hash> {
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
            each(i, &range);
        }
        nodes
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
        let nodes = grow(&all, |i, range| {
            assert_eq!(range.root(), mth(&all[..=i]), "size {}", i + 1);
            let stored = range.frontier_bytes();
            assert_eq!(
                CompactRange::from_parts(range.size(), &stored),
                Some(range.clone())
            );
        });
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

    /// RFC 6962 §2.1.2 `SUBPROOF` straight from the definition, over the leaves.
    fn subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if whole { vec![] } else { vec![mth(leaves)] };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut p = subproof(m, &leaves[..k], whole);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = subproof(m - k, &leaves[k..], false);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    #[test]
    fn consistency_proofs_match_reference_and_verify() {
        let all = leaves(70);
        let nodes = grow(&all, |_, _| {});
        let root = |n: u64| mth(&all[..n as usize]);
        for to in 0..=70u64 {
            for from in 0..=to {
                for id in consistency_proof_nodes(from, to) {
                    assert!(nodes.contains_key(&id), "needed {id:?} not stored");
                }
                let proof = consistency_proof(from, to, |id| nodes.get(&id).copied())
                    .expect("all nodes present");
                let reference = if 0 < from && from < to {
                    subproof(from as usize, &all[..to as usize], true)
                } else {
                    vec![]
                };
                assert_eq!(proof, reference, "{from} → {to}");
                assert!(
                    verify_consistency(from, to, &proof, &root(from), &root(to)),
                    "{from} → {to}"
                );
                if from > 0 && from < to {
                    let forged = leaf_hash(b"forged");
                    assert!(!verify_consistency(from, to, &proof, &forged, &root(to)));
                    assert!(!verify_consistency(from, to, &proof, &root(from), &forged));
                    assert!(!verify_consistency(
                        from,
                        to,
                        &proof[1..],
                        &root(from),
                        &root(to)
                    ));
                    for i in 0..proof.len() {
                        let mut bad = proof.clone();
                        bad[i][0] ^= 1;
                        assert!(!verify_consistency(from, to, &bad, &root(from), &root(to)));
                    }
                }
            }
        }
        assert!(!verify_consistency(5, 4, &[], &root(5), &root(4)));
        assert!(!verify_consistency(4, 4, &[], &root(4), &root(5)));
        assert!(!verify_consistency(0, 4, &[], &root(1), &root(4)));
    }

    #[test]
    fn from_parts_rejects_inconsistent_frontier() {
        assert!(CompactRange::from_parts(3, &[0; 32]).is_none());
        assert!(CompactRange::from_parts(1, &[0; 31]).is_none());
        assert!(CompactRange::from_parts(0, &[]).is_some());
    }
}

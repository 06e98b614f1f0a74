//! Offline verification of a stored audit log, naming the first entry that was tampered with.
//!
//! The threat is someone who edits the database rows directly. Without recomputing hashes they
//! can modify, delete, insert or reorder rows, and the chain breaks exactly where they did it; the
//! verifier walks the rows in stored order and, at the first row that does not fit, classifies
//! what happened by looking at where that row (and the row that should have been there) really
//! belongs: whose hash its `prev_hash` names, and under which sequence number its own stored hash
//! verifies. A rewrite that does recompute every later hash is consistent with itself, so it is
//! caught by the signed [`Checkpoint`]s and by the head the store recorded separately.
//!
//! [`Verifier`] does the work one entry at a time in constant memory while the log is intact. At
//! the first anomaly it keeps a copy of that one entry and a few facts about the rest, because
//! the classification may need to see a later row (the other half of a swap, the row a deletion
//! renumbered). [`verify`] is the slice-based convenience over it.
//!
//! This module deliberately does not repair anything, nor report every problem: after the first
//! tampered entry, later findings would only restate it.

use crate::{entry_hash, Checkpoint, Entry, Hash, Head, PublicKey};

/// What verification found. Display gives one clear English sentence naming the entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Tamper {
    /// The entry's event fields, stored hash or `prev_hash` were changed.
    #[error("audit log entry {seq} was modified")]
    Modified { seq: u64 },
    /// The entry was removed (leaving a gap, or with later entries renumbered to close it).
    #[error("audit log entry {seq} was deleted")]
    Deleted { seq: u64 },
    /// An entry that was never appended by Trygg occupies this sequence number.
    #[error("audit log entry {seq} was inserted")]
    Inserted { seq: u64 },
    /// The entry at this sequence number belongs elsewhere in the log.
    #[error("audit log entries were reordered: entry {seq} is out of place")]
    Reordered { seq: u64 },
    /// The chain is internally consistent but disagrees with a signed checkpoint: it was rewritten
    /// somewhere in (after_seq, seq].
    #[error(
        "the audit log was rewritten after entry {after_seq}: entry {seq} does not match its \
         signed checkpoint"
    )]
    CheckpointMismatch { seq: u64, after_seq: u64 },
    /// A checkpoint's signature does not verify: it was forged or altered, or signed with another
    /// key than the one given.
    #[error(
        "the audit checkpoint at entry {seq} has an invalid signature: it was forged or altered, \
         or the wrong public key was given"
    )]
    BadCheckpointSignature { seq: u64 },
    /// Entries after `seq` are missing (the recorded head or a checkpoint is beyond the last entry).
    #[error("audit log entries after entry {seq} are missing: the log was truncated")]
    Truncated { seq: u64 },
    /// The chain is internally consistent but its entry `seq` disagrees with the head the store
    /// recorded separately: it was rewritten somewhere in (after_seq, seq].
    #[error(
        "the audit log was rewritten after entry {after_seq}: entry {seq} does not match the \
         recorded head"
    )]
    HeadMismatch { seq: u64, after_seq: u64 },
}

impl Tamper {
    /// The sequence number the finding names (for the rewrite findings, the pinned entry).
    pub fn seq(&self) -> u64 {
        match *self {
            Tamper::Modified { seq }
            | Tamper::Deleted { seq }
            | Tamper::Inserted { seq }
            | Tamper::Reordered { seq }
            | Tamper::CheckpointMismatch { seq, .. }
            | Tamper::BadCheckpointSignature { seq }
            | Tamper::Truncated { seq }
            | Tamper::HeadMismatch { seq, .. } => seq,
        }
    }
}

/// What a successful verification covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Number of entries verified.
    pub entries: u64,
    /// Number of checkpoints whose signature and hash were verified.
    pub checkpoints: u64,
    /// The head of the verified log ([`Head::EMPTY`] for an empty log).
    pub head: Head,
}

/// Verifies a whole log given in seq order (as stored: the `seq` column may itself be tampered
/// with). `recorded_head` is the head the store recorded separately (None if unknown).
///
/// Without a recorded head or a checkpoint covering the end of the log, removing the last entries
/// or appending self-consistent ones cannot be detected; pass both whenever the store has them.
pub fn verify(
    entries: &[Entry],
    checkpoints: &[Checkpoint],
    recorded_head: Option<Head>,
    public_key: &PublicKey,
) -> Result<Report, Tamper> {
    let mut verifier = Verifier::new(*public_key, checkpoints, recorded_head)?;
    for entry in entries {
        verifier.push(entry)?;
    }
    verifier.finish()
}

/// Streaming verifier: [`Verifier::push`] every entry in stored order, then [`Verifier::finish`].
///
/// Memory is constant while the log is intact. `push` returns an error as soon as the verdict is
/// certain; some verdicts depend on later rows, so a `push` that returned `Ok` does not mean the
/// log is intact — only `finish` says that.
#[derive(Clone, Debug)]
pub struct Verifier {
    /// Checkpoints sorted by `seq`, compared against the entries as the walk passes them.
    checkpoints: Vec<Checkpoint>,
    /// Index of the first checkpoint not yet compared.
    next_checkpoint_idx: usize,
    /// `seq` of the last checkpoint that matched, 0 before any; bounds a rewrite's position.
    last_matched_checkpoint_seq: u64,
    recorded_head: Option<Head>,
    entries_pushed: u64,
    /// The last entry verified so far ([`Head::EMPTY`] before the first).
    last_verified: Head,
    /// The hash of the entry before `last_verified`: [`crate::GENESIS_HASH`] when `last_verified`
    /// is the first entry, `None` while nothing is verified.
    before_last_verified_hash: Option<Hash>,
    /// A checkpoint or the recorded head disagreed with `last_verified`. It is held back for one
    /// entry because, when that entry breaks the chain, the chain names the tampered entry more
    /// precisely (an entry rewritten with its own hash recomputed, or one inserted just before).
    pending_pin_mismatch: Option<Tamper>,
    state: WalkState,
}

impl Verifier {
    /// Starts a verification. Every checkpoint's signature is checked here, before any entry is
    /// looked at, so that a forged checkpoint is reported as such rather than as a chain problem.
    pub fn new(
        public_key: PublicKey,
        checkpoints: &[Checkpoint],
        recorded_head: Option<Head>,
    ) -> Result<Verifier, Tamper> {
        let mut checkpoints = checkpoints.to_vec();
        // A stable sort keeps the stored order among equal sequence numbers, so the report is
        // deterministic.
        checkpoints.sort_by_key(|checkpoint| checkpoint.seq);
        if let Some(forged) = checkpoints.iter().find(|cp| !public_key.verify(cp)) {
            return Err(Tamper::BadCheckpointSignature { seq: forged.seq });
        }
        let mut verifier = Verifier {
            checkpoints,
            next_checkpoint_idx: 0,
            last_matched_checkpoint_seq: 0,
            recorded_head,
            entries_pushed: 0,
            last_verified: Head::EMPTY,
            before_last_verified_hash: None,
            pending_pin_mismatch: None,
            state: WalkState::Intact,
        };
        // Checkpoints and heads of the empty log must name the genesis hash.
        verifier.compare_with_pins();
        Ok(verifier)
    }

    /// Feeds the next stored entry.
    pub fn push(&mut self, entry: &Entry) -> Result<(), Tamper> {
        self.entries_pushed += 1;
        match &mut self.state {
            WalkState::Intact => {}
            WalkState::Suspect(suspect) => {
                suspect.observe_later_entry(entry);
                if let Some(tamper) = suspect.certain_verdict() {
                    return self.decide(tamper);
                }
                return Ok(());
            }
            WalkState::Decided(tamper) => return Err(tamper.clone()),
        }

        // The log is intact up to `last_verified`.
        let expected_seq = self.last_verified.seq.wrapping_add(1);
        let seq_fits = entry.seq == expected_seq;
        let link_fits = entry.prev_hash == self.last_verified.hash;
        let hash_fits = entry_hash(entry.seq, &entry.prev_hash, &entry.event) == entry.hash;
        let fits = seq_fits && link_fits && hash_fits;

        if !fits && entry.seq < expected_seq {
            // A sequence number that was already used: a duplicate row (or one moved back).
            return self.decide(Tamper::Inserted { seq: entry.seq });
        }
        if let Some(pin_mismatch) = &self.pending_pin_mismatch {
            if fits {
                // The chain goes on consistently past the disagreement: a rewrite with
                // recomputed hashes, which only the pin reveals.
                return self.decide(pin_mismatch.clone());
            }
        } else if let Some(head) = self.recorded_head {
            // The prefix up to the recorded head has matched it, so any entry after it was
            // added behind the store's back.
            if head.seq == self.last_verified.seq {
                return self.decide(Tamper::Inserted { seq: expected_seq });
            }
        }
        if fits {
            self.before_last_verified_hash = Some(self.last_verified.hash);
            self.last_verified = entry.head();
            self.compare_with_pins();
            return Ok(());
        }
        let suspect = Suspect::new(
            expected_seq,
            self.last_verified.hash,
            self.before_last_verified_hash,
            entry,
            hash_fits,
            self.pending_pin_mismatch.take(),
        );
        self.state = WalkState::Suspect(Box::new(suspect));
        Ok(())
    }

    /// Ends the verification after the last entry.
    pub fn finish(self) -> Result<Report, Tamper> {
        match self.state {
            WalkState::Intact => {}
            WalkState::Suspect(suspect) => return Err(suspect.final_verdict()),
            WalkState::Decided(tamper) => return Err(tamper),
        }
        if let Some(pin_mismatch) = self.pending_pin_mismatch {
            return Err(pin_mismatch);
        }
        // compare_with_pins consumed every checkpoint up to the last entry; any left are beyond it.
        let checkpoint_beyond_end = self.next_checkpoint_idx < self.checkpoints.len();
        let head_beyond_end = self
            .recorded_head
            .is_some_and(|head| head.seq > self.last_verified.seq);
        if checkpoint_beyond_end || head_beyond_end {
            return Err(Tamper::Truncated {
                seq: self.last_verified.seq,
            });
        }
        Ok(Report {
            entries: self.entries_pushed,
            checkpoints: self.checkpoints.len() as u64,
            head: self.last_verified,
        })
    }

    fn decide(&mut self, tamper: Tamper) -> Result<(), Tamper> {
        self.state = WalkState::Decided(tamper.clone());
        Err(tamper)
    }

    /// Compares the checkpoints and the recorded head at `last_verified.seq` with its hash,
    /// noting the first disagreement in `pending_pin_mismatch`.
    fn compare_with_pins(&mut self) {
        let current = self.last_verified;
        while let Some(checkpoint) = self.checkpoints.get(self.next_checkpoint_idx) {
            // Checkpoints are sorted and compared at every step, so none is left behind `current`.
            if checkpoint.seq > current.seq {
                break;
            }
            if checkpoint.hash != current.hash {
                self.pending_pin_mismatch = Some(Tamper::CheckpointMismatch {
                    seq: checkpoint.seq,
                    after_seq: self.last_matched_checkpoint_seq,
                });
                return;
            }
            self.last_matched_checkpoint_seq = checkpoint.seq;
            self.next_checkpoint_idx += 1;
        }
        if let Some(head) = self.recorded_head {
            if head.seq == current.seq && head.hash != current.hash {
                self.pending_pin_mismatch = Some(Tamper::HeadMismatch {
                    seq: head.seq,
                    after_seq: self.last_matched_checkpoint_seq,
                });
            }
        }
    }
}

/// How far a run of deleted-then-renumbered entries is searched for: beyond this a mass deletion
/// is reported as a modification of its first entry, which still names the right place.
const MAX_RENUMBERING_SHIFT: u64 = 64;

#[derive(Clone, Debug)]
enum WalkState {
    Intact,
    /// The first anomaly was seen; later entries are observed to classify it.
    Suspect(Box<Suspect>),
    Decided(Tamper),
}

/// The first entry that does not fit, and what later entries revealed about it.
///
/// Notation in the comments: `e` is `expected_seq`, `H1` the hash of the last verified entry
/// (`e - 1`), `H2` the hash of the one before it, `r` the anomalous entry.
#[derive(Clone, Debug)]
struct Suspect {
    expected_seq: u64,
    before_hash: Hash,
    before_before_hash: Option<Hash>,
    entry: Entry,
    /// `r` verifies under its own stored seq (so only its link or seq is off).
    hash_fits: bool,
    /// `r` verifies under `e + 1`: it is the next entry, moved up by one.
    belongs_one_later: bool,
    /// `r` verifies under `e - 1`: it is the previous entry, moved down by one.
    belongs_one_earlier: bool,
    /// `r` verifies under the seq after that of a later entry whose hash its `prev_hash` names.
    belongs_after_later_entry: bool,
    /// The stored seq of the entry right after `r`.
    next_seq: Option<u64>,
    /// Some later entry is the genuine entry `e`: it links to `H1` and verifies under `e`.
    genuine_expected_entry_later: bool,
    /// Some later entry has the same hash as `r`: `r` is a copy.
    copy_later: bool,
    /// A pin that disagreed with the entry just before `r`; it wins over a verdict about a later
    /// entry, because the first tampered entry is what must be named.
    pin_mismatch: Option<Tamper>,
}

impl Suspect {
    fn new(
        expected_seq: u64,
        before_hash: Hash,
        before_before_hash: Option<Hash>,
        entry: &Entry,
        hash_fits: bool,
        pin_mismatch: Option<Tamper>,
    ) -> Suspect {
        let verifies_under =
            |seq: u64| entry_hash(seq, &entry.prev_hash, &entry.event) == entry.hash;
        Suspect {
            expected_seq,
            before_hash,
            before_before_hash,
            entry: entry.clone(),
            hash_fits,
            belongs_one_later: verifies_under(expected_seq.wrapping_add(1)),
            belongs_one_earlier: expected_seq >= 2 && verifies_under(expected_seq - 1),
            belongs_after_later_entry: false,
            next_seq: None,
            genuine_expected_entry_later: false,
            copy_later: false,
            pin_mismatch,
        }
    }

    fn observe_later_entry(&mut self, later: &Entry) {
        if self.next_seq.is_none() {
            self.next_seq = Some(later.seq);
        }
        // Hashing only happens on a match, which is rare, so observing stays cheap.
        if !self.genuine_expected_entry_later
            && later.prev_hash == self.before_hash
            && entry_hash(self.expected_seq, &later.prev_hash, &later.event) == later.hash
        {
            self.genuine_expected_entry_later = true;
        }
        if !self.belongs_after_later_entry
            && later.hash == self.entry.prev_hash
            && entry_hash(
                later.seq.wrapping_add(1),
                &self.entry.prev_hash,
                &self.entry.event,
            ) == self.entry.hash
        {
            self.belongs_after_later_entry = true;
        }
        if later.hash == self.entry.hash {
            self.copy_later = true;
        }
    }

    /// The verdict if no later entry could change it any more.
    fn certain_verdict(&self) -> Option<Tamper> {
        self.chain_verdict_if_certain()
            .map(|verdict| self.earliest(verdict))
    }

    /// The verdict once every entry has been seen.
    fn final_verdict(&self) -> Tamper {
        self.earliest(self.chain_verdict())
    }

    fn earliest(&self, chain_verdict: Tamper) -> Tamper {
        match &self.pin_mismatch {
            Some(pin_mismatch) if pin_mismatch.seq() < chain_verdict.seq() => pin_mismatch.clone(),
            _ => chain_verdict,
        }
    }

    fn chain_verdict_if_certain(&self) -> Option<Tamper> {
        let e = self.expected_seq;
        if self.entry.seq > e && self.genuine_expected_entry_later {
            return Some(Tamper::Reordered { seq: e });
        }
        if self.entry.seq == e && (self.next_seq == Some(e) || self.copy_later) {
            return Some(Tamper::Inserted { seq: e });
        }
        None
    }

    fn chain_verdict(&self) -> Tamper {
        let e = self.expected_seq;
        if self.entry.seq > e {
            // A gap in the seq column. If the entry that belongs at `e` is further down, rows were
            // moved; otherwise the entries from `e` on up to `r` are gone.
            return if self.genuine_expected_entry_later {
                Tamper::Reordered { seq: e }
            } else {
                Tamper::Deleted { seq: e }
            };
        }
        // From here on r.seq == e (smaller ones were decided in `push`), and r does not fit.
        if self.next_seq == Some(e) || self.copy_later {
            return Tamper::Inserted { seq: e };
        }
        if self.genuine_expected_entry_later {
            // The real entry e was pushed further down. If r is itself genuine elsewhere, the two
            // changed places; if r belongs nowhere, it was added.
            return if self.belongs_one_later || self.belongs_after_later_entry {
                Tamper::Reordered { seq: e }
            } else {
                Tamper::Inserted { seq: e }
            };
        }
        if self.hash_fits {
            // r is consistent on its own but does not link to the entry before: that entry was
            // changed and its hash recomputed, without fixing r's prev_hash.
            return Tamper::Modified {
                seq: if e > 1 { e - 1 } else { e },
            };
        }
        if self.belongs_further_down() {
            // r is a genuine later entry renumbered into the place of deleted ones.
            return Tamper::Deleted { seq: e };
        }
        if self.belongs_one_earlier && self.before_before_hash == Some(self.entry.prev_hash) {
            // r is the genuine entry e - 1 pushed down by one: the entry we took for e - 1 was
            // added (with a self-consistent hash) in front of it.
            return Tamper::Inserted { seq: e - 1 };
        }
        Tamper::Modified { seq: e }
    }

    /// Whether r verifies under `e + shift` for a small shift: later entries were renumbered down
    /// to close the gap left by deleted ones.
    fn belongs_further_down(&self) -> bool {
        self.belongs_one_later
            || (2..=MAX_RENUMBERING_SHIFT).any(|shift| {
                let seq = self.expected_seq.wrapping_add(shift);
                entry_hash(seq, &self.entry.prev_hash, &self.entry.event) == self.entry.hash
            })
    }
}

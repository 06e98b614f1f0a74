//! The delivery service's decisions for every group: who may commit what, in which order, and
//! who receives which message.
//!
//! Per group it keeps the current epoch, which meeting person sits at which leaf (tracked from
//! the commits it accepted, by RFC 9420's rules: removes blank a leaf, adds fill the leftmost
//! blank leaf or extend the tree), the authorisations the meeting core announced (who may commit
//! Adds, who was admitted, who departed), the latest GroupInfo, and who must rejoin. A commit is
//! accepted when it is the first valid one for the current epoch; a later one for the same epoch
//! gets [`Refusal::StaleEpoch`] with the epoch to catch up to. Accepted commits go to every other
//! member, their Welcome only to the persons the commit adds, and the committer is told its
//! commit won. Application messages go to every other current member. Every recipient has a
//! bounded outbox; a recipient too slow for a handshake message is sent the GroupInfo to rejoin
//! instead of holding the group back.
//!
//! The "no planted participants" rule, server side: an Add is accepted only in a commit from a
//! client whose person may commit Adds (a host or co-host), and only for a person the meeting
//! core announced as admitted ([`MlsInstruction::AcceptAdd`]), once. A departure
//! ([`MlsInstruction::Remove`]) makes a Remove of that person's leaf pending: the group relays
//! nothing else until a commit removes it, and no commit may remove anyone else.
//!
//! Deliberately not here: any IO, clock or randomness (inputs and time are values, outputs are
//! queued for the caller to send); any key or decryption; verifying signatures (the clients
//! do, and a client that cannot process a commit rejoins by external commit); deciding the
//! meeting's rules (the meeting core does and announces them as [`MlsInstruction`]s).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use meeting::{MlsInstruction, PersonId};

use crate::directory::{Claimed, Directory, DirectoryError, DirectoryLimits, KeyPackageKind};
use crate::framing::{self, CommitSender, FramingError};
use crate::identity::MemberIdentity;

/// An MLS group id, as the bytes in the messages.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupId(Vec<u8>);

impl GroupId {
    /// The group with this id (the service uses the meeting's id).
    pub fn new(bytes: impl Into<Vec<u8>>) -> GroupId {
        GroupId(bytes.into())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Bounds of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The key-package directory's bounds.
    pub directory: DirectoryLimits,
    /// Bytes of any one MLS message (commit, Welcome, GroupInfo, application message).
    pub max_message_bytes: usize,
    /// Messages waiting for one recipient.
    pub outbox_messages: usize,
    /// Bytes waiting for one recipient.
    pub outbox_bytes: usize,
    /// Members of one group.
    pub max_members: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            directory: DirectoryLimits::default(),
            max_message_bytes: 256 * 1024,
            outbox_messages: 256,
            outbox_bytes: 4 * 1024 * 1024,
            max_members: 64,
        }
    }
}

/// What a client sends for a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The first host's client created the group alone at epoch 0; this is its GroupInfo.
    Create {
        /// `MLSMessage` carrying the GroupInfo for epoch 0.
        group_info: Vec<u8>,
    },
    /// A commit for the current epoch, sent as a `PublicMessage`, with what it produces.
    Commit {
        /// The commit.
        commit: Vec<u8>,
        /// The Welcome for the persons it adds (required exactly when it adds someone).
        welcome: Option<Vec<u8>>,
        /// The GroupInfo of the epoch the commit starts (for later external joins).
        group_info: Vec<u8>,
    },
    /// An application message (a `PrivateMessage`) for the current epoch.
    Application {
        /// The message.
        message: Vec<u8>,
    },
    /// The client could not process the commit that started `epoch`; it will rejoin.
    CannotProcess {
        /// The epoch it could not reach.
        epoch: u64,
    },
}

/// What the service accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// The group exists at epoch 0.
    Created,
    /// The commit won; the group is now at `epoch`. The committer merges its pending commit.
    Commit {
        /// The new epoch.
        epoch: u64,
        /// Persons it added.
        added: Vec<PersonId>,
        /// Persons it removed.
        removed: Vec<PersonId>,
    },
    /// The application message was queued for `recipients` other members.
    Application {
        /// How many it was queued for (those whose outbox was full are counted out).
        recipients: usize,
    },
    /// The latest GroupInfo was queued for the reporting client to rejoin with.
    Rejoin,
}

/// Why an input was refused; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Bytes that are not the MLS message the input needs.
    #[error("malformed: {0}")]
    Framing(#[from] FramingError),
    /// A message over the size bound.
    #[error("a message is at most {max} bytes")]
    TooLarge {
        /// The bound.
        max: usize,
    },
    /// No such group (never announced, or ended).
    #[error("no such group")]
    UnknownGroup,
    /// The message names another group than the one it was sent for.
    #[error("the message belongs to another group")]
    WrongGroup,
    /// The group already exists.
    #[error("the group already exists")]
    AlreadyCreated,
    /// Only an admitted host may create the group, and not before it exists.
    #[error("this person may not create the group")]
    MayNotCreate,
    /// The group has not been created yet.
    #[error("the group has not been created")]
    NotCreated,
    /// The sender is not a member of the group (or has departed).
    #[error("not a member of the group")]
    NotMember,
    /// A commit or message for an earlier epoch: another commit won. Process it, then retry.
    #[error("stale epoch; the group is at epoch {current}")]
    StaleEpoch {
        /// The group's epoch.
        current: u64,
    },
    /// A message for an epoch the group has not reached.
    #[error("future epoch; the group is at epoch {current}")]
    FutureEpoch {
        /// The group's epoch.
        current: u64,
    },
    /// The commit names another leaf than the sender's.
    #[error("the commit's sender is not the sending client's leaf")]
    SenderMismatch,
    /// An Add in a commit from a client whose person may not commit Adds.
    #[error("only a host's client may commit an Add")]
    AddByNonHost,
    /// An Add of a person the meeting core did not announce as admitted.
    #[error("an Add of a person who was not admitted")]
    AddNotAdmitted {
        /// Who the Add names.
        person: PersonId,
    },
    /// An Add of someone already in the group.
    #[error("an Add of a person already in the group")]
    AlreadyMember {
        /// Who.
        person: PersonId,
    },
    /// A Remove of an empty or unknown leaf.
    #[error("a Remove of an empty leaf")]
    RemoveOfEmptyLeaf,
    /// A Remove of someone whose departure was not announced.
    #[error("a Remove of a person who has not departed")]
    RemoveNotAnnounced {
        /// Who.
        person: PersonId,
    },
    /// Departed persons are still in the group: the next commit must remove them.
    #[error("departed persons must be removed first")]
    RemovalPending {
        /// Who must be removed.
        persons: Vec<PersonId>,
    },
    /// A commit that adds someone without a Welcome, or a Welcome without an Add.
    #[error("a Welcome must come with exactly the commits that add someone")]
    WelcomeMismatch,
    /// The GroupInfo is not for the group and epoch the commit starts.
    #[error("the GroupInfo is not for the new epoch")]
    GroupInfoMismatch,
    /// An ExternalInit in a member's commit, or an external commit without one.
    #[error("external commits must carry ExternalInit, other commits must not")]
    ExternalInitMisplaced,
    /// An external commit from a client that did not report a failed commit, or by another
    /// identity, or one that does more than replace the joiner's own leaf.
    #[error("an external commit may only re-add its sender's own identity")]
    RejoinRefused,
    /// The client reported that it cannot process commits: it must rejoin first.
    #[error("rejoin by external commit first")]
    MustRejoin,
    /// The group is full.
    #[error("at most {max} members")]
    GroupFull {
        /// The bound.
        max: usize,
    },
    /// No stored GroupInfo to rejoin with.
    #[error("no GroupInfo is stored")]
    NoGroupInfo,
    /// A key-package upload or claim was refused.
    #[error("key package: {0}")]
    KeyPackage(#[from] DirectoryError),
}

impl Refusal {
    /// A stable code for clients and audit records.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Framing(_) => "malformed",
            Refusal::TooLarge { .. } => "too_large",
            Refusal::UnknownGroup => "unknown_group",
            Refusal::WrongGroup => "wrong_group",
            Refusal::AlreadyCreated => "already_created",
            Refusal::MayNotCreate => "may_not_create",
            Refusal::NotCreated => "not_created",
            Refusal::NotMember => "not_member",
            Refusal::StaleEpoch { .. } => "stale_epoch",
            Refusal::FutureEpoch { .. } => "future_epoch",
            Refusal::SenderMismatch => "sender_mismatch",
            Refusal::AddByNonHost => "add_by_non_host",
            Refusal::AddNotAdmitted { .. } => "add_not_admitted",
            Refusal::AlreadyMember { .. } => "already_member",
            Refusal::RemoveOfEmptyLeaf => "remove_of_empty_leaf",
            Refusal::RemoveNotAnnounced { .. } => "remove_not_announced",
            Refusal::RemovalPending { .. } => "removal_pending",
            Refusal::WelcomeMismatch => "welcome_mismatch",
            Refusal::GroupInfoMismatch => "group_info_mismatch",
            Refusal::ExternalInitMisplaced => "external_init_misplaced",
            Refusal::RejoinRefused => "rejoin_refused",
            Refusal::MustRejoin => "must_rejoin",
            Refusal::GroupFull { .. } => "group_full",
            Refusal::NoGroupInfo => "no_group_info",
            Refusal::KeyPackage(_) => "key_package_refused",
        }
    }
}

/// Something to send to one person's client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// A commit another member made (process it).
    Handshake {
        /// For which group.
        group: GroupId,
        /// The commit.
        message: Arc<[u8]>,
    },
    /// An application message from another member.
    Application {
        /// For which group.
        group: GroupId,
        /// The message.
        message: Arc<[u8]>,
    },
    /// A Welcome that adds this person.
    Welcome {
        /// For which group.
        group: GroupId,
        /// The Welcome.
        message: Arc<[u8]>,
    },
    /// The group's latest GroupInfo: rejoin by external commit.
    Rejoin {
        /// For which group.
        group: GroupId,
        /// The GroupInfo.
        group_info: Arc<[u8]>,
    },
    /// Upload more key packages; `remaining` one-time packages are left.
    Replenish {
        /// How many are left.
        remaining: usize,
    },
}

impl Outgoing {
    fn len(&self) -> usize {
        match self {
            Outgoing::Handshake { message, .. }
            | Outgoing::Application { message, .. }
            | Outgoing::Welcome { message, .. } => message.len(),
            Outgoing::Rejoin { group_info, .. } => group_info.len(),
            Outgoing::Replenish { .. } => 0,
        }
    }
}

/// The delivery service: groups, the key-package directory and the outboxes.
#[derive(Debug)]
pub struct DeliveryService {
    limits: Limits,
    directory: Directory,
    groups: BTreeMap<GroupId, Group>,
    outboxes: BTreeMap<PersonId, Outbox>,
}

#[derive(Debug, Default)]
struct Group {
    /// `None` until the first host's client created it.
    epoch: Option<u64>,
    /// Who sits at each leaf; `None` is a blank leaf.
    leaves: Vec<Option<PersonId>>,
    /// Persons whose clients may commit Adds.
    adders: BTreeSet<PersonId>,
    /// Persons announced as admitted and not yet added.
    admitted: BTreeSet<PersonId>,
    /// Members who departed and whose leaf must be removed by the next commit.
    departed: BTreeSet<PersonId>,
    /// Members who reported a commit they could not process; they may rejoin externally.
    rejoining: BTreeSet<PersonId>,
    /// The GroupInfo of the current epoch.
    group_info: Option<Arc<[u8]>>,
}

#[derive(Debug, Default)]
struct Outbox {
    queue: VecDeque<Outgoing>,
    bytes: usize,
    dropped: u64,
}

impl DeliveryService {
    /// A service with no groups and an empty directory.
    pub fn new(limits: Limits) -> DeliveryService {
        DeliveryService {
            limits,
            directory: Directory::new(limits.directory),
            groups: BTreeMap::new(),
            outboxes: BTreeMap::new(),
        }
    }

    /// Applies one fact from the meeting core to `group` (creating the group's record on the
    /// first fact). Never refused: the meeting core's decisions are authoritative.
    pub fn authorise(&mut self, group: &GroupId, instruction: MlsInstruction) {
        if let MlsInstruction::EndGroup = instruction {
            if let Some(ended) = self.groups.remove(group) {
                for person in ended.leaves.iter().flatten().chain(&ended.admitted) {
                    self.outboxes.remove(person);
                    self.directory.forget(*person);
                }
            }
            return;
        }
        let state = self.groups.entry(group.clone()).or_default();
        match instruction {
            MlsInstruction::AcceptAdd { person, .. } => {
                // Someone whose leaf is on its way out (a departure, or a client that lost the
                // group) may be added back once the Remove is committed.
                if !state.is_current_member(person) {
                    state.admitted.insert(person);
                }
            }
            MlsInstruction::CommitRights {
                person,
                may_commit_adds,
            } => {
                if may_commit_adds {
                    state.adders.insert(person);
                } else {
                    state.adders.remove(&person);
                }
            }
            MlsInstruction::Remove { person, .. } => {
                state.admitted.remove(&person);
                state.adders.remove(&person);
                state.rejoining.remove(&person);
                if state.is_member(person) {
                    state.departed.insert(person);
                }
                // Nothing more reaches a departed person's client.
                self.outboxes.remove(&person);
                self.directory.forget(person);
            }
            MlsInstruction::EndGroup => {}
        }
    }

    /// Stocks a key package for `owner` at `now` (seconds since the Unix epoch); returns the
    /// one-time stock.
    pub fn upload_key_package(
        &mut self,
        now: u64,
        owner: PersonId,
        kind: KeyPackageKind,
        bytes: &[u8],
    ) -> Result<usize, Refusal> {
        Ok(self.directory.upload(now, owner, kind, bytes)?)
    }

    /// Hands `claimer` a key package of `person` to add them to `group`: only a member whose
    /// client may commit Adds, only for a person announced as admitted. Queues a
    /// [`Outgoing::Replenish`] for `person` when their stock runs low.
    pub fn claim_key_package(
        &mut self,
        now: u64,
        group: &GroupId,
        claimer: PersonId,
        person: PersonId,
    ) -> Result<Claimed, Refusal> {
        let state = self.groups.get(group).ok_or(Refusal::UnknownGroup)?;
        if !state.is_current_member(claimer) {
            return Err(Refusal::NotMember);
        }
        if !state.adders.contains(&claimer) {
            return Err(Refusal::AddByNonHost);
        }
        if !state.admitted.contains(&person) {
            return Err(Refusal::AddNotAdmitted { person });
        }
        let claimed = self.directory.claim(now, person)?;
        if claimed.replenish {
            let remaining = claimed.remaining;
            self.push(person, Outgoing::Replenish { remaining });
        }
        Ok(claimed)
    }

    /// Takes one input from `from`'s client for `group`.
    pub fn handle(
        &mut self,
        group: &GroupId,
        from: PersonId,
        input: Input,
    ) -> Result<Accepted, Refusal> {
        let max = self.limits.max_message_bytes;
        let too_large = match &input {
            Input::Create { group_info } => group_info.len() > max,
            Input::Commit {
                commit,
                welcome,
                group_info,
            } => {
                commit.len() > max
                    || group_info.len() > max
                    || welcome.as_ref().is_some_and(|welcome| welcome.len() > max)
            }
            Input::Application { message } => message.len() > max,
            Input::CannotProcess { .. } => false,
        };
        if too_large {
            return Err(Refusal::TooLarge { max });
        }
        match input {
            Input::Create { group_info } => self.create(group, from, group_info),
            Input::Commit {
                commit,
                welcome,
                group_info,
            } => self.commit(group, from, &commit, welcome, group_info),
            Input::Application { message } => self.application(group, from, message),
            Input::CannotProcess { .. } => self.cannot_process(group, from),
        }
    }

    /// The next message for `person`'s client, if any.
    pub fn poll_outgoing(&mut self, person: PersonId) -> Option<Outgoing> {
        let outbox = self.outboxes.get_mut(&person)?;
        let next = outbox.queue.pop_front()?;
        outbox.bytes -= next.len();
        Some(next)
    }

    /// Persons with something waiting.
    pub fn waiting(&self) -> Vec<PersonId> {
        self.outboxes
            .iter()
            .filter(|(_, outbox)| !outbox.queue.is_empty())
            .map(|(person, _)| *person)
            .collect()
    }

    /// Application messages dropped for `person` because their outbox was full.
    pub fn dropped(&self, person: PersonId) -> u64 {
        self.outboxes
            .get(&person)
            .map_or(0, |outbox| outbox.dropped)
    }

    /// The group's current epoch, if it was created.
    pub fn epoch(&self, group: &GroupId) -> Option<u64> {
        self.groups.get(group).and_then(|state| state.epoch)
    }

    /// The current members by leaf order (departed ones until their Remove is committed).
    pub fn members(&self, group: &GroupId) -> Vec<PersonId> {
        self.groups
            .get(group)
            .map(|state| state.leaves.iter().flatten().copied().collect())
            .unwrap_or_default()
    }

    /// The stored GroupInfo for external joins.
    pub fn group_info(&self, group: &GroupId) -> Option<Arc<[u8]>> {
        self.groups
            .get(group)
            .and_then(|state| state.group_info.clone())
    }

    /// One-time key packages held for `person`.
    pub fn key_package_stock(&self, person: PersonId) -> usize {
        self.directory.stock(person)
    }

    fn create(
        &mut self,
        group: &GroupId,
        from: PersonId,
        group_info: Vec<u8>,
    ) -> Result<Accepted, Refusal> {
        let state = self.groups.get_mut(group).ok_or(Refusal::UnknownGroup)?;
        if state.epoch.is_some() {
            return Err(Refusal::AlreadyCreated);
        }
        if !(state.adders.contains(&from) && state.admitted.contains(&from)) {
            return Err(Refusal::MayNotCreate);
        }
        let view = framing::group_info(&group_info)?;
        if view.group_id != group.as_bytes() || view.epoch != 0 {
            return Err(Refusal::GroupInfoMismatch);
        }
        state.epoch = Some(0);
        state.leaves = vec![Some(from)];
        state.admitted.remove(&from);
        state.group_info = Some(group_info.into());
        Ok(Accepted::Created)
    }

    fn commit(
        &mut self,
        group: &GroupId,
        from: PersonId,
        commit: &[u8],
        welcome: Option<Vec<u8>>,
        group_info: Vec<u8>,
    ) -> Result<Accepted, Refusal> {
        let max_members = self.limits.max_members;
        let state = self.groups.get_mut(group).ok_or(Refusal::UnknownGroup)?;
        let current = state.epoch.ok_or(Refusal::NotCreated)?;
        let view = framing::commit_view(commit)?;
        if view.framing.group_id != group.as_bytes() {
            return Err(Refusal::WrongGroup);
        }
        // Membership before epoch: a stranger learns nothing about the group's epoch.
        if !state.is_current_member(from) {
            return Err(Refusal::NotMember);
        }
        check_epoch(view.framing.epoch, current)?;

        // What the commit does to the leaves, checked against the announced facts.
        let mut removed = Vec::new();
        for leaf in &view.removes {
            let person = state
                .leaves
                .get(*leaf as usize)
                .copied()
                .flatten()
                .ok_or(Refusal::RemoveOfEmptyLeaf)?;
            removed.push(person);
        }
        let added: Vec<PersonId> = view.adds.iter().map(|id| id.person()).collect();
        match view.sender {
            CommitSender::Member(leaf) => {
                if state.rejoining.contains(&from) {
                    return Err(Refusal::MustRejoin);
                }
                if state.leaf_of(from) != Some(leaf) {
                    return Err(Refusal::SenderMismatch);
                }
                if view.external_init {
                    return Err(Refusal::ExternalInitMisplaced);
                }
                for person in &removed {
                    if !state.departed.contains(person) {
                        return Err(Refusal::RemoveNotAnnounced { person: *person });
                    }
                }
                if !added.is_empty() && !state.adders.contains(&from) {
                    return Err(Refusal::AddByNonHost);
                }
                let mut seen = BTreeSet::new();
                for person in &added {
                    if state.is_member(*person) || !seen.insert(*person) {
                        return Err(Refusal::AlreadyMember { person: *person });
                    }
                    if !state.admitted.contains(person) {
                        return Err(Refusal::AddNotAdmitted { person: *person });
                    }
                }
                if added.is_empty() != welcome.is_none() {
                    return Err(Refusal::WelcomeMismatch);
                }
            }
            CommitSender::NewMember => {
                // RFC 9420 §12.4.3.2: an external commit carries ExternalInit, and may remove
                // the joiner's earlier leaf. Trygg requires exactly that replacement, by the
                // identity of a member who reported a commit it could not process.
                let own_leaf = state.leaf_of(from);
                let replaces_own_leaf = own_leaf.is_some()
                    && view.removes.len() == 1
                    && view.removes.first().copied() == own_leaf;
                let is_rejoin = view.external_init
                    && state.rejoining.contains(&from)
                    && view.adds.is_empty()
                    && replaces_own_leaf
                    && view.joiner == Some(MemberIdentity::of(from))
                    && welcome.is_none();
                if !view.external_init {
                    return Err(Refusal::ExternalInitMisplaced);
                }
                if !is_rejoin {
                    return Err(Refusal::RejoinRefused);
                }
            }
        }
        let still_departed: Vec<PersonId> = state
            .departed
            .iter()
            .filter(|person| !removed.contains(person))
            .copied()
            .collect();
        if !still_departed.is_empty() {
            return Err(Refusal::RemovalPending {
                persons: still_departed,
            });
        }
        let members_after = state.leaves.iter().flatten().count() - removed.len() + added.len();
        if members_after > max_members {
            return Err(Refusal::GroupFull { max: max_members });
        }
        if let Some(welcome) = &welcome {
            framing::welcome(welcome)?;
        }
        let info = framing::group_info(&group_info)?;
        if info.group_id != group.as_bytes() || Some(info.epoch) != current.checked_add(1) {
            return Err(Refusal::GroupInfoMismatch);
        }

        // Accepted: the first valid commit for this epoch wins.
        let recipients: Vec<PersonId> = state
            .leaves
            .iter()
            .flatten()
            .filter(|person| **person != from && !state.departed.contains(person))
            .copied()
            .collect();
        for leaf in &view.removes {
            if let Some(slot) = state.leaves.get_mut(*leaf as usize) {
                *slot = None;
            }
        }
        for person in &removed {
            state.departed.remove(person);
            state.rejoining.remove(person);
        }
        let mut placed = added.clone();
        if view.sender == CommitSender::NewMember {
            state.rejoining.remove(&from);
            placed.push(from);
        }
        for person in &placed {
            state.admitted.remove(person);
            match state.leaves.iter().position(Option::is_none) {
                Some(blank) => state.leaves[blank] = Some(*person),
                None => state.leaves.push(Some(*person)),
            }
        }
        while state.leaves.last() == Some(&None) {
            state.leaves.pop();
        }
        let epoch = current + 1;
        state.epoch = Some(epoch);
        let group_info: Arc<[u8]> = group_info.into();
        state.group_info = Some(group_info.clone());
        let rejoining: Vec<PersonId> = state.rejoining.iter().copied().collect();

        let commit: Arc<[u8]> = commit.into();
        for person in recipients {
            if rejoining.contains(&person) {
                continue;
            }
            let message = Outgoing::Handshake {
                group: group.clone(),
                message: commit.clone(),
            };
            if !self.push(person, message) {
                // Too far behind to hold another commit: rejoin instead of holding the group.
                self.start_rejoin(group, person);
            }
        }
        // Those waiting to rejoin need the new epoch's GroupInfo to retry.
        for person in rejoining {
            self.start_rejoin(group, person);
        }
        if let Some(welcome) = welcome {
            let welcome: Arc<[u8]> = welcome.into();
            for person in &added {
                self.push(
                    *person,
                    Outgoing::Welcome {
                        group: group.clone(),
                        message: welcome.clone(),
                    },
                );
            }
        }
        Ok(Accepted::Commit {
            epoch,
            added,
            removed,
        })
    }

    fn application(
        &mut self,
        group: &GroupId,
        from: PersonId,
        message: Vec<u8>,
    ) -> Result<Accepted, Refusal> {
        let state = self.groups.get(group).ok_or(Refusal::UnknownGroup)?;
        let current = state.epoch.ok_or(Refusal::NotCreated)?;
        let framing = framing::application(&message)?;
        if framing.group_id != group.as_bytes() {
            return Err(Refusal::WrongGroup);
        }
        if !state.is_current_member(from) {
            return Err(Refusal::NotMember);
        }
        if state.rejoining.contains(&from) {
            return Err(Refusal::MustRejoin);
        }
        if !state.departed.is_empty() {
            // The departed still hold this epoch's keys: nothing more until they are removed.
            return Err(Refusal::RemovalPending {
                persons: state.departed.iter().copied().collect(),
            });
        }
        check_epoch(framing.epoch, current)?;
        let recipients: Vec<PersonId> = state
            .leaves
            .iter()
            .flatten()
            .filter(|person| **person != from && !state.rejoining.contains(person))
            .copied()
            .collect();
        let message: Arc<[u8]> = message.into();
        let mut delivered = 0;
        for person in recipients {
            let outgoing = Outgoing::Application {
                group: group.clone(),
                message: message.clone(),
            };
            if self.push(person, outgoing) {
                delivered += 1;
            } else if let Some(outbox) = self.outboxes.get_mut(&person) {
                outbox.dropped += 1;
            }
        }
        Ok(Accepted::Application {
            recipients: delivered,
        })
    }

    fn cannot_process(&mut self, group: &GroupId, from: PersonId) -> Result<Accepted, Refusal> {
        let state = self.groups.get(group).ok_or(Refusal::UnknownGroup)?;
        if !state.is_current_member(from) {
            return Err(Refusal::NotMember);
        }
        if state.group_info.is_none() {
            return Err(Refusal::NoGroupInfo);
        }
        self.start_rejoin(group, from);
        Ok(Accepted::Rejoin)
    }

    /// Marks `person` as rejoining `group`, drops what they could not use, and queues the
    /// latest GroupInfo for them.
    fn start_rejoin(&mut self, group: &GroupId, person: PersonId) {
        let Some(state) = self.groups.get_mut(group) else {
            return;
        };
        let Some(group_info) = state.group_info.clone() else {
            return;
        };
        state.rejoining.insert(person);
        let outbox = self.outboxes.entry(person).or_default();
        outbox.queue.retain(|outgoing| match outgoing {
            Outgoing::Handshake { group: of, .. }
            | Outgoing::Application { group: of, .. }
            | Outgoing::Rejoin { group: of, .. } => of != group,
            Outgoing::Welcome { .. } | Outgoing::Replenish { .. } => true,
        });
        outbox.bytes = outbox.queue.iter().map(Outgoing::len).sum();
        self.push(
            person,
            Outgoing::Rejoin {
                group: group.clone(),
                group_info,
            },
        );
    }

    /// Queues `outgoing` for `person` unless their outbox is full; says whether it was queued.
    fn push(&mut self, person: PersonId, outgoing: Outgoing) -> bool {
        let outbox = self.outboxes.entry(person).or_default();
        let len = outgoing.len();
        if outbox.queue.len() >= self.limits.outbox_messages
            || outbox.bytes + len > self.limits.outbox_bytes
        {
            return false;
        }
        outbox.bytes += len;
        outbox.queue.push_back(outgoing);
        true
    }
}

impl Group {
    fn is_member(&self, person: PersonId) -> bool {
        self.leaves.contains(&Some(person))
    }

    /// A member whose departure has not been announced.
    fn is_current_member(&self, person: PersonId) -> bool {
        self.is_member(person) && !self.departed.contains(&person)
    }

    fn leaf_of(&self, person: PersonId) -> Option<u32> {
        self.leaves
            .iter()
            .position(|leaf| *leaf == Some(person))
            .and_then(|index| u32::try_from(index).ok())
    }
}

fn check_epoch(epoch: u64, current: u64) -> Result<(), Refusal> {
    match epoch.cmp(&current) {
        std::cmp::Ordering::Less => Err(Refusal::StaleEpoch { current }),
        std::cmp::Ordering::Greater => Err(Refusal::FutureEpoch { current }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

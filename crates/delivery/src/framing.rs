//! Reading the clear parts of MLS messages (RFC 9420 §6) with openmls, never a key.
//!
//! What the delivery service may know about a message is what RFC 9420 leaves in the clear: the
//! wire format, the group id, the epoch and the content type of every handshake or application
//! message, and — because Trygg sends every handshake message as a `PublicMessage` — the
//! proposals a commit carries and, for an external commit, the credential of the joiner. This
//! module parses each kind of input into a small typed view, or refuses it with a
//! [`FramingError`]. Nothing here panics on any input: openmls and `tls_codec` decode, and every
//! length is checked by them.
//!
//! Deliberately not done here: verifying signatures, membership tags or confirmation tags, and
//! decrypting anything. The service has no crypto provider and no group secret; the clients
//! verify every message they process (RFC 9420 §6.1, §12.4.2), and a client that cannot
//! process an accepted commit recovers (see `docs/security/mls.md`).
//!
//! openmls exposes a commit's proposals only after verifying it against a group state, which a
//! service without keys cannot hold in full. So [`commit_view`] decodes the RFC 9420
//! `FramedContent` prefix of a `PublicMessage` with `tls_codec`, field by field as the RFC
//! lays it out, but with openmls's own types (`Sender`, `ProposalOrRefIn`, `KeyPackageIn`,
//! `Credential`) for every structure it needs; it reads nothing after the joiner's credential.

use openmls::credentials::{BasicCredential, Credential};
use openmls::framing::{
    ContentType, MlsMessageBodyIn, MlsMessageIn, ProtocolMessage, Sender, WireFormat,
};
use openmls::key_packages::KeyPackageIn;
use openmls::messages::proposals_in::{ProposalIn, ProposalOrRefIn};
use openmls::prelude::Ciphersuite;
use tls_codec::{Deserialize as _, Serialize as _, TlsDeserialize, TlsSize, VLBytes};

use crate::identity::MemberIdentity;

/// The one ciphersuite Trygg speaks: `MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519` (0x0001).
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// Why bytes were not accepted as the MLS message they claimed to be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// Not a well-formed `MLSMessage` (or trailing bytes after one).
    #[error("not a well-formed MLS message")]
    Malformed,
    /// Well-formed, but of another wire format than this input needs.
    #[error("expected a {expected:?}, got a {actual:?}")]
    WrongWireFormat {
        /// What the input needs.
        expected: WireFormat,
        /// What arrived.
        actual: WireFormat,
    },
    /// A handshake message sent as a `PrivateMessage`: the service must read commits.
    #[error("handshake messages must be sent as PublicMessage")]
    HandshakeNotPublic,
    /// A protocol message of a content type this input does not take.
    #[error("unexpected content type {0:?}")]
    WrongContentType(ContentType),
    /// Another ciphersuite than 0x0001.
    #[error("ciphersuite {0:?} is not 0x0001")]
    Ciphersuite(Ciphersuite),
    /// A credential that is not a basic credential naming a meeting person.
    #[error("the credential does not name a meeting person")]
    Credential,
    /// A proposal the service does not allow in a commit (PSK, ReInit, group context
    /// extensions, custom, or an ExternalInit outside an external commit).
    #[error("a commit carries a proposal of a kind that is not allowed")]
    ProposalKind,
    /// A commit that refers to a proposal by reference: proposals are not relayed on their own,
    /// so a reference can only point at something the service never saw.
    #[error("a commit refers to a proposal by reference")]
    ProposalByReference,
}

/// The clear framing of a handshake or application message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Framing {
    /// `PublicMessage` or `PrivateMessage`.
    pub wire_format: WireFormat,
    /// The group's id.
    pub group_id: Vec<u8>,
    /// The epoch the message was sent in.
    pub epoch: u64,
    /// Application, proposal or commit.
    pub content_type: ContentType,
}

/// What the service reads from a commit: its framing, who sent it, and what it changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitView {
    /// The clear framing.
    pub framing: Framing,
    /// The committer as the commit names it.
    pub sender: CommitSender,
    /// The identities of the key packages the commit adds, in order.
    pub adds: Vec<MemberIdentity>,
    /// The leaf indexes the commit removes, in order.
    pub removes: Vec<u32>,
    /// Whether the commit carries an ExternalInit (an external commit must, no other may).
    pub external_init: bool,
    /// For an external commit, the identity in the joiner's new leaf (from the update path).
    pub joiner: Option<MemberIdentity>,
}

/// Who a commit says sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitSender {
    /// A member, at this leaf.
    Member(u32),
    /// Someone joining by external commit.
    NewMember,
}

/// The fields of a key package the directory checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPackageView {
    /// Whose it is.
    pub identity: MemberIdentity,
    /// Its ciphersuite (already checked to be 0x0001).
    pub ciphersuite: Ciphersuite,
    /// Valid from, seconds since the Unix epoch.
    pub not_before: u64,
    /// Valid until, seconds since the Unix epoch.
    pub not_after: u64,
    /// Whether it carries the last-resort extension (RFC 9420 §16.8 registry, draft extension).
    pub last_resort: bool,
}

/// The fields of a GroupInfo the service checks before storing it for external joins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInfoView {
    /// The group's id.
    pub group_id: Vec<u8>,
    /// The epoch it describes.
    pub epoch: u64,
}

/// Reads the clear framing of a `PublicMessage` or `PrivateMessage`.
pub fn framing(bytes: &[u8]) -> Result<Framing, FramingError> {
    let message = parse(bytes)?;
    let wire_format = message.wire_format();
    let protocol =
        message
            .try_into_protocol_message()
            .map_err(|_| FramingError::WrongWireFormat {
                expected: WireFormat::PrivateMessage,
                actual: wire_format,
            })?;
    Ok(framing_of(&protocol))
}

/// Reads an application message: a `PrivateMessage` whose content type is application.
pub fn application(bytes: &[u8]) -> Result<Framing, FramingError> {
    let framing = framing(bytes)?;
    if framing.content_type != ContentType::Application {
        return Err(FramingError::WrongContentType(framing.content_type));
    }
    if framing.wire_format != WireFormat::PrivateMessage {
        // RFC 9420 §6.2: application data is never sent as PublicMessage.
        return Err(FramingError::WrongWireFormat {
            expected: WireFormat::PrivateMessage,
            actual: framing.wire_format,
        });
    }
    Ok(framing)
}

/// Reads a commit sent as a `PublicMessage`: framing, sender, adds, removes, external init.
pub fn commit_view(bytes: &[u8]) -> Result<CommitView, FramingError> {
    let framing = framing(bytes)?;
    if framing.content_type != ContentType::Commit {
        return Err(FramingError::WrongContentType(framing.content_type));
    }
    if framing.wire_format != WireFormat::PublicMessage {
        return Err(FramingError::HandshakeNotPublic);
    }
    // openmls accepted the whole message above; now read the RFC 9420 fields in order.
    let mut reader = bytes;
    let prefix = CommitPrefix::tls_deserialize(&mut reader).map_err(|_| FramingError::Malformed)?;
    let sender = match prefix.sender {
        Sender::Member(leaf) => CommitSender::Member(leaf.u32()),
        Sender::NewMemberCommit => CommitSender::NewMember,
        // RFC 9420 §12.4: only members and external joiners commit.
        Sender::External(_) | Sender::NewMemberProposal => return Err(FramingError::Malformed),
    };
    let mut adds = Vec::new();
    let mut removes = Vec::new();
    let mut external_init = false;
    for proposal in prefix.proposals {
        let ProposalOrRefIn::Proposal(proposal) = proposal else {
            return Err(FramingError::ProposalByReference);
        };
        match *proposal {
            ProposalIn::Add(add) => {
                // The Add proposal is exactly a KeyPackage on the wire (RFC 9420 §12.1.1).
                let encoded = add
                    .tls_serialize_detached()
                    .map_err(|_| FramingError::Malformed)?;
                let key_package = KeyPackageIn::tls_deserialize_exact(encoded)
                    .map_err(|_| FramingError::Malformed)?;
                adds.push(MemberIdentity::from_credential(
                    &key_package.unverified_credential().credential,
                )?);
            }
            ProposalIn::Remove(remove) => removes.push(remove.removed().u32()),
            ProposalIn::Update(_) | ProposalIn::SelfRemove => {}
            ProposalIn::ExternalInit(_) => external_init = true,
            _ => return Err(FramingError::ProposalKind),
        }
    }
    let joiner = if prefix.path_present == 1 && sender == CommitSender::NewMember {
        let leaf =
            LeafNodePrefix::tls_deserialize(&mut reader).map_err(|_| FramingError::Malformed)?;
        Some(MemberIdentity::from_credential(&leaf.credential)?)
    } else {
        None
    };
    Ok(CommitView {
        framing,
        sender,
        adds,
        removes,
        external_init,
        joiner,
    })
}

/// Reads a `Welcome`: checks the wire format and ciphersuite, nothing more (it is encrypted to
/// the new members).
pub fn welcome(bytes: &[u8]) -> Result<(), FramingError> {
    match parse(bytes)?.extract() {
        MlsMessageBodyIn::Welcome(welcome) if welcome.ciphersuite() == CIPHERSUITE => Ok(()),
        MlsMessageBodyIn::Welcome(welcome) => Err(FramingError::Ciphersuite(welcome.ciphersuite())),
        other => Err(FramingError::WrongWireFormat {
            expected: WireFormat::Welcome,
            actual: wire_format_of(&other),
        }),
    }
}

/// Reads a `GroupInfo`: group id, epoch and ciphersuite. Its signature is the joiners' to check.
pub fn group_info(bytes: &[u8]) -> Result<GroupInfoView, FramingError> {
    match parse(bytes)?.extract() {
        MlsMessageBodyIn::GroupInfo(info) => {
            if info.ciphersuite() != CIPHERSUITE {
                return Err(FramingError::Ciphersuite(info.ciphersuite()));
            }
            Ok(GroupInfoView {
                group_id: info.group_id().as_slice().to_vec(),
                epoch: info.epoch().as_u64(),
            })
        }
        other => Err(FramingError::WrongWireFormat {
            expected: WireFormat::GroupInfo,
            actual: wire_format_of(&other),
        }),
    }
}

/// Reads a `KeyPackage`: identity, ciphersuite, lifetime, last resort. The signature is the
/// adding client's to check (RFC 9420 §10.1).
pub fn key_package(bytes: &[u8]) -> Result<KeyPackageView, FramingError> {
    match parse(bytes)?.extract() {
        MlsMessageBodyIn::KeyPackage(key_package) => {
            let identity =
                MemberIdentity::from_credential(&key_package.unverified_credential().credential)?;
            // Reading fields only; `validate` would need a crypto provider we do not hold.
            let key_package = key_package.into_unchecked();
            if key_package.ciphersuite() != CIPHERSUITE {
                return Err(FramingError::Ciphersuite(key_package.ciphersuite()));
            }
            Ok(KeyPackageView {
                identity,
                ciphersuite: key_package.ciphersuite(),
                not_before: key_package.life_time().not_before(),
                not_after: key_package.life_time().not_after(),
                last_resort: key_package.last_resort(),
            })
        }
        other => Err(FramingError::WrongWireFormat {
            expected: WireFormat::KeyPackage,
            actual: wire_format_of(&other),
        }),
    }
}

impl MemberIdentity {
    /// The identity in a basic credential.
    pub fn from_credential(credential: &Credential) -> Result<MemberIdentity, FramingError> {
        let basic =
            BasicCredential::try_from(credential.clone()).map_err(|_| FramingError::Credential)?;
        MemberIdentity::parse(basic.identity()).ok_or(FramingError::Credential)
    }
}

/// RFC 9420 §6: `MLSMessage` with a `PublicMessage` whose `FramedContent` is a commit, up to and
/// including the presence byte of `Commit.path`.
#[derive(TlsDeserialize, TlsSize)]
struct CommitPrefix {
    _version: u16,
    _wire_format: u16,
    _group_id: VLBytes,
    _epoch: u64,
    sender: Sender,
    _authenticated_data: VLBytes,
    _content_type: u8,
    proposals: Vec<ProposalOrRefIn>,
    path_present: u8,
}

/// RFC 9420 §7.2: the start of a `LeafNode`, up to its credential.
#[derive(TlsDeserialize, TlsSize)]
struct LeafNodePrefix {
    _encryption_key: VLBytes,
    _signature_key: VLBytes,
    credential: Credential,
}

fn parse(bytes: &[u8]) -> Result<MlsMessageIn, FramingError> {
    MlsMessageIn::tls_deserialize_exact(bytes).map_err(|_| FramingError::Malformed)
}

fn framing_of(message: &ProtocolMessage) -> Framing {
    Framing {
        wire_format: message.wire_format(),
        group_id: message.group_id().as_slice().to_vec(),
        epoch: message.epoch().as_u64(),
        content_type: message.content_type(),
    }
}

fn wire_format_of(body: &MlsMessageBodyIn) -> WireFormat {
    match body {
        MlsMessageBodyIn::PublicMessage(_) => WireFormat::PublicMessage,
        MlsMessageBodyIn::PrivateMessage(_) => WireFormat::PrivateMessage,
        MlsMessageBodyIn::Welcome(_) => WireFormat::Welcome,
        MlsMessageBodyIn::GroupInfo(_) => WireFormat::GroupInfo,
        MlsMessageBodyIn::KeyPackage(_) => WireFormat::KeyPackage,
    }
}

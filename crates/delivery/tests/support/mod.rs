//! A real MLS client for the tests: openmls with its RustCrypto provider, set up as a Trygg
//! browser client is (ciphersuite 0x0001, handshakes as PublicMessage, application messages
//! as PrivateMessage, the ratchet tree in the Welcome and GroupInfo, a basic credential naming
//! the meeting person). It produces the bytes the delivery service sees.
//!
//! Not a model of the browser's logic: it does what each test tells it, including things a
//! well-behaved client would refuse to do, so the service's refusals can be tested.

#![allow(dead_code)]

use delivery::{Input, MemberIdentity, CIPHERSUITE};
use meeting::PersonId;
use openmls::messages::group_info::GroupInfo;
use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;

/// The SFrame base key label (RFC 9605 §5.2).
pub const SFRAME_LABEL: &str = "SFrame 1.0 Base Key";

pub fn person(number: u64) -> PersonId {
    PersonId::from_u64(number)
}

pub struct Client {
    pub person: PersonId,
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
    pub group: Option<MlsGroup>,
}

impl Client {
    pub fn new(number: u64) -> Client {
        Client::with_identity(
            number,
            MemberIdentity::of(person(number)).to_credential_identity(),
        )
    }

    /// A client whose credential says `identity` whatever person it acts for.
    pub fn with_identity(number: u64, identity: Vec<u8>) -> Client {
        let provider = OpenMlsRustCrypto::default();
        let signer = SignatureKeyPair::new(CIPHERSUITE.signature_algorithm()).expect("keys");
        signer.store(provider.storage()).expect("store keys");
        let credential = CredentialWithKey {
            credential: BasicCredential::new(identity).into(),
            signature_key: signer.public().into(),
        };
        Client {
            person: person(number),
            provider,
            signer,
            credential,
            group: None,
        }
    }

    pub fn key_package(&self) -> Vec<u8> {
        self.key_package_with(false)
    }

    pub fn key_package_with(&self, last_resort: bool) -> Vec<u8> {
        let mut builder = KeyPackage::builder();
        if last_resort {
            builder = builder.mark_as_last_resort();
        }
        let bundle = builder
            .build(
                CIPHERSUITE,
                &self.provider,
                &self.signer,
                self.credential.clone(),
            )
            .expect("key package");
        MlsMessageOut::from(bundle.key_package().clone())
            .tls_serialize_detached()
            .expect("encode")
    }

    /// Creates the group alone at epoch 0; returns the GroupInfo bytes.
    pub fn create(&mut self, group_id: &[u8]) -> Vec<u8> {
        let group = MlsGroup::builder()
            .with_group_id(GroupId::from_slice(group_id))
            .ciphersuite(CIPHERSUITE)
            .use_ratchet_tree_extension(true)
            .with_wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
            .build(&self.provider, &self.signer, self.credential.clone())
            .expect("create group");
        self.group = Some(group);
        self.group_info()
    }

    pub fn group_info(&self) -> Vec<u8> {
        self.group()
            .export_group_info(self.provider.crypto(), &self.signer, true)
            .expect("group info")
            .tls_serialize_detached()
            .expect("encode")
    }

    /// A commit adding these key packages (pending until merged).
    pub fn add(&mut self, key_packages: &[Vec<u8>]) -> Input {
        let key_packages: Vec<KeyPackage> = key_packages
            .iter()
            .map(|bytes| {
                let MlsMessageBodyIn::KeyPackage(key_package) =
                    MlsMessageIn::tls_deserialize_exact(bytes)
                        .expect("decode")
                        .extract()
                else {
                    panic!("not a key package");
                };
                key_package
                    .validate(self.provider.crypto(), ProtocolVersion::Mls10)
                    .expect("valid key package")
            })
            .collect();
        let provider = &self.provider;
        let signer = &self.signer;
        let group = self.group.as_mut().expect("in a group");
        let (commit, welcome, group_info) = group
            .add_members(provider, signer, &key_packages)
            .expect("add");
        self.bundle(commit, Some(welcome), group_info)
    }

    /// A commit removing these persons' leaves.
    pub fn remove(&mut self, persons: &[PersonId]) -> Input {
        let leaves: Vec<LeafNodeIndex> = persons
            .iter()
            .map(|person| self.leaf_of(*person).expect("a member"))
            .collect();
        let provider = &self.provider;
        let signer = &self.signer;
        let group = self.group.as_mut().expect("in a group");
        let (commit, welcome, group_info) = group
            .remove_members(provider, signer, &leaves)
            .expect("remove");
        self.bundle(commit, welcome, group_info)
    }

    /// A commit with an empty path update (a new epoch, fresh keys).
    pub fn update(&mut self) -> Input {
        let provider = &self.provider;
        let signer = &self.signer;
        let group = self.group.as_mut().expect("in a group");
        let bundle = group
            .self_update(provider, signer, LeafNodeParameters::default())
            .expect("update");
        let (commit, welcome, group_info) = bundle.into_contents();
        assert!(welcome.is_none(), "an update adds nobody");
        self.bundle(commit, None, group_info)
    }

    fn bundle(
        &mut self,
        commit: MlsMessageOut,
        welcome: Option<MlsMessageOut>,
        group_info: Option<GroupInfo>,
    ) -> Input {
        Input::Commit {
            commit: commit.tls_serialize_detached().expect("encode"),
            welcome: welcome.map(|welcome| welcome.tls_serialize_detached().expect("encode")),
            group_info: encode_group_info(group_info),
        }
    }

    pub fn merge(&mut self) {
        let provider = &self.provider;
        self.group
            .as_mut()
            .expect("in a group")
            .merge_pending_commit(provider)
            .expect("merge");
    }

    pub fn discard(&mut self) {
        let storage = self.provider.storage();
        self.group
            .as_mut()
            .expect("in a group")
            .clear_pending_commit(storage)
            .expect("clear");
    }

    pub fn join(&mut self, welcome: &[u8]) {
        let MlsMessageBodyIn::Welcome(welcome) = MlsMessageIn::tls_deserialize_exact(welcome)
            .expect("decode")
            .extract()
        else {
            panic!("not a welcome");
        };
        let config = MlsGroupJoinConfig::builder()
            .use_ratchet_tree_extension(true)
            .wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
            .build();
        let group = StagedWelcome::new_from_welcome(&self.provider, &config, welcome, None)
            .expect("welcome")
            .into_group(&self.provider)
            .expect("join");
        self.group = Some(group);
    }

    /// Processes a commit from another member; `Err` if openmls refuses it.
    pub fn process_commit(&mut self, bytes: &[u8]) -> Result<(), String> {
        let message = MlsMessageIn::tls_deserialize_exact(bytes)
            .map_err(|error| error.to_string())?
            .try_into_protocol_message()
            .map_err(|error| error.to_string())?;
        let provider = &self.provider;
        let group = self.group.as_mut().expect("in a group");
        let processed = group
            .process_message(provider, message)
            .map_err(|error| error.to_string())?;
        match processed.into_content() {
            ProcessedMessageContent::StagedCommitMessage(staged) => group
                .merge_staged_commit(provider, *staged)
                .map_err(|error| error.to_string()),
            _ => Err("not a commit".to_owned()),
        }
    }

    pub fn send(&mut self, text: &[u8]) -> Vec<u8> {
        let provider = &self.provider;
        let signer = &self.signer;
        self.group
            .as_mut()
            .expect("in a group")
            .create_message(provider, signer, text)
            .expect("message")
            .tls_serialize_detached()
            .expect("encode")
    }

    pub fn receive(&mut self, bytes: &[u8]) -> Vec<u8> {
        let message = MlsMessageIn::tls_deserialize_exact(bytes)
            .expect("decode")
            .try_into_protocol_message()
            .expect("protocol message");
        let provider = &self.provider;
        let processed = self
            .group
            .as_mut()
            .expect("in a group")
            .process_message(provider, message)
            .expect("process");
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(message) => message.into_bytes(),
            _ => panic!("not an application message"),
        }
    }

    /// An external commit rejoining from `group_info` (it removes our old leaf); the new group
    /// replaces the old one once merged.
    pub fn rejoin(&mut self, group_info: &[u8]) -> Input {
        let MlsMessageBodyIn::GroupInfo(info) = MlsMessageIn::tls_deserialize_exact(group_info)
            .expect("decode")
            .extract()
        else {
            panic!("not a group info");
        };
        let config = MlsGroupJoinConfig::builder()
            .use_ratchet_tree_extension(true)
            .wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
            .build();
        #[allow(deprecated)]
        let (group, commit, group_info) = MlsGroup::join_by_external_commit(
            &self.provider,
            &self.signer,
            None,
            info,
            &config,
            None,
            None,
            &[],
            self.credential.clone(),
        )
        .expect("external commit");
        self.group = Some(group);
        self.bundle(commit, None, group_info)
    }

    pub fn epoch(&self) -> u64 {
        self.group().epoch().as_u64()
    }

    pub fn exporter(&self) -> Vec<u8> {
        self.group()
            .export_secret(self.provider.crypto(), SFRAME_LABEL, &[], 16)
            .expect("export")
    }

    pub fn leaf_of(&self, person: PersonId) -> Option<LeafNodeIndex> {
        let identity = MemberIdentity::of(person).to_credential_identity();
        self.group().members().find_map(|member| {
            let basic = BasicCredential::try_from(member.credential).ok()?;
            (basic.identity() == identity.as_slice()).then_some(member.index)
        })
    }

    pub fn group(&self) -> &MlsGroup {
        self.group.as_ref().expect("in a group")
    }
}

fn encode_group_info(group_info: Option<GroupInfo>) -> Vec<u8> {
    MlsMessageOut::from(group_info.expect("the commit's GroupInfo"))
        .tls_serialize_detached()
        .expect("encode")
}

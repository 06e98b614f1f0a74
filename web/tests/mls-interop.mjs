// One MLS client on ts-mls, driven over stdin/stdout by crates/delivery/tests/interop.rs: each
// input line is a JSON command, each output line the JSON answer ({"error": ...} on failure).
// Bytes travel as base64 of whole MLSMessages. Ciphersuite 0x0001 only; handshake messages are
// sent as PublicMessage (what Trygg's delivery service reads), application messages as
// PrivateMessage. It is a test peer, not the browser client: it holds one group and trusts the
// test that drives it.

import { createInterface } from 'node:readline';
import {
  acceptAll,
  createApplicationMessage,
  createCommit,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  mlsExporter,
  processMessage,
} from 'ts-mls';
import { createGroupInfoWithRatchetTree } from 'ts-mls/createCommit.js';

const impl = await getCiphersuiteImpl(
  getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'),
);

let keyPackage;
let state;

const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const unb64 = (text) => new Uint8Array(Buffer.from(text, 'base64'));
const decode = (text) => {
  const decoded = decodeMlsMessage(unb64(text), 0);
  if (!decoded) throw new Error('not an MLSMessage');
  return decoded[0];
};

// ts-mls 1.6.4 writes the external_pub extension's data as the bare key, but RFC 9420 §12.4.3.2
// defines it as `struct { HPKEPublicKey external_pub; }`, a length-prefixed key; openmls (and the
// delivery service, which parses with it) refuses the bare form. So build the GroupInfo with the
// conformant extension data; ts-mls signs whatever extension bytes it is given.
async function groupInfoWithExternalPub(current) {
  const pair = await impl.hpke.deriveKeyPair(current.keySchedule.externalSecret);
  const key = await impl.hpke.exportPublicKey(pair.publicKey);
  if (key.length >= 64) throw new Error('a one-byte length prefix needs a key under 64 bytes');
  const externalPub = new Uint8Array([key.length, ...key]);
  return createGroupInfoWithRatchetTree(
    current.groupContext, current.confirmationTag, current, current.ratchetTree,
    [{ extensionType: 'external_pub', extensionData: externalPub }], impl,
  );
}

const commands = {
  async key_package({ identity }) {
    const credential = { credentialType: 'basic', identity: new TextEncoder().encode(identity) };
    keyPackage = await generateKeyPackage(credential, defaultCapabilities(), defaultLifetime, [], impl);
    const message = { version: 'mls10', wireformat: 'mls_key_package', keyPackage: keyPackage.publicPackage };
    return { key_package: b64(encodeMlsMessage(message)) };
  },
  async join({ welcome }) {
    const message = decode(welcome);
    if (message.wireformat !== 'mls_welcome') throw new Error('not a Welcome');
    // No ratchet tree passed: it must come in the Welcome's ratchet_tree extension.
    state = await joinGroup(
      message.welcome, keyPackage.publicPackage, keyPackage.privatePackage, emptyPskIndex, impl,
    );
    return { epoch: Number(state.groupContext.epoch) };
  },
  async send({ text }) {
    const result = await createApplicationMessage(state, new TextEncoder().encode(text), impl);
    state = result.newState;
    const message = { version: 'mls10', wireformat: 'mls_private_message', privateMessage: result.privateMessage };
    return { message: b64(encodeMlsMessage(message)) };
  },
  async receive({ message }) {
    const decoded = decode(message);
    const result = await processMessage(decoded, state, emptyPskIndex, acceptAll, impl);
    state = result.newState;
    if (result.kind === 'applicationMessage') {
      return { text: new TextDecoder().decode(result.message), epoch: Number(state.groupContext.epoch) };
    }
    return { epoch: Number(state.groupContext.epoch) };
  },
  async update() {
    const result = await createCommit(
      { state, cipherSuite: impl },
      { wireAsPublicMessage: true, ratchetTreeExtension: true },
    );
    state = result.newState;
    // The GroupInfo of the new epoch, for the delivery service to keep for external joins.
    const groupInfo = await groupInfoWithExternalPub(state);
    return {
      commit: b64(encodeMlsMessage(result.commit)),
      group_info: b64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo })),
      epoch: Number(state.groupContext.epoch),
    };
  },
  async exporter({ label, length }) {
    const secret = await mlsExporter(
      state.keySchedule.exporterSecret, label, new Uint8Array(0), length, impl,
    );
    return { secret: Buffer.from(secret).toString('hex'), epoch: Number(state.groupContext.epoch) };
  },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const command = JSON.parse(line);
    const handler = commands[command.op];
    if (!handler) throw new Error(`unknown op ${command.op}`);
    answer = await handler(command);
  } catch (error) {
    answer = { error: String(error && error.stack ? error.stack : error) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

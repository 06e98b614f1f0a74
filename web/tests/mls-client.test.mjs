// The browser's MLS client (src/mls/group.ts, bundled here for Node) against a raw ts-mls peer
// that plays a host's client and a rogue delivery service at once: it can send the client
// whatever a compromised server could. Checked: a member joins by Welcome and derives the same
// safety code and SFrame base key as the host; chat goes both ways and names its real sender;
// an Add the committer announced in the group is processed; a planted Add (a commit adding
// someone no host announced) is refused, the client stays in its epoch and tells the server it
// cannot process it; and a commit by a member who is not on the host side may not add anyone.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import {
  createApplicationMessage,
  createCommit,
  createGroup,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  mlsExporter,
  processMessage,
} from "ts-mls";
import { bundle } from "./sframe-bundle.mjs";

const meetingId = "0123456789abcdef0123456789abcdef";

describe("the browser's MLS client against a raw ts-mls host and a rogue server", () => {
  let dir;
  let mls;
  let impl;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "trygg-mls-client-"));
    const outfile = join(dir, "group.mjs");
    await writeFile(outfile, await bundle("src/mls/group.ts", "esm"));
    mls = await import(pathToFileURL(outfile).href);
    impl = await getCiphersuiteImpl(getCiphersuiteFromName("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const b64 = (bytes) => Buffer.from(bytes).toString("base64");
  const unb64 = (text) => new Uint8Array(Buffer.from(text, "base64"));

  /** A raw ts-mls client for `person` (a host's client, or what a rogue server fabricates). */
  async function rawClient(person) {
    const credential = { credentialType: "basic", identity: new TextEncoder().encode(`person:${person}`) };
    return await generateKeyPackage(credential, defaultCapabilities(), defaultLifetime, [], impl);
  }

  /** The client under test as `person`, with everything it sends and reports recorded. */
  function member(person) {
    const sent = [];
    const events = { changed: [], chat: [], refused: [] };
    const group = new mls.MeetingGroup(person, meetingId, (message) => sent.push(message), {
      changed: (view) => events.changed.push(view),
      chat: (from, text) => events.chat.push({ from, text }),
      refused: (what) => events.refused.push(what),
    });
    return { group, sent, events };
  }

  /** Waits until `check()` holds (the client works through a promise queue). */
  async function until(check, what) {
    for (let tries = 0; tries < 200; tries += 1) {
      if (check()) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.fail(`timed out waiting for ${what}`);
  }

  async function appMessage(state, payload) {
    const result = await createApplicationMessage(state, new TextEncoder().encode(JSON.stringify(payload)), impl);
    const message = { version: "mls10", wireformat: "mls_private_message", privateMessage: result.privateMessage };
    return { state: result.newState, text: b64(encodeMlsMessage(message)) };
  }

  async function commitAdding(state, keyPackage) {
    const result = await createCommit(
      { state, cipherSuite: impl },
      { extraProposals: [{ proposalType: "add", add: { keyPackage } }], wireAsPublicMessage: true, ratchetTreeExtension: true },
    );
    return { state: result.newState, commit: b64(encodeMlsMessage(result.commit)), welcome: result.welcome };
  }

  it("joins by Welcome, agrees on the safety code, and refuses a planted Add", async () => {
    const host = 1;
    const customer = member(2);
    // The client is in the meeting; the roster (from signalling) says person 1 is the host.
    customer.group.roster({ present: new Set([1, 2]), hostSide: new Set([host]) });
    customer.group.start(false);
    await until(() => customer.sent.some((message) => message.type === "mls_key_packages"), "key packages");
    const stocked = customer.sent.find((message) => message.type === "mls_key_packages");
    assert.equal(stocked.one_time.length, 3);
    assert.ok(stocked.last_resort);

    // The host's client creates the group, announces the admission, and adds the customer.
    const own = await rawClient(host);
    let hostState = await createGroup(new TextEncoder().encode(meetingId), own.publicPackage, own.privatePackage, [], impl);
    const keyPackage = decodeMlsMessage(unb64(stocked.one_time[0]), 0)[0].keyPackage;
    ({ state: hostState } = await appMessage(hostState, { kind: "admit", person: 2 }));
    const added = await commitAdding(hostState, keyPackage);
    hostState = added.state;
    const welcome = b64(encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: added.welcome }));
    customer.group.handle({ type: "mls_welcome", message: welcome });
    await until(() => customer.events.changed.length > 0, "joining");
    const joined = customer.events.changed.at(-1);
    assert.equal(joined.epoch, 1);
    assert.deepEqual([...joined.members].sort(), [1, 2]);
    assert.equal(joined.safetyCode, mls.safetyCode(hostState.keySchedule.epochAuthenticator));
    assert.match(joined.safetyCode, /^\d{4} \d{4} \d{4}$/);
    const hostKey = await mlsExporter(hostState.keySchedule.exporterSecret, "SFrame 1.0 Base Key", new Uint8Array(0), 16, impl);
    const install = await customer.group.epochInstall();
    assert.deepEqual(install.baseKey, hostKey);
    assert.equal(install.epoch, 1n);
    assert.equal(install.ownIndex, 1, "the customer sits at leaf 1, after the host");
    assert.deepEqual([...install.memberIndices].sort(), [0, 1]);

    // Chat both ways, with the real sender.
    let sentChat;
    ({ state: hostState, text: sentChat } = await appMessage(hostState, { kind: "chat", text: "Välkommen, Karin" }));
    customer.group.handle({ type: "mls_application", message: sentChat });
    await until(() => customer.events.chat.length === 1, "the host's chat");
    assert.deepEqual(customer.events.chat[0], { from: host, text: "Välkommen, Karin" });
    assert.equal(customer.group.sendChat("Tack!"), true);
    await until(() => customer.sent.some((message) => message.type === "mls_message"), "the customer's chat");
    const fromCustomer = customer.sent.find((message) => message.type === "mls_message");
    const received = await processMessage(decodeMlsMessage(unb64(fromCustomer.message), 0)[0], hostState, emptyPskIndex, () => "accept", impl);
    hostState = received.newState;
    assert.equal(received.kind, "applicationMessage");
    assert.deepEqual(JSON.parse(new TextDecoder().decode(received.message)), { kind: "chat", text: "Tack!" });
    customer.group.handle({ type: "mls_delivered", recipients: 1 });

    // A planted Add: the host's leaf commits an Add of person 9, whom no host announced (what a
    // rogue server could get a buggy or tricked host client to sign, or replay out of context).
    const planted = await rawClient(9);
    const plantedCommit = await commitAdding(hostState, planted.publicPackage);
    customer.group.handle({ type: "mls_handshake", message: plantedCommit.commit });
    await until(() => customer.events.refused.length === 1, "the refusal");
    assert.deepEqual(customer.events.refused, ["planted_add"]);
    assert.equal(customer.group.view.epoch, 1, "the client did not move to the planted epoch");
    assert.deepEqual([...customer.group.view.members].sort(), [1, 2]);
    assert.ok(customer.sent.some((message) => message.type === "mls_cannot_process"));

    // The same Add, announced by the host in the group first, is processed.
    const announced = await rawClient(3);
    let announcement;
    ({ state: hostState, text: announcement } = await appMessage(hostState, { kind: "admit", person: 3 }));
    customer.group.handle({ type: "mls_application", message: announcement });
    const honest = await commitAdding(hostState, announced.publicPackage);
    hostState = honest.state;
    customer.group.handle({ type: "mls_handshake", message: honest.commit });
    await until(() => customer.group.view.epoch === 2, "the announced Add");
    assert.deepEqual([...customer.group.view.members].sort(), [1, 2, 3]);
    assert.equal(customer.group.view.safetyCode, mls.safetyCode(hostState.keySchedule.epochAuthenticator));
    assert.deepEqual(customer.events.refused, ["planted_add"], "nothing else was refused");
    customer.group.close();
  });

  it("takes no Add from a member who is not on the host side, even one it announced", async () => {
    const customer = member(2);
    customer.group.roster({ present: new Set([1, 2, 5]), hostSide: new Set([1]) });
    customer.group.start(false);
    await until(() => customer.sent.some((message) => message.type === "mls_key_packages"), "key packages");
    const stocked = customer.sent.find((message) => message.type === "mls_key_packages");
    // Person 5 (a participant, not a host) created the group and adds the customer: the client
    // joins (a Welcome cannot be judged), but 5's further Adds are refused.
    const own = await rawClient(5);
    let state = await createGroup(new TextEncoder().encode(meetingId), own.publicPackage, own.privatePackage, [], impl);
    const added = await commitAdding(state, decodeMlsMessage(unb64(stocked.one_time[0]), 0)[0].keyPackage);
    state = added.state;
    customer.group.handle({ type: "mls_welcome", message: b64(encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: added.welcome })) });
    await until(() => customer.group.view !== null, "joining");
    let announcement;
    ({ state, text: announcement } = await appMessage(state, { kind: "admit", person: 6 }));
    customer.group.handle({ type: "mls_application", message: announcement });
    const sixth = await rawClient(6);
    const commit = await commitAdding(state, sixth.publicPackage);
    customer.group.handle({ type: "mls_handshake", message: commit.commit });
    await until(() => customer.events.refused.length === 1, "the refusal");
    assert.deepEqual(customer.events.refused, ["planted_add"]);
    assert.equal(customer.group.view.epoch, 1);
    customer.group.close();
  });
});

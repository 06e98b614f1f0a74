// End-to-end encrypted chat in a meeting, in three Chromium contexts against the real `trygg demo`
// server, whose delivery service relays MLS messages it cannot read: the adviser enters her room
// (her browser creates the meeting's MLS group), lets the customer in (her browser adds the
// customer by an MLS commit, the customer's browser joins by Welcome), both see the same safety
// code, and messages go both ways; a third person waiting in the lobby, never admitted, gets
// none of them; after the adviser removes the customer, the group moves to a new epoch without
// her and she reads nothing more. Afterwards none of the messages' text is in the server's
// database files or its logs, and the audit trail (which records the MLS commits) verifies.
//
// Run it with TRYGG_BIN naming a built binary, e.g.
//   TRYGG_BIN=../target/debug/trygg npm test

import assert from "node:assert/strict";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  assertClean,
  delay,
  knockAtMeeting,
  killServer,
  newContext,
  openWatchedPage,
  runTrygg,
  serverStartTimeoutMs,
  startWithAdviserAndMeeting,
  stopServer,
  testTimeoutMs,
  tryggBin,
} from "./support.mjs";

const secrets = ["hemligt-bolån-4711", "mitt-svar-0815", "efter-borttagningen-1337", "efter-omladdningen-2048", "ny-grupp-4096"];

describe("end-to-end encrypted chat: members only, nothing readable on the server", () => {
  let server;
  let browser;
  let dataDir;
  let baseUrl;
  let adviser;
  let customer;
  let waiting;
  let meetingId;

  /** A customer in a fresh browser context, through consent and device check to the lobby. */
  async function knock(name) {
    const watched = await openWatchedPage(await newContext(browser, baseUrl, "sv-SE"));
    await knockAtMeeting(watched.page, meetingId, name);
    return watched;
  }

  /** The safety code a page shows once its browser is in the group with `members`. */
  async function safetyCode(page, members) {
    const code = page.locator(`#safety-code[data-members="${members}"]`);
    await code.waitFor();
    return { code: await code.getAttribute("data-code"), epoch: Number(await code.getAttribute("data-epoch")) };
  }

  async function send(page, text) {
    await page.getByLabel("Meddelande till mötet").fill(text);
    await page.locator(".chat-panel").getByRole("button", { name: "Skicka" }).click();
  }

  before(
    async () => {
      ({ dataDir, server, browser, baseUrl, adviser, meetingId } = await startWithAdviserAndMeeting("trygg-web-e2ee-chat-", { title: "Krypterat samtal" }));
    },
    { timeout: serverStartTimeoutMs + 90_000 },
  );

  after(async () => {
    await browser?.close().catch(() => {});
    killServer(server);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("the adviser's browser creates the group and adds the admitted customer", { timeout: testTimeoutMs }, async () => {
    await adviser.page.goto(`/meetings/${meetingId}/room`);
    const host = Number(await adviser.page.locator(".room").getAttribute("data-you"));
    const alone = await safetyCode(adviser.page, String(host));
    assert.equal(alone.epoch, 0);

    customer = await knock("Karin Kund");
    const knockCard = adviser.page.locator("article.knock", { hasText: "Karin Kund" });
    await knockCard.getByRole("button", { name: "Släpp in" }).click();
    await customer.page.locator(".room").waitFor();
    const karin = Number(await customer.page.locator(".room").getAttribute("data-you"));
    const members = [host, karin].sort((a, b) => a - b).join(",");
    const seenByAdviser = await safetyCode(adviser.page, members);
    const seenByCustomer = await safetyCode(customer.page, members);
    assert.equal(seenByCustomer.code, seenByAdviser.code, "the same safety code on both screens");
    assert.equal(seenByCustomer.epoch, seenByAdviser.epoch);
    assert.ok(seenByAdviser.epoch >= 1);
    assert.match(await customer.page.locator("#safety-code").textContent(), /^Säkerhetskod: \d{4} \d{4} \d{4}$/);
  });

  it("carries messages both ways, and none to someone waiting in the lobby", { timeout: testTimeoutMs }, async () => {
    waiting = await knock("Mallory");
    await adviser.page.locator("article.knock", { hasText: "Mallory" }).waitFor();
    await send(adviser.page, secrets[0]);
    await customer.page.locator("#meeting-chat li", { hasText: secrets[0] }).waitFor();
    assert.match(await customer.page.locator("#meeting-chat li", { hasText: secrets[0] }).textContent(), /^Rut Rådgivare: /);
    await send(customer.page, secrets[1]);
    await adviser.page.locator("#meeting-chat li", { hasText: secrets[1] }).waitFor();
    assert.match(await adviser.page.locator("#meeting-chat li", { hasText: secrets[1] }).textContent(), /^Karin Kund: /);
    // The lobby shows no chat, and nothing of it reached the waiting browser's page.
    assert.equal(await waiting.page.locator("#meeting-chat").count(), 0);
    for (const secret of secrets.slice(0, 2)) {
      assert.ok(!(await waiting.page.content()).includes(secret), "the waiting person's page has none of the chat");
    }
  });

  it("takes back a customer whose browser lost the group (a reload): removed and added again", { timeout: testTimeoutMs }, async () => {
    const host = Number(await adviser.page.locator(".room").getAttribute("data-you"));
    const karin = Number(await customer.page.locator(".room").getAttribute("data-you"));
    const members = [host, karin].sort((a, b) => a - b).join(",");
    const before = await safetyCode(adviser.page, members);
    // The page keeps the group's state in memory only: after a reload the same place comes back
    // (the ticket), and the adviser's browser removes her old leaf and adds her again.
    await customer.page.reload();
    await customer.page.locator(".room").waitFor();
    const rejoined = await safetyCode(customer.page, members);
    assert.ok(rejoined.epoch > before.epoch, "the rejoin is a new epoch");
    const seenByAdviser = await safetyCode(adviser.page, members);
    for (let tries = 0; tries < 50 && seenByAdviser.epoch !== rejoined.epoch; tries += 1) {
      await delay(100);
      Object.assign(seenByAdviser, await safetyCode(adviser.page, members));
    }
    assert.equal(seenByAdviser.code, rejoined.code, "both sides agree again");
    await send(customer.page, secrets[3]);
    await adviser.page.locator("#meeting-chat li", { hasText: secrets[3] }).waitFor();
    assert.ok(!(await customer.page.content()).includes(secrets[0]), "nothing from before the rejoin is readable");
  });

  it("starts the group afresh when the only host's browser lost it, and both agree again", { timeout: testTimeoutMs }, async () => {
    const host = Number(await adviser.page.locator(".room").getAttribute("data-you"));
    const karin = Number(await customer.page.locator(".room").getAttribute("data-you"));
    const members = [host, karin].sort((a, b) => a - b).join(",");
    const before = await safetyCode(customer.page, members);
    await adviser.page.reload();
    await adviser.page.locator(".room").waitFor();
    // A new group: the host's browser created it and added the customer again.
    let again = await safetyCode(adviser.page, members);
    let seenByCustomer = await safetyCode(customer.page, members);
    for (let tries = 0; tries < 50 && seenByCustomer.code !== again.code; tries += 1) {
      await delay(100);
      again = await safetyCode(adviser.page, members);
      seenByCustomer = await safetyCode(customer.page, members);
    }
    assert.equal(seenByCustomer.code, again.code, "both sides agree on the new group's code");
    assert.notEqual(again.code, before.code);
    await send(adviser.page, secrets[4]);
    await customer.page.locator("#meeting-chat li", { hasText: secrets[4] }).waitFor();
  });

  it("shuts a removed customer out: a new epoch, and no further messages", { timeout: testTimeoutMs }, async () => {
    const host = Number(await adviser.page.locator(".room").getAttribute("data-you"));
    const before = await safetyCode(adviser.page, (await adviser.page.locator("#safety-code").getAttribute("data-members")) ?? "");
    await adviser.page.locator(".people li", { hasText: "Karin Kund" }).getByRole("button", { name: "Ta bort från mötet" }).click();
    await customer.page.getByText("Du har tagits bort från mötet.").waitFor();
    const after = await safetyCode(adviser.page, String(host));
    assert.ok(after.epoch > before.epoch, "removal moved the group to a new epoch");
    assert.notEqual(after.code, before.code);
    await send(adviser.page, secrets[2]);
    await adviser.page.locator("#meeting-chat li", { hasText: secrets[2] }).waitFor();
    await adviser.page.waitForTimeout(500);
    assert.ok(!(await customer.page.content()).includes(secrets[2]), "the removed customer reads nothing new");
    await assertClean(adviser.page, adviser.problems);
    await assertClean(customer.page, customer.problems);
    await assertClean(waiting.page, waiting.problems);
  });

  it("keeps no plaintext of the chat on the server, and the audit trail verifies", { timeout: testTimeoutMs }, async () => {
    await browser.close();
    assert.deepEqual(await stopServer(server), { code: 0, signal: null });
    const logs = server.stderr();
    for (const name of await readdir(dataDir)) {
      if (!name.startsWith("trygg.db")) continue;
      const bytes = await readFile(join(dataDir, name));
      for (const secret of secrets) {
        assert.ok(!bytes.includes(Buffer.from(secret)), `${name} holds "${secret}" in the clear`);
      }
    }
    for (const secret of secrets) assert.ok(!logs.includes(secret), `the logs hold "${secret}"`);
    const verify = await runTrygg(tryggBin(), ["audit", "verify", "--data-dir", dataDir, "--json"]);
    assert.equal(verify.code, 0, `audit verify failed\n${verify.stdout}\n${verify.stderr}`);
  });
});

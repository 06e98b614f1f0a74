// End-to-end encrypted audio and video through the server's media relay (the str0m SFU), in
// three Chromium contexts with fake cameras and microphones against the real `trygg demo`: the
// adviser and the customer decode each other's video and audio (frames decoded keep growing),
// every frame SFrame-encrypted with their MLS group's keys. A third person is let into the
// meeting, so the relay sends her everything, but a rogue path keeps every MLS message from her
// browser (Playwright rewrites her signalling socket): she decodes not one frame, and sends none
// anyone can decode (without keys, frames are dropped, never sent in the clear). After the
// adviser removes the customer, the customer's browser receives nothing more.
//
// Run it with TRYGG_BIN naming a built binary, e.g.
//   TRYGG_BIN=../target/debug/trygg npm test

import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import {
  assertClean,
  delay,
  killServer,
  knockAtMeeting,
  newContext,
  openWatchedPage,
  serverStartTimeoutMs,
  startWithAdviserAndMeeting,
  testTimeoutMs,
} from "./support.mjs";


describe("end-to-end encrypted media through the SFU", () => {
  let server;
  let browser;
  let dataDir;
  let baseUrl;
  let adviser;
  let customer;
  let outsider;
  let meetingId;
  let ids;

  /** Frames decoded on `page` from `person`'s camera (0 while there is no tile). */
  async function framesFrom(page, person) {
    const value = await page.locator(`#media-tiles figure[data-person="${person}"][data-label="camera"]`).getAttribute("data-frames-decoded", { timeout: 1_000 }).catch(() => null);
    return Number(value ?? 0);
  }

  /** Waits until `page` decodes `person`'s video and the count grows between two samples. */
  async function decodes(page, person) {
    let first = 0;
    for (let tries = 0; tries < 150 && first === 0; tries += 1) {
      first = await framesFrom(page, person);
      if (first === 0) await delay(200);
    }
    assert.ok(first > 0, `no frame from person ${person} was decoded`);
    await delay(2_000);
    const second = await framesFrom(page, person);
    assert.ok(second > first, `frames from person ${person} stopped at ${first}`);
  }

  async function samplesFrom(page, person) {
    return Number((await page.locator(`#media-tiles audio[data-person="${person}"]`).getAttribute("data-samples-received")) ?? 0);
  }

  async function personOf(page) {
    return Number(await page.locator(".room").getAttribute("data-you"));
  }

  before(
    async () => {
      ({ dataDir, server, browser, baseUrl, adviser, meetingId } = await startWithAdviserAndMeeting("trygg-web-e2ee-media-", { title: "Videosamtal" }));
    },
    { timeout: serverStartTimeoutMs + 90_000 },
  );

  after(async () => {
    await browser?.close().catch(() => {});
    killServer(server);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("the adviser and the customer decode each other's video and audio", { timeout: testTimeoutMs * 2 }, async () => {
    await adviser.page.goto(`/meetings/${meetingId}/room`);
    customer = await openWatchedPage(await newContext(browser, baseUrl, "sv-SE"));
    await knockAtMeeting(customer.page, meetingId, "Karin Kund");
    await adviser.page.locator("article.knock", { hasText: "Karin Kund" }).getByRole("button", { name: "Släpp in" }).click();
    await customer.page.locator(".room").waitFor();
    ids = { adviser: await personOf(adviser.page), customer: await personOf(customer.page) };
    await decodes(adviser.page, ids.customer);
    await decodes(customer.page, ids.adviser);
    assert.ok((await samplesFrom(adviser.page, ids.customer)) > 0, "the adviser hears the customer");
    assert.ok((await samplesFrom(customer.page, ids.adviser)) > 0, "the customer hears the adviser");
    // Encrypted on the way out, decrypted on the way in, nothing failed.
    const tiles = adviser.page.locator("#media-tiles");
    assert.ok(Number(await tiles.getAttribute("data-encrypted")) > 0);
    assert.ok(Number(await tiles.getAttribute("data-decrypted")) > 0);
  });

  it("someone the relay serves but who has no group keys decodes nothing, and leaks nothing", { timeout: testTimeoutMs * 2 }, async () => {
    outsider = await openWatchedPage(await newContext(browser, baseUrl, "sv-SE"));
    // A rogue path between her browser and the server: every MLS message is withheld, so her
    // browser never gets the group's keys, while everything else (admission, media) flows.
    await outsider.page.routeWebSocket(/\/signal$/, (socket) => {
      const server = socket.connectToServer();
      server.onMessage((message) => {
        if (/"type":"mls_/.test(String(message))) return;
        socket.send(message);
      });
    });
    await knockAtMeeting(outsider.page, meetingId, "Mallory");
    await adviser.page.locator("article.knock", { hasText: "Mallory" }).getByRole("button", { name: "Släpp in" }).click();
    await outsider.page.locator(".room").waitFor();
    ids.outsider = await personOf(outsider.page);
    // The relay sends her the others' media: it arrives, and none of it decrypts.
    const tiles = outsider.page.locator("#media-tiles");
    for (let tries = 0; tries < 100 && Number((await tiles.getAttribute("data-decrypt-failed")) ?? 0) === 0; tries += 1) await delay(200);
    assert.ok(Number(await tiles.getAttribute("data-decrypt-failed")) > 0, "encrypted frames reached her");
    await delay(2_000);
    assert.equal(await framesFrom(outsider.page, ids.adviser), 0);
    assert.equal(await framesFrom(outsider.page, ids.customer), 0);
    assert.equal(Number(await tiles.getAttribute("data-decrypted")), 0);
    assert.equal(Number(await tiles.getAttribute("data-encrypted")), 0, "without keys she sends nothing");
    // And the members still see each other, and nothing of hers.
    await decodes(adviser.page, ids.customer);
    assert.equal(await framesFrom(adviser.page, ids.outsider), 0);
  });

  it("cuts off a removed customer", { timeout: testTimeoutMs }, async () => {
    await adviser.page.locator(".people li", { hasText: "Karin Kund" }).getByRole("button", { name: "Ta bort från mötet" }).click();
    await customer.page.getByText("Du har tagits bort från mötet.").waitFor();
    assert.equal(await customer.page.locator("#media-tiles").count(), 0, "her call is closed");
    // The adviser's picture of her stops.
    await delay(1_500);
    const before = await framesFrom(adviser.page, ids.customer);
    await delay(2_000);
    assert.equal(await framesFrom(adviser.page, ids.customer), before);
    await assertClean(adviser.page, adviser.problems);
    await assertClean(customer.page, customer.problems);
  });
});

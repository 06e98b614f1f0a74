// Join time: from opening a meeting's link, already admitted, to the first decoded frame of
// another participant's video, in headless Chromium with fake cameras against `trygg demo` on
// loopback. The adviser sits in her room sending video; the customer, admitted once, opens the
// link again (a reload: the same place comes back, her browser is added to the MLS group again,
// connects to the SFU and installs the new keys) — the time from navigation start to the room's
// `trygg:first-remote-frame` User Timing mark (set when a remote video frame is presented).
//
// Usage: TRYGG_BIN=/path/to/trygg node bench/join-time.mjs [runs]   (default 5; prints JSON)

import { rm } from "node:fs/promises";
import { killServer, knockAtMeeting, newContext, openWatchedPage, startWithAdviserAndMeeting } from "../tests/support.mjs";

const runs = Number(process.argv[2] ?? 5);
const { dataDir, server, browser, baseUrl, adviser, meetingId } = await startWithAdviserAndMeeting("trygg-bench-join-", { title: "Mätning" });
const times = [];
try {
  await adviser.page.goto(`/meetings/${meetingId}/room`);

  const customer = await openWatchedPage(await newContext(browser, baseUrl, "sv-SE"));
  await knockAtMeeting(customer.page, meetingId, "Karin Kund");
  await adviser.page.locator("article.knock").getByRole("button", { name: "Släpp in" }).click();
  await customer.page.locator(".room").waitFor();

  const firstFrame = async () =>
    await customer.page.waitForFunction(
      () => performance.getEntriesByName("trygg:first-remote-frame")[0]?.startTime ?? null,
      null,
      { timeout: 30_000, polling: 20 },
    );
  await firstFrame();
  for (let run = 0; run < runs; run += 1) {
    await customer.page.reload();
    const handle = await firstFrame();
    times.push(Math.round(await handle.jsonValue()));
  }
} finally {
  await browser.close().catch(() => {});
  killServer(server);
  await rm(dataDir, { recursive: true, force: true });
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
console.log(JSON.stringify({ runs: times, median_ms: median, target_ms: 1500, met: median <= 1500 }));

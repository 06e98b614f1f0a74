// Join time: from opening a meeting's link, already admitted, to the first decoded frame of
// another participant's video, in headless Chromium with fake cameras against `trygg demo` on
// loopback. The adviser sits in her room sending video; the customer, admitted once, opens the
// link again (a reload: the same place comes back, her browser is added to the MLS group again,
// connects to the SFU and installs the new keys) — the time from navigation start to the room's
// `trygg:first-remote-frame` User Timing mark (set when a remote video frame is presented).
//
// Usage: TRYGG_BIN=/path/to/trygg node bench/join-time.mjs [runs]   (default 5; prints JSON)

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  bookMeeting,
  bootstrapAdmin,
  enrolAdviser,
  killServer,
  knockAtMeeting,
  launchBrowser,
  newContext,
  openWatchedPage,
  startServer,
  tryggBin,
} from "../tests/support.mjs";

const runs = Number(process.argv[2] ?? 5);
const bin = tryggBin();
const dataDir = await mkdtemp(join(tmpdir(), "trygg-bench-join-"));
const server = await startServer(bin, dataDir);
const browser = await launchBrowser({ media: true });
const times = [];
try {
  const bootstrap = await bootstrapAdmin(bin, dataDir, { email: "ada.admin@example.se", name: "Ada Admin" });
  const url = new URL(server.baseUrl);
  url.hostname = "localhost";
  const adviser = await enrolAdviser(browser, url.origin, bootstrap, {
    email: "rut.radgivare@example.se",
    name: "Rut Rådgivare",
    password: "ett långt lösenord för mätningen",
  });
  await adviser.page.locator("table.sessions tbody tr").first().waitFor();
  const meetingId = await bookMeeting(adviser.page, { title: "Mätning" });
  await adviser.page.goto(`/meetings/${meetingId}/room`);

  const customer = await openWatchedPage(await newContext(browser, url.origin, "sv-SE"));
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

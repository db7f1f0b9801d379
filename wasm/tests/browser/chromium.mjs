// Starts Debian's Chromium headless on a profile directory and connects
// playwright-core to it over CDP. The test owns the process, so it can kill it
// with SIGKILL (the whole process group) and start it again on the same profile.

import { spawn } from "node:child_process";
import { chromium } from "playwright-core";

export const EXECUTABLE = process.env.CHROMIUM || "/usr/bin/chromium";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  "--no-default-browser-check",
  "--remote-debugging-port=0",
];

// Resolves to { browser, context, kill(), close() }.
export async function launch(profileDir) {
  const proc = spawn(EXECUTABLE, [...FLAGS, `--user-data-dir=${profileDir}`, "about:blank"], {
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const ws = await new Promise((resolve, reject) => {
    let err = "";
    const timer = setTimeout(() => reject(new Error(`chromium did not start: ${err}`)), 30000);
    proc.stderr.on("data", (d) => {
      err += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`chromium exited (${code}): ${err}`));
    });
  });
  proc.stderr.resume();
  const browser = await chromium.connectOverCDP(ws);
  const context = browser.contexts()[0];
  const exited = new Promise((r) => proc.on("exit", r));
  return {
    browser,
    context,
    pid: proc.pid,
    // SIGKILL to every process of the browser (renderers and workers too).
    async kill() {
      try {
        process.kill(-proc.pid, "SIGKILL");
      } catch {}
      await exited;
    },
    async close() {
      try {
        await browser.close();
      } catch {}
      try {
        process.kill(-proc.pid, "SIGTERM");
      } catch {}
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      try {
        process.kill(-proc.pid, "SIGKILL");
      } catch {}
    },
  };
}

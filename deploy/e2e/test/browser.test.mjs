// A real browser on the demo page: Debian's Chromium, headless, driven by playwright-core.
// Two browser contexts (two users, separate cookie jars) sign in, join the same Dark Room;
// one sends, the other sees it. The console must stay free of errors (the old stack showed
// an API_CONFIG ReferenceError and WebSocket failures there). A screenshot of each page is
// saved in the e2e's output folder.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { env, supabaseToken, uniqueSlug } from './helpers.mjs';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
});
after(async () => {
  if (browser) await browser.close();
});

/** A page on the demo, recording every console error and page error. */
async function openDemo(label) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${label} console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${label} page error: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 500) problems.push(`${label} ${response.status()} from ${response.url()}`);
  });
  await page.goto(new URL('/', env.origin).href, { waitUntil: 'load' });
  return { context, page, problems };
}

async function expectStep(page, text) {
  await page.locator('#steps li.ok', { hasText: text }).first().waitFor({ timeout: 10_000 });
}

test('two browsers sign in on the demo page and chat in the same Dark Room', async () => {
  const outputDir = path.join(env.outputDir, 'browser');
  mkdirSync(outputDir, { recursive: true });
  const alice = await openDemo('alice');
  const bob = await openDemo('bob');
  try {
    // The old frontend died on a missing API_CONFIG; the page defines it before use.
    assert.equal(await alice.page.evaluate(() => window.API_CONFIG.getServerUrl()), env.origin);

    // Alice uses the launcher's dev token button; Bob pastes his own Supabase token.
    await alice.page.click('#load-dev-token');
    await expectStep(alice.page, 'Supabase token loaded');
    const bobToken = await supabaseToken({ name: 'Bob Browser' });
    await bob.page.fill('#supabase-token', bobToken.token);

    for (const { page } of [alice, bob]) {
      await page.click('#sign-in');
      await expectStep(page, 'Session bridge successful');
      await expectStep(page, 'Socket connected successfully');
    }
    assert.notEqual(
      await alice.page.textContent('#user-id'),
      await bob.page.textContent('#user-id'),
      'two different users',
    );

    const slug = uniqueSlug('browser');
    for (const { page } of [alice, bob]) {
      await page.fill('#darkroom-slug', slug);
      await page.click('#join-darkroom');
      await expectStep(page, `Joined darkroom:${slug}`);
    }

    const text = `hello from Alice's browser ${Date.now()}`;
    await alice.page.fill('#message-text', text);
    await alice.page.click('#send');
    await bob.page.locator('#messages li .text', { hasText: text }).waitFor({ timeout: 5_000 });
    // The sender sees her own message once, marked as hers.
    await alice.page.locator('#messages li.mine .text', { hasText: text }).waitFor({ timeout: 5_000 });
    assert.equal(await alice.page.locator('#messages li .text', { hasText: text }).count(), 1);
    const sender = await bob.page
      .locator('#messages li', { hasText: text })
      .locator('.from')
      .textContent();
    assert.ok(sender && sender.length > 0, 'the message shows its (anonymous) sender');
    assert.ok(!sender.includes('Bob') && !sender.includes('Dev User'), 'a Dark Room alias, not a name');

    await alice.page.screenshot({ path: path.join(outputDir, 'alice.png'), fullPage: true });
    await bob.page.screenshot({ path: path.join(outputDir, 'bob.png'), fullPage: true });

    // The refresh token lives in an httpOnly cookie scoped to /api/auth: the browser
    // sends it through the gateway and gets a rotated one back.
    await alice.page.click('#refresh');
    await expectStep(alice.page, 'Session refreshed');

    // Logging out ends the session cleanly, still without console errors.
    await bob.page.click('#logout');
    await expectStep(bob.page, 'Logged out');
    assert.equal(await bob.page.textContent('#socket-state'), 'disconnected');

    const problems = [...alice.problems, ...bob.problems];
    assert.deepEqual(problems, [], problems.join('\n'));
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

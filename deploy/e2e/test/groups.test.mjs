// Group chats in real browsers through the gateway: two browser contexts are two users
// (the launcher's two dev users). Alice creates a group, adds Bob, both open the group chat
// (auth-service mints the room grants), they chat, Alice removes Bob and Bob's view leaves
// the room within a second (group.member_removed -> every realtime instance -> room:left).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { env } from './helpers.mjs';

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  if (browser) await browser.close();
});

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

async function expectStep(page, text, ok = true) {
  const selector = ok ? '#steps li.ok' : '#steps li.fail';
  await page.locator(selector, { hasText: text }).first().waitFor({ timeout: 10_000 });
}

test('two users chat in a group and the removed member leaves the room at once', async () => {
  const outputDir = path.join(env.outputDir, 'groups');
  mkdirSync(outputDir, { recursive: true });
  const alice = await openDemo('alice');
  const bob = await openDemo('bob');
  try {
    await alice.page.click('#load-dev-token');
    await expectStep(alice.page, 'Supabase token loaded (launcher dev token)');
    await bob.page.click('#load-second-dev-token');
    await expectStep(bob.page, 'second user');
    for (const { page } of [alice, bob]) {
      await page.click('#sign-in');
      await expectStep(page, 'Session bridge successful');
      await expectStep(page, 'Socket connected successfully');
    }
    const bobId = (await bob.page.textContent('#user-id')).trim();
    assert.notEqual((await alice.page.textContent('#user-id')).trim(), bobId, 'two users');

    const name = `Group ${Date.now()}`;
    await alice.page.fill('#group-name', name);
    await alice.page.click('#create-group');
    await expectStep(alice.page, `Group created: ${name}`);
    await alice.page.fill('#member-id', bobId);
    await alice.page.click('#add-member');
    await expectStep(alice.page, `Member added: ${bobId}`);
    const groupId = await alice.page.inputValue('#group-select');
    const room = `group:${groupId}`;

    await bob.page.click('#refresh-groups');
    await bob.page.locator(`#group-select option[value="${groupId}"]`).waitFor({ state: 'attached' });
    await bob.page.selectOption('#group-select', groupId);
    for (const { page } of [alice, bob]) {
      await page.click('#open-group');
      await expectStep(page, `Joined ${room}`);
    }
    assert.equal(await bob.page.textContent('#current-room'), room);

    const text = `hello group ${Date.now()}`;
    await alice.page.fill('#message-text', text);
    await alice.page.click('#send');
    await bob.page.locator('#messages li .text', { hasText: text }).waitFor({ timeout: 5_000 });
    await alice.page.screenshot({ path: path.join(outputDir, 'alice-before.png'), fullPage: true });
    await bob.page.screenshot({ path: path.join(outputDir, 'bob-before.png'), fullPage: true });

    // Alice removes Bob: Bob's page is out of the room within a second.
    const started = Date.now();
    await alice.page.click(`#group-members li[data-user-id="${bobId}"] .remove-member`);
    await bob.page.waitForFunction(
      () => document.getElementById('current-room').textContent === 'none',
      null,
      { timeout: 5_000, polling: 20 },
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 1000, `Bob left the room after ${elapsed} ms`);
    await expectStep(bob.page, `Left ${room} (removed)`, false);
    assert.equal(await bob.page.isDisabled('#message-text'), true, 'Bob can no longer post');
    // Alice is still in the room and Bob no longer hears it.
    const after = `after removal ${Date.now()}`;
    await alice.page.fill('#message-text', after);
    await alice.page.click('#send');
    await alice.page.locator('#messages li.mine .text', { hasText: after }).waitFor({ timeout: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await bob.page.locator('#messages li .text', { hasText: after }).count(), 0);
    // Bob's group list no longer has it; Alice's member list lost Bob.
    await bob.page.locator(`#group-select option[value="${groupId}"]`).waitFor({ state: 'detached' });
    await alice.page.locator(`#group-members li[data-user-id="${bobId}"]`).waitFor({ state: 'detached' });

    await alice.page.screenshot({ path: path.join(outputDir, 'alice-after.png'), fullPage: true });
    await bob.page.screenshot({ path: path.join(outputDir, 'bob-after.png'), fullPage: true });
    const problems = [...alice.problems, ...bob.problems];
    assert.deepEqual(problems, [], problems.join('\n'));
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

import { expect } from '@playwright/test';
import { customerSends, hydrated, sandboxPorts, shot, signIn, test } from './helpers';

// A long inbox: the page brings the newest conversations, and the list reads the older
// ones page by page (keyset) as it scrolls, before its end is reached, with none twice and
// none skipped. Last of the spec files: the conversations it adds push the others down.

test('the list reads older conversations as it scrolls', async ({ page }) => {
  test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
  const names = Array.from({ length: 30 }, (_, i) => `Lista ${String(i + 1).padStart(2, '0')}`);
  for (const [i, name] of names.entries()) {
    const from = `52155000007${String(i).padStart(2, '0')}`;
    await customerSends(page, { channel: 'whatsapp', from, name, text: `Hola, soy ${name}` });
  }
  const pages: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('/api/conversations')) pages.push(request.postData() ?? '');
  });
  await signIn(page);
  await expect(page.locator('.rows > li').first()).toContainText('Lista 30');

  const scroller = page.locator('.rows-scroller');
  const oldest = page.getByRole('link', { name: /Lista 01/ });
  await expect(async () => {
    await scroller.evaluate((element) => element.scrollTo(0, element.scrollHeight));
    await expect(oldest).toBeVisible({ timeout: 1_000 });
  }).toPass();
  await shot(page, 'long-list');

  // The older rows came in pages that start after the last row shown (the stream's catch-up
  // on connecting reads the first page again).
  expect(pages.filter((body) => body.includes('before_at=') && body.includes('before_id='))).not.toHaveLength(0);
  // Every conversation once, newest first.
  const shown = await page.locator('.rows a.row .row-name').allTextContents();
  expect(new Set(shown).size).toBe(shown.length);
  const ours = shown.filter((name) => name.startsWith('Lista '));
  expect(ours).toEqual([...names].reverse());
  // The page as the server renders it holds the first page only.
  const html = await (await page.request.get('/inbox')).text();
  const rendered = html.match(/<a [^>]*class="row[ "]/g) ?? [];
  expect(rendered.length).toBeGreaterThan(0);
  expect(rendered.length).toBeLessThan(shown.length);

  // A conversation's own address (a shared link, a notification) opens straight on it, and the
  // page comes alive with the conversation's code loaded before it hydrates.
  const phone = test.info().project.name === 'phone';
  if (phone) {
    // Enough conversations that the list has more pages to read.
    for (let i = 0; i < 30; i += 1) {
      const from = `52155000008${String(i).padStart(2, '0')}`;
      await customerSends(page, { channel: 'whatsapp', from, name: `Otra ${i + 1}`, text: 'Hola' });
    }
  }
  const address = await page.getByRole('link', { name: /Lista 30/ }).getAttribute('href');
  expect(address).toMatch(/^\/inbox\?c=\d+$/);
  const hidden: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('/api/conversations') && request.postData()?.includes('before_id=')) {
      hidden.push(request.url());
    }
  });
  await page.goto(address!);
  await hydrated(page);
  await expect(page.locator('.chat-header h2')).toHaveText('Lista 30');
  const composer = page.getByRole('textbox', { name: 'Write a message' });
  await expect(composer).toBeEditable();
  await shot(page, 'chat-from-address');
  // On a phone the open chat hides the list, which then reads no more pages, however the
  // stream changes it.
  for (const text of ['¿Siguen ahí?', '¿Hola?']) {
    await customerSends(page, { channel: 'whatsapp', from: '5215500000729', name: 'Lista 30', text });
    await expect(page.getByRole('log', { name: 'Messages' })).toContainText(text);
  }
  if (phone) expect(hidden).toEqual([]);
});

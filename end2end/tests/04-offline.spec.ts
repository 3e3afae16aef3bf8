import { expect, type Page } from '@playwright/test';
import { customerSends, hydrated, sentTo, shot, signIn, test } from './helpers';

// Offline: after 03-workspace. Conversations opened recently stay readable with the
// network gone; messages written meanwhile wait as "Sending" (kept in the browser's storage)
// and go out once the network is back, in the order written, each exactly once.

/** Opens a conversation from the list (on phones the list is a view of its own). */
async function open(page: Page, name: RegExp) {
  if (test.info().project.name === 'phone' && (await page.getByRole('link', { name: 'Back to conversations' }).isVisible())) {
    await page.getByRole('link', { name: 'Back to conversations' }).click();
  }
  await page.getByRole('link', { name }).first().click();
  await expect(page).toHaveURL(/\/inbox\?c=\d+$/);
}

async function texts(page: Page, customer: string) {
  return (await sentTo(page, customer)).map((m) => m.text);
}

test('recent conversations read offline; messages written offline go out once, in order', async ({ page, context }) => {
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('ERR_INTERNET_DISCONNECTED')) console.log(`[console] ${m.text().slice(0, 600)}`); });
  const customer = '5215544332211';
  await signIn(page);
  // The service worker takes the page over once installed.
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, undefined, { timeout: 20_000 });

  await customerSends(page, { channel: 'whatsapp', from: customer, name: 'Marta Solís', text: '¿Siguen abiertos hoy?' });
  const thread = page.getByRole('log', { name: 'Messages' });
  await open(page, /Lucía Pérez/);
  await expect(thread).toContainText('cotizacion-azul.pdf');
  await open(page, /Marta Solís/);
  await expect(thread).toContainText('¿Siguen abiertos hoy?');
  // The service worker has kept both threads.
  await expect.poll(() => page.evaluate(async () =>
    (await (await caches.open('buzon-data-v1')).keys()).filter((k) => k.url.includes('/api/thread')).length)).toBe(2);

  // The network goes away.
  await context.setOffline(true);
  await open(page, /Lucía Pérez/);
  await expect(thread).toContainText('cotizacion-azul.pdf');
  await open(page, /Marta Solís/);

  const composer = page.getByRole('textbox', { name: 'Write a message' });
  for (const text of ['Sí, hasta las 8', 'Te esperamos en la tienda']) {
    await composer.fill(text);
    await composer.press('Enter');
  }
  const waiting = thread.locator('.bubble.out').filter({ has: page.getByLabel('Sending') });
  await expect(waiting).toHaveCount(2);
  await expect(page.getByRole('status').filter({ hasText: 'Offline: 2 to send' })).toBeVisible();
  await shot(page, '22-offline-queue');
  // They wait in the browser's storage, in order.
  await expect(waiting.nth(0)).toContainText('Sí, hasta las 8');
  await expect(waiting.nth(1)).toContainText('Te esperamos en la tienda');
  const stored = await page.evaluate(() => Object.entries(localStorage)
    .filter(([k]) => k.startsWith('buzon.outbox')).map(([, v]) => JSON.parse(v).map((q: { body: string }) => q.body)));
  expect(stored).toEqual([['Sí, hasta las 8', 'Te esperamos en la tienda']]);
  expect(await texts(page, customer)).toEqual([]);

  await context.setOffline(false);
  await expect.poll(() => texts(page, customer), { timeout: 30_000 }).toEqual(['Sí, hasta las 8', 'Te esperamos en la tienda']);
  await expect(waiting).toHaveCount(0, { timeout: 15_000 });
  await expect(page.getByRole('status').filter({ hasText: 'Offline' })).toHaveCount(0);
  for (const text of ['Sí, hasta las 8', 'Te esperamos en la tienda']) {
    await expect(thread.locator('.bubble.out').filter({ hasText: text })).toHaveCount(1);
  }
  // The server stored each once.
  const base = new URL(page.url()).origin;
  const conversationId = new URL(page.url()).searchParams.get('c')!;
  const kept = await (await page.request.post(`${base}/api/thread`, {
    form: { conversation_id: conversationId },
    headers: { Origin: base },
  })).json();
  const bodies = kept.messages.filter((m: { direction: string }) => m.direction === 'out').map((m: { body: string }) => m.body);
  expect(bodies).toEqual(['Sí, hasta las 8', 'Te esperamos en la tienda']);
  // Nothing is left waiting in the browser.
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('buzon.outbox')))).toEqual([]);
  await page.waitForTimeout(1500);
  expect(await texts(page, customer)).toEqual(['Sí, hasta las 8', 'Te esperamos en la tienda']);
});

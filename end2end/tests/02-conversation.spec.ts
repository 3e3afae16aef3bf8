import { expect, type Page } from '@playwright/test';
import { connectSandboxLine, customerSends, hydrated, sandboxPorts, sandboxUrl, shot, signIn, test } from './helpers';

// A conversation both ways, live: the sandbox plays a WhatsApp customer; the agent's browser
// shows their messages as they arrive, answers, and watches the delivery ticks change.
// Runs after 01-team, whose administrator (now using English) it signs in as.

test('a customer and an agent talk live', async ({ page }) => {
  test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
  page.on('console', (m) => { if (m.type() === 'error') console.log(`[console] ${m.text().slice(0, 600)}`); });
  connectSandboxLine();

  await signIn(page);
  // The open conversation's code is not part of the list's page: it is fetched once the agent
  // reaches for the list, before the first conversation is opened.
  const chatCode: string[] = [];
  page.on('request', (r) => { if (/split_open_chat/.test(r.url())) chatCode.push(r.url()); });
  await page.mouse.move(1, 1);
  await page.reload();
  await hydrated(page);
  expect(chatCode).toHaveLength(0);

  // The customer writes: the conversation appears without a reload.
  const project = test.info().project.name;
  const text = `Hola, ¿tienen la chaqueta azul en talla M? (${project})`;
  await customerSends(page, { channel: 'whatsapp', text });
  const row = page.getByRole('link', { name: /Lucía Pérez/ });
  await expect(row).toBeVisible();
  await expect(row).toContainText('chaqueta azul');
  // The tabs count it as it comes, and the opened conversation no longer counts as unread.
  const unreadTab = page.getByRole('tab', { name: /Unread/ });
  await expect(page.getByRole('tab', { name: /All/ })).toContainText('1');
  await expect(unreadTab).toContainText('1');
  await shot(page, '11-inbox-live');

  await row.hover();
  await expect.poll(() => chatCode.length).toBeGreaterThan(0);

  // Open it, answer with Enter.
  await row.click();
  await expect(page).toHaveURL(/\/inbox\?c=\d+$/);
  if (project !== 'phone') await expect(unreadTab).toContainText('0');
  const thread = page.getByRole('log');
  await expect(thread.getByText(text)).toBeVisible();
  const reply = 'Sí, la tenemos. ¿Te la aparto?';
  const composer = page.getByRole('textbox', { name: 'Write a message' });
  await composer.fill(reply);
  await composer.press('Enter');
  const sent = thread.locator('.bubble.out').filter({ hasText: reply });
  await expect(sent).toBeVisible();

  // It reaches the customer's phone (the sandbox) once...
  await expect.poll(async () => {
    const log = await (await page.request.get(`${sandboxUrl()}/sandbox/api/messages?channel=whatsapp`)).json();
    return log.filter((m: { from: string; text: string }) => m.from === 'business' && m.text === reply).length;
  }).toBe(1);
  // ...and the ticks follow: delivered, then read when the customer opens it.
  await expect(sent.locator('.ticks-read')).toBeVisible({ timeout: 15_000 });
  await expect(sent.locator('.ticks-read')).toHaveAttribute('aria-label', 'Read');

  // A photo from the customer arrives and is shown once downloaded.
  await customerSends(page, { channel: 'whatsapp', type: 'image', text: 'Esta es la que vi' });
  const photo = thread.locator('.bubble.in img.media');
  await expect(photo).toBeVisible();
  await expect.poll(() => photo.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  await shot(page, '12-chat-live');

  // Settings: the line is listed (its secrets are not), and the connection test asks the provider.
  await page.getByRole('link', { name: 'Settings' }).click();
  await hydrated(page);
  const line = page.getByRole('listitem').filter({ hasText: '106540352242922' });
  await expect(line).toContainText('Connected');
  await line.getByRole('button', { name: 'Test connection' }).click();
  await expect(line.getByRole('status')).toContainText('Connection works: Ventas Sandbox');
  await expect(page.locator('body')).not.toContainText('sandbox-access-token');
  await shot(page, '13-settings-channels');

  // Templates: synced from the provider's approved ones, priced per category.
  const templates = page.getByRole('region', { name: 'WhatsApp templates' });
  const synced = templates.getByRole('listitem').filter({ hasText: 'Ventas' });
  await synced.getByRole('button', { name: 'Sync templates' }).click();
  await expect(synced.getByRole('status')).toContainText(/Synced: [1-9]\d* approved templates/);
  const utility = templates.getByLabel('Utility');
  await utility.fill('0,0107');
  await utility.press('Enter');
  await expect(templates.getByText('Price saved.')).toBeVisible();
  await expect(templates.getByLabel('Utility')).toHaveValue('0.0107');
  await shot(page, '14-settings-templates');
});

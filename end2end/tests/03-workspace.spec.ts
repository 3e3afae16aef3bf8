import { expect, type Browser, type Page } from '@playwright/test';
import { admin, buzon, customerSends, hydrated, sandboxPorts, sandboxUrl, shot, signIn, test, watchErrors } from './helpers';

// A working day in the workspace, after 02-conversation (Lucía's WhatsApp conversation and
// the synced templates exist): every message type the customer can send, a reply with a file
// and its upload progress, the contact panel, a new conversation that must open with a
// template, the list's filters, and a seller who does not see unassigned conversations.

async function businessMessages(page: Page) {
  const log = await (await page.request.get(`${sandboxUrl()}/sandbox/api/messages?channel=whatsapp`)).json();
  return log.filter((m: { from: string }) => m.from === 'business');
}

/** The contact panel: beside the chat on desktops, behind a button on tablets and phones. */
async function openPanel(page: Page) {
  const project = test.info().project.name;
  if (project === 'tablet') {
    await page.getByRole('button', { name: 'Contact' }).click();
  } else if (project === 'phone') {
    await page.getByRole('link', { name: 'Contact', exact: true }).click();
  }
  const panel = page.getByRole('complementary', { name: 'Contact' });
  await expect(panel).toBeVisible();
  return panel;
}

async function closePanel(page: Page) {
  const project = test.info().project.name;
  if (project === 'tablet') {
    await page.getByRole('button', { name: 'Contact' }).click();
  } else if (project === 'phone') {
    await page.getByRole('link', { name: 'Back to the chat' }).click();
  }
}

test('a working day in the workspace', async ({ page, browser }) => {
  test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
  const project = test.info().project.name;
  buzon(['user', 'add', '--org', 'Ventas Andinas', '--email', 'rosa@andinas.example',
    '--name', 'Rosa Ríos', '--role', 'seller', '--password-stdin'], 'vendedora-123\n');
  buzon(['contact', 'add', '--org', 'Ventas Andinas', '--first-name', 'Paula',
    '--last-name', 'Gómez', '--phone', '+52 1 55 9999 0000', '--owner', admin.email]);

  await signIn(page, admin.email, admin.password);
  await page.getByRole('link', { name: /Lucía Pérez/ }).click();
  await expect(page).toHaveURL(/\/inbox\?c=\d+$/);
  const thread = page.getByRole('log', { name: 'Messages' });

  // Every kind of message the customer can send is shown as what it is.
  const linkText = 'El catálogo está en https://example.com/catalogo?id=7 gracias';
  const textId = await customerSends(page, { channel: 'whatsapp', text: linkText });
  for (const type of ['video', 'audio', 'voice', 'document', 'sticker']) {
    await customerSends(page, { channel: 'whatsapp', type, text: type === 'document' ? 'cotizacion.pdf' : undefined });
  }
  await customerSends(page, { channel: 'whatsapp', type: 'location', latitude: 19.4326, longitude: -99.1332 });
  await customerSends(page, { channel: 'whatsapp', type: 'button', text: 'Sí, me interesa' });
  await customerSends(page, { channel: 'whatsapp', type: 'poll' });
  await customerSends(page, { channel: 'whatsapp', type: 'reaction', target: textId, emoji: '👍' });
  const link = thread.getByRole('link', { name: 'https://example.com/catalogo?id=7' });
  await expect(link).toHaveAttribute('href', 'https://example.com/catalogo?id=7');
  await expect(link).toHaveAttribute('rel', /noopener/);
  await expect(thread.locator('.bubble.in video')).toHaveCount(1);
  await expect(thread.locator('.bubble.in audio')).toHaveCount(2);
  const documentLink = thread.locator('.bubble.in a.document');
  await expect(documentLink).toBeVisible();
  await expect(documentLink).toContainText(/\d+ (B|KB)/);
  await expect(thread.locator('.bubble.in img.sticker')).toBeVisible();
  await expect(thread.getByRole('link', { name: /Zócalo/ })).toHaveAttribute('href', /openstreetmap\.org\/\?mlat=19\.4326/);
  await expect(thread.getByText('Sí, me interesa')).toBeVisible();
  await expect(thread.getByText(/Message type not supported/)).toBeVisible();
  await expect(thread.locator('.bubble.in').filter({ hasText: 'El catálogo' }).getByLabel('Reactions')).toHaveText('👍');
  await customerSends(page, { channel: 'whatsapp', type: 'edit', target: textId, text: 'El catálogo nuevo: https://example.com/catalogo?id=8' });
  const edited = thread.locator('.bubble.in').filter({ hasText: 'El catálogo nuevo' });
  await expect(edited).toContainText('edited');
  await shot(page, '15-every-message-type');

  // A reply to a specific message, carrying a file: the upload shows its progress.
  const original = thread.locator('.bubble.in').filter({ hasText: 'Sí, me interesa' });
  await original.hover();
  await original.getByRole('button', { name: 'Reply to this message' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Replying to:' })).toContainText('Sí, me interesa');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 50, downloadThroughput: 4_000_000, uploadThroughput: 150_000,
  });
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(400_000, 0x20), Buffer.from('\n%%EOF\n')]);
  await page.getByRole('textbox', { name: 'Write a message' }).fill('Te envío la cotización');
  await page.getByLabel('Attach').setInputFiles({ name: 'cotizacion-azul.pdf', mimeType: 'application/pdf', buffer: pdf });
  const progress = page.getByRole('progressbar', { name: 'Uploading the file' });
  await expect(progress).toBeVisible();
  await shot(page, '16-upload-progress');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
  });
  const sentFile = thread.locator('.bubble.out').filter({ hasText: 'cotizacion-azul.pdf' });
  await expect(sentFile).toBeVisible({ timeout: 30_000 });
  await expect(progress).toHaveCount(0);
  await expect(sentFile.locator('.quote')).toContainText('Sí, me interesa');
  await expect(sentFile).toContainText('Te envío la cotización');
  await expect.poll(async () => (await businessMessages(page))
    .filter((m: { kind?: string; file_name?: string; text?: string }) => JSON.stringify(m).includes('cotizacion-azul.pdf')).length,
  { timeout: 15_000 }).toBe(1);

  // The customer is not in the CRM yet: create the contact from the panel.
  const panel = await openPanel(page);
  await expect(panel).toContainText('not in the CRM yet');
  await panel.getByLabel('First name', { exact: true }).fill('Lucía');
  await panel.getByLabel('Last name', { exact: true }).fill('Pérez');
  await panel.getByRole('button', { name: 'Create contact' }).click();
  await expect(panel.getByRole('alert')).toContainText('agreed to have their data stored');
  await panel.getByLabel(/agreed to have their personal data stored/).check();
  await panel.getByRole('button', { name: 'Create contact' }).click();
  await expect(panel.getByRole('heading', { name: 'Lucía Pérez' })).toBeVisible();
  await expect(panel.locator('button#contact-whatsapp_phone')).toHaveText('+52 55 1234 5678');
  await expect(panel.getByRole('link', { name: 'Edit in Contacts' })).toHaveAttribute('href', /^\/contacts\?c=\d+$/);
  await expect(panel).toContainText('Ana María Admin');
  await shot(page, '17-contact-panel');
  await closePanel(page);

  // A new conversation with a contact who never wrote: only a template can open it.
  if (project === 'phone') {
    await page.getByRole('link', { name: 'Back to conversations' }).click();
  }
  await page.getByRole('button', { name: 'New conversation' }).click();
  const dialog = page.getByRole('dialog', { name: 'New conversation' });
  await dialog.getByLabel('Search contact').fill('Paula');
  await dialog.getByRole('button', { name: /Paula Gómez/ }).click();
  await expect(page).toHaveURL(/\/inbox\?c=\d+$/);
  await expect(page.getByRole('heading', { name: 'Paula Gómez', level: 2 })).toBeVisible();
  const composer = page.getByRole('textbox', { name: 'Write a message' });
  await expect(composer).toBeDisabled();
  await expect(page.getByRole('status').filter({ hasText: /template/i }).first()).toBeVisible();
  await shot(page, '18-window-closed');
  await page.getByRole('button', { name: 'Template', exact: true }).click();
  const picker = page.getByRole('dialog', { name: 'Templates' });
  await picker.locator('.template-option').first().click();
  await expect(picker).toContainText('Price');
  const params = picker.getByLabel(/Parameter \d/);
  const count = await params.count();
  for (let i = 0; i < count; i++) {
    await params.nth(i).fill(`Valor ${i + 1}`);
  }
  if (count > 0) {
    await expect(picker.locator('.template-preview')).toContainText('Valor 1');
  }
  await shot(page, '19-template-picker');
  const before = (await businessMessages(page)).length;
  await picker.getByRole('button', { name: 'Send template' }).click();
  await expect(page.locator('.bubble.out').filter({ hasText: 'Template' })).toBeVisible();
  await expect.poll(async () => (await businessMessages(page)).length, { timeout: 15_000 }).toBe(before + 1);
  await expect(composer).toBeDisabled();

  // The list: search and filters, with the counts in the tabs.
  if (project === 'phone') {
    await page.getByRole('link', { name: 'Back to conversations' }).click();
  }
  const rows = page.getByRole('region', { name: 'Conversations' }).getByRole('listitem');
  await expect(rows).toHaveCount(2);
  await page.getByRole('searchbox', { name: 'Search conversations' }).fill('paula');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('Paula Gómez');
  await page.getByRole('searchbox', { name: 'Search conversations' }).fill('');
  await expect(rows).toHaveCount(2);
  await page.getByLabel('Channel').selectOption('messenger');
  await expect(page.getByText('No conversation matches these filters.')).toBeVisible();
  await page.getByLabel('Channel').selectOption('');
  await expect(rows).toHaveCount(2);
  await expect(page.getByRole('tab', { name: /All/ })).toContainText('2');
  await shot(page, '20-list-filters');

  // A seller sees only what is assigned to them: nothing yet.
  await sellerSeesNothing(browser);
});

async function sellerSeesNothing(browser: Browser) {
  const project = test.info().project;
  const context = await browser.newContext({ ...project.use, baseURL: project.use.baseURL });
  const seller = await context.newPage();
  watchErrors(seller, 'seller');
  await signIn(seller, 'rosa@andinas.example', 'vendedora-123');
  await expect(seller.getByRole('heading', { name: 'Aún no hay conversaciones' })).toBeVisible();
  await expect(seller.getByRole('link', { name: /Lucía Pérez|Paula Gómez/ })).toHaveCount(0);
  await expect(seller.getByRole('link', { name: 'Sin asignar' })).toHaveCount(0);
  await shot(seller, '21-seller-inbox');
  await context.close();
}

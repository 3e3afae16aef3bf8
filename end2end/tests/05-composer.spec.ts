import { expect } from '@playwright/test';
import { customerSends, hydrated, sentTo, shot, signIn, test } from './helpers';

const marta = '5215544332211';

// Voice notes: after 04-offline (Marta's WhatsApp conversation is open to replies).
// The browser records with its microphone (a fake one here); the note reaches the customer
// as Ogg Opus, which WhatsApp shows as a voice note. Pressing Template discards a recording.
// A quick reply with a file: made in Settings, chosen with `/` in the composer, sent as
// that file with its text. Then the notification sound: a chime on a new message, none
// once the profile turns it off.

test('a voice note is recorded and sent as Ogg Opus; Template discards a recording', async ({ page }) => {
  await signIn(page);
  await page.getByRole('link', { name: /Marta Solís/ }).first().click();
  const thread = page.getByRole('log', { name: 'Messages' });
  await expect(thread).toContainText('¿Siguen abiertos hoy?');

  await page.getByRole('button', { name: 'Record a voice note' }).click();
  const recording = page.getByRole('status').filter({ hasText: 'Recording' });
  await expect(recording).toBeVisible();
  await expect(recording.locator('time')).toHaveText('0:01', { timeout: 5_000 });
  await expect(page.getByRole('button', { name: 'Record a voice note' })).toBeDisabled();
  await shot(page, '23-recording');
  await page.getByRole('button', { name: 'Send voice note' }).click();
  await expect(recording).toHaveCount(0);

  const note = thread.locator('.bubble.out audio').last();
  await expect(note).toBeVisible({ timeout: 20_000 });
  const src = await note.getAttribute('src');
  const stored = await page.request.get(src!);
  expect(stored.headers()['content-type']).toContain('audio/ogg');
  const bytes = await stored.body();
  expect(bytes.subarray(0, 4).toString()).toBe('OggS');
  expect(bytes.subarray(28, 36).toString()).toBe('OpusHead');
  await expect.poll(async () => (await sentTo(page, marta)).filter((m) => m.kind === 'audio').length,
    { timeout: 20_000 }).toBe(1);

  // Template while recording throws the recording away.
  await page.getByRole('button', { name: 'Record a voice note' }).click();
  await expect(recording).toBeVisible();
  await page.getByRole('button', { name: 'Template', exact: true }).click();
  await expect(recording).toHaveCount(0);
  await expect(page.getByRole('dialog', { name: /template/i })).toBeVisible();
  await page.getByRole('button', { name: 'Template', exact: true }).click();
  await expect(page.getByRole('button', { name: 'Record a voice note' })).toBeEnabled();
  await page.waitForTimeout(1000);
  await expect(thread.locator('.bubble.out audio')).toHaveCount(1);
});

test('a quick reply with a file is made in Settings and sent from the composer', async ({ page }) => {
  await signIn(page);
  await page.goto('/settings');
  await hydrated(page);
  const section = page.getByRole('region', { name: 'Quick replies' });
  await section.getByLabel('Code').fill('catalogo');
  await section.getByLabel('Text').fill('Te comparto el catálogo, {first_name}');
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(20_000, 0x20), Buffer.from('\n%%EOF\n')]);
  await section.getByLabel('File (optional)').setInputFiles({ name: 'catalogo-2026.pdf', mimeType: 'application/pdf', buffer: pdf });
  await expect(section.getByRole('status').filter({ hasText: 'catalogo-2026.pdf' })).toBeVisible();
  await section.getByRole('button', { name: 'Add reply' }).click();
  await expect(section.getByRole('listitem').filter({ hasText: '/catalogo' })).toContainText('catalogo-2026.pdf');
  // The form starts over for the next reply.
  await expect(section.getByLabel('Code')).toHaveValue('');
  await expect(section.getByLabel('Text')).toHaveValue('');
  await expect(section.getByRole('status').filter({ hasText: 'catalogo-2026.pdf' })).toHaveCount(0);
  await shot(page, '24-quick-reply-file');

  await page.goto('/inbox');
  await hydrated(page);
  await page.getByRole('link', { name: /Marta Solís/ }).first().click();
  const composer = page.getByRole('textbox', { name: 'Write a message' });
  await composer.fill('/catal');
  await page.getByRole('listbox', { name: 'Quick replies' }).getByRole('option').filter({ hasText: '/catalogo' }).click();
  await expect(composer).toHaveValue('Te comparto el catálogo, {first_name}');
  await expect(page.getByRole('status').filter({ hasText: 'catalogo-2026.pdf' })).toBeVisible();
  await composer.press('Enter');
  const thread = page.getByRole('log', { name: 'Messages' });
  const sent = thread.locator('.bubble.out').filter({ hasText: 'catalogo-2026.pdf' });
  await expect(sent).toBeVisible({ timeout: 20_000 });
  await expect(sent).toContainText('Te comparto el catálogo, Marta');
  await expect.poll(async () => (await sentTo(page, marta)).filter((m) => m.kind === 'document').length,
    { timeout: 20_000 }).toBe(1);
});

test('a new message chimes, and stays quiet once the profile turns the sound off', async ({ page }) => {
  // Counts the chimes: each one is a new Web Audio context.
  await page.addInitScript(() => {
    const counted = window as unknown as { chimes: number };
    counted.chimes = 0;
    const Original = window.AudioContext;
    window.AudioContext = class extends Original {
      constructor(options?: AudioContextOptions) {
        super(options);
        counted.chimes += 1;
      }
    };
  });
  const chimes = () => page.evaluate(() => (window as unknown as { chimes: number }).chimes);
  const customerWrites = (text: string) =>
    customerSends(page, { channel: 'whatsapp', from: marta, name: 'Marta Solís', text });
  // The live stream connects once the page is interactive; the customer writes after that.
  let stream = page.waitForEvent('websocket');
  await signIn(page);
  await stream;
  await expect(page.getByRole('link', { name: /Marta Solís/ }).first()).toBeVisible();
  await customerWrites('¿Me confirmas el horario?');
  await expect.poll(chimes, { timeout: 10_000 }).toBe(1);

  await page.goto('/profile');
  await hydrated(page);
  await page.getByLabel('Play a sound on new messages').uncheck();
  await page.getByRole('button', { name: 'Save', exact: true }).first().click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
  stream = page.waitForEvent('websocket');
  await page.goto('/inbox');
  await hydrated(page);
  await stream;
  await expect(page.getByRole('link', { name: /Marta Solís/ }).first()).toBeVisible();
  await customerWrites('¿Sigues ahí?');
  await expect(page.getByRole('link', { name: /Marta Solís/ }).first()).toContainText('¿Sigues ahí?');
  await page.waitForTimeout(500);
  expect(await chimes()).toBe(0);
  // Back on for whoever runs next.
  await page.goto('/profile');
  await hydrated(page);
  await page.getByLabel('Play a sound on new messages').check();
  await page.getByRole('button', { name: 'Save', exact: true }).first().click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
});

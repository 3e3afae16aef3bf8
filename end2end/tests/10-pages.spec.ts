import { expect, test, type WebSocket } from '@playwright/test';
import { hydrated, sandboxPorts, signIn } from './helpers';

// Every page opened by its address hydrates, the pages whose code is split out of the first
// bundle included: the browser loads that code before hydrating (`shell::load_rendered_page`).

test('every page opened by its address becomes interactive', async ({ page }) => {
  test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await signIn(page);
  for (const path of ['/contacts', '/settings', '/users', '/profile', '/inbox']) {
    await page.goto(path);
    await hydrated(page);
    await expect(page.getByRole('heading', { level: 1 }).first()).toBeVisible();
    // Interactive: the navigation's links are followed in the page, without a new document.
    await page.evaluate(() => { (window as unknown as { stayed: boolean }).stayed = true; });
    await page.getByRole('link', { name: /^(Bandeja|Inbox)$/ }).first().click();
    await expect(page).toHaveURL(/\/inbox$/);
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  }
  expect(errors).toEqual([]);
});

test('back and forward move between pages in the same document', async ({ page }) => {
  test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // The inbox's live stream: closed with the inbox, opened again when it shows again.
  const sockets: WebSocket[] = [];
  page.on('websocket', (ws) => { if (ws.url().includes('/api/live')) sockets.push(ws); });
  const streamOpen = () => sockets.filter((ws) => !ws.isClosed()).length;
  await signIn(page);
  await expect.poll(streamOpen).toBe(1);
  await page.evaluate(() => { (window as unknown as { stayed: boolean }).stayed = true; });
  const current = page.locator('.nav-links a[aria-current="page"]');
  await page.getByRole('link', { name: /^(Perfil|Profile)$/ }).first().click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(current).toHaveAttribute('href', '/profile');
  await expect.poll(streamOpen).toBe(0);
  // The address already shown, followed again, is not a second step back.
  await page.getByRole('link', { name: /^(Perfil|Profile)$/ }).first().click();
  await page.getByRole('link', { name: /^(Contactos|Contacts)$/ }).first().click();
  await expect(page).toHaveURL(/\/contacts$/);
  await expect(page.getByRole('heading', { level: 1 }).first()).toBeVisible();
  await page.goBack();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(current).toHaveAttribute('href', '/profile');
  await page.goBack();
  await expect(page).toHaveURL(/\/inbox$/);
  await expect(current).toHaveAttribute('href', '/inbox');
  await expect.poll(streamOpen).toBe(1);
  await page.goForward();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByRole('heading', { level: 1 }).first()).toBeVisible();
  await expect.poll(streamOpen).toBe(0);
  // A link to `/` (the brand's, hidden on phones) is sent on to the inbox in the page.
  await page.locator('a.brand').dispatchEvent('click');
  await expect(page).toHaveURL(/\/inbox$/);
  await expect(current).toHaveAttribute('href', '/inbox');
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  // An address that is not a page is loaded by the browser: the server answers it.
  await page.evaluate(() => {
    const link = document.createElement('a');
    link.href = '/no-such-page';
    link.id = 'elsewhere';
    document.body.append(link);
  });
  await page.locator('#elsewhere').dispatchEvent('click');
  await expect(page).toHaveURL(/\/no-such-page$/);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBeUndefined();
  expect(errors).toEqual([]);
});

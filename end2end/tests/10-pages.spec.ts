import { expect, type WebSocket } from '@playwright/test';
import { expectPageError, hydrated, sandboxPorts, shot, signIn, test } from './helpers';

// Every page opened by its address hydrates, the pages whose code is split out of the first
// bundle included: the browser loads that code before hydrating (`shell::load_rendered_page`).

test('every page opened by its address becomes interactive', async ({ page }) => {
  test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
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
});

test('back and forward move between pages in the same document', async ({ page }) => {
  test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
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
});

// The code of a page split out of the first bundle may fail to arrive (the network drops, the
// server restarts): the page says so and offers to try again, and nothing else stops.
test.describe('a page whose code does not arrive', () => {
  // Fetched by the page itself, not answered by the service worker, so that it can be cut.
  test.use({ serviceWorkers: 'block' });
  const profileCode = /\/pkg\/split_profile_page\.wasm$/;
  // The browser reports the cut fetch itself, as a promise of the code's loader left unhandled.
  test.beforeEach(() => expectPageError(/^Failed to fetch$/));

  test('says so, and shows once tried again', async ({ page }) => {
    test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
    await signIn(page);
    let cut = 0;
    await page.route(profileCode, (route) => { cut += 1; return route.abort('internetdisconnected'); });
    await page.getByRole('link', { name: /^(Perfil|Profile)$/ }).first().click();
    await expect(page).toHaveURL(/\/profile$/);
    const notice = page.locator('.not-loaded');
    await expect(notice.getByRole('alert')).toHaveText(/No se pudo cargar esta parte de Buzón|This part of Buzón could not be loaded/);
    await shot(page, '40-code-not-loaded');
    // The rest of the page still works.
    await page.getByRole('link', { name: /^(Contactos|Contacts)$/ }).first().click();
    await expect(page).toHaveURL(/\/contacts$/);
    await expect(page.getByRole('heading', { level: 1 }).first()).toBeVisible();
    await page.goBack();
    await expect(notice).toBeVisible();
    // Tried again while still cut: the notice stays, and its button keeps the focus.
    const again = notice.getByRole('button', { name: /^(Reintentar|Try again)$/ });
    const before = cut;
    await again.click();
    await expect.poll(() => cut).toBeGreaterThan(before);
    await expect(again).not.toHaveAttribute('aria-busy', 'true');
    await expect(again).toBeFocused();
    await page.unroute(profileCode);
    await again.click();
    await expect(page.getByLabel(/^(Tu nombre|Your name)$/)).toBeVisible();
    await expect(notice).toHaveCount(0);
  });

  test('opened by its address, stays as the server rendered it and says so', async ({ page }) => {
    test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
    await signIn(page);
    await page.route(profileCode, (route) => route.abort('internetdisconnected'));
    const givenUp = page.waitForEvent('console', (m) => m.text().includes('could not be loaded'));
    await page.goto('/profile');
    await givenUp;
    await expect(page.getByRole('heading', { level: 1 }).first()).toBeVisible();
    expect(await page.locator('html[data-hydrated]').count()).toBe(0);
    const banner = page.locator('.not-loaded.banner');
    await expect(banner.getByRole('alert')).toHaveText(/No se pudo cargar esta parte de Buzón|This part of Buzón could not be loaded/);
    await shot(page, '41-page-code-not-loaded');
    // Its link loads the page again, which comes alive once the code arrives.
    await page.unroute(profileCode);
    await banner.getByRole('link', { name: /^(Reintentar|Try again)$/ }).click();
    await hydrated(page);
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.locator('.not-loaded')).toHaveCount(0);
  });

  test('the open conversation\'s code, cut once, is fetched again when one opens', async ({ page }) => {
    test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
    // Fetched ahead once the pointer reaches the list: that fetch is cut.
    let cut = 0;
    const chatCode = /\/pkg\/split_open_chat\.wasm$/;
    await page.route(chatCode, (route) => { cut += 1; return route.abort('internetdisconnected'); });
    await signIn(page);
    await page.locator('.rows-scroller').hover();
    await expect.poll(() => cut).toBe(1);
    await page.unroute(chatCode);
    await page.locator('.rows-scroller a.row').first().click();
    await expect(page.locator('section.chat .chat-header')).toBeVisible();
  });
});

// Answers the browser waits for may come after their page has gone.
test.describe('a page left while it waits', () => {
  // The list's reads go to the server, not to the service worker's copies.
  test.use({ serviceWorkers: 'block' });

  test('the list\'s next page, answered after the inbox is left, changes nothing', async ({ page }) => {
    test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
    const nextPage = (body: string | null) => (body ?? '').includes('before_id=');
    let asked!: () => void;
    const reading = new Promise<void>((resolve) => { asked = resolve; });
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    await page.route(/\/api\/conversations/, async (route) => {
      if (nextPage(route.request().postData())) {
        asked();
        await released;
      }
      await route.continue();
    });
    await signIn(page);
    // The list reads on at its end (at once when the first page does not fill it).
    await page.locator('.rows-scroller').evaluate((list) => { list.scrollTop = list.scrollHeight; });
    await reading;
    await page.getByRole('link', { name: /^(Perfil|Profile)$/ }).first().click();
    await expect(page.getByLabel(/^(Tu nombre|Your name)$/)).toBeVisible();
    const answered = page.waitForResponse((r) => nextPage(r.request().postData()));
    release();
    await (await answered).finished();
    await page.getByRole('link', { name: /^(Bandeja|Inbox)$/ }).first().click();
    await expect(page.locator('.rows-scroller a.row').first()).toBeVisible();
  });
});

import { expect, test } from '@playwright/test';
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

import { expect, type Page } from '@playwright/test';
import { customerSends, hydrated, sandboxPorts, sandboxUrl, shot, signIn, test } from './helpers';

// What Meta says about the business account reaches the screens live, after 02 synced the
// templates (the sandbox then played Meta's review: nueva_coleccion approved,
// liquidacion_total rejected, recordatorio_pago paused after its quality dropped): Settings
// shows each template's status, reason and quality; a restriction of the line shows in
// Settings, under the inbox's line filter and in the composer, and goes when lifted; the
// template picker says why a template cannot go.

/** Meta's business-account webhook, sent by the sandbox. */
async function meta(page: Page, event: object) {
  const response = await page.request.post(`${sandboxUrl()}/sandbox/api/business`, { data: event });
  const answer = await response.json();
  expect(answer.webhook_status, JSON.stringify(answer)).toBe(200);
}

test('Meta\'s review of templates and a restricted line show live in Settings, the inbox and the composer', async ({ page }) => {
  const project = test.info().project.name;
  test.skip(!(project in sandboxPorts), 'needs JavaScript');
  await signIn(page);
  const stream = page.waitForEvent('websocket');
  await page.goto('/settings');
  await hydrated(page);
  await stream;

  // Each template with Meta's word on it.
  const templates = page.getByRole('region', { name: 'WhatsApp templates' });
  const template = (name: string) => templates.locator('.template-state').filter({ hasText: name });
  await expect(template('nueva_coleccion')).toContainText('Approved', { timeout: 20_000 });
  await expect(template('liquidacion_total')).toContainText('Rejected');
  await expect(template('liquidacion_total')).toContainText('Los parámetros no pueden ir');
  await expect(template('recordatorio_pago')).toContainText('Paused');
  await expect(template('recordatorio_pago')).toContainText('Low quality');
  await expect(template('seguimiento_pedido')).toContainText('Utility');
  // Meta approves one while the page is open: it changes in place.
  await expect(template('promo_rechazada')).toContainText('Rejected');
  await meta(page, { event: 'template_status', name: 'promo_rechazada', status: 'APPROVED' });
  await expect(template('promo_rechazada')).toContainText('Approved');
  await template('recordatorio_pago').scrollIntoViewIfNeeded();
  await shot(page, '42-settings-template-review');

  // Meta restricts the line: its administrators read it beside the line at once.
  const line = page.getByRole('region', { name: 'Connected channels' })
    .getByRole('listitem').filter({ hasText: '106540352242922' });
  await meta(page, { event: 'restriction', hours: 24 });
  await expect(line.locator('.line-alert')).toContainText('Meta restricted this line');
  await expect(line.locator('.line-alert')).toContainText('cannot start conversations');
  await line.scrollIntoViewIfNeeded();
  await shot(page, '43-settings-line-restricted');

  // The inbox: the line filter marks it and says what happened.
  await page.goto('/inbox');
  await hydrated(page);
  await expect(page.locator('#list-line option').filter({ hasText: '⚠ Ventas' })).toHaveCount(1);
  const alert = page.locator('.conversation-list .line-alert');
  await expect(alert).toContainText('Ventas');
  await expect(alert).toContainText('cannot start conversations');
  await shot(page, '44-inbox-line-restricted');

  // A customer writes: the answer can go, a template cannot, and the composer says why.
  const renata = '5215544443333';
  await customerSends(page, { channel: 'whatsapp', from: renata, name: 'Renata Flores', text: '¿Tienen envío gratis?' });
  await page.getByRole('link', { name: /Renata Flores/ }).click();
  await expect(page).toHaveURL(/\/inbox\?c=\d+$/);
  const restricted = page.locator('.line-restricted');
  await expect(restricted).toContainText('cannot start conversations with templates');
  await expect(page.getByRole('textbox', { name: 'Write a message' })).toBeEnabled();
  const templateButton = page.getByRole('button', { name: 'Template', exact: true });
  await expect(templateButton).toBeDisabled();
  await shot(page, '45-composer-line-restricted');

  // Meta lifts it: the notices go as the page watches.
  await meta(page, { event: 'lift_restriction' });
  await expect(restricted).toHaveCount(0);
  await expect(templateButton).toBeEnabled();
  await expect(alert).toHaveCount(0);

  // The picker offers the approved templates; the others are listed apart with Meta's reason.
  await templateButton.click();
  const picker = page.getByRole('dialog', { name: 'Templates' });
  await expect(picker.locator('.template-option').filter({ hasText: 'nueva_coleccion' })).toBeVisible();
  const unavailable = (name: string) => picker.locator('.template-unavailable').filter({ hasText: name });
  await expect(unavailable('liquidacion_total')).toContainText('Meta rejected it');
  await expect(unavailable('recordatorio_pago')).toContainText('Meta paused it');
  await picker.getByRole('button', { name: 'Cancel' }).click();

  // She presses "Stop promotions": marketing templates are no longer offered to her.
  await customerSends(page, { channel: 'whatsapp', from: renata, type: 'stop_promotions' });
  await templateButton.click();
  await expect(unavailable('nueva_coleccion')).toContainText('asked not to receive marketing messages');
  await expect(picker.locator('.template-option').filter({ hasText: 'seguimiento_pedido' })).toBeVisible();
  await shot(page, '46-template-picker-unavailable');
});

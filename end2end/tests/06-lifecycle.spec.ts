import { expect, type Browser } from '@playwright/test';
import { buzon, customerSends, hydrated, sandboxPorts, shot, signIn, test, watchErrors } from './helpers';

// A conversation's life, live in three browsers, after 05 (Marta's conversation
// exists, unassigned): the administrator gives it to Rosa, whose inbox shows it at once while
// Pablo's does not; Rosa passes it to Pablo and loses it before her eyes; the administrator
// closes it with a reason; Marta writes again and it opens again, still Pablo's.

const marta = '5215544332211';

async function sellerPage(browser: Browser, email: string, password: string) {
  const project = test.info().project;
  const context = await browser.newContext({ ...project.use, baseURL: project.use.baseURL });
  const page = await context.newPage();
  watchErrors(page, email);
  const stream = page.waitForEvent('websocket');
  await signIn(page, email, password);
  await stream;
  return page;
}

test('a conversation is assigned, passed on, closed with a reason and reopened by the customer', async ({ page, browser }) => {
  test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
  buzon(['user', 'add', '--org', 'Ventas Andinas', '--email', 'pablo@andinas.example',
    '--name', 'Pablo Paz', '--role', 'seller', '--password-stdin'], 'vendedor-456\n');

  const rosa = await sellerPage(browser, 'rosa@andinas.example', 'vendedora-123');
  const pablo = await sellerPage(browser, 'pablo@andinas.example', 'vendedor-456');
  const martaRow = (p: typeof page) => p.getByRole('link', { name: /Marta Solís/ });
  await expect(martaRow(rosa)).toHaveCount(0);

  // Her own availability: a seller marks herself away and back.
  const availability = rosa.getByRole('button', { name: 'Tu disponibilidad' });
  await expect(availability).toHaveAttribute('aria-pressed', 'true');
  await availability.click();
  await expect(availability).toHaveAttribute('aria-pressed', 'false');
  await expect(availability).toContainText('No disponible');
  // The page loaded next starts from what she chose.
  await rosa.reload();
  await rosa.waitForSelector('html[data-hydrated]', { state: 'attached' });
  await expect(availability).toContainText('No disponible');
  await expect(availability).toBeEnabled();
  await availability.click();
  await expect(availability).toHaveAttribute('aria-pressed', 'true');

  await signIn(page);
  await martaRow(page).first().click();
  const thread = page.getByRole('log', { name: 'Messages' });
  const assignee = page.getByLabel('Assign to');
  await assignee.selectOption({ label: 'Rosa Ríos' });
  await expect(thread.getByText('Ana María Admin assigned the conversation to Rosa Ríos')).toBeVisible();

  // Rosa's inbox shows it at once, with a word that it is hers; Pablo's does not.
  await expect(martaRow(rosa)).toBeVisible();
  await expect(rosa.getByRole('status').filter({ hasText: 'Se te asignó una conversación: Marta Solís' })).toBeVisible();
  await shot(rosa, '30-assigned-to-seller');
  await expect(martaRow(pablo)).toHaveCount(0);

  // Rosa passes it to Pablo: her open chat says she lost it and her list lets it go.
  await martaRow(rosa).click();
  await rosa.getByLabel('Asignar a').selectOption({ label: 'Pablo Paz' });
  await expect(rosa.getByRole('alert').filter({ hasText: 'ya no tienes acceso' })).toBeVisible();
  await expect(martaRow(rosa)).toHaveCount(0);
  // Nothing more to do there: no controls, no contact.
  await expect(rosa.getByLabel('Asignar a')).toHaveCount(0);
  await expect(rosa.getByRole('link', { name: 'Contacto', exact: true })).toHaveCount(0);
  await expect(rosa.getByRole('button', { name: 'Contacto', exact: true })).toHaveCount(0);
  await shot(rosa, '31-lost-access');
  await expect(martaRow(pablo)).toBeVisible();
  await expect(thread.getByText('Rosa Ríos changed the owner to Pablo Paz')).toBeVisible();

  // Closed with a reason.
  await page.getByRole('button', { name: 'Close', exact: true }).click();
  const form = page.getByRole('form', { name: 'Close conversation' });
  await form.getByRole('button', { name: 'Close conversation' }).click();
  await expect(form.getByText('This field is required.')).toBeVisible();
  await form.getByLabel('Close reason').fill('Venta cerrada');
  await form.getByRole('button', { name: 'Close conversation' }).click();
  await expect(thread.getByText('Ana María Admin closed the conversation: Venta cerrada')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Reopen' })).toBeVisible();
  await shot(page, '32-closed');

  // Marta writes again: it opens live, still Pablo's.
  await customerSends(page, { channel: 'whatsapp', from: marta, name: 'Marta Solís', text: 'Una cosa más' });
  await expect(thread.getByText('The customer wrote again: conversation reopened')).toBeVisible();
  await expect(thread.getByText('Una cosa más')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Close', exact: true })).toBeVisible();
  await expect(assignee).toHaveValue(/\d+/);
  await expect(assignee.locator('option:checked')).toHaveText('Pablo Paz');
  await expect(martaRow(pablo)).toContainText('Una cosa más');

  await rosa.context().close();
  await pablo.context().close();
});

test('close reasons and a closing rule are kept in Settings; conversations close in bulk', async ({ page }) => {
  test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
  const stream = page.waitForEvent('websocket');
  await signIn(page);
  await stream;
  // Two messages in one second (providers' times are whole seconds): the row shows the second.
  await customerSends(page, { channel: 'whatsapp', text: 'Una pregunta' });
  await customerSends(page, { channel: 'whatsapp', text: 'Y otra más' });
  await expect(page.getByRole('link', { name: /Lucía Pérez/ })).toContainText('Y otra más');
  await page.goto('/settings');
  await hydrated(page);
  const section = page.getByRole('region', { name: 'Conversation closing' });
  await section.getByLabel('New close reason').fill('Venta cerrada');
  await section.getByRole('button', { name: 'Add reason' }).click();
  await expect(section.getByRole('listitem').filter({ hasText: 'Venta cerrada' })).toBeVisible();

  // A rule needs its accounts; then it is listed, active, with its time.
  const form = section.getByRole('form', { name: 'New rule' });
  await form.getByLabel('Rule name').fill('Un día sin respuesta');
  await form.getByLabel('Amount').fill('1');
  await form.getByLabel('Unit').selectOption('days');
  await form.getByLabel('Close reason').fill('Sin respuesta');
  await form.getByRole('button', { name: 'Add rule' }).click();
  await expect(form.getByText('This field is required.')).toBeVisible();
  await form.getByRole('checkbox', { name: 'Ventas', exact: true }).check();
  await form.getByRole('button', { name: 'Add rule' }).click();
  const rule = section.getByRole('listitem').filter({ hasText: 'Un día sin respuesta' });
  await expect(rule).toContainText('After 1 day without a message from the customer');
  await expect(rule.getByRole('checkbox', { name: 'Active' })).toBeChecked();
  await rule.scrollIntoViewIfNeeded();
  await shot(page, '33-closing-settings');

  // Two conversations picked in the list close together, with one reason.
  await page.goto('/inbox');
  await hydrated(page);
  const allTab = page.getByRole('tab', { name: /All/ });
  await expect(allTab).toHaveText(/\d/);
  const openBefore = Number((await allTab.textContent())!.replace(/\D/g, ''));
  await page.getByRole('button', { name: 'Select' }).click();
  const bulk = page.getByRole('group', { name: 'Selected conversations' });
  await page.getByRole('checkbox', { name: 'Select Lucía Pérez' }).check();
  // Ticked, the box is still the one the agent is on (a keyboard user goes on from there).
  await expect(page.getByRole('checkbox', { name: 'Select Lucía Pérez' })).toBeFocused();
  await page.getByRole('checkbox', { name: 'Select Paula Gómez' }).check();
  await expect(bulk.getByRole('status').first()).toHaveText('2 selected');
  await bulk.getByLabel('Close reason').fill('Venta cerrada');
  await bulk.getByRole('button', { name: 'Close selected' }).click();
  await expect(bulk.getByText('2 conversations changed')).toBeVisible();
  await expect(page.getByRole('link', { name: /Lucía Pérez|Paula Gómez/ })).toHaveCount(0);
  // The tabs count the open conversations again without a reload.
  await expect(allTab).toHaveText(new RegExp(`^All\\s*${openBefore - 2}$`));
  await shot(page, '34-bulk-closed');
  await page.getByRole('link', { name: 'Closed', exact: true }).click();
  await expect(page.getByRole('link', { name: /Lucía Pérez/ })).toBeVisible();
  await expect(page.getByRole('link', { name: /Paula Gómez/ })).toBeVisible();
});

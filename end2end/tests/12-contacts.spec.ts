import { expect, type Browser, type Locator } from '@playwright/test';
import { hydrated, sandboxPorts, shot, signIn, test, watchErrors } from './helpers';

// The CRM's contacts, after the inbox made some (Lucía from a conversation, Paula from the
// command line): the organization's country for numbers typed without a prefix; a contact
// created from the Contacts page, refused first for a number that is not one; a field edited
// in place, a refused value explained next to it and Escape leaving it as it was; the history;
// the search; the list and the contact side by side on wide screens, one at a time on phones.

test('contacts are created, edited in place and found', async ({ page }) => {
  const project = test.info().project.name;
  test.skip(!(project in sandboxPorts), 'needs JavaScript');
  await signIn(page);

  // Numbers typed without +52 are Mexico's.
  await page.goto('/settings');
  await hydrated(page);
  const organization = page.getByRole('region', { name: 'Organization' });
  await organization.getByLabel('Country of numbers without a prefix').selectOption('MX');
  await organization.getByRole('button', { name: 'Save' }).click();
  await expect(organization.getByRole('status')).toContainText('Country saved.');
  // Each line says what its new conversations do with their customer's contact.
  const line = page.getByRole('listitem').filter({ hasText: '106540352242922' });
  const mode = line.getByLabel('Contacts of new conversations');
  await expect(mode).toHaveValue('associate');
  await mode.selectOption('create');
  await expect.poll(async () => {
    await page.reload();
    await hydrated(page);
    return mode.inputValue();
  }).toBe('create');

  await page.goto('/contacts');
  await hydrated(page);
  const list = page.getByRole('region', { name: 'Contact list' });
  await expect(list.getByRole('link', { name: /Lucía Pérez/ })).toBeVisible();
  await expect(list.getByRole('link', { name: /Paula Gómez/ })).toBeVisible();
  await shot(page, '47-contacts-list');

  // A new contact: a number that is not one is refused with the reason.
  await list.getByRole('button', { name: 'New contact' }).click();
  await list.getByLabel('First name', { exact: true }).fill('Carla');
  await list.getByLabel('Last name', { exact: true }).fill(`Ibarra ${project}`);
  await list.getByLabel('Phone', { exact: true }).fill('hola');
  await list.getByRole('button', { name: 'Create contact' }).click();
  await expect(list.getByRole('alert')).toContainText('not a valid phone number');
  await list.getByLabel('Phone', { exact: true }).fill('33 1234 5678');
  await list.getByRole('button', { name: 'Create contact' }).click();
  await expect(page).toHaveURL(/\/contacts\?c=\d+$/);
  const card = page.locator('.contact-sheet');
  await expect(card.getByRole('heading', { name: `Carla Ibarra ${project}` })).toBeVisible();
  await expect(card.locator('#contact-primary_phone')).toHaveText('33 1234 5678');

  // Click a field, type, Enter: saved, and the history says so.
  await card.locator('#contact-company').click();
  const company = card.locator('input#contact-company');
  await company.fill('Muebles Ibarra');
  await company.press('Enter');
  await expect(card.locator('button#contact-company')).toHaveText('Muebles Ibarra');
  await expect(card.locator('.contact-history')).toContainText('Changed Company: (empty) → Muebles Ibarra');

  // A refused value stays in the field with the server's word next to it; Escape undoes it.
  await card.locator('#contact-email').click();
  const email = card.locator('input#contact-email');
  await email.fill('carla@');
  await email.press('Enter');
  await expect(card.getByRole('alert')).toContainText('email');
  await expect(email).toHaveAttribute('aria-invalid', 'true');
  await shot(page, '48-contact-edit-refused');
  await email.press('Escape');
  await expect(card.locator('button#contact-email')).toHaveText('Add');
  await shot(page, '49-contact-page');

  // On a phone the contact takes the screen; back to the list.
  if (project === 'phone') {
    await expect(list).toBeHidden();
    await page.getByRole('link', { name: 'Back to contacts' }).click();
    await expect(list).toBeVisible();
  } else {
    await expect(list).toBeVisible();
  }

  // The search finds her by her company.
  const search = list.getByRole('searchbox');
  await search.fill('muebles ibarra');
  await search.press('Enter');
  await expect(page).toHaveURL(/q=muebles%20ibarra/);
  await expect(list.locator('.contact-rows').getByRole('link')).toHaveCount(1);
  await expect(list.getByRole('link', { name: new RegExp(`Carla Ibarra ${project}`) })).toBeVisible();
});

// Custom fields defined in Settings and filled on a contact's page (an ID no two contacts
// share); a colleague's edits reaching an open contact page without a reload, both ways; the
// inbox's panel editing the same contact in place, with its CRM tab.

async function signInElsewhere(browser: Browser, email: string, password: string) {
  const project = test.info().project;
  const context = await browser.newContext({ ...project.use, baseURL: project.use.baseURL });
  const page = await context.newPage();
  watchErrors(page, email);
  await page.goto('/login');
  await page.getByLabel(/Correo electrónico|Email/).fill(email);
  await page.getByLabel(/Contraseña|Password/).fill(password);
  // The Contacts page follows the live stream from the start.
  const stream = page.waitForEvent('websocket');
  await page.getByRole('button', { name: /Entrar|Sign in/ }).click();
  await expect(page).toHaveURL(/\/contacts$/);
  await hydrated(page);
  await stream;
  return page;
}

/** The field named `name` on a contact's page or panel. */
function field(scope: Locator, name: string) {
  return scope.locator('.contact-field').filter({ has: scope.page().getByText(name, { exact: true }) });
}

test('custom fields, a colleague\'s edits live, and the panel in the inbox', async ({ page, browser }) => {
  const project = test.info().project.name;
  test.skip(!(project in sandboxPorts), 'needs JavaScript');
  await signIn(page);

  await page.goto('/settings');
  await hydrated(page);
  const fields = page.getByRole('region', { name: 'Contact fields' });
  await fields.getByLabel('Name', { exact: true }).fill('Nivel');
  await fields.getByLabel('Type', { exact: true }).selectOption('choice');
  await fields.getByLabel('Choices', { exact: true }).fill('Oro\nPlata\nBronce');
  await fields.getByRole('button', { name: 'Add field' }).click();
  await expect(fields.getByText('{nivel}')).toBeVisible();
  await fields.getByLabel('Name', { exact: true }).last().fill('Número de cliente');
  await fields.getByLabel('Type', { exact: true }).selectOption('id');
  await fields.getByRole('button', { name: 'Add field' }).click();
  await expect(fields.getByText('{numero_de_cliente}')).toBeVisible();
  await shot(page, '50-contact-fields-settings');

  // Elena, the editor, has Lucía's page open on another device.
  const elena = await signInElsewhere(browser, 'elena@andinas.example', 'editora-123');
  await elena.locator('.contact-list').getByRole('link', { name: /Lucía Pérez/ }).click();
  const elenaCard = elena.locator('.contact-sheet');
  await expect(elenaCard.getByRole('heading', { name: 'Lucía Pérez' })).toBeVisible();

  await page.goto('/contacts');
  await hydrated(page);
  await page.locator('.contact-list').getByRole('link', { name: /Lucía Pérez/ }).click();
  const card = page.locator('.contact-sheet');
  await field(card, 'Nivel').getByRole('button').click();
  await field(card, 'Nivel').getByRole('combobox').selectOption('Plata');
  await field(card, 'Nivel').getByRole('button', { name: 'Save' }).click();
  await expect(field(card, 'Nivel').locator('.field-value')).toHaveText('Plata');
  // Elena sees it at once, and her own edit reaches Ana's page the same way.
  await expect(field(elenaCard, 'Nivel').locator('.field-value')).toHaveText('Plata');
  await elenaCard.locator('button#contact-company').click();
  await elenaCard.locator('input#contact-company').fill('Casa Pérez');
  await elenaCard.locator('input#contact-company').press('Enter');
  await expect(card.locator('button#contact-company')).toHaveText('Casa Pérez');
  await shot(elena, '51-contact-live-colleague');
  await elena.context().close();

  // An ID belongs to one contact: Carla cannot have Lucía's.
  const number = field(card, 'Número de cliente');
  await number.getByRole('button').click();
  await number.getByRole('textbox').fill('C-0042');
  await number.getByRole('textbox').press('Enter');
  await expect(number.locator('.field-value')).toHaveText('C-0042');
  await page.goto('/contacts');
  await hydrated(page);
  await page.locator('.contact-list').getByRole('link', { name: new RegExp(`Carla Ibarra ${project}`) }).click();
  const carla = field(page.locator('.contact-sheet'), 'Número de cliente');
  await carla.getByRole('button').click();
  await carla.getByRole('textbox').fill('C-0042');
  await carla.getByRole('textbox').press('Enter');
  await expect(carla.getByRole('alert')).toContainText('Another contact already has this ID');
  await shot(page, '52-contact-id-taken');

  // In the inbox, Lucía's panel edits the same fields, and its CRM tab lists her other
  // conversations.
  // Her conversation (closed by now, after the lifecycle's tests) opens from her page.
  await page.goto('/contacts');
  await hydrated(page);
  await page.locator('.contact-list').getByRole('link', { name: /Lucía Pérez/ }).click();
  await page.locator('.contact-sheet .contact-conversations a').first().click();
  await expect(page).toHaveURL(/\/inbox\?c=\d+/);
  if (project === 'tablet') {
    await page.getByRole('button', { name: 'Contact' }).click();
  } else if (project === 'phone') {
    await page.getByRole('link', { name: 'Contact', exact: true }).click();
  }
  const panel = page.getByRole('complementary', { name: 'Contact' });
  await expect(field(panel, 'Nivel').locator('.field-value')).toHaveText('Plata');
  await expect(panel.locator('button#contact-company')).toHaveText('Casa Pérez');
  await panel.locator('button#contact-last_name').click();
  await panel.locator('input#contact-last_name').fill('Pérez Soto');
  await panel.locator('input#contact-last_name').press('Enter');
  await expect(panel.getByRole('heading', { name: 'Lucía Pérez Soto' })).toBeVisible();
  await shot(page, '53-contact-panel-tabs');
  await panel.getByRole('tab', { name: 'CRM' }).click();
  await expect(panel.getByRole('tab', { name: 'CRM' })).toHaveAttribute('aria-selected', 'true');
  await expect(panel.getByRole('heading', { name: 'Other conversations' })).toBeVisible();
  await shot(page, '54-contact-panel-crm');
});

// A contact typed twice: the page says it may be a duplicate, the merge screen compares them
// field by field, the merge keeps one with a choice from the other, and it is undone.

test('a possible duplicate is compared, merged and the merge undone', async ({ page }) => {
  const project = test.info().project.name;
  test.skip(!(project in sandboxPorts), 'needs JavaScript');
  await signIn(page);
  await page.goto('/contacts');
  await hydrated(page);
  const list = page.locator('.contact-list');
  await list.getByRole('button', { name: 'New contact' }).click();
  await list.getByLabel('First name', { exact: true }).fill('Pau');
  await list.getByLabel('Phone', { exact: true }).fill('55 9999 0000');
  await list.getByRole('button', { name: 'Create contact' }).click();
  await expect(page).toHaveURL(/\/contacts\?c=\d+$/);
  const card = page.locator('.contact-sheet');
  const notice = card.getByRole('note').filter({ hasText: 'Possible duplicate of' });
  await expect(notice).toContainText('Paula Gómez');
  await expect(notice).toContainText('same phone');
  await shot(page, '55-contact-possible-duplicate');

  await notice.getByRole('link', { name: 'Compare and merge' }).click();
  await expect(page).toHaveURL(/merge=\d+/);
  const sheet = page.locator('.merge-sheet');
  const firstName = sheet.getByRole('row', { name: /First name/ });
  await firstName.getByRole('radio', { name: 'Paula' }).check();
  await sheet.getByRole('row', { name: /Last name/ }).getByRole('radio', { name: 'Gómez' }).check();
  await shot(page, '56-contact-merge');
  await sheet.getByRole('button', { name: 'Merge contacts' }).click();
  await expect(page).not.toHaveURL(/merge=/);
  await expect(card.getByRole('heading', { name: 'Paula Gómez' })).toBeVisible();
  const merged = card.getByRole('note').filter({ hasText: 'was merged into this contact' });
  await expect(merged).toBeVisible();
  await expect(card.locator('.contact-history')).toContainText('Merged Paula Gómez into this contact');
  if (project !== 'phone') {
    // The list has one Paula now (on a phone the contact takes the screen).
    await expect(list.getByRole('link', { name: /Paula Gómez/ })).toHaveCount(1);
  }
  await shot(page, '57-contact-merged');

  await merged.getByRole('button', { name: 'Undo merge' }).click();
  await expect(card.getByRole('heading', { name: 'Pau', exact: true })).toBeVisible();
  await expect(card.getByRole('note').filter({ hasText: 'Possible duplicate of' })).toContainText('Paula Gómez');
});

// A spreadsheet's CSV imported from the Contacts page: its columns recognised, checked before
// anything is written (a refused row with its reason, a row matching Lucía), then imported in
// the background with its report.

test('a CSV file is checked and imported with a report of the rows refused', async ({ page }) => {
  const project = test.info().project.name;
  test.skip(!(project in sandboxPorts), 'needs JavaScript');
  await signIn(page);
  await page.goto('/contacts');
  await hydrated(page);
  await expect(page.getByRole('link', { name: 'Export CSV' })).toHaveAttribute('href', '/api/contacts.csv');
  await page.getByRole('link', { name: 'Import', exact: true }).click();
  await expect(page).toHaveURL(/import=new/);
  const sheet = page.locator('.import-sheet');
  await sheet.getByLabel('CSV file').setInputFiles({
    name: `clientes-${project}.csv`,
    mimeType: 'text/csv',
    buffer: Buffer.from('Nombre;Teléfono;Correo\nRosa Núñez;55 2222 3333;rosa@example.com\nTomás;hola;\nLucía;55 1234 5678;\n'),
  });
  await expect(sheet).toContainText('3 rows');
  await expect(sheet.getByLabel('Teléfono')).toHaveValue('phone');
  await sheet.getByLabel('Nombre').selectOption('name');
  await sheet.getByRole('button', { name: 'Check the file' }).click();
  await expect(sheet.getByRole('status')).toHaveText('3 rows: 1 cannot be imported, 1 match contacts already there.');
  await expect(sheet.locator('.refused')).toContainText('not a valid phone number');
  await expect(sheet.locator('.import-matches')).toContainText(/Lucía Pérez/);
  await shot(page, '58-contact-import-check');
  await sheet.getByRole('button', { name: 'Start the import' }).click();
  await expect(page).toHaveURL(/import=\d+/);
  const done = page.locator('.import-sheet');
  await expect(done).toContainText('Import finished.');
  await expect(done.getByRole('status')).toHaveText('Created: 1 · skipped (already there): 1 · refused: 1');
  await expect(done.locator('.refused')).toContainText('Tomás');
  await shot(page, '59-contact-import-done');
  await done.getByRole('link', { name: 'See the contacts' }).click();
  await expect(page.locator('.contact-list').getByRole('link', { name: /Rosa Núñez/ })).toBeVisible();
});

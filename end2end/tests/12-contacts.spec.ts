import { expect } from '@playwright/test';
import { hydrated, sandboxPorts, shot, signIn, test } from './helpers';

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
  await expect(list.getByRole('link')).toHaveCount(1);
  await expect(list.getByRole('link', { name: new RegExp(`Carla Ibarra ${project}`) })).toBeVisible();
});

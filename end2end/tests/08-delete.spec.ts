import { expect } from '@playwright/test';
import { admin, connectSandboxLine, customerSends, hydrated, sandboxPorts, shot, signIn, test } from './helpers';

// Deleting a conversation for good, after 07: only the user who connected a line may
// delete its conversations. Connected on the command line by nobody, nobody may; once the
// administrator connects it herself, she may, after answering yes to a question. The
// customer's next message starts afresh.

const beto = '5215577001100';

test('the one who connected a line deletes one of its conversations', async ({ page }) => {
  test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
  page.on('console', (m) => { if (m.type() === 'error') console.log(`[console] ${m.text().slice(0, 600)}`); });
  const project = test.info().project.name;
  const first = `Esto se va a borrar (${project})`;
  await customerSends(page, { channel: 'whatsapp', from: beto, name: 'Beto Borrador', text: first });
  await signIn(page);
  const row = page.getByRole('link', { name: /Beto Borrador/ });
  await row.click();
  const thread = page.getByRole('log', { name: 'Messages' });
  await expect(thread.getByText(first)).toBeVisible();
  const remove = page.getByRole('button', { name: 'Delete', exact: true });
  await expect(page.getByRole('button', { name: 'Close', exact: true })).toBeVisible();
  await expect(remove).toHaveCount(0);

  // The administrator connects the line herself: its conversations are hers to delete.
  connectSandboxLine(['--connected-by', admin.email]);
  await page.goto('/inbox');
  await hydrated(page);
  await row.click();
  await expect(thread.getByText(first)).toBeVisible();

  // Answering no keeps it.
  page.once('dialog', (dialog) => dialog.dismiss());
  await remove.click();
  await expect(thread.getByText(first)).toBeVisible();
  await expect(page).toHaveURL(/\?c=\d+/);

  // Answering yes deletes it, messages and all.
  let question = '';
  page.once('dialog', (dialog) => {
    question = dialog.message();
    dialog.accept();
  });
  await remove.click();
  await expect(page).toHaveURL(/\/inbox$/);
  expect(question).toContain('Delete the conversation with Beto Borrador?');
  await expect(row).toHaveCount(0);
  await shot(page, '36-deleted');
  await page.reload();
  await hydrated(page);
  await expect(row).toHaveCount(0);

  // Beto writes again: a new conversation, without what was deleted.
  await customerSends(page, { channel: 'whatsapp', from: beto, name: 'Beto Borrador', text: 'Hola otra vez' });
  await expect(row).toContainText('Hola otra vez');
  await row.click();
  await expect(thread.getByText('Hola otra vez')).toBeVisible();
  await expect(thread.getByText(first)).toHaveCount(0);
});

import { expect, type Page } from '@playwright/test';
import { customerSends, sandboxPorts, shot, signIn, test } from './helpers';

// A busy inbox: while one customer writes without pause, the agent opens one
// conversation after another and each opens, with its own messages; the list keeps up with
// the busy one. Thread answers are slowed down so that live events keep arriving while a
// thread is on its way (a live change written into a loading thread used to drop it and keep
// the previous conversation on screen).

// No service worker here: the delay is put on the page's own requests.
test.use({ serviceWorkers: 'block' });

const quiet = [
  { from: '5215500000101', name: 'Quieta Uno', text: 'Primera consulta del día' },
  { from: '5215500000102', name: 'Quieta Dos', text: 'Segunda consulta del día' },
  { from: '5215500000103', name: 'Quieta Tres', text: 'Tercera consulta del día' },
];
const busy = { from: '5215500000199', name: 'Cliente Insistente' };

async function open(page: Page, name: string) {
  if (test.info().project.name === 'phone') {
    const back = page.getByRole('link', { name: 'Back to conversations' });
    if (await back.isVisible()) await back.click();
  }
  await page.getByRole('link', { name: new RegExp(name) }).first().click();
}

test('conversations open one after another while another customer keeps writing', async ({ page }) => {
  test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
  for (const customer of quiet) {
    await customerSends(page, { channel: 'whatsapp', ...customer });
  }
  await customerSends(page, { channel: 'whatsapp', ...busy, text: 'Hola, ¿hay alguien?' });
  const stream = page.waitForEvent('websocket');
  await signIn(page);
  await stream;
  await expect(page.getByRole('link', { name: /Cliente Insistente/ })).toBeVisible();

  // Each thread takes a while to come, as over a slow connection.
  await page.route('**/api/thread*', async (route) => {
    await new Promise((done) => setTimeout(done, 400));
    await route.continue();
  });
  let writing = true;
  let sent = 0;
  const writer = (async () => {
    while (writing) {
      sent += 1;
      await customerSends(page, { channel: 'whatsapp', ...busy, text: `¿Me atienden? (${sent})` });
      await new Promise((done) => setTimeout(done, 120));
    }
  })();

  const heading = page.locator('.chat-header h2');
  const thread = page.getByRole('log', { name: 'Messages' });
  try {
    for (let round = 0; round < 2; round += 1) {
      for (const customer of quiet) {
        await open(page, customer.name);
        await expect(heading).toHaveText(customer.name);
        await expect(thread).toContainText(customer.text);
      }
    }
    // The busy conversation opens with what was written so far, and keeps growing live.
    await open(page, busy.name);
    await expect(heading).toHaveText(busy.name);
    const now = sent;
    await expect(thread).toContainText(`¿Me atienden? (${now})`);
    await expect(thread).toContainText(`¿Me atienden? (${now + 2})`);
  } finally {
    writing = false;
    await writer;
  }
  await page.unroute('**/api/thread*');
  // The list shows the busy customer's newest message.
  if (test.info().project.name === 'phone') await page.getByRole('link', { name: 'Back to conversations' }).click();
  await expect(page.getByRole('link', { name: /Cliente Insistente/ })).toContainText(`¿Me atienden? (${sent})`);
  // What was opened is read, here as on the server.
  for (const customer of quiet) {
    await expect(page.getByRole('link', { name: new RegExp(customer.name) })
      .getByRole('img', { name: 'New messages' })).toHaveCount(0);
  }
  await shot(page, '35-busy-inbox');
});

test('while the next thread is on its way, the conversation being left takes no text', async ({ page }) => {
  test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
  test.skip(test.info().project.name === 'phone', 'a phone shows the list between two conversations');
  await signIn(page);
  const heading = page.locator('.chat-header h2');
  const composer = page.getByRole('textbox', { name: 'Write a message' });
  await open(page, quiet[0].name);
  await expect(heading).toHaveText(quiet[0].name);
  await expect(composer).toBeEditable();

  // The next thread is held back until released.
  let release = () => {};
  const held = new Promise<void>((done) => { release = done; });
  await page.route('**/api/thread*', async (route) => {
    await held;
    await route.continue();
  }, { times: 1 });
  await open(page, quiet[1].name);
  await expect(page).toHaveURL(/\/inbox\?c=\d+$/);
  // The conversation being left stays on screen until then, and takes nothing.
  await expect(heading).toHaveText(quiet[0].name);
  await expect(composer).toBeDisabled();
  release();
  await expect(heading).toHaveText(quiet[1].name);
  await expect(composer).toBeEditable();
});

test('a text written and not sent waits in its conversation while the agent is in another, and through a reload', async ({ page }) => {
  test.skip(!(test.info().project.name in sandboxPorts), 'needs JavaScript');
  await signIn(page);
  const heading = page.locator('.chat-header h2');
  const composer = page.getByRole('textbox', { name: 'Write a message' });
  await open(page, quiet[0].name);
  await expect(heading).toHaveText(quiet[0].name);
  await composer.fill('Le confirmo el envío mañana');
  await open(page, quiet[1].name);
  await expect(heading).toHaveText(quiet[1].name);
  // The next conversation's composer starts empty, and its own draft is kept too.
  await expect(composer).toBeEditable();
  await expect(composer).toHaveValue('');
  await composer.fill('Hola, ¿qué talla busca?');
  await open(page, quiet[0].name);
  await expect(heading).toHaveText(quiet[0].name);
  await expect(composer).toHaveValue('Le confirmo el envío mañana');
  // Sent, it is gone from the conversation for good.
  await composer.press('Enter');
  await expect(page.getByRole('log', { name: 'Messages' })).toContainText('Le confirmo el envío mañana');
  await expect(composer).toHaveValue('');
  await open(page, quiet[1].name);
  await expect(composer).toHaveValue('Hola, ¿qué talla busca?');
  // A reload (or the tab closed and opened again) brings the draft back, in the conversation
  // the page opens with and in the others.
  await page.reload();
  await expect(heading).toHaveText(quiet[1].name);
  await expect(composer).toHaveValue('Hola, ¿qué talla busca?');
  await open(page, quiet[0].name);
  await expect(heading).toHaveText(quiet[0].name);
  await expect(composer).toHaveValue('');
});

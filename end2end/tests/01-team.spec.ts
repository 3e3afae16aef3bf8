import { expect, type Browser, type Page } from '@playwright/test';
import { setupToken, test, watchErrors } from './helpers';

// The whole first day of an organization: set up, log in, invite a seller and an editor, and
// check that each role sees what it should. One test, because each step needs the previous.

const admin = { org: 'Ventas Andinas', name: 'Ana Admin', email: 'ana@andinas.example', password: 'clave-segura-1' };

async function shot(page: Page, name: string) {
  const project = test.info().project.name;
  await page.screenshot({ path: `screenshots/${project}-${name}.png`, fullPage: true });
}

async function hydrated(page: Page) {
  // Interactive once the WASM has hydrated the page.
  await page.waitForSelector('html[data-hydrated]', { state: 'attached' });
}

async function acceptInvite(browser: Browser, link: string, name: string, password: string) {
  const context = await browser.newContext({
    baseURL: test.info().project.use.baseURL,
    viewport: test.info().project.use.viewport,
    locale: 'es-MX',
  });
  const page = await context.newPage();
  watchErrors(page, name);
  await page.goto(link.replace(/^https?:\/\/[^/]+/, ''));
  await hydrated(page);
  await expect(page.getByRole('heading', { name: /Únete a Ventas Andinas/ })).toBeVisible();
  await page.getByLabel('Tu nombre').fill(name);
  await page.getByLabel('Contraseña', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Crear mi cuenta' }).click();
  return page;
}

test('setup, invitations and roles', async ({ page, browser, request }) => {
  // Console errors show in the test output (uncaught ones fail the test: `helpers.test`).
  page.on('console', (message) => {
    if (message.type() === 'error') console.log(`[console] ${message.text()}`);
  });
  // Installable: the manifest and its icons are served.
  const manifest = await (await request.get('/manifest.webmanifest')).json();
  expect(manifest.display).toBe('standalone');
  for (const icon of manifest.icons) {
    expect((await request.get(icon.src)).ok()).toBeTruthy();
  }

  // First run: the setup page, which asks for the code the server printed on start.
  await page.goto('/');
  await expect(page).toHaveURL(/\/setup$/);
  await hydrated(page);
  await shot(page, '01-setup');

  // Bad input is explained next to the field and creates nothing.
  await page.getByLabel('Código de instalación').fill('adivinado');
  await page.getByLabel('Nombre de la organización').fill(admin.org);
  await page.getByLabel('Tu nombre').fill(admin.name);
  await page.getByLabel('Correo electrónico').fill('ana-sin-arroba');
  await page.getByLabel('Contraseña', { exact: true }).fill(admin.password);
  await page.locator('#email').evaluate((el: HTMLInputElement) => { el.type = 'text'; });
  await page.getByRole('button', { name: 'Crear organización' }).click();
  // Without the server's code, nothing else is even looked at.
  await expect(page.getByText('Ese código de instalación no es el que mostró el servidor')).toBeVisible();
  await page.getByLabel('Código de instalación').fill(setupToken);
  await page.getByRole('button', { name: 'Crear organización' }).click();
  await expect(page.getByText('Escribe un correo válido')).toBeVisible();
  await shot(page, '02-setup-error');

  await page.getByLabel('Correo electrónico').fill(admin.email);
  await page.getByRole('button', { name: 'Crear organización' }).click();
  await expect(page).toHaveURL(/\/inbox$/);
  await expect(page.getByRole('heading', { name: 'Aún no hay conversaciones' })).toBeVisible();
  await shot(page, '03-inbox-empty');

  // Log out and back in.
  await page.getByRole('link', { name: 'Perfil' }).click();
  await expect(page.getByRole('heading', { name: 'Perfil' })).toBeVisible();
  await page.getByRole('button', { name: 'Cerrar sesión', exact: true }).first().click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByText('Cerraste sesión.')).toBeVisible();
  await page.getByLabel('Correo electrónico').fill(admin.email);
  await page.getByLabel('Contraseña').fill('equivocada');
  await page.getByRole('button', { name: 'Entrar' }).click();
  await expect(page.getByRole('alert')).toHaveText('El correo o la contraseña no son correctos.');
  await shot(page, '04-login-error');
  await page.getByLabel('Contraseña').fill(admin.password);
  await page.getByRole('button', { name: 'Entrar' }).click();
  await expect(page).toHaveURL(/\/inbox$/);

  // Invite a seller and an editor.
  await page.getByRole('link', { name: 'Equipo' }).click();
  await expect(page.getByRole('heading', { name: 'Equipo' })).toBeVisible();
  await hydrated(page);
  const invite = async (email: string, role: string) => {
    await page.getByLabel('Correo electrónico').fill(email);
    await page.getByLabel('Rol', { exact: true }).selectOption({ label: role });
    await page.getByRole('button', { name: 'Enviar invitación' }).click();
    const link = page.getByRole('textbox', { name: 'Enlace de invitación' });
    await expect(link).toHaveValue(new RegExp(`/invite/[0-9a-f]{64}$`));
    await expect(page.getByText(email).first()).toBeVisible();
    return link.inputValue();
  };
  const sellerLink = await invite('sergio@andinas.example', 'Vendedor');
  // A duplicate is refused next to the email field.
  await page.getByLabel('Correo electrónico').fill('sergio@andinas.example');
  await page.getByRole('button', { name: 'Enviar invitación' }).click();
  await expect(page.getByText('Ya hay un usuario con este correo.')).toBeVisible();
  const editorLink = await invite('elena@andinas.example', 'Editor');
  await expect(page.getByRole('listitem').filter({ hasText: 'elena@andinas.example' })).toContainText('Invitado');
  await shot(page, '05-team');

  // The seller accepts and lands in the inbox, without the team page.
  const seller = await acceptInvite(browser, sellerLink, 'Sergio Seller', 'vendedor-123');
  await expect(seller).toHaveURL(/\/inbox$/);
  await expect(seller.getByRole('link', { name: 'Bandeja' })).toBeVisible();
  await expect(seller.getByRole('link', { name: 'Equipo' })).toHaveCount(0);
  await shot(seller, '06-seller-inbox');
  // The seller logs out and in again with the new password.
  await seller.goto('/profile');
  await seller.getByRole('button', { name: 'Cerrar sesión', exact: true }).first().click();
  await seller.getByLabel('Correo electrónico').fill('sergio@andinas.example');
  await seller.getByLabel('Contraseña').fill('vendedor-123');
  await seller.getByRole('button', { name: 'Entrar' }).click();
  await expect(seller).toHaveURL(/\/inbox$/);
  await seller.context().close();

  // The editor is not offered the inbox and gets a 403 page if they open it.
  const editor = await acceptInvite(browser, editorLink, 'Elena Editora', 'editora-123');
  await expect(editor).toHaveURL(/\/contacts$/);
  await expect(editor.getByRole('link', { name: 'Bandeja' })).toHaveCount(0);
  const response = await editor.goto('/inbox');
  expect(response?.status()).toBe(403);
  await expect(editor.getByRole('heading', { name: 'Sin acceso' })).toBeVisible();
  await shot(editor, '07-editor-forbidden');
  await editor.context().close();

  // Back as the admin: deactivating the seller is immediate.
  await page.reload();
  await hydrated(page);
  const sellerRow = page.getByRole('listitem').filter({ hasText: 'sergio@andinas.example' });
  await expect(sellerRow).toContainText('Activo');
  await sellerRow.getByRole('button', { name: 'Desactivar' }).click();
  await expect(sellerRow).toContainText('Desactivado');
  await shot(page, '08-team-deactivated');

  // Settings: the roles, and a custom one.
  await page.getByRole('link', { name: 'Configuración' }).click();
  await expect(page.getByRole('heading', { name: 'Roles' })).toBeVisible();
  await hydrated(page);
  await page.getByLabel('Nombre del rol').fill('Supervisor');
  await page.getByLabel(/Ver todas las conversaciones/).check();
  await page.getByRole('button', { name: 'Crear rol' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'Supervisor' })).toContainText('Ver todas las conversaciones');
  await shot(page, '09-settings');

  // Profile: switch to English.
  await page.getByRole('link', { name: 'Perfil' }).click();
  await hydrated(page);
  await page.getByLabel('Tu nombre').fill('Ana María Admin');
  await page.getByLabel('Idioma').selectOption('en');
  await page.getByRole('button', { name: 'Guardar' }).click();
  await expect(page.getByRole('link', { name: 'Profile' })).toBeVisible();
  await expect(page.getByRole('status')).toHaveText('Saved');
  if (test.info().project.name === 'desktop') {
    await expect(page.locator('.whoami-name')).toHaveText('Ana María Admin');
  }
  await shot(page, '10-profile-english');
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Profile' })).toBeVisible();
});

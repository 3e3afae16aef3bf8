import { expect } from '@playwright/test';
import { setupToken, test } from './helpers';

// The login page is a plain form: it works with JavaScript disabled.

test('log in and out with JavaScript disabled', async ({ page, request }) => {
  // The organization is set up through the API (the setup page itself needs JavaScript).
  const setup = await request.post('/api/setup', {
    form: { token: setupToken, organization: 'Sin Script', name: 'Nico', email: 'nico@sinscript.example', password: 'clave-nico-1', language: 'es' },
  });
  expect(setup.ok()).toBeTruthy();

  await page.goto('/login');
  await expect(page.getByRole('heading', { name: /Iniciar sesión/ })).toBeVisible();
  await page.getByLabel('Correo electrónico').fill('nico@sinscript.example');
  await page.getByLabel('Contraseña').fill('equivocada');
  await page.getByRole('button', { name: 'Entrar' }).click();
  await expect(page.getByRole('alert')).toHaveText('El correo o la contraseña no son correctos.');
  await expect(page.getByLabel('Correo electrónico')).toHaveValue('nico@sinscript.example');
  await page.screenshot({ path: 'screenshots/no-javascript-login-error.png', fullPage: true });

  await page.getByLabel('Contraseña').fill('clave-nico-1');
  await page.getByRole('button', { name: 'Entrar' }).click();
  await expect(page).toHaveURL(/\/inbox$/);
  await expect(page.getByRole('heading', { name: 'Aún no hay conversaciones' })).toBeVisible();

  await page.getByRole('button', { name: 'Cerrar sesión', exact: true }).first().click();
  await expect(page).toHaveURL(/\/login\?bye=1$/);
  await page.goto('/inbox');
  await expect(page).toHaveURL(/\/login$/);
});

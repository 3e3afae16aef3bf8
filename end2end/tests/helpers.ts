import { expect, test as base, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';

// What the later spec files share: the administrator made by 01-team, the sandbox of each
// project, signing in, screenshots.

export const admin = { email: 'ana@andinas.example', password: 'clave-segura-1' };
// The first run's setup token the test servers are started with (playwright.config.ts).
export const setupToken = 'instalacion-e2e';
export const sandboxPorts: Record<string, number> = { desktop: 3201, tablet: 3202, phone: 3203 };

/** This project's sandbox (Meta, Twilio and the customers). */
export function sandboxUrl() {
  return `http://127.0.0.1:${sandboxPorts[test.info().project.name]}`;
}

export async function shot(page: Page, name: string) {
  const project = test.info().project.name;
  await page.screenshot({ path: `screenshots/${project}-${name}.png`, fullPage: false });
}

/** The uncaught errors of the pages a test watches, and those it expects. */
let caught: string[] = [];
let expected: RegExp[] = [];

/** An uncaught error the running test causes on purpose, which does not fail it. */
export function expectPageError(error: RegExp) {
  expected.push(error);
}

/** Fails the running test on the page's uncaught errors, a panic's own message included (a
 * panic in the browser's code ends as an uncaught "unreachable"; its message goes to the
 * console first), and on anything the page's Content-Security-Policy refused (Chromium reports
 * each refusal on the console). The test's own `page` is watched always; pages a test opens in
 * another context are watched when given here. */
export function watchErrors(page: Page, who = '') {
  const prefix = who ? `[${who}] ` : '';
  page.on('pageerror', (error) => caught.push(prefix + error.message));
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && text.includes('panicked at')) caught.push(prefix + text);
    if (text.includes('Content Security Policy')) caught.push(`${prefix}CSP: ${text}`);
  });
}

/** Every test: no page it watches has an uncaught error. */
export const test = base.extend<{ noPageErrors: void }>({
  noPageErrors: [async ({ page }, use) => {
    caught = [];
    expected = [];
    watchErrors(page);
    await use();
    const unexpected = caught.filter((error) => !expected.some((e) => e.test(error)));
    expect(unexpected, 'uncaught errors in the browser').toEqual([]);
  }, { auto: true }],
});

export async function hydrated(page: Page) {
  await page.waitForSelector('html[data-hydrated]', { state: 'attached' });
}

export async function signIn(page: Page, email = admin.email, password = admin.password) {
  await page.goto('/login');
  await page.getByLabel(/Correo electrónico|Email/).fill(email);
  await page.getByLabel(/Contraseña|Password/).fill(password);
  await page.getByRole('button', { name: /Entrar|Sign in/ }).click();
  await expect(page).toHaveURL(/\/inbox$/);
  await hydrated(page);
}

/** A customer writes (or does something else the sandbox's send API takes). */
export async function customerSends(page: Page, body: object) {
  const response = await page.request.post(`${sandboxUrl()}/sandbox/api/send`, { data: body });
  const answer = await response.json();
  expect(answer.webhook_status, JSON.stringify(answer)).toBe(200);
  return answer.id as string;
}

/** What the business sent a customer on WhatsApp, as the sandbox received it. */
export async function sentTo(page: Page, customer: string): Promise<{ kind: string; text?: string }[]> {
  const log = await (await page.request.get(`${sandboxUrl()}/sandbox/api/messages?channel=whatsapp`)).json();
  return log.filter((m: { from: string; customer: string }) => m.from === 'business' && m.customer === customer);
}

/** Runs the server's command line against this project's database. */
export function buzon(args: string[], input?: string) {
  const project = test.info().project.name;
  const env = {
    ...process.env,
    BUZON_DATA_DIR: `${process.env.BUZON_E2E_DATA ?? '../target/e2e-data'}/${project}`,
    BUZON_LOG: 'warn',
  };
  execFileSync(process.env.BUZON_BIN ?? '../target/debug/buzon', args, { env, input });
}

/** Connects the sandbox's WhatsApp line to this project's Buzón, as an administrator would
 * on the command line (`extra`: more of its options). */
export function connectSandboxLine(extra: string[] = []) {
  const credentials = JSON.stringify({
    access_token: 'sandbox-access-token', app_secret: 'sandbox-app-secret',
    verify_token: 'sandbox-verify-token', auth_token: 'sandbox-twilio-token',
  });
  buzon(['account', 'connect', '--org', 'Ventas Andinas', '--channel', 'whatsapp',
    '--external-id', '106540352242922', '--name', 'Ventas', '--business-id', '102290129340398',
    ...extra, '--credentials-stdin'], credentials);
}

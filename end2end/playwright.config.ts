import { defineConfig } from '@playwright/test';

// Each project gets its own server and its own fresh SQLite database, so every run starts
// from the first-run setup page. The server is the debug build made by `cargo leptos build`.
// Spec files run in name order: 01-team sets up the organization the later ones use.
const chromium = {
  browserName: 'chromium' as const,
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    // A fake microphone, allowed without a prompt, for the voice notes.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  },
  locale: 'es-MX',
};

const servers = [
  { name: 'desktop', port: 3101, viewport: { width: 1366, height: 850 }, javaScriptEnabled: true },
  { name: 'tablet', port: 3102, viewport: { width: 820, height: 1180 }, javaScriptEnabled: true },
  { name: 'phone', port: 3103, viewport: { width: 390, height: 844 }, javaScriptEnabled: true },
  { name: 'no-javascript', port: 3104, viewport: { width: 1280, height: 800 }, javaScriptEnabled: false },
];

const binary = process.env.BUZON_BIN ?? '../target/debug/buzon';
const sandbox = process.env.SANDBOX_BIN ?? '../target/debug/buzon-sandbox';
// One sandbox (Meta, Twilio and the customers) per project with JavaScript, at port + 100.
const sandboxes = servers.filter((s) => s.javaScriptEnabled);
const dataRoot = process.env.BUZON_E2E_DATA ?? '../target/e2e-data';

export default defineConfig({
  testDir: './tests',
  timeout: 180_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  projects: servers.map((s) => ({
    name: s.name,
    testMatch: s.javaScriptEnabled ? /.*\.spec\.ts/ : /login-without-javascript\.spec\.ts/,
    testIgnore: s.javaScriptEnabled ? /login-without-javascript\.spec\.ts/ : undefined,
    use: {
      ...chromium,
      baseURL: `http://127.0.0.1:${s.port}`,
      viewport: s.viewport,
      isMobile: s.name === 'phone',
      hasTouch: s.name === 'phone',
      javaScriptEnabled: s.javaScriptEnabled,
    },
  })),
  webServer: [...servers.map((s) => ({
    command: `rm -rf ${dataRoot}/${s.name} && ${binary} serve`,
    url: `http://127.0.0.1:${s.port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      BUZON_LISTEN: `127.0.0.1:${s.port}`,
      BUZON_DATA_DIR: `${dataRoot}/${s.name}`,
      BUZON_SITE_ROOT: process.env.BUZON_SITE_ROOT ?? '../target/site',
      BUZON_LOG: 'warn',
      BUZON_SETUP_TOKEN: 'instalacion-e2e',
      BUZON_GRAPH_API_URL: `http://127.0.0.1:${s.port + 100}/v25.0`,
      BUZON_TWILIO_API_URL: `http://127.0.0.1:${s.port + 100}`,
      BUZON_TWILIO_CONTENT_URL: `http://127.0.0.1:${s.port + 100}`,
      BUZON_INSECURE_MEDIA_ORIGINS: `http://127.0.0.1:${s.port + 100}`,
    },
  })), ...sandboxes.map((s) => ({
    command: `${sandbox} --listen 127.0.0.1:${s.port + 100} --buzon-url http://127.0.0.1:${s.port}`,
    url: `http://127.0.0.1:${s.port + 100}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore' as const,
    stderr: 'pipe' as const,
  }))],
});

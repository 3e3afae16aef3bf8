// Buzón's service worker: the app shell and the conversations opened recently stay
// readable without a connection. Everything is asked of the network first, so an agent online
// always sees the present; what the network answered is kept, and used only when it cannot be
// reached. Sends are never answered from here: the page keeps its own queue of messages
// written offline and sends them once the connection is back.

const SHELL = 'buzon-shell-v1';
const DATA = 'buzon-data-v1';
const SHELL_FILES = [
  '/pkg/buzon.js',
  '/pkg/buzon.wasm',
  '/pkg/buzon.css',
  '/manifest.webmanifest',
  '/icons/icon.svg',
  '/icons/icon-192.png',
];
// Server functions that only read: their answers are kept under their request's body.
const READS = ['/api/me', '/api/conversations', '/api/inbox_overview', '/api/thread', '/api/templates', '/api/quick_replies'];
// How many answers of each kind are kept (a thread per opened conversation and page).
const KEEP = { '/api/thread': 40, '/api/conversations': 20, page: 20, media: 60 };

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => Promise.all(SHELL_FILES.map((file) => cache.add(file).catch(() => {}))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== SHELL && n !== DATA).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === 'POST' && url.pathname === '/logout') {
    // What one user read stays off a shared device once they sign out.
    event.respondWith(forget().then(() => fetch(request)));
    return;
  }
  if (request.method === 'POST' && READS.includes(url.pathname)) {
    event.respondWith(read(event, url));
    return;
  }
  if (request.method !== 'GET') return;
  if (request.mode === 'navigate') {
    event.respondWith(page(event, url));
  } else if (url.pathname.startsWith('/pkg/') || url.pathname.startsWith('/icons/') || url.pathname === '/manifest.webmanifest') {
    event.respondWith(networkFirst(event, SHELL, request));
  } else if (url.pathname.startsWith('/media/') && request.destination === 'image') {
    // Pictures only: an audio or video element stops reading after the first bytes, and
    // copying what it leaves unread would hold the connection open.
    event.respondWith(networkFirst(event, DATA, request, 'media'));
  }
});

function forget() {
  return caches.delete(DATA);
}

/**
 * Asks the network; keeps a good answer under `key` (once it has arrived in full, without
 * holding the page back); falls back to the kept one.
 */
async function networkFirst(event, cacheName, key, kind) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(event.request);
    if (response.ok && !response.redirected) {
      const copy = response.clone();
      event.waitUntil(cache.put(key, copy).then(() => kind && trim(cache, kind)));
    }
    return response;
  } catch (offline) {
    const kept = await cache.match(key);
    if (kept) return kept;
    throw offline;
  }
}

/** A read-only server function: kept under its address and body, as a GET key. */
async function read(event, url) {
  const body = await event.request.clone().text();
  const key = new Request(`${url.pathname}?${body}`);
  const kind = KEEP[url.pathname] ? url.pathname : undefined;
  return networkFirst(event, DATA, key, kind);
}

/**
 * A page: the network's, else the same address kept, else a redirect to the same page kept
 * with other parameters (the address must match the page, or it would not hydrate).
 */
async function page(event, url) {
  const cache = await caches.open(DATA);
  try {
    const response = await fetch(event.request);
    event.waitUntil(keepPage(cache, response.clone()));
    return response;
  } catch (offline) {
    const kept = await cache.match(event.request);
    if (kept) return kept;
    const same = (await cache.keys()).filter((k) => new URL(k.url).pathname === url.pathname).pop();
    if (same) return Response.redirect(same.url, 302);
    throw offline;
  }
}

/** Keeps a page under the address it ended at (after the redirect of signing in, say). */
async function keepPage(cache, response) {
  const url = new URL(response.url);
  if (!response.ok || url.origin !== self.location.origin || url.pathname.startsWith('/invite/')) return;
  const headers = { 'Content-Type': response.headers.get('Content-Type') || 'text/html' };
  // A copy, not the answer itself: a redirected answer cannot answer another navigation.
  const copy = new Response(await response.blob(), { status: 200, headers });
  await cache.put(new Request(url.href), copy);
  await trim(cache, 'page');
}

/** Drops the oldest answers of one kind beyond what is kept of it. */
async function trim(cache, kind) {
  const keys = await cache.keys();
  const mine = keys.filter((k) => kindOf(new URL(k.url)) === kind);
  const extra = mine.length - KEEP[kind];
  for (let i = 0; i < extra; i++) await cache.delete(mine[i]);
}

function kindOf(url) {
  if (url.pathname.startsWith('/api/')) return url.pathname;
  if (url.pathname.startsWith('/media/')) return 'media';
  return 'page';
}

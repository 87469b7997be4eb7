// The /inspect page's service worker: keeps the page and its scripts, the trust list and the
// issuers' signed status lists, so that an officer's phone checks codes without a network
// after one visit. The page and its scripts are fetched from the network first (a new version
// shows at once) and from the cache when the network fails; the trust list and status lists
// the same way, each kept with the time it was fetched (header `sidian-fetched-at`), which the
// page shows with an offline verdict.

const SHELL_CACHE = 'sidian-inspect-shell-v1';
const DATA_CACHE = 'sidian-inspect-data';
const SHELL = [
  '/inspect',
  '/assets/ui.css',
  '/assets/site.js',
  '/assets/inspect.js',
  '/assets/offline.mjs',
  '/assets/sm2.mjs',
  '/assets/vendor/jsQR.js',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('sidian-inspect-shell-') && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** A copy of a response with the time it was fetched. */
async function stamped(response) {
  const headers = new Headers(response.headers);
  headers.set('sidian-fetched-at', new Date().toISOString());
  return new Response(await response.blob(), { status: response.status, statusText: response.statusText, headers });
}

async function networkFirst(request, cacheName, stamp) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request, { cache: 'no-store' });
    if (response.ok) {
      const kept = stamp ? await stamped(response.clone()) : response.clone();
      await cache.put(request.url.split('?')[0], kept);
    }
    return response;
  } catch (err) {
    const cached = await cache.match(request.url.split('?')[0]);
    if (cached) return cached;
    throw err;
  }
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (SHELL.includes(url.pathname)) {
    event.respondWith(networkFirst(event.request, SHELL_CACHE, false));
  } else if (url.pathname === '/v1/presentations/trust' || url.pathname.startsWith('/v1/status-lists/')) {
    event.respondWith(networkFirst(event.request, DATA_CACHE, true));
  }
});

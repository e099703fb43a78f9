/* The field view's service worker (scopes /field/ and /f/, the crews' short links): keeps the
 * page, Leaflet, the scripts and the plan so the view opens and works with no signal. Static
 * files: from the cache first. Pages and plan data: from the network when it answers within a few
 * seconds (so a changed plan arrives), else from the cache. Visits are POSTed by the page, which
 * queues them offline; this worker never touches them. Tiles of another origin are left to the
 * browser; the map of the route's area (the store's roads and names, the offline basemap's tiles)
 * is kept below. */
"use strict";
var CACHE = "hotspot-field-v1";
var NETWORK_WAIT_MS = 4000;

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    // earlier versions' caches go; this version's page cache and the route's map stay (two
    // registrations, /field/ and /f/, each activate on their own, maybe while the map is kept)
    return Promise.all(keys.filter(function (k) {
      return k.indexOf("hotspot-field-") === 0 && k !== CACHE && k !== MAP_CACHE;
    })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function keep(request, response) {
  if (response && response.ok) {
    var copy = response.clone();
    caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
  }
  return response;
}

function networkFirst(request) {
  var network = fetch(request).then(function (response) { return keep(request, response); });
  var timeout = new Promise(function (resolve, reject) {
    setTimeout(function () { reject(new Error("slow network")); }, NETWORK_WAIT_MS);
  });
  // the field view's page is the same for every crew: /field/{plan}?crew=... matches the kept one
  var anyCrew = new URL(request.url).pathname.indexOf("/field/") === 0;
  return Promise.race([network, timeout]).catch(function () {
    return caches.match(request, { ignoreSearch: anyCrew }).then(function (hit) {
      return hit || network;
    });
  });
}

function cacheFirst(request) {
  return caches.match(request).then(function (hit) {
    return hit || fetch(request).then(function (response) { return keep(request, response); });
  });
}

/* The map of the route's area, for use with no signal (basemap.js asks when a plan opens
 * online): the store's roads and names (/v1/basemap blocks), the offline basemap's tiles
 * (/tiles/...) and the scripts that draw them, kept in their own cache within a budget (50 MB
 * unless the page says less), lowest zooms first. A new area replaces the last one; what is
 * already kept is not fetched again. Pans and zooms outside it are fetched as usual and not
 * kept. */
var MAP_CACHE = "hotspot-field-map-v1";
var MAP_BUDGET = 50 * 1024 * 1024;
var MAP_SIZES = "/__hotspot-map-sizes";
var keeping = null;

function keepMap(urls, budget, reply) {
  budget = Math.min(budget || MAP_BUDGET, MAP_BUDGET);
  return caches.open(MAP_CACHE).then(function (cache) {
    return cache.match(MAP_SIZES).then(function (r) { return r ? r.json() : {}; })
      .catch(function () { return {}; })
      .then(function (sizes) {
        var want = {}, kept = {}, total = 0, i = 0, fetched = 0, full = false;
        urls.forEach(function (u) { want[u] = true; });
        return cache.keys().then(function (keys) {  // drop what the last area kept and this does not
          return Promise.all(keys.map(function (req) {
            var path = new URL(req.url).pathname + new URL(req.url).search;
            if (path === MAP_SIZES) return null;
            if (!want[path] && !want[req.url]) return cache.delete(req);
            kept[path] = sizes[path] || 0;
            total += kept[path];
            return null;
          }));
        }).then(function () {
          function next() {
            while (i < urls.length && kept[urls[i]] !== undefined) i++;
            if (i >= urls.length || full) return Promise.resolve();
            var u = urls[i++];
            return fetch(u, { credentials: "same-origin" }).then(function (response) {
              if (response.status === 429) {  // the service's rate limit: wait as it says, retry
                var wait = Math.min(30, Number(response.headers.get("Retry-After")) || 2);
                return new Promise(function (resolve) { setTimeout(resolve, wait * 1000); })
                  .then(function () { i = Math.min(i, urls.indexOf(u)); });
              }
              if (!response.ok) return null;
              return response.clone().arrayBuffer().then(function (body) {
                if (total + body.byteLength > budget) { full = true; return null; }
                total += body.byteLength;
                kept[u] = body.byteLength;
                fetched++;
                return cache.put(u, response);
              });
            }).catch(function () { full = full || !self.navigator.onLine; }).then(next);
          }
          return Promise.all([next(), next(), next(), next()]);
        }).then(function () {
          return cache.put(MAP_SIZES, new Response(JSON.stringify(kept),
            { headers: { "Content-Type": "application/json" } }));
        }).then(function () {
          var count = Object.keys(kept).length;
          reply({ type: "hotspot-map-kept", kept: count, wanted: urls.length, fetched: fetched,
                  bytes: total, budgetBytes: budget, complete: count === urls.length });
        });
      });
  });
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "hotspot-keep-map" || !Array.isArray(data.urls)) return;
  var urls = data.urls.filter(function (u) {
    return typeof u === "string" && (u.indexOf("/tiles/") === 0 || u.indexOf("/v1/basemap?") === 0 ||
                                      u.indexOf("/static/") === 0);
  });
  var source = event.source;
  var reply = function (msg) { if (source && source.postMessage) source.postMessage(msg); };
  var run = function () { return keepMap(urls, data.budgetBytes, reply); };
  keeping = (keeping || Promise.resolve()).then(run, run);
  if (event.waitUntil) event.waitUntil(keeping);
});

function mapFirst(request) {  // a kept block or tile, else the network (not kept)
  return caches.open(MAP_CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) { return hit || fetch(request); });
  });
}

function networkElseKept(request) {  // the store's layers may change: the network when it answers
  return fetch(request).catch(function () {
    return caches.match(request).then(function (hit) { if (hit) return hit; throw new Error("offline"); });
  });
}

/* A crew's short link (/f/CODE, letters in either case): the service's answer when it comes
 * within a few seconds, else where the link led when the field view was last open (kept by the
 * page), else the network's own failure. */
function shortLink(request) {
  var code = decodeURIComponent(new URL(request.url).pathname.slice(3)).trim().toUpperCase();
  var network = fetch(request);
  var timeout = new Promise(function (resolve, reject) {
    setTimeout(function () { reject(new Error("slow network")); }, NETWORK_WAIT_MS);
  });
  return Promise.race([network, timeout]).catch(function () {
    return caches.match("/f/" + encodeURIComponent(code), { cacheName: CACHE }).then(function (hit) {
      return hit || network;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/f/") === 0 && request.mode === "navigate") {
    event.respondWith(shortLink(request));
    return;
  }
  if (url.pathname === "/tiles/tiles.json") {
    event.respondWith(networkFirst(request));
    return;
  }
  if (url.pathname.indexOf("/tiles/") === 0) {
    event.respondWith(mapFirst(request));
    return;
  }
  if (url.pathname === "/v1/basemap") {
    event.respondWith(networkElseKept(request));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(cacheFirst(request));
  } else if (url.pathname.indexOf("/field/") === 0 || url.pathname.indexOf("/v1/patrol-plans/") === 0) {
    event.respondWith(networkFirst(request));
  }
});

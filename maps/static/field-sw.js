/* The field view's service worker (scope /field/): keeps the page, Leaflet, the scripts and the
 * plan so the view opens and works with no signal. Static files: from the cache first. Pages
 * and plan data: from the network when it answers within a few seconds (so a changed plan
 * arrives), else from the cache. Visits are POSTed by the page, which queues them offline;
 * this worker never touches them. Tiles (another origin) are left to the browser. */
"use strict";
var CACHE = "hotspot-field-v1";
var NETWORK_WAIT_MS = 4000;

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("hotspot-field-") === 0 && k !== CACHE; })
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
  return Promise.race([network, timeout]).catch(function () {
    return caches.match(request).then(function (hit) {
      return hit || network;
    });
  });
}

function cacheFirst(request) {
  return caches.match(request).then(function (hit) {
    return hit || fetch(request).then(function (response) { return keep(request, response); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(cacheFirst(request));
  } else if (url.pathname.indexOf("/field/") === 0 || url.pathname.indexOf("/v1/patrol-plans/") === 0) {
    event.respondWith(networkFirst(request));
  }
});

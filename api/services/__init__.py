"""Services: the work behind the routes, on a store (hotspots, patrol plans, backtests,
products, near repeats, basemap, briefing) and what several routers share. Routes call these;
these never import a route (``lint-imports`` checks it)."""

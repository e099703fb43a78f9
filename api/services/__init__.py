"""Services: the work behind the routes, on a store (hotspots, patrol plans, backtests,
products, basemap, briefing). Routes call these; these never import a route."""

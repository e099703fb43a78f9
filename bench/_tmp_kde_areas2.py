import time, numpy as np, shapely
from pathlib import Path
from bench import answer as A
from api.services import hotspot_results
import hotspot.places as P
db = Path("/work/benchcache/demo-1000000/demo.sqlite")
_s, store, taxonomy, harm, limits = A._setup(db)
got = []
orig = P._place_shapes
def spy(discs, centres, kept, geom, d):
    got.append((discs, kept, geom))
    return orig(discs, centres, kept, geom, d)
P._place_shapes = spy
for q in ({"method": "kde", "bandwidth_m": "251"}, {"method": "dbscan", "eps_m": 150.3}):
    got.clear()
    hotspot_results.compute_hotspots(store, taxonomy, A._query(q), limits, None, harm)
    t_old = t_new = 0.0; worst = 0.0; n = 0
    for discs, kept, geom in got:
        s = discs[kept]
        shapely.prepare(geom)
        partial = np.flatnonzero(~shapely.contains(geom, s))
        if not partial.size: continue
        t = time.perf_counter(); a = shapely.intersection(s[partial], geom); t_old += time.perf_counter() - t
        t = time.perf_counter(); b = shapely.intersection(s[partial], P._near_parts(geom, s[partial])); t_new += time.perf_counter() - t
        sd = shapely.area(shapely.symmetric_difference(a, b))
        worst = max(worst, float(sd.max())); n += partial.size
    print(q["method"], "partial discs", n, "old", round(t_old, 3), "new", round(t_new, 3), "worst sym diff m2", worst)

import cProfile, pstats, os
from pathlib import Path
from bench import answer as A
from api.services import hotspot_results
db = Path("/work/benchcache/demo-1000000/demo.sqlite")
_s, store, taxonomy, harm, limits = A._setup(db)
m = os.environ.get("M", "kde")
q = lambda i: A._query({"method": "kde", "bandwidth_m": str(250 + i)} if m == "kde" else {"method": "dbscan", "eps_m": 150 + i / 10})
hotspot_results.compute_hotspots(store, taxonomy, q(1), limits, None, harm)
pr = cProfile.Profile(); pr.enable()
hotspot_results.compute_hotspots(store, taxonomy, q(2), limits, None, harm)
pr.disable()
st = pstats.Stats(pr); st.sort_stats("cumulative")
st.print_callees(os.environ.get("F", "incident_context|_accuracy|classes_of_hotspots"))

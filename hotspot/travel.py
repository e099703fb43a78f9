"""Travel models for patrol planning: straight lines with a circuity factor, or a road network.

Both answer the same two questions in the analysis CRS (metres): how long between every pair of
places (:meth:`TravelModel.matrix`, seconds), and the line an officer follows on one leg and its
length (:meth:`TravelModel.leg`, metres). Two modes: ``"vehicle"`` (the Rural Crime Team) and ``"foot"`` (town
centre officers).

**Straight lines** (no road network given): distance = straight-line distance x a circuity
factor, default 1.3. Road distance is 1.2-1.4 times the straight line on most road networks
(Ballou, Rahardja and Sakai 2002 found 1.18-1.41 across countries; Boscoe et al. 2012 found
1.42 on average in the United States, more in the country than in towns); 1.3 is the middle.
Speeds: 48 km/h for a vehicle (country lanes and B roads, with junctions: about 30 mph) and
4.8 km/h on foot (a patrol walk, about 3 mph).

**Road network**: lines with a speed each (km/h). The lines are noded where they cross or
touch (``shapely.union_all``), every segment keeps the fastest speed of the lines it lies on,
and shortest times come from Dijkstra (``scipy.sparse.csgraph``; one run per place, so 60
places on a county's roads take a few hundred milliseconds). The lines get a vertex at least
every 100 m, and a place joins the network at its nearest vertex by an access leg (straight
line x circuity at ``access_kmh``: farm tracks and yards for a vehicle); a place farther than
``max_access_m`` from every road, or on a piece of the network not joined to the others, is
unreachable (``inf``). On foot every segment is walked at the foot speed (or the road's speed
if slower).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from hotspot.errors import InvalidParameter

MODES = ("vehicle", "foot")
CIRCUITY = 1.3
VEHICLE_KMH = 48.0
FOOT_KMH = 4.8


class TravelModel(Protocol):
    """What the planner needs of a travel model (metres, seconds, the analysis CRS)."""

    def matrix(self, xy: np.ndarray, mode: str) -> np.ndarray:
        """Travel times (seconds) between every pair of ``xy`` (n x 2, metres): n x n, ``inf``
        where a place cannot be reached."""
        ...

    def leg(self, a: tuple[float, float], b: tuple[float, float],
            mode: str) -> tuple[np.ndarray, float]:
        """The line followed from ``a`` to ``b`` (an m x 2 array of coordinates, metres) and the
        distance travelled along it (metres)."""
        ...

    def describe(self) -> dict[str, Any]:
        """The model and its settings, for the plan's record."""
        ...


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise InvalidParameter(f"travel mode must be one of {', '.join(MODES)}, not {mode!r}")


def _straight(xy: np.ndarray) -> np.ndarray:
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])


def _positive(name: str, value: float, high: float) -> float:
    value = float(value)
    if not np.isfinite(value) or not 0 < value <= high:
        raise InvalidParameter(f"{name} must be above 0 and at most {high:g}, not {value:g}")
    return value


@dataclass(frozen=True)
class StraightLine:
    """Straight-line distance x ``circuity`` at a set speed (km/h) per mode."""

    vehicle_kmh: float = VEHICLE_KMH
    foot_kmh: float = FOOT_KMH
    circuity: float = CIRCUITY

    def __post_init__(self) -> None:
        _positive("vehicle_kmh", self.vehicle_kmh, 200)
        _positive("foot_kmh", self.foot_kmh, 20)
        if not np.isfinite(self.circuity) or not 1.0 <= self.circuity <= 3.0:
            raise InvalidParameter(f"circuity must be from 1 to 3, not {self.circuity:g}")

    def speed_ms(self, mode: str) -> float:
        """Speed in metres per second."""
        _check_mode(mode)
        return (self.vehicle_kmh if mode == "vehicle" else self.foot_kmh) / 3.6

    def matrix(self, xy: np.ndarray, mode: str) -> np.ndarray:
        return _straight(xy) * self.circuity / self.speed_ms(mode)

    def leg(self, a: tuple[float, float], b: tuple[float, float],
            mode: str) -> tuple[np.ndarray, float]:
        """A straight line drawn; the distance is the straight one x the circuity factor."""
        _check_mode(mode)
        return np.array([a, b], dtype=float), float(np.hypot(b[0] - a[0], b[1] - a[1])
                                                     * self.circuity)

    def describe(self) -> dict[str, Any]:
        return {"model": "straight_line", "circuity": self.circuity,
                "vehicle_kmh": self.vehicle_kmh, "foot_kmh": self.foot_kmh}


@dataclass
class RoadNetwork:
    """Shortest times along road lines with speeds (see the module's notes).

    Parameters
    ----------
    lines
        LineStrings (or MultiLineStrings) in the analysis CRS, metres.
    speeds_kmh
        The speed of each line, km/h.
    foot_kmh
        Walking speed, km/h.
    access_kmh, max_access_m
        Speed (km/h) and longest straight distance (metres) from a place to the network.
    circuity
        Applied to the access leg only.
    densify_m
        Longest distance between two vertices of the network, metres (a place joins the
        network at its nearest vertex).
    """

    lines: Sequence[Any]
    speeds_kmh: Sequence[float]
    foot_kmh: float = FOOT_KMH
    access_kmh: float = 16.0
    max_access_m: float = 2500.0
    circuity: float = CIRCUITY
    densify_m: float = 100.0
    nodes: np.ndarray = field(init=False, repr=False)
    _graphs: dict[str, csr_matrix] = field(init=False, repr=False)
    _length: csr_matrix = field(init=False, repr=False)
    _component: np.ndarray = field(init=False, repr=False)
    _tree: cKDTree = field(init=False, repr=False)
    _paths: dict[tuple[str, int], np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _positive("foot_kmh", self.foot_kmh, 20)
        _positive("access_kmh", self.access_kmh, 100)
        _positive("max_access_m", self.max_access_m, 50_000)
        _positive("densify_m", self.densify_m, 10_000)
        geoms = np.asarray(list(self.lines), dtype=object)
        speeds = np.asarray(list(self.speeds_kmh), dtype=float)
        if geoms.size == 0:
            raise InvalidParameter("the road network has no lines")
        if speeds.shape != geoms.shape:
            raise InvalidParameter("the road network needs one speed per line")
        bad = np.flatnonzero(~np.isfinite(speeds) | (speeds <= 0) | (speeds > 200))
        if bad.size:
            raise InvalidParameter(
                f"road {int(bad[0]) + 1} has speed {speeds[bad[0]]:g} km/h; speeds must be "
                "above 0 and at most 200 km/h")
        types = np.asarray(shapely.get_type_id(geoms))
        if not np.isin(types, (1, 5)).all():
            raise InvalidParameter("the road network must be made of lines")
        noded = shapely.get_parts(shapely.union_all(geoms))
        noded = noded[shapely.get_type_id(noded) == 1]
        # a vertex at least every densify_m, so that a place joins the road near its nearest
        # point, not at the far end of a long straight
        noded = shapely.segmentize(noded, self.densify_m)
        # each noded segment takes the fastest speed among the lines it lies on
        mid = shapely.line_interpolate_point(noded, 0.5, normalized=True)
        tree = shapely.STRtree(geoms)
        seg_i, line_i = tree.query(mid, predicate="dwithin", distance=0.01)
        seg_speed = np.zeros(noded.size)
        np.maximum.at(seg_speed, seg_i, speeds[line_i])
        seg_speed[seg_speed == 0] = float(speeds.min())
        coords, part = shapely.get_coordinates(noded, return_index=True)
        key = np.round(coords, 2)
        uniq, node = np.unique(key, axis=0, return_inverse=True)
        node = node.ravel()
        same = part[1:] == part[:-1]
        a, b = node[:-1][same], node[1:][same]
        seg = part[:-1][same]
        length = np.hypot(*(coords[1:][same] - coords[:-1][same]).T)
        keep = a != b
        a, b, seg, length = a[keep], b[keep], seg[keep], length[keep]
        self.nodes = uniq
        n = len(uniq)
        speed_ms = seg_speed[seg] / 3.6
        foot_ms = np.minimum(speed_ms, self.foot_kmh / 3.6)
        self._graphs = {
            "vehicle": self._graph(a, b, length / speed_ms, n),
            "foot": self._graph(a, b, length / foot_ms, n),
        }
        self._length = self._graph(a, b, length, n)
        _count, self._component = connected_components(self._graphs["vehicle"], directed=False)
        self._tree = cKDTree(uniq)
        self._paths = {}

    @staticmethod
    def _graph(a: np.ndarray, b: np.ndarray, w: np.ndarray, n: int) -> csr_matrix:
        """Undirected graph; of parallel edges, the cheapest."""
        u = np.concatenate([a, b])
        v = np.concatenate([b, a])
        w2 = np.concatenate([w, w])
        order = np.lexsort((w2, v, u))
        u, v, w2 = u[order], v[order], w2[order]
        first = np.ones(u.size, dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        return csr_matrix((w2[first], (u[first], v[first])), shape=(n, n))

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest network vertex of each place and the straight distance to it (metres)."""
        dist, idx = self._tree.query(np.asarray(xy, dtype=float).reshape(-1, 2))
        return np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=float)

    def _access_ms(self, mode: str) -> float:
        return (self.access_kmh if mode == "vehicle" else min(self.access_kmh, self.foot_kmh)) / 3.6

    def matrix(self, xy: np.ndarray, mode: str) -> np.ndarray:
        _check_mode(mode)
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        idx, access = self.snap(xy)
        access_s = access * self.circuity / self._access_ms(mode)
        sources, row = np.unique(idx, return_inverse=True)
        times, pred = dijkstra(self._graphs[mode], directed=False, indices=sources,
                               return_predecessors=True)
        for r, source in enumerate(sources.tolist()):
            self._paths[(mode, source)] = pred[r]
        t = times[row.ravel()][:, idx] + access_s[:, None] + access_s[None, :]
        # two places at the same vertex: the straight way between them
        same = idx[:, None] == idx[None, :]
        t = np.where(same, _straight(xy) * self.circuity / self._access_ms(mode), t)
        far = access > self.max_access_m
        t[far, :] = np.inf
        t[:, far] = np.inf
        np.fill_diagonal(t, 0.0)
        return t

    def _path_nodes(self, mode: str, source: int, target: int) -> list[int]:
        pred = self._paths.get((mode, source))
        if pred is None:
            _t, pred = dijkstra(self._graphs[mode], directed=False, indices=source,
                                return_predecessors=True)
            self._paths[(mode, source)] = pred
        if source != target and pred[target] < 0:
            return []
        path = [target]
        while path[-1] != source:
            path.append(int(pred[path[-1]]))
        return path[::-1]

    def leg(self, a: tuple[float, float], b: tuple[float, float],
            mode: str) -> tuple[np.ndarray, float]:
        """Along the roads (with the access legs at both ends); straight when both places join
        the network at the same vertex or cannot reach each other."""
        _check_mode(mode)
        ends = np.array([a, b], dtype=float)
        idx, access = self.snap(ends)
        nodes = [] if idx[0] == idx[1] else self._path_nodes(mode, int(idx[0]), int(idx[1]))
        if not nodes:
            return ends, float(np.hypot(*(ends[1] - ends[0])) * self.circuity)
        arr = np.asarray(nodes)
        along = float(np.asarray(self._length[arr[:-1], arr[1:]]).sum())
        return (np.vstack([ends[:1], self.nodes[arr], ends[1:]]),
                along + float(access.sum()) * self.circuity)

    def describe(self) -> dict[str, Any]:
        return {"model": "road_network", "vertices": len(self.nodes),
                "segments": int(self._length.nnz // 2),
                "pieces": int(self._component.max() + 1) if self._component.size else 0,
                "foot_kmh": self.foot_kmh, "access_kmh": self.access_kmh,
                "max_access_m": self.max_access_m, "access_circuity": self.circuity}

"""Backtests on a store, stored and reused, and the method they choose (``method=auto``).

A backtest (:mod:`hotspot.backtest`) fits every candidate on the months before a test month and
counts the test month's incidents inside the places each candidate would have sent officers to,
at equal shares of the force area. Here it runs on the months in the store, for one selection of
categories (a plan priority, or all incidents), and its result is stored
(:meth:`geodata.stores.Store.put_backtest`) under a key made of the data version, the
categories, the shares, the folds and the candidates: the same data gives the same key, so a
stored result is reused until an ingest changes the data.

Months are the store's local calendar months (``year * 12 + month - 1``). The folds test the
last :data:`TEST_MONTHS` months, each fitted on every earlier month (an expanding window).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from api.service_errors import InvalidInput, Unavailable
from api.services.hotspots import force_area
from api.services.selection import Selection
from geodata.schema import IncidentFilter
from geodata.stores import IncidentStore, Store
from geodata.taxonomy import Taxonomy
from hotspot.backtest import SHARES, BacktestResult, Candidate, choose, default_candidates, rolling_origin
from hotspot.cancel import ShouldStop

if TYPE_CHECKING:
    from api.services.job_types import Jobs, JobState

log = logging.getLogger(__name__)

BACKTEST_VERSION = 2
"""Bumped when the candidates or the measures change, so older stored results are not reused."""
TEST_MONTHS = 6
"""Months tested (the latest ones), each fitted on every earlier month."""
MIN_MONTHS = 2
"""Fewest months a backtest needs: one to fit on, a later one to test on."""


def service_candidates() -> list[Candidate]:
    """The ten candidates the service backtests: naive 50/100/250 m cells, KDE 50/100/200 m,
    Gi* 50/100 m, the forecast and the neighbourhood-ordered cells. DBSCAN is left out: it
    lost to the naive baseline by half or more on Essex and New York, and its place split
    costs two-thirds of a backtest's time (docs/backtest.md); ``bench.backtest`` still scores
    it."""
    return default_candidates(dbscan=False)


@dataclass(frozen=True)
class BacktestSpec:
    """What a backtest covers: the categories (None: every incident), the plan priority they
    came from (for reports), the area shares and how many of the latest months are tested."""

    categories: tuple[str, ...] | None
    priority: str | None
    shares: tuple[float, ...] = SHARES
    test_months: int = TEST_MONTHS

    @classmethod
    def of(cls, selection: Selection, taxonomy: Taxonomy,
           shares: tuple[float, ...] = SHARES, test_months: int = TEST_MONTHS) -> BacktestSpec:
        """The backtest behind a selection: its plan priority's (a set of categories that is not
        one priority's takes the backtest of every incident, so a store holds at most one
        backtest per priority and one for all, per data version), over every month in the
        store (the selection's dates and box are not part of it).

        Raises
        ------
        InvalidInput
            An unknown category or priority.
        """
        cats = selection.categories_for(taxonomy)
        priority = selection.priority
        if cats and not priority:  # a set of categories: its priority's backtest, if it is one
            wanted = set(cats)
            priority = next((p for p in taxonomy.priorities
                             if set(taxonomy.categories_for(p)) == wanted), None)
        if priority is None:  # every incident: one backtest per priority and one for all
            return cls(categories=None, priority=None, shares=tuple(sorted(shares)),
                       test_months=test_months)
        return cls(categories=tuple(sorted(set(taxonomy.categories_for(priority)))),
                   priority=priority, shares=tuple(sorted(shares)), test_months=test_months)

    def key(self, data_version: str, candidates: list[Candidate]) -> str:
        """The storage key: a hash of everything the result depends on."""
        what = json.dumps({
            "v": BACKTEST_VERSION, "data": data_version, "categories": self.categories,
            "shares": self.shares, "test_months": self.test_months,
            "candidates": [[c.name, c.family, sorted((str(k), repr(v))
                                                    for k, v in c.params.items())]
                           for c in candidates],
        }, sort_keys=True)
        return hashlib.sha256(what.encode()).hexdigest()[:40]


def month_numbers(seconds: np.ndarray, timezone: str) -> np.ndarray:
    """Local calendar month of each time (seconds since the epoch, UTC) as
    ``year * 12 + month - 1``."""
    local = pd.to_datetime(np.asarray(seconds, dtype=np.int64), unit="s",
                           utc=True).tz_convert(timezone)
    return (local.year.to_numpy() * 12 + local.month.to_numpy() - 1).astype(np.int64)


def month_label(number: int) -> str:
    """``YYYY-MM`` of a month number (``year * 12 + month - 1``)."""
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def training_frame(store: IncidentStore, categories: tuple[str, ...] | None,
                   start: int | None = None, end: int | None = None) -> tuple[pd.DataFrame, str]:
    """The incidents a backtest or a fit uses (``x``, ``y`` metres in the store's CRS,
    ``month`` numbers, ``weight`` 1) and the data version."""
    cols = store.incidents(IncidentFilter(start=start, end=end, categories=categories),
                          lonlat=False)
    frame = pd.DataFrame({"x": cols.x, "y": cols.y, "weight": 1.0,
                          "month": month_numbers(cols.occurred_at, store.timezone)})
    return frame, cols.data_version


def spec_params(spec: BacktestSpec) -> dict[str, Any]:
    """``spec`` as a job's parameters (plain JSON values; :func:`spec_from` reads them)."""
    return {"categories": list(spec.categories) if spec.categories else None,
            "priority": spec.priority, "shares": list(spec.shares),
            "test_months": spec.test_months}


def spec_from(params: dict[str, Any]) -> BacktestSpec:
    """The backtest of a job's parameters (:func:`spec_params`)."""
    cats = params.get("categories")
    return BacktestSpec(categories=tuple(cats) if cats else None,
                        priority=params.get("priority"),
                        shares=tuple(float(s) for s in params.get("shares") or SHARES),
                        test_months=int(params.get("test_months") or TEST_MONTHS))


def run_backtest(store: Store, spec: BacktestSpec, *,
                 should_stop: ShouldStop | None = None,
                 progress: Callable[[str], None] | None = None,
                 step: Callable[[float, str], None] | None = None
                 ) -> tuple[dict[str, Any], bool]:
    """The stored result of ``spec`` on the store's current data, or a new one (run, then
    stored); and whether it was reused. ``progress`` hears what is being done in words (the
    CLI); ``step`` the share done (0-1) and the stage in words, fold by fold and candidate by
    candidate (a job's progress, a progress bar).

    Raises
    ------
    InvalidInput
        Fewer than :data:`MIN_MONTHS` months of the categories in the store (naming
        ``method``).
    hotspot.AnalysisCancelled
        ``should_stop`` answered True.
    """
    candidates = service_candidates()
    version = store.data_version()
    key = spec.key(version, candidates)
    stored = store.get_backtest(key)
    if stored is not None:
        return json.loads(stored[1]), True
    if step:
        step(0.0, "reading the incidents")
    frame, version = training_frame(store, spec.categories)
    months = sorted(set(frame["month"].tolist()))
    if len(months) < MIN_MONTHS:
        raise InvalidInput(
            f"a backtest needs at least {MIN_MONTHS} months of data (one to fit on, a later one "
            f"to test on); the store holds {len(months)} for this selection: choose a method "
            "(kde, dbscan or gistar) instead of auto", "method")
    tested = months[-min(spec.test_months, len(months) - 1):]
    if progress:
        progress(f"backtesting {len(candidates)} candidates on {len(tested)} months "
                 f"({month_label(tested[0])} to {month_label(tested[-1])})")
    result = rolling_origin(frame, candidates, crs=store.crs, boundary=force_area(store),
                            shares=spec.shares, test_months=tested,
                            should_stop=_counting(should_stop, step, candidates, tested))
    document = {
        "key": key, "data_version": version, "priority": spec.priority,
        "categories": list(spec.categories) if spec.categories else None,
        "month_labels": [month_label(m) for m in result.months],
        "tested": [month_label(m) for m in tested],
        **result.to_dict(),
    }
    text = json.dumps(document, separators=(",", ":"), allow_nan=False, default=_json)
    if step:
        step(0.99, "storing the result")
    store.put_backtest(key, data_version=version, summary=_summary(document), document=text)
    return json.loads(text), False


def _counting(should_stop: ShouldStop | None, step: Callable[[float, str], None] | None,
              candidates: list[Candidate], tested: list[int]) -> ShouldStop | None:
    """``should_stop``, also telling ``step`` how far the backtest is: the backtest checks it
    once before each candidate of each fold (:func:`hotspot.backtest.rolling_origin`), so the
    n-th call is candidate ``n % len(candidates)`` of fold ``n // len(candidates)``."""
    if step is None:
        return should_stop
    calls = [0]
    total = len(candidates) * len(tested)

    def check() -> bool:
        n = calls[0]
        calls[0] += 1
        fold, cand = divmod(n, len(candidates))
        if fold < len(tested):
            step(0.02 + 0.96 * n / total,
                 f"fold {fold + 1} of {len(tested)} (testing {month_label(tested[fold])}): "
                 f"candidate {cand + 1} of {len(candidates)} ({candidates[cand].name})")
        return bool(should_stop and should_stop())

    return check


def _json(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return str(value)


def _summary(document: dict[str, Any]) -> dict[str, Any]:
    return {"priority": document["priority"], "categories": document["categories"],
            "chosen": document["chosen"], "tested": document["tested"],
            "shares": document["shares"]}


def result_of(document: dict[str, Any]) -> BacktestResult:
    """A stored backtest document as a :class:`~hotspot.backtest.BacktestResult` again."""
    folds = pd.DataFrame(document["folds"]).astype({"share": float})
    for column in folds.columns:
        if folds[column].dtype == object and column not in ("candidate", "family"):
            folds[column] = pd.to_numeric(folds[column], errors="coerce")
    return BacktestResult(
        folds=folds, shares=tuple(float(s) for s in document["shares"]),
        candidates=tuple(c["name"] for c in document["candidates"]),
        families={c["name"]: c["family"] for c in document["candidates"]},
        params={c["name"]: c["params"] for c in document["candidates"]},
        months=tuple(document["months"]), fit_months=document["fit_months"],
        force_area_m2=float(document["force_area_m2"]), crs=document["crs"],
        reference_cell_m=float(document["reference_cell_m"]),
        seconds=float(document["seconds"]))


@dataclass(frozen=True)
class Choice:
    """The method a backtest chose at one area share, with what it measured."""

    candidate: str
    family: str
    share: float
    """The backtested share nearest the budget asked for (0-1)."""
    hit_rate: float
    """Mean share of a test month's incidents inside the places (prospective)."""
    pai: float
    """Mean hit rate over the share asked for (the PAI at equal area, prospective)."""
    baseline: str
    baseline_hit_rate: float
    baseline_pai: float
    tested: list[str]
    fitted_on: list[str]
    key: str

    def sentence(self) -> str:
        """What the choice means, in plain words, at the share its figures were measured at
        (the backtested share nearest the budget; the summary says what the places cover)."""
        months = len(self.tested)
        return (f"Over the last {months} months, places chosen this way "
                f"({self.candidate.replace('_', ' ')}) covering {self.share * 100:.2f} % of the "
                f"force area held {self.hit_rate * 100:.0f} % of the next month's incidents; "
                f"the busiest cells of the months before held "
                f"{self.baseline_hit_rate * 100:.0f} %.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the sentence."""
        return {"method": "auto", "candidate": self.candidate, "family": self.family,
                "backtested_share": self.share, "months": self.fitted_on,
                "tested": self.tested, "backtest": self.key,
                "prospective": {"hit_rate": round(self.hit_rate, 4), "pai": round(self.pai, 2)},
                "baseline": {"candidate": self.baseline,
                             "hit_rate": round(self.baseline_hit_rate, 4),
                             "pai": round(self.baseline_pai, 2)},
                "sentence": self.sentence()}


def choice_at(document: dict[str, Any], area_share: float) -> Choice:
    """The candidate :func:`hotspot.backtest.choose` picks at the backtested share nearest
    ``area_share``, with its prospective hit rate and PAI and the best naive baseline's."""
    result = result_of(document)
    share = min(result.shares, key=lambda s: (abs(np.log(s / area_share)), s))
    name = choose(result, shares=[share])
    summary = result.summary()
    at = summary[np.isclose(summary["share"], share)].set_index("candidate")
    naive = [c for c in result.candidates if result.families[c] == "naive"]

    def value(candidate: str, column: str) -> float:
        return float(at[column].to_numpy(np.float64)[at.index.get_loc(candidate)])

    base = max(naive, key=lambda c: (value(c, "pai_at_budget"), -naive.index(c)))
    return Choice(
        candidate=name, family=result.families[name], share=share,
        hit_rate=value(name, "hit_rate"), pai=value(name, "pai_at_budget"),
        baseline=base, baseline_hit_rate=value(base, "hit_rate"),
        baseline_pai=value(base, "pai_at_budget"),
        tested=list(document["tested"]), fitted_on=list(document["month_labels"]),
        key=str(document["key"]))


def candidate_named(name: str) -> Candidate:
    """The default candidate called ``name``."""
    for cand in service_candidates():
        if cand.name == name:
            return cand
    raise InvalidInput(f"no candidate called {name!r}", "method")


class BacktestRunner:
    """Backtests for the HTTP API, run as jobs (:mod:`api.services.jobs`: in a worker thread of the
    service, or on ``hotspot worker`` with Redis): a request that needs one starts it (or finds
    it running) and answers at once; the result is stored, so the next request reuses it. The
    service's own backtests (``method=auto``) wait at most ``max_waiting`` at a time."""

    def __init__(self, jobs: Jobs | None = None, max_waiting: int = 4) -> None:
        self.jobs = jobs
        self.max_waiting = max_waiting

    def jobs_for(self, store: Store) -> Jobs:
        """The jobs backtests run as (:func:`api.services.jobs.install` gives them)."""
        if self.jobs is None:
            raise Unavailable("backtests run as jobs, and this service has none: "
                              "api.services.jobs.install gives them")
        return self.jobs

    def close(self) -> None:
        """Stop taking work (a running backtest finishes)."""
        if self.jobs is not None:
            self.jobs.close()


DEFAULT_AUTO_SHARE = 0.005
"""The area budget of ``method=auto`` when none is given: 0.5 % of the force area."""


def auto_places(store: Store, taxonomy: Taxonomy, selection: Selection,
                parameters: dict[str, Any], document: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The places of ``method=auto``: the candidate the backtest ``document`` chose at the area
    budget (``area_share`` or ``area_km2`` in ``parameters``; :data:`DEFAULT_AUTO_SHARE` when
    neither), fitted on the selection's months (every month in the store when it gives no
    dates), kept in its order while they fit the budget (clipped to the force area). Returns
    the places (GeoDataFrame, store CRS) and the choice (JSON-ready, with its sentence).

    Raises
    ------
    InvalidInput
        No incidents to fit on, or an unknown category or priority.
    """
    from hotspot.coverage import select_by_area

    force = force_area(store)
    area = float(force.area) if force is not None else float(document["force_area_m2"])
    if parameters.get("area_km2") is not None:
        budget = float(parameters["area_km2"]) * 1e6
    else:
        budget = float(parameters.get("area_share") or DEFAULT_AUTO_SHARE) * area
    share = budget / area
    chosen = choice_at(document, share)
    cats = selection.categories_for(taxonomy)
    frame, _version = training_frame(store, cats, selection.start, selection.end)
    if not len(frame):
        raise InvalidInput("there are no incidents in the selection to fit on", "from")
    places = candidate_named(chosen.candidate).fit(frame, store.crs, force)
    kept = select_by_area(places.geometry.values, budget, boundary=force)
    choice = chosen.to_dict()
    choice["months"] = [month_label(m) for m in sorted(set(frame["month"].tolist()))]
    choice["area_share"] = round(share, 6)
    return places.iloc[kept].reset_index(drop=True), choice


def backtest_started(store: Store, spec: BacktestSpec, runner: BacktestRunner, *,
                     owner: str = "") -> tuple[dict[str, Any] | None, str, JobState | None]:
    """For the HTTP API: the stored result of ``spec`` on the current data (with "stored" and
    no job), or (None, "started" or "running", the job) after starting the backtest as a job
    of ``owner`` (a key's id; "" the service's own) or finding that owner's job of it running
    (a backtest takes from seconds to a few minutes; the next request finds it stored).

    Raises
    ------
    InvalidInput
        422 naming ``method`` when this backtest failed on the data (too few months).
    Unavailable
        503 when too many of the service's own backtests are waiting.
    TooManyJobs
        429 when ``owner`` has as many jobs queued or running as a key may have.
    """
    from api.services.job_types import FAILED, FINISHED, SYSTEM, TooManyJobs

    key = spec.key(store.data_version(), service_candidates())
    stored = store.get_backtest(key)
    if stored is not None:
        return json.loads(stored[1]), "stored", None
    jobs = runner.jobs_for(store)
    before = {j.id for j in jobs.owned(owner, limit=8) if j.dedupe == key}
    try:
        job = jobs.submit("backtest", spec_params(spec), owner=owner, dedupe=key,
                          summary={"priority": spec.priority,
                                   "categories": list(spec.categories or ()) or None},
                          limit=runner.max_waiting if owner == SYSTEM else None)
    except TooManyJobs:
        if owner != SYSTEM:
            raise
        raise Unavailable(f"{runner.max_waiting} backtests are waiting to run; ask again in a "
                          "few minutes") from None
    if job.status == FAILED and job.error:  # a backtest the data cannot run names the method
        raise InvalidInput(str(job.error["detail"]), "method")
    if job.status == FINISHED:
        found = jobs.result(job.id)
        if found is not None and isinstance(found.document, dict):
            return found.document, "stored", None
    return None, "running" if job.id in before else "started", job


def stored_or_started(store: Store, spec: BacktestSpec,
                      runner: BacktestRunner) -> tuple[dict[str, Any] | None, str]:
    """For the HTTP API (``method=auto``): the stored result of ``spec`` on the current data,
    or (None, what is happening) after starting it as the service's own job
    (:func:`backtest_started`).

    Raises
    ------
    InvalidInput
        503 when too many backtests are waiting; 422 when the last run of this backtest
        failed on the data (too few months).
    """
    document, state, _job = backtest_started(store, spec, runner)
    return document, state


def spec_of(selection: Selection, taxonomy: Any) -> BacktestSpec:
    """The backtest behind a selection (422 naming an unknown category or priority)."""
    return BacktestSpec.of(selection, taxonomy, test_months=TEST_MONTHS)

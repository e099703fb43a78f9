"""The hotspot request of ``analyse``, ``map``, ``near-repeat`` and ``backtest``: the method,
period, category and priority options, the method parameters (declared once, in
:mod:`hotspot.params`, as the API's query parameters: same names, help, bounds and defaults),
the selection they make, and the analysis they run (the API's, so the same request gives the
same hotspots)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import err, fail, open_store, shows_progress, stage_bar
from api.settings import Settings
from hotspot.params import every_parameter, help_text, validate

if TYPE_CHECKING:
    from api.services.hotspots import AnalysisOptions
    from api.services.selection import Selection
    from geodata.stores import Store
    from geodata.taxonomy import Taxonomy

MethodOpt = Annotated[str, typer.Option(
    help="kde, dbscan, gistar, or auto (the backtest's best; give --area-share).")]
FromOpt = Annotated[str | None, typer.Option("--from", help="First month or day (YYYY-MM or "
                                                            "YYYY-MM-DD), local time.")]
ToOpt = Annotated[str | None, typer.Option(help="Last month or day, included.")]
CategoryOpt = Annotated[list[str] | None, typer.Option(
    help="A taxonomy category (repeat for more).")]
PriorityOpt = Annotated[str | None, typer.Option(
    help="A plan priority: serious_organised, theft_burglary_robbery, rural, asb, other.")]


def method_options(func: Callable[..., None]) -> Callable[..., None]:
    """``func`` with one option per method parameter of :mod:`hotspot.params` (the API's query
    parameters: same names, help, bounds and defaults), passed to it as ``method_parameters``
    (the options given, as text; :func:`hotspot.params.validate` parses and checks them)."""
    declared = every_parameter()
    signature = inspect.signature(func, eval_str=True)
    base = [p for p in signature.parameters.values() if p.name != "method_parameters"]
    extra = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=None,
            annotation=Annotated[str | None, typer.Option(
                "--" + name.replace("_", "-"), rich_help_panel="Method parameters",
                help=help_text(name, every_method="Every method: "))])
        for name, p in declared.items()
    ]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        given = {name: kwargs.pop(name, None) for name in declared}
        func(**kwargs, method_parameters={k: v for k, v in given.items() if v is not None})

    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in base] + extra)
    return wrapper


def open_with_taxonomy(url: str, settings: Settings) -> tuple[Any, Taxonomy]:
    """The store at ``url`` and the settings' taxonomy of crime types."""
    from geodata.taxonomy import Taxonomy

    return open_store(url), Taxonomy.load(settings.taxonomy_path)


def selection_of(store: Store, from_: str | None, to: str | None, category: list[str] | None,
                 priority: str | None, as_json: bool) -> Selection:
    """The analysis selection of --from/--to/--category/--priority (exit 2 when invalid)."""
    from api.service_errors import InvalidInput
    from api.services.selection import Selection, period_bound

    try:
        selection: Selection = Selection(
            start=period_bound(from_, store.timezone, end=False, field="--from"),
            end=period_bound(to, store.timezone, end=True, field="--to"),
            categories=tuple(category) if category else None, priority=priority)
    except InvalidInput as exc:
        raise fail(str(exc), as_json, 2) from None
    if selection.start and selection.end and selection.start >= selection.end:
        raise fail("--to must not be before --from", as_json, 2)
    return selection


def find_hotspots(store: Store, taxonomy: Taxonomy, settings: Settings, method: str,
                  selection: Selection, options: AnalysisOptions,
                  as_json: bool) -> tuple[Any, dict[str, Any]]:
    """The hotspots of the request and their metadata, as the API finds them
    (:func:`api.services.hotspots.run_analysis`); ``--method auto`` takes the places of the
    backtest's best method."""
    from api.limits import WorkLimits
    from api.services.hotspots import run_analysis

    places = choice = None
    if method == "auto":
        places, choice = _auto(store, taxonomy, selection, options.parameters, as_json)
    return run_analysis(store, taxonomy, method=method, selection=selection, options=options,
                        limits=WorkLimits.from_settings(settings), places=places, choice=choice)


def _auto(store: Store, taxonomy: Taxonomy, selection: Selection, params: dict[str, Any],
          as_json: bool) -> tuple[Any, dict[str, Any]]:
    """The places and choice of ``--method auto``: the stored backtest of the selection's
    categories on the current data, or a new one (run here, then stored)."""
    from api.services.backtests import BacktestSpec, auto_places, run_backtest

    given = validate("auto", params, defaults=False)
    spec = BacktestSpec.of(selection, taxonomy)
    with stage_bar(shows_progress(as_json), "backtest") as step:
        document, reused = run_backtest(store, spec, progress=say_progress(as_json), step=step)
    if not as_json:
        err.print(("reusing the stored backtest " if reused else "stored the backtest ")
                  + str(document["key"]), markup=False)
    return auto_places(store, taxonomy, selection, given, document)


def say_progress(as_json: bool) -> Callable[[str], None] | None:
    """A backtest's progress messages to standard error (none with ``--json``)."""
    return None if as_json else (lambda m: err.print(m, markup=False))

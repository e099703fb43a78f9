"""The ``hotspot`` command line: serve, ingest, demo, layers, info, analyse, map and the rest.

Every command takes the store as ``--database`` (a file path for the embedded store, or a
``postgresql://`` URL for PostGIS), defaulting
to ``HOTSPOT_DATABASE_URL``, then to ``hotspot.sqlite`` in the user's data folder; the demo has
its own store (``HOTSPOT_DEMO_DATABASE_URL``, default ``demo.sqlite`` there). Every command
prints machine-readable JSON with ``--json``. Exit status: 0 done, 1 refused (bad input or the
wrong store), 2 usage error.

One module per group of commands: :mod:`~api.cli.serve`, :mod:`~api.cli.ingest`,
:mod:`~api.cli.demo`, :mod:`~api.cli.products` (publish, products), :mod:`~api.cli.analysis`
(analyse, backtest), :mod:`~api.cli.nearrepeat`, :mod:`~api.cli.asb`,
:mod:`~api.cli.map_file` (map), :mod:`~api.cli.store` (info, db), :mod:`~api.cli.layers`,
:mod:`~api.cli.access` (keys), :mod:`~api.cli.basemap` and :mod:`~api.cli.worker` (the
jobs' worker); :mod:`~api.cli.query` holds the
hotspot request the analyses share, :mod:`~api.cli.common` what every command shares.

Start-up: ``hotspot --help`` and the light commands must answer at once, so the command
modules import the heavy packages (the API's services and app, the stores, readers and maps,
which pull in pandas, geopandas, FastAPI and OR-Tools) inside the commands that use them; what
is light is imported at the top. That is the only reason for an import inside a function here.
"""

from __future__ import annotations

import logging
import sys

import typer

from api.cli.access import keys_app
from api.cli.analysis import analyse, backtest
from api.cli.asb import asb_command
from api.cli.basemap import basemap_app
from api.cli.demo import demo
from api.cli.export import export
from api.cli.ingest import ingest
from api.cli.layers import layers_app
from api.cli.map_file import map_command
from api.cli.nearrepeat import near_repeat_command
from api.cli.products import products, publish
from api.cli.report import report_command
from api.cli.serve import serve
from api.cli.store import db_app, info
from api.cli.worker import worker

__all__ = ["app", "main"]

app = typer.Typer(
    name="hotspot",
    help="Crime hotspot analysis and patrol planning: load incidents and reference layers, "
    "serve the API and the planner's map.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# the order of --help
app.command()(serve)
app.command()(worker)
app.command()(ingest)
app.command()(demo)
app.command()(publish)
app.command()(products)
app.command("report")(report_command)
app.command()(analyse)
app.command()(export)
app.command("near-repeat")(near_repeat_command)
app.command("asb")(asb_command)
app.command()(backtest)
app.command("map")(map_command)
app.command()(info)
app.add_typer(layers_app, name="layers")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(basemap_app, name="basemap")


def main() -> None:
    """Entry point of the ``hotspot`` console script."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    app()

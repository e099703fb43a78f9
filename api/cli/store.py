"""``hotspot info`` and ``hotspot db``: what the store holds, and its schema migrations."""

from __future__ import annotations

import json

import typer

from api.cli.common import DatabaseOpt, JsonOpt, load_settings, open_store, out, refusals, safe_url

db_app = typer.Typer(help="The store's database: schema migrations.", no_args_is_help=True)


def info(database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """Say what the store holds: incidents, layers, recent ingests."""
    url = database or load_settings().store_url()
    with refusals(as_json):
        store = open_store(url)
        health = store.health()
        recent = store.ingests(10)
    if as_json:
        print(json.dumps({"database": url, "store": health, "ingests": recent}, default=str))
        return
    out.print(f"{url}: {health.get('incidents', 0):,} incidents ({health.get('purpose') or 'empty'}),"
              f" CRS {health.get('crs')}, data version {health.get('data_version')}", markup=False)
    out.print(f"  layers: {', '.join(health.get('layers', [])) or 'none'}")
    for r in recent:
        out.print(f"  {r['finished_at']}  {r['source']}: {r['accepted']:,} accepted, "
                  f"{r['duplicates']:,} duplicates, {r['rejected']:,} rejected", markup=False)


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """Apply the store's schema migrations not yet applied (also done at start-up; safe to run
    twice, and from two processes at once)."""
    url = database or load_settings().store_url()
    with refusals(as_json):
        store = open_store(url)
        applied = store.migrations()
        store.close()
    if as_json:
        print(json.dumps({"database": safe_url(url), "migrations": applied}))
        return
    out.print(f"{safe_url(url)}: schema at version {applied[-1]['version'] if applied else 0}",
              markup=False)
    for m in applied:
        when = m["applied_at"] or "when the store opened"
        out.print(f"  {m['version']:>4}  {m['name']:<32} applied {when}", markup=False)

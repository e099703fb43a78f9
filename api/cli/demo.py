"""``hotspot demo``: the fictional demo force area in its own store, and what ``hotspot serve
--demo`` adds to it (a key per role, the demo months published for partners)."""

from __future__ import annotations

import json
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import JsonOpt, err, fail, load_settings, open_store, out, progress_bar, refusals
from api.cli.products import publish_period
from api.settings import Settings
from geodata.errors import PublicationConflict

if TYPE_CHECKING:
    from geodata.stores import AccessStore, Store


def demo(
    database: Annotated[str | None, typer.Option(
        "--database", "-d", help="The demo's own store. Default: $HOTSPOT_DEMO_DATABASE_URL, "
        "else demo.sqlite in the data folder.")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Where to write the demo's files. Default: demo-files beside the "
        "store.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (same seed, same data).")] = None,
    incidents: Annotated[int | None, typer.Option(
        help="About how many incidents (default 50,000).", min=100, max=2_000_000)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Build the fictional demo force area into its own store (never a force's store)."""
    settings = load_settings()
    url = database or settings.demo_store_url()
    with refusals(as_json):
        store = open_store(url)
        if store.count() and store.purpose() == "demo":
            raise fail("the demo store already holds the demo; delete the file to rebuild it",
                       as_json)
        folder = out_dir or Path(url).expanduser().resolve().parent / "demo-files"
        result = build_demo(store, folder, as_json=as_json, seed=seed, incidents=incidents)
    if as_json:
        print(json.dumps({"database": url, **result}, default=str))


def build_demo(store: Store, folder: Path, *, as_json: bool, seed: int | None = None,
               incidents: int | None = None) -> dict[str, Any]:
    """Write the demo's files into ``folder`` and load them into ``store``; the files and the
    load report."""
    from geodata.demo import DEMO_INCIDENTS, DEMO_SEED, load_demo, write_demo

    with progress_bar(not as_json and err.is_terminal) as bar:
        task = bar.add_task("demo force area", total=None)
        files = write_demo(folder, seed=DEMO_SEED if seed is None else seed,
                           incidents=DEMO_INCIDENTS if incidents is None else incidents,
                           progress=lambda m: bar.update(task, description=m))
        bar.update(task, description="loading into the store")
        report = load_demo(store, files)
    if not as_json:
        c = report.to_dict()["counts"]
        out.print(f"Built the demo force area: {c['accepted']:,} incidents and "
                  f"{len(store.list_layers())} reference layers (files in {folder})")
    return {"files": files.to_dict(), "report": report.to_dict()}


def publish_demo(store: Store, months: list[str], settings: Settings) -> None:
    """Publish the demo's months for the demo partner key (skipping any already published)."""
    from api.errors import InvalidInput
    from api.services.products import KIND

    done = {r["period"] for r in store.list_products(KIND)}
    for month in months:
        if month not in done:
            with suppress(InvalidInput, PublicationConflict):
                publish_period(store, month, settings)


def demo_keys(store: AccessStore, folder: Path) -> dict[str, str]:
    """The demo's keys, one per role, kept in ``folder/demo-keys.json`` (the demo is
    fictional; a force's keys are never written down)."""
    from api.access import ROLES, check_key, new_key

    path = folder / "demo-keys.json"
    try:
        kept = json.loads(path.read_text())
        if all(check_key(store, kept.get(role, "")) for role in ROLES):
            return {role: kept[role] for role in ROLES}
    except (OSError, ValueError, AttributeError):
        pass
    keys = {role: new_key(store, name=f"demo {role}", role=role)[0] for role in ROLES}
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys, indent=1))
    path.chmod(0o600)
    return keys

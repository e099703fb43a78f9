"""``hotspot keys``: the API keys (who may call the service, with which role)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from api.cli.common import DatabaseOpt, JsonOpt, fail, load_settings, open_store, out, refusals

keys_app = typer.Typer(help="API keys: who may call the service, with which role.",
                       no_args_is_help=True)

RoleOpt = Annotated[str, typer.Option(
    help="admin, analyst (ingest, every read, plans), rural_team (hotspots, plans, visits) or "
    "partner (aggregated hotspots only).")]


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Option(help="Who or what holds the key.")],
                role: RoleOpt, database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """Make an API key; it is shown this once (the store keeps only a hash)."""
    from api.access import ROLES, new_key

    if role not in ROLES:
        raise fail(f"role must be one of {', '.join(ROLES)}", as_json)
    url = database or load_settings().store_url()
    with refusals(as_json):
        token, record = new_key(open_store(url), name=name, role=role)
    if as_json:
        print(json.dumps({"database": url, **record, "key": token}))
        return
    out.print(f"Key {record['key_id']} for {name} ({role}); keep it safe, it is shown once:")
    out.print(token, markup=False, highlight=False)


@keys_app.command("list")
def keys_list(database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """List the keys (never their secrets)."""
    url = database or load_settings().store_url()
    with refusals(as_json):
        keys = open_store(url).list_keys()
    if as_json:
        print(json.dumps({"database": url, "keys": keys}))
        return
    if not keys:
        out.print("No keys yet: hotspot keys create --name NAME --role admin")
    for k in keys:
        state = f"revoked {k['revoked_at']}" if k["revoked_at"] else "live"
        out.print(f"{k['key_id']}  {k['role']:<11} {k['name']}  ({state})", markup=False)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (hotspot keys list).")],
                database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """Revoke a key: it and its sessions stop working at once."""
    url = database or load_settings().store_url()
    with refusals(as_json):
        done = open_store(url).revoke_key(key_id)
    if not done:
        raise fail(f"no live key {key_id}", as_json)
    if as_json:
        print(json.dumps({"key_id": key_id, "revoked": True}))
    else:
        out.print(f"Revoked {key_id}")

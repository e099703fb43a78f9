"""Text a store cannot keep (U+0000): every store refuses it alike with InvalidText, naming
where it was, and finds nothing when asked for it; nothing is half-written."""

from __future__ import annotations

import pytest

from geodata.errors import InvalidText
from geodata.layers import HERITAGE_SITES, read_layer
from geodata.stores import Store

NUL = "\x00"


def test_every_writer_refuses_a_nul_naming_where(store: Store) -> None:
    with (pytest.raises(InvalidText, match="the source's name holds a NUL character"),
          store.writer(source=f"a{NUL}.csv", format="police.uk") as w):
        w.finish({})
    with pytest.raises(InvalidText, match=r"the plan request\.rural_crime_team\.base\.name"):
        store.put_plan("0123456789abcdef", shift_start="2024-06-14T16:00+01:00",
                       shift_end="2024-06-15T02:00+01:00", data_version="v",
                       request={"rural_crime_team": {"base": {"name": f"Farm{NUL}"}}},
                       plan={"routes": []})
    with pytest.raises(InvalidText, match=r"the plan \(key"):
        store.put_plan("0123456789abcdef", shift_start="2024-06-14T16:00+01:00",
                       shift_end="2024-06-15T02:00+01:00", data_version="v",
                       request={}, plan={"routes": [], f"x{NUL}": 1})
    assert store.get_plan("0123456789abcdef") is None
    with pytest.raises(InvalidText, match=r"the visit\.note"):
        store.add_visit({"visit_id": "visit-0001", "plan_id": "0123456789abcdef",
                         "stop_id": "s1", "visited_at": "2024-06-14T17:00:00+00:00",
                         "note": f"gate{NUL}open", "officer": ""})
    with pytest.raises(InvalidText, match="the key's name"):
        store.add_key("0123456789ab", name=f"x{NUL}", role="analyst", secret_hash="h")
    with pytest.raises(InvalidText, match="the audit entry"):
        store.audit(key_id=None, role="admin", action="read_incidents", path="/v1/incidents",
                    filter={"from": f"2024{NUL}"}, rows=0)
    assert store.list_keys() == [] and store.audit_log() == [] and store.ingests() == []
    assert store.count() == 0


def test_asking_for_a_nul_finds_nothing(store: Store) -> None:
    assert store.get_plan(f"0123456789abcde{NUL}") is None
    assert store.plan_visits(f"0123456789abcde{NUL}") == []
    assert store.key_hash(f"0123456789a{NUL}") is None
    assert store.revoke_key(f"0123456789a{NUL}") is False


def test_a_layer_with_a_nul_is_refused_by_every_store(store: Store, demo_files) -> None:
    layer = read_layer(HERITAGE_SITES, demo_files.layers[HERITAGE_SITES], force_crs=store.crs)
    layer.frame.loc[layer.frame.index[2], "name"] = f"Old{NUL} Hall"
    with pytest.raises(InvalidText, match="feature 3 of the layer"):
        store.put_layer(layer)
    assert store.get_layer(HERITAGE_SITES) is None

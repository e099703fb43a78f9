"""CQL2 filters (OGC API - Features Part 3) compiled once and evaluated over GeoDataFrames.

:func:`compile_filter` parses a ``filter`` query parameter (``cql2-text``, or ``cql2-json``)
with pygeofilter's grammar, checks every property against the collection's queryables and
every literal against its property's type, and returns a :class:`CompiledFilter` whose
:meth:`~CompiledFilter.mask` gives one boolean per row of a frame, computed column-wise with
numpy/pandas and shapely's vectorised predicates.

Logic is SQL's three-valued logic (a comparison with a null property value is *unknown*; NOT
of unknown is unknown; a row is kept only when the filter is *true*), so the answer is the one
a database would give.

Geometry literals are in ``filter-crs`` (default CRS84: longitude, latitude in degrees WGS84;
also EPSG:4326 latitude, longitude; EPSG:27700 British National Grid easting, northing in
metres; EPSG:3857) and are transformed to the frame's CRS when a mask is computed.

Work is bounded: the text is at most :data:`MAX_FILTER_CHARS` characters, the expression at
most :data:`MAX_NODES` nodes and :data:`MAX_DEPTH` levels deep, geometry literals at most
:data:`MAX_VERTICES` vertices in all, and LIKE matches in time linear in pattern x value
length (no regular expressions, so no catastrophic backtracking). Errors are
:class:`api.errors.InvalidInput` with ``field`` one of ``filter``, ``filter-lang`` or
``filter-crs`` and a message that names the property, operator or character position.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import operator
import os.path
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from api.service_errors import InvalidInput

log = logging.getLogger(__name__)

MAX_FILTER_CHARS = 4096
"""Longest filter text accepted (characters; cql2-text or cql2-json)."""
MAX_NODES = 500
"""Most expression nodes (predicates, operators, properties, literals) in one filter."""
MAX_DEPTH = 40
"""Deepest nesting of the expression tree (parentheses, NOT, AND/OR chains count)."""
MAX_VERTICES = 500
"""Most vertices in all the filter's geometry literals together."""

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"

FILTER_LANGS = ("cql2-text", "cql2-json")

# filter-crs URI -> (pyproj name, whether the CRS's first axis is latitude / northing-first
# in the OGC axis order, so literal coordinates arrive (lat, lon) and must be swapped).
_FILTER_CRS: dict[str, tuple[str, bool]] = {
    CRS84: ("OGC:CRS84", False),
    EPSG_URI + "4326": ("EPSG:4326", True),
    EPSG_URI + "27700": ("EPSG:27700", False),
    EPSG_URI + "3857": ("EPSG:3857", False),
}
SUPPORTED_FILTER_CRS: tuple[str, ...] = tuple(_FILTER_CRS)
"""The ``filter-crs`` values accepted (the URIs; ``EPSG:27700``-style short forms too)."""

_TYPES = ("string", "number", "integer", "geometry")


@dataclass(frozen=True)
class Queryable:
    """One property a client may name in a filter.

    ``type`` is ``"string"``, ``"number"``, ``"integer"`` or ``"geometry"`` (the frame's
    active geometry column, whatever it is called there); ``enum`` lists the values a string
    may take (published in the queryables document; other values are not an error, they just
    match nothing).
    """

    name: str
    type: str
    title: str
    enum: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"queryable {self.name!r}: type must be one of {_TYPES}, "
                             f"got {self.type!r}")


def queryables_schema(queryables: Sequence[Queryable], *, id_url: str,
                      title: str) -> dict[str, Any]:
    """The JSON Schema document served at ``/collections/{id}/queryables``.

    Parameters
    ----------
    queryables
        The collection's queryable properties.
    id_url
        The absolute URL of the queryables document itself (its ``$id``).
    title
        The collection's title.

    Returns
    -------
    dict
        A JSON Schema (draft 2020-12) object per OGC API - Features Part 3: one property per
        queryable, ``additionalProperties`` false. Geometry queryables use
        ``format: geometry-any`` and ``x-ogc-role: primary-geometry``.
    """
    properties: dict[str, Any] = {}
    for q in queryables:
        entry: dict[str, Any] = {"title": q.title}
        if q.type == "geometry":
            entry["format"] = "geometry-any"
            entry["x-ogc-role"] = "primary-geometry"
        else:
            entry["type"] = q.type
            if q.enum is not None:
                entry["enum"] = list(q.enum)
        properties[q.name] = entry
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": id_url,
        "type": "object",
        "title": title,
        "properties": properties,
        "additionalProperties": False,
    }


# --------------------------------------------------------------------------------------------
# parsing

def _bad(message: str, field: str = "filter") -> InvalidInput:
    return InvalidInput(message, field=field)


def filter_crs_uri(value: str, field: str = "filter-crs") -> str:
    """The URI of a supported filter CRS that ``value`` names, or InvalidInput naming
    ``field`` (checked even when no filter is given, so a typo is not silently ignored)."""
    return _canonical_crs(value, field)


def _canonical_crs(value: str, field: str) -> str:
    """The URI in :data:`_FILTER_CRS` that ``value`` names, or InvalidInput naming ``field``."""
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):  # safe CURIE [EPSG:27700]
        text = text[1:-1]
    lowered = text.lower()
    if lowered.startswith("https://"):
        text = "http://" + text[len("https://"):]
        lowered = text.lower()
    if lowered in ("crs84", "ogc:crs84", "urn:ogc:def:crs:ogc:1.3:crs84"):
        return CRS84
    short = re.fullmatch(r"(?:epsg:|urn:ogc:def:crs:epsg::|urn:ogc:def:crs:epsg:[0-9.]*:)"
                         r"([0-9]{1,6})", lowered)
    if short:
        text = EPSG_URI + short.group(1)
    if text in _FILTER_CRS:
        return text
    shown = value if len(value) <= 80 else value[:80] + "..."
    raise _bad(f"unsupported {field} {shown!r}: use one of {', '.join(SUPPORTED_FILTER_CRS)}",
               field)


def _text_parser() -> Any:
    """A Lark parser for CQL2 text built from pygeofilter's grammar with our transformer."""
    import lark
    from pygeofilter.parsers.cql2_text import parser as pgf_text

    # pygeofilter's module turns lark's logger up to DEBUG when imported; put it back.
    lark.logger.setLevel(logging.WARNING)

    @lark.v_args(meta=False, inline=True)
    class _Transformer(pgf_text.CQLTransformer):
        """pygeofilter's transformer with CQL2's LIKE single-character wildcard ``_``,
        ``''`` inside quoted strings, and no print() for an SRID prefix."""

        def like(self, node: Any, pattern: Any) -> Any:
            from pygeofilter import ast
            return ast.Like(node, pattern, False, "%", "_", "\\", False)

        def not_like(self, node: Any, pattern: Any) -> Any:
            from pygeofilter import ast
            return ast.Like(node, pattern, False, "%", "_", "\\", True)

        def neg(self, value: Any) -> Any:
            # pygeofilter negates numbers only: -incidents (a property, a function, a
            # parenthesised sum) is CQL2 too, 0 - it
            from pygeofilter import ast
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return -value
            return ast.Sub(0, value)

        def SINGLE_QUOTED(self, token: Any) -> str:  # noqa: N802 - lark terminal name
            return str(token)[1:-1].replace("''", "'")

        def wkt__geometry_with_srid(self, srid: Any, geometry: Any) -> Any:
            raise lark.exceptions.GrammarError("SRID= prefixes are not supported")

        def wkt__multipoint_2(self, *coordinates: Any) -> Any:
            return {"type": "MultiPoint", "coordinates": coordinates}

    grammar_path = os.path.join(os.path.dirname(pgf_text.__file__), "grammar.lark")
    with open(grammar_path, encoding="utf-8") as f:
        grammar = f.read()
    # CQL2 escapes a quote inside a string literal by doubling it: 'O''Brien'.
    grammar = grammar.replace('SINGLE_QUOTED: "\'" /.*?/ "\'"',
                              "SINGLE_QUOTED: /'(?:[^']|'')*'/")
    # CQL2 lets NOT negate any parenthesised condition, NOT (a AND b), and repeat.
    grammar = re.sub(r'\| "NOT"i predicate +-> not_\n +\| "NOT"i "\(" predicate "\)"',
                     '| "NOT"i condition_1', grammar)
    if '"NOT"i condition_1' not in grammar or "SINGLE_QUOTED: /'" not in grammar:
        raise RuntimeError("pygeofilter's CQL2 grammar changed: update api/services/ogc_filter.py")
    return lark.Lark(
        grammar,
        parser="lalr",
        maybe_placeholders=False,
        transformer=_Transformer(),
        import_paths=[os.path.dirname(os.path.dirname(pgf_text.__file__))],
        source_path=grammar_path,
    )


@lru_cache(maxsize=1)
def _cached_text_parser() -> Any:
    return _text_parser()


def _parse_text(text: str) -> Any:
    import lark

    try:
        return _cached_text_parser().parse(text)
    except lark.exceptions.UnexpectedInput as exc:
        position = getattr(exc, "pos_in_stream", None)
        where = f"character {position + 1}" if isinstance(position, int) else "the end"
        token = getattr(exc, "token", None)
        if isinstance(exc, lark.exceptions.UnexpectedEOF) or getattr(token, "type", "") == "$END":
            where = "the end"
        shown = ""
        if where != "the end" and isinstance(position, int) and 0 <= position < len(text):
            shown = f" near {text[position:position + 20]!r}"
        raise _bad(f"could not parse the filter (cql2-text) at {where}{shown}") from exc
    except lark.exceptions.VisitError as exc:
        orig = exc.orig_exc
        if isinstance(orig, InvalidInput):
            raise orig from exc
        raise _bad(f"could not parse the filter (cql2-text): {_safe_reason(orig)}") from exc
    except lark.exceptions.LarkError as exc:
        raise _bad(f"could not parse the filter (cql2-text): {_safe_reason(exc)}") from exc


def _safe_reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number CQL2 accepts")


def _json_depth(value: Any) -> int:
    """Nesting depth of a decoded JSON value (iterative: no recursion on hostile input)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _normalise_json(node: Any) -> Any:
    """Rewrite the parts of CQL2-JSON that pygeofilter reads differently from the standard:
    ``between`` with three arguments, ``{"bbox": [minx, miny, maxx, maxy]}`` literals."""
    if isinstance(node, list):
        return [_normalise_json(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "bbox" in node and "op" not in node:
        bbox = node["bbox"]
        if (not isinstance(bbox, list) or len(bbox) not in (4, 6)
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           for v in bbox)):
            raise _bad("a bbox literal must be [minx, miny, maxx, maxy]")
        minx, miny, maxx, maxy = (bbox[0], bbox[1], bbox[2], bbox[3]) if len(bbox) == 4 else (
            bbox[0], bbox[1], bbox[3], bbox[4])
        return {"type": "Polygon", "coordinates": [[[minx, miny], [maxx, miny], [maxx, maxy],
                                                    [minx, maxy], [minx, miny]]]}
    out = {key: _normalise_json(value) for key, value in node.items()}
    if out.get("op") == "between" and isinstance(out.get("args"), list) \
            and len(out["args"]) == 3:
        out["args"] = [out["args"][0], [out["args"][1], out["args"][2]]]
    if out.get("op") in ("like", "in", "between") and not isinstance(out.get("args"), list):
        raise _bad(f"operator {out['op']!r} needs an args array")
    return out


def _parse_json(text: str) -> Any:
    from pygeofilter.parsers.cql2_json.parser import walk_cql_json

    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise _bad(f"the filter is nested too deeply (at most {MAX_DEPTH} levels)") from exc
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not a CQL2-JSON filter"
        where = f" at character {exc.pos + 1}" if isinstance(exc, json.JSONDecodeError) else ""
        raise _bad(f"could not parse the filter (cql2-json){where}: {reason}") from exc
    if _json_depth(document) > 2 * MAX_DEPTH + 8:
        raise _bad(f"the filter is nested too deeply (at most {MAX_DEPTH} levels)")
    if not isinstance(document, dict):
        raise _bad("a cql2-json filter must be a JSON object")
    try:
        return walk_cql_json(_normalise_json(document))
    except InvalidInput:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise _bad("could not parse the filter (cql2-json): not a CQL2-JSON expression "
                   "this service understands") from exc


# --------------------------------------------------------------------------------------------
# compiling: pygeofilter AST -> closures over a _Context

class _Context:
    """What the closures of one :meth:`CompiledFilter.mask` call share."""

    def __init__(self, frame: gpd.GeoDataFrame, compiled: CompiledFilter) -> None:
        self.frame = frame
        self.n = len(frame)
        self.compiled = compiled
        self._geoms: np.ndarray | None = None

    def column(self, name: str) -> pd.Series:
        if name not in self.frame.columns:
            raise ValueError(f"the frame has no column for queryable {name!r}")
        return self.frame[name]

    def geometries(self) -> np.ndarray:
        if self._geoms is None:
            self._geoms = np.asarray(self.frame.geometry.array, dtype=object)
        return self._geoms

    def literal(self, index: int) -> BaseGeometry:
        return self.compiled._literal_in(index, self.frame.crs)


_Values = tuple[Any, Any]  # (values: array or scalar, null: bool array or bool)
_Eval = Callable[[_Context], _Values]
_Cond = Callable[[_Context], pd.arrays.BooleanArray]


@dataclass(frozen=True)
class _Operand:
    kind: str  # "string" | "number" | "boolean" | "geometry"
    evaluate: _Eval
    is_literal: bool = False
    literal: Any = None
    describe: str = ""


def _tri(values: Any, null: Any, n: int) -> pd.arrays.BooleanArray:
    """A nullable boolean array (Kleene logic under & | ~) from values and a null mask."""
    v = np.array(np.broadcast_to(np.asarray(values, dtype=bool), (n,)))
    m = np.array(np.broadcast_to(np.asarray(null, dtype=bool), (n,)))
    v[m] = False
    return pd.arrays.BooleanArray(v, m)


_SPATIAL = {
    "GeometryIntersects": ("S_INTERSECTS", shapely.intersects, shapely.intersects),
    "GeometryDisjoint": ("S_DISJOINT", shapely.disjoint, shapely.disjoint),
    "GeometryContains": ("S_CONTAINS", shapely.contains, shapely.within),
    "GeometryWithin": ("S_WITHIN", shapely.within, shapely.contains),
    "GeometryTouches": ("S_TOUCHES", shapely.touches, shapely.touches),
    "GeometryCrosses": ("S_CROSSES", shapely.crosses, shapely.crosses),
    "GeometryOverlaps": ("S_OVERLAPS", shapely.overlaps, shapely.overlaps),
    "GeometryEquals": ("S_EQUALS", shapely.equals, shapely.equals),
}
_COMPARISONS: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "Equal": ("=", lambda a, b: a == b),
    "NotEqual": ("<>", lambda a, b: a != b),
    "LessThan": ("<", lambda a, b: a < b),
    "LessEqual": ("<=", lambda a, b: a <= b),
    "GreaterThan": (">", lambda a, b: a > b),
    "GreaterEqual": (">=", lambda a, b: a >= b),
}
_ARITHMETIC: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "Add": ("+", lambda a, b: a + b),
    "Sub": ("-", lambda a, b: a - b),
    "Mul": ("*", lambda a, b: a * b),
    "Div": ("/", lambda a, b: a / b),
}
_RELATE_PATTERN = re.compile(r"[0-2TFtf*]{9}")


class _Compiler:
    def __init__(self, queryables: Sequence[Queryable], filter_crs: str) -> None:
        self.queryables = {q.name: q for q in queryables}
        self.filter_crs = filter_crs
        self.literals: list[tuple[BaseGeometry, str]] = []  # (geometry, filter-crs URI)
        self.vertices = 0
        self.nodes = 0
        self.properties: set[str] = set()

    # -- helpers ----------------------------------------------------------------------------
    def _count(self, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _bad(f"the filter has too many terms (at most {MAX_NODES})")
        if depth > MAX_DEPTH:
            raise _bad(f"the filter is nested too deeply (at most {MAX_DEPTH} levels)")

    def _queryable_names(self) -> str:
        return ", ".join(sorted(self.queryables)) or "(none)"

    # -- conditions -------------------------------------------------------------------------
    def condition(self, node: Any, depth: int = 0) -> _Cond:
        from pygeofilter import ast

        self._count(depth)
        name = type(node).__name__
        if isinstance(node, (ast.And, ast.Or)):
            # a chain a AND b AND c is one level, however long (the parser nests it)
            kind = type(node)
            terms: list[Any] = []
            stack: list[Any] = [node]
            while stack:
                item = stack.pop()
                if type(item) is kind:
                    self._count(depth)
                    stack.extend((item.rhs, item.lhs))
                else:
                    terms.append(item)
            parts = [self.condition(term, depth + 1) for term in terms]
            if kind is ast.And:
                return lambda ctx: functools.reduce(operator.and_, (p(ctx) for p in parts))
            return lambda ctx: functools.reduce(operator.or_, (p(ctx) for p in parts))
        if isinstance(node, ast.Not):
            sub = self.condition(node.sub_node, depth + 1)
            return lambda ctx: ~sub(ctx)
        if isinstance(node, ast.Include):
            value = not node.not_
            return lambda ctx: _tri(value, False, ctx.n)
        if name in _COMPARISONS:
            return self._comparison(node, depth)
        if isinstance(node, ast.Between):
            return self._between(node, depth)
        if isinstance(node, ast.Like):
            return self._like(node, depth)
        if isinstance(node, ast.In):
            return self._in(node, depth)
        if isinstance(node, ast.IsNull):
            return self._is_null(node, depth)
        if name in _SPATIAL:
            return self._spatial(node, depth)
        if isinstance(node, ast.BBox):
            return self._bbox(node, depth)
        if isinstance(node, ast.Relate):
            return self._relate(node, depth)
        if isinstance(node, ast.Attribute):
            raise _bad(f"property {node.name!r} is not a condition: compare it with a value, "
                       f"e.g. {node.name} = ...")
        if isinstance(node, ast.TemporalPredicate):
            raise _bad("temporal operators (T_...) are not supported: compare month as text, "
                       "e.g. month >= '2024-01'")
        if isinstance(node, ast.ArrayPredicate):
            raise _bad("array operators (A_...) are not supported")
        if isinstance(node, ast.Exists):
            raise _bad("EXISTS is not supported")
        if isinstance(node, bool):
            value = node
            return lambda ctx: _tri(value, False, ctx.n)
        raise _bad(f"{_describe_node(node)} is not a condition this service supports")

    def _comparison(self, node: Any, depth: int) -> _Cond:
        symbol, op = _COMPARISONS[type(node).__name__]
        lhs = self.operand(node.lhs, depth + 1)
        rhs = self.operand(node.rhs, depth + 1)
        self._same_kind(symbol, lhs, rhs)
        if lhs.kind == "geometry":
            raise _bad(f"{symbol} does not compare geometries: use S_EQUALS or S_INTERSECTS")
        if lhs.kind == "boolean" and symbol not in ("=", "<>"):
            raise _bad(f"{symbol} does not compare true/false values: use = or <>")

        def run(ctx: _Context) -> pd.arrays.BooleanArray:
            a, a_null = lhs.evaluate(ctx)
            b, b_null = rhs.evaluate(ctx)
            with np.errstate(invalid="ignore"):
                result = op(a, b)
            return _tri(result, np.logical_or(a_null, b_null), ctx.n)

        return run

    def _between(self, node: Any, depth: int) -> _Cond:
        value = self.operand(node.lhs, depth + 1)
        low = self.operand(node.low, depth + 1)
        high = self.operand(node.high, depth + 1)
        self._same_kind("BETWEEN", value, low)
        self._same_kind("BETWEEN", value, high)
        if value.kind not in ("number", "string"):
            raise _bad("BETWEEN compares numbers or text")
        negate = bool(node.not_)

        def run(ctx: _Context) -> pd.arrays.BooleanArray:
            v, v_null = value.evaluate(ctx)
            lo, lo_null = low.evaluate(ctx)
            hi, hi_null = high.evaluate(ctx)
            with np.errstate(invalid="ignore"):
                inside = np.logical_and(lo <= v, v <= hi)
            if negate:
                inside = np.logical_not(inside)
            return _tri(inside, np.logical_or(np.logical_or(v_null, lo_null), hi_null), ctx.n)

        return run

    def _like(self, node: Any, depth: int) -> _Cond:
        value = self.operand(node.lhs, depth + 1)
        if value.kind != "string":
            raise _bad(f"LIKE matches text, and {value.describe} is a {value.kind}")
        pattern_operand = self.operand(node.pattern, depth + 1)
        if not (pattern_operand.is_literal and pattern_operand.kind == "string"):
            raise _bad("the pattern after LIKE must be a quoted string, e.g. 'burg%'")
        matcher = _like_matcher(str(pattern_operand.literal), wildcard=node.wildcard,
                                singlechar=node.singlechar, escape=node.escapechar,
                                nocase=bool(node.nocase))
        negate = bool(node.not_)

        def run(ctx: _Context) -> pd.arrays.BooleanArray:
            v, v_null = value.evaluate(ctx)
            values = np.array(np.broadcast_to(np.asarray(v, dtype=object), (ctx.n,)))
            codes, uniques = pd.factorize(values)
            hits = np.fromiter((matcher(str(u)) for u in uniques), dtype=bool,
                               count=len(uniques))
            result = hits[codes] if len(uniques) else np.zeros(ctx.n, dtype=bool)
            if negate:
                result = ~result
            return _tri(result, v_null, ctx.n)

        return run

    def _in(self, node: Any, depth: int) -> _Cond:
        value = self.operand(node.lhs, depth + 1)
        if value.kind not in ("string", "number", "boolean"):
            raise _bad(f"IN compares text or numbers, and {value.describe} is a {value.kind}")
        items = []
        for sub in node.sub_nodes:
            item = self.operand(sub, depth + 1)
            if not item.is_literal:
                raise _bad("the list after IN must hold values, not properties")
            self._same_kind("IN", value, item)
            items.append(item.literal)
        negate = bool(node.not_)

        def run(ctx: _Context) -> pd.arrays.BooleanArray:
            v, v_null = value.evaluate(ctx)
            values = np.broadcast_to(np.asarray(v, dtype=object if value.kind == "string"
                                                else None), (ctx.n,))
            result = pd.Series(values).isin(items).to_numpy(dtype=bool)
            if negate:
                result = ~result
            return _tri(result, v_null, ctx.n)

        return run

    def _is_null(self, node: Any, depth: int) -> _Cond:
        value = self.operand(node.lhs, depth + 1)
        negate = bool(node.not_)

        def run(ctx: _Context) -> pd.arrays.BooleanArray:
            _, null = value.evaluate(ctx)
            result = np.broadcast_to(np.asarray(null, dtype=bool), (ctx.n,))
            return _tri(~result if negate else result, False, ctx.n)

        return run

    def _spatial(self, node: Any, depth: int) -> _Cond:
        symbol, func, converse = _SPATIAL[type(node).__name__]
        lhs = self.operand(node.lhs, depth + 1)
        rhs = self.operand(node.rhs, depth + 1)
        for side in (lhs, rhs):
            if side.kind != "geometry":
                raise _bad(f"{symbol} takes two geometries, and {side.describe} is a "
                           f"{side.kind}")
        return self._geometry_predicate(lhs, rhs, func, converse)

    def _geometry_predicate(self, lhs: _Operand, rhs: _Operand,
                            func: Callable[..., Any], converse: Callable[..., Any],
                            *extra: Any) -> _Cond:
        def run(ctx: _Context) -> pd.arrays.BooleanArray:
            a, a_null = lhs.evaluate(ctx)
            b, b_null = rhs.evaluate(ctx)
            if isinstance(b, BaseGeometry) and not isinstance(a, BaseGeometry):
                # prepared literal first: shapely uses the prepared side
                result = converse(b, a, *extra)
            else:
                result = func(a, b, *extra)
            return _tri(result, np.logical_or(a_null, b_null), ctx.n)

        return run

    def _bbox(self, node: Any, depth: int) -> _Cond:
        lhs = self.operand(node.lhs, depth + 1)
        if lhs.kind != "geometry":
            raise _bad(f"BBOX takes a geometry, and {lhs.describe} is a {lhs.kind}")
        coords = []
        for v in (node.minx, node.miny, node.maxx, node.maxy):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _bad("BBOX needs four numbers: minx, miny, maxx, maxy")
            coords.append(_finite(v))
        minx, miny, maxx, maxy = coords
        if minx > maxx or miny > maxy:
            raise _bad("BBOX needs minx <= maxx and miny <= maxy")
        crs = self.filter_crs if node.crs is None else _canonical_crs(str(node.crs), "filter")
        literal = self._literal(box(minx, miny, maxx, maxy), crs, depth + 1)
        return self._geometry_predicate(lhs, literal, shapely.intersects, shapely.intersects)

    def _relate(self, node: Any, depth: int) -> _Cond:
        lhs = self.operand(node.lhs, depth + 1)
        rhs = self.operand(node.rhs, depth + 1)
        for side in (lhs, rhs):
            if side.kind != "geometry":
                raise _bad(f"RELATE takes two geometries, and {side.describe} is a {side.kind}")
        pattern = str(node.pattern)
        if not _RELATE_PATTERN.fullmatch(pattern):
            raise _bad("RELATE needs a 9-character DE-9IM pattern of 0, 1, 2, T, F, *")
        pattern = pattern.upper()

        def transposed(a: Any, b: Any, p: str) -> Any:
            return shapely.relate_pattern(a, b, _transpose_de9im(p))

        def run_relate(a: Any, b: Any, p: str) -> Any:
            return shapely.relate_pattern(a, b, p)

        return self._geometry_predicate(lhs, rhs, run_relate, transposed, pattern)

    # -- operands ---------------------------------------------------------------------------
    def operand(self, node: Any, depth: int) -> _Operand:
        from pygeofilter import ast, values

        self._count(depth)
        if isinstance(node, ast.Attribute):
            return self._property(node.name)
        if isinstance(node, bool):
            return _constant("boolean", node, "TRUE" if node else "FALSE")
        if isinstance(node, (int, float)):
            return _constant("number", _finite(node), repr(node))
        if isinstance(node, str):
            return _constant("string", node, repr(node))
        if isinstance(node, (values.Geometry, values.Envelope)):
            return self._geometry_literal(node.geometry, depth)
        if isinstance(node, dict) and "type" in node:  # a GeoJSON dict from the parser
            return self._geometry_literal(node, depth)
        if isinstance(node, ast.Function):
            return self._function(node, depth)
        if type(node).__name__ in _ARITHMETIC:
            return self._arithmetic(node, depth)
        if isinstance(node, (date, datetime, timedelta, values.Interval)):
            raise _bad("date, timestamp and interval values are not supported: compare "
                       "month as text, e.g. month >= '2024-01'")
        if isinstance(node, list):
            raise _bad("a list of values is only allowed after IN")
        raise _bad(f"{_describe_node(node)} cannot be used as a value here")

    def _property(self, name: str) -> _Operand:
        queryable = self.queryables.get(name)
        if queryable is None:
            shown = name if len(name) <= 60 else name[:60] + "..."
            hint = ""
            folded = {q.lower(): q for q in self.queryables}
            if name.lower() in folded:
                hint = f" (did you mean {folded[name.lower()]!r}?)"
            raise _bad(f"unknown property {shown!r} in the filter{hint}; queryables are: "
                       f"{self._queryable_names()}")
        self.properties.add(name)
        if queryable.type == "geometry":
            def geometry(ctx: _Context) -> _Values:
                geoms = ctx.geometries()
                return geoms, shapely.is_missing(geoms)

            return _Operand("geometry", geometry, describe=f"property {name!r}")
        if queryable.type == "string":
            def text(ctx: _Context) -> _Values:
                column = ctx.column(name)
                null = column.isna().to_numpy(dtype=bool)
                values = column.astype(object).to_numpy(dtype=object)
                values = np.where(null, "", values).astype(object)
                return np.array([str(v) for v in values], dtype=object), null

            return _Operand("string", text, describe=f"property {name!r}")

        def number(ctx: _Context) -> _Values:
            column = pd.to_numeric(ctx.column(name), errors="coerce")
            values = column.to_numpy(dtype=float, na_value=np.nan)
            return values, np.isnan(values)

        return _Operand("number", number, describe=f"property {name!r}")

    def _geometry_literal(self, geojson: Any, depth: int) -> _Operand:
        if isinstance(geojson, dict) and "crs" in geojson:
            raise _bad("geometry literals take their CRS from filter-crs, not from an SRID "
                       "or crs member")
        try:
            geometry = shapely.force_2d(shape(geojson))
        except (ValueError, TypeError, KeyError, IndexError, AttributeError,
                shapely.errors.ShapelyError) as exc:
            raise _bad("a geometry literal in the filter is not a valid geometry") from exc
        return self._literal(geometry, self.filter_crs, depth)

    def _literal(self, geometry: BaseGeometry, crs: str, depth: int) -> _Operand:
        self.vertices += int(shapely.get_num_coordinates(geometry))
        if self.vertices > MAX_VERTICES:
            raise _bad(f"the filter's geometries have too many vertices (at most "
                       f"{MAX_VERTICES} in all)")
        coords = shapely.get_coordinates(geometry)
        if not np.isfinite(coords).all():
            raise _bad("a geometry literal in the filter has a coordinate that is not a "
                       "finite number")
        if geometry.is_empty:
            raise _bad("a geometry literal in the filter is empty")
        _check_range(coords, crs)
        if not shapely.is_valid(geometry):
            reason = shapely.is_valid_reason(geometry)
            raise _bad(f"a geometry literal in the filter is not valid: {reason}")
        index = len(self.literals)
        self.literals.append((geometry, crs))

        def literal(ctx: _Context) -> _Values:
            return ctx.literal(index), False

        return _Operand("geometry", literal, describe="a geometry literal")

    def _function(self, node: Any, depth: int) -> _Operand:
        name = str(node.name).lower()
        if name not in ("lower", "casei", "upper"):
            raise _bad(f"function {str(node.name)[:40]!r} is not supported (CASEI is)")
        if len(node.arguments) != 1:
            raise _bad(f"{name.upper()} takes one argument")
        arg = self.operand(node.arguments[0], depth + 1)
        if arg.kind != "string":
            raise _bad(f"CASEI takes text, and {arg.describe} is a {arg.kind}")
        fold: Callable[[str], str] = str.upper if name == "upper" else str.casefold
        if arg.is_literal:
            return _constant("string", fold(str(arg.literal)), arg.describe)

        def run(ctx: _Context) -> _Values:
            values, null = arg.evaluate(ctx)
            return np.array([fold(str(v)) for v in np.atleast_1d(values)], dtype=object), null

        return _Operand("string", run, describe=f"CASEI({arg.describe})")

    def _arithmetic(self, node: Any, depth: int) -> _Operand:
        symbol, op = _ARITHMETIC[type(node).__name__]
        lhs = self.operand(node.lhs, depth + 1)
        rhs = self.operand(node.rhs, depth + 1)
        for side in (lhs, rhs):
            if side.kind != "number":
                raise _bad(f"{symbol} works on numbers, and {side.describe} is a {side.kind}")

        def run(ctx: _Context) -> _Values:
            a, a_null = lhs.evaluate(ctx)
            b, b_null = rhs.evaluate(ctx)
            with np.errstate(all="ignore"):
                result = op(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
            null = np.logical_or(np.logical_or(a_null, b_null), ~np.isfinite(result))
            return result, null

        return _Operand("number", run, describe=f"an expression with {symbol}")

    def _same_kind(self, symbol: str, a: _Operand, b: _Operand) -> None:
        if a.kind != b.kind:
            raise _bad(f"{symbol} compares like with like, and {a.describe} is a {a.kind} "
                       f"while {b.describe} is a {b.kind}"
                       + (": quote text values, e.g. 'burglary'" if "string" in (a.kind, b.kind)
                          else ""))


def _constant(kind: str, value: Any, describe: str) -> _Operand:
    def run(ctx: _Context) -> _Values:
        return value, False

    shown = describe if len(describe) <= 40 else describe[:40] + "..."
    return _Operand(kind, run, is_literal=True, literal=value, describe=f"value {shown}")


def _finite(value: Any) -> float:
    try:
        number = float(value)
    except OverflowError as exc:
        raise _bad("a number in the filter is too large") from exc
    if not math.isfinite(number):
        raise _bad("a number in the filter is not finite")
    return number


def _check_range(coords: np.ndarray, crs: str) -> None:
    """Catch the usual mistake: metres sent without filter-crs, or lat/lon swapped."""
    if crs == CRS84 or crs == EPSG_URI + "4326":
        lon, lat = (coords[:, 0], coords[:, 1]) if crs == CRS84 else (coords[:, 1],
                                                                       coords[:, 0])
        if (np.abs(lon) > 180).any() or (np.abs(lat) > 90).any():
            order = "longitude, latitude" if crs == CRS84 else "latitude, longitude"
            raise _bad(f"a geometry literal is outside {order} degrees; for British National "
                       f"Grid metres send filter-crs={EPSG_URI}27700", "filter")


def _transpose_de9im(pattern: str) -> str:
    """The DE-9IM pattern for relate(b, a) given one for relate(a, b)."""
    return "".join(pattern[3 * col + row] for row in range(3) for col in range(3))


def _describe_node(node: Any) -> str:
    name = type(node).__name__
    return {"Function": "a function", "Attribute": "a property"}.get(name, f"a {name} term")


_STAR = object()
_ONE = object()


def _like_matcher(pattern: str, *, wildcard: str, singlechar: str, escape: str,
                  nocase: bool) -> Callable[[str], bool]:
    """A matcher for a LIKE pattern in O(len(pattern) x len(value)) time (greedy wildcard
    matching with one backtrack point: no regular expressions)."""
    tokens: list[Any] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == escape:
            if i + 1 >= len(pattern):
                raise _bad("a LIKE pattern ends with its escape character \\")
            tokens.append(pattern[i + 1].casefold() if nocase else pattern[i + 1])
            i += 2
            continue
        if ch == wildcard:
            if not tokens or tokens[-1] is not _STAR:
                tokens.append(_STAR)
        elif ch == singlechar:
            tokens.append(_ONE)
        else:
            tokens.append(ch.casefold() if nocase else ch)
        i += 1

    def match(value: str) -> bool:
        s = value.casefold() if nocase else value
        si = pi = 0
        star = -1
        mark = 0
        while si < len(s):
            if pi < len(tokens) and tokens[pi] is not _STAR and (
                    tokens[pi] is _ONE or tokens[pi] == s[si]):
                si += 1
                pi += 1
            elif pi < len(tokens) and tokens[pi] is _STAR:
                star = pi
                mark = si
                pi += 1
            elif star >= 0:
                pi = star + 1
                mark += 1
                si = mark
            else:
                return False
        while pi < len(tokens) and tokens[pi] is _STAR:
            pi += 1
        return pi == len(tokens)

    return match


# --------------------------------------------------------------------------------------------
# public entry points

@lru_cache(maxsize=32)
def _transformer(source: str, target_wkt: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(source), CRS.from_wkt(target_wkt),
                                always_xy=True)


class CompiledFilter:
    """A parsed and checked CQL2 filter; :meth:`mask` evaluates it over a frame.

    Attributes
    ----------
    text : str
        The filter as received.
    lang : str
        ``"cql2-text"`` or ``"cql2-json"``.
    filter_crs : str
        The URI of the CRS of the filter's geometry literals.
    properties : frozenset[str]
        The queryables the filter names.
    """

    def __init__(self, condition: _Cond, *, text: str, lang: str, filter_crs: str,
                 literals: list[tuple[BaseGeometry, str]], properties: frozenset[str]) -> None:
        self._condition = condition
        self._literals = literals
        self._in_crs: dict[tuple[int, str], BaseGeometry] = {}
        self.text = text
        self.lang = lang
        self.filter_crs = filter_crs
        self.properties = properties

    def __repr__(self) -> str:
        return f"CompiledFilter({self.text!r}, lang={self.lang!r})"

    def _literal_in(self, index: int, crs: Any) -> BaseGeometry:
        """Geometry literal ``index`` transformed to ``crs`` (the frame's), prepared, cached."""
        if crs is None:
            raise ValueError("the frame has no CRS; the filter's geometry cannot be placed")
        target = CRS.from_user_input(crs)
        key = (index, target.to_wkt())
        cached = self._in_crs.get(key)
        if cached is not None:
            return cached
        geometry, source_uri = self._literals[index]
        source, lat_first = _FILTER_CRS[source_uri]
        if lat_first:
            geometry = shapely.transform(geometry, lambda xy: xy[:, ::-1])
        if not CRS.from_user_input(source).equals(target, ignore_axis_order=True):
            transformer = _transformer(source, key[1])
            # straight edges between the literal's vertices are not straight in the other CRS:
            # densify first (at most about 64 pieces over the literal's extent)
            w, s_, e, n = geometry.bounds
            if math.isfinite(w) and max(e - w, n - s_) > 0:
                geometry = shapely.segmentize(geometry, max(e - w, n - s_) / 64)

            def project(xy: np.ndarray) -> np.ndarray:
                x, y = transformer.transform(xy[:, 0], xy[:, 1])
                return np.column_stack([x, y])

            geometry = shapely.transform(geometry, project)
            if not np.isfinite(shapely.get_coordinates(geometry)).all():
                raise _bad("a geometry literal in the filter lies outside the area its CRS "
                           "can be transformed from")
            if not shapely.is_valid(geometry):
                geometry = shapely.make_valid(geometry)
        shapely.prepare(geometry)
        self._in_crs[key] = geometry
        return geometry

    def mask(self, frame: gpd.GeoDataFrame) -> np.ndarray:
        """One boolean per row of ``frame``: True where the filter is true.

        Parameters
        ----------
        frame
            One column per queryable the filter names (the geometry queryable is the frame's
            active geometry), in any CRS; rows whose property is null make comparisons
            *unknown* (so neither ``x = 1`` nor ``NOT x = 1`` keeps them).

        Returns
        -------
        numpy.ndarray
            ``bool`` array of ``len(frame)``.

        Raises
        ------
        api.errors.InvalidInput
            (field ``filter``) when a geometry literal cannot be transformed to the frame's CRS.
        ValueError
            When the frame lacks a column the filter names (a programming error).
        """
        n = len(frame)
        if n == 0:
            return np.zeros(0, dtype=bool)
        result = self._condition(_Context(frame, self))
        return np.asarray(result.to_numpy(dtype=bool, na_value=False), dtype=bool)


def compile_filter(text: str, queryables: Sequence[Queryable], *, lang: str = "cql2-text",
                   filter_crs: str | None = None) -> CompiledFilter:
    """Parse and check a CQL2 filter against ``queryables``.

    Parameters
    ----------
    text
        The ``filter`` query parameter: CQL2 text (``category = 'burglary' AND priority >=
        2``), or CQL2 JSON when ``lang`` is ``"cql2-json"``. At most
        :data:`MAX_FILTER_CHARS` characters.
    queryables
        The collection's queryable properties; any other property is an error.
    lang
        The ``filter-lang`` parameter: ``"cql2-text"`` (default) or ``"cql2-json"``
        (``"cql-text"``, the draft standard's name that GDAL 3.6 sends, is read as cql2-text).
    filter_crs
        The ``filter-crs`` parameter: the CRS of geometry literals, one of
        :data:`SUPPORTED_FILTER_CRS` (default CRS84 longitude, latitude).

    Returns
    -------
    CompiledFilter

    Raises
    ------
    api.errors.InvalidInput
        ``field="filter-lang"`` for an unknown language, ``field="filter-crs"`` for an
        unsupported CRS, ``field="filter"`` for text that does not parse (the message gives
        the character position), an unknown property (named, with the queryables listed), a
        value of the wrong type, an unsupported operator, or work over the bounds.

    Examples
    --------
    >>> q = [Queryable("category", "string", "Category"), Queryable("priority", "integer", "P")]
    >>> f = compile_filter("category = 'burglary' AND priority >= 2", q)
    >>> sorted(f.properties)
    ['category', 'priority']
    """
    if lang == "cql-text":  # the draft's name, still sent by GDAL 3.6's OAPIF driver
        lang = "cql2-text"
    if lang not in FILTER_LANGS:
        shown = lang if len(lang) <= 40 else lang[:40] + "..."
        raise _bad(f"unsupported filter-lang {shown!r}: use cql2-text or cql2-json",
                   "filter-lang")
    crs = CRS84 if filter_crs is None or not filter_crs.strip() else _canonical_crs(
        filter_crs, "filter-crs")
    if not isinstance(text, str) or not text.strip():
        raise _bad("the filter is empty")
    if len(text) > MAX_FILTER_CHARS:
        raise _bad(f"the filter is {len(text):,} characters long; the limit is "
                   f"{MAX_FILTER_CHARS:,}")
    if "\x00" in text:
        raise _bad("the filter contains a NUL character")
    compiler = _Compiler(queryables, crs)
    try:
        # lark's grammar ignores spaces and tabs only; CQL2 allows any whitespace.
        tree = (_parse_text(re.sub(r"[\r\n\f\v]", " ", text)) if lang == "cql2-text"
                else _parse_json(text))
        condition = compiler.condition(tree)
    except InvalidInput:
        raise
    except RecursionError as exc:
        raise _bad(f"the filter is nested too deeply (at most {MAX_DEPTH} levels)") from exc
    except Exception as exc:  # hostile text must never become a 500
        log.warning("filter could not be compiled: %r", text[:200], exc_info=True)
        raise _bad("the filter could not be used: check it against the queryables") from exc
    return CompiledFilter(condition, text=text, lang=lang, filter_crs=crs,
                          literals=compiler.literals,
                          properties=frozenset(compiler.properties))


__all__ = [
    "CRS84",
    "FILTER_LANGS",
    "MAX_DEPTH",
    "MAX_FILTER_CHARS",
    "MAX_NODES",
    "MAX_VERTICES",
    "SUPPORTED_FILTER_CRS",
    "CompiledFilter",
    "Queryable",
    "compile_filter",
    "filter_crs_uri",
    "queryables_schema",
]

"""Patrol plans, their crews' short links and the visits logged against them, written once for
both stores (the SQL is in ``geodata/sql/queries/plans.sql``)."""

from __future__ import annotations

from typing import Any

from geodata.stores._relational import NUL, SQLRunner, from_json
from geodata.stores._shared import (
    check_text,
    iso_text,
    plan_record,
    plan_summary,
    route_lines_wkt,
    visit_record,
)


class PlanRecords(SQLRunner):
    """:class:`~geodata.stores.base.PlanStore` over a store's connections."""

    def put_plan(self, plan_id: str, *, shift_start: str, shift_end: str, data_version: str,
                 request: dict[str, Any], plan: dict[str, Any], created_by: str = "",
                 published_at: str | None = None,
                 links: dict[str, str] | None = None) -> None:
        """Store a patrol plan under a new id (see :class:`Store`); where the database can hold
        them (PostGIS), with its routes as WGS84 lines."""
        check_text(request, "the plan request")
        check_text(plan, "the plan")
        check_text({"created_by": created_by, "links": links or {}}, "the plan")
        routes = route_lines_wkt(plan) if self._query("add_plan").uses("routes") else None
        with self._transaction() as conn:
            self._run(conn, "add_plan", plan_id=plan_id, shift_start=shift_start,
                      shift_end=shift_end, data_version=data_version,
                      request=self._json(request), plan=self._json(plan, lenient=False),
                      routes=routes, published_at=published_at, created_by=created_by)
            self._add_links(conn, plan_id, links or {})

    def _add_links(self, conn: Any, plan_id: str, links: dict[str, str]) -> None:
        self._run_many(conn, "add_plan_link",
                       [{"code": code, "plan_id": plan_id, "crew": crew}
                        for crew, code in links.items()])

    def _links(self, conn: Any, plan_id: str) -> dict[str, str]:
        return {r[0]: r[1] for r in self._all(conn, "plan_links", plan_id=plan_id)}

    def get_plan(self, plan_id: str) -> dict[str, Any] | None:
        """A stored plan, or None (see :class:`Store`)."""
        if NUL in plan_id:
            return None
        with self._connection() as conn:
            row = self._one(conn, "plan", plan_id=plan_id)
            if row is None:
                return None
            links = self._links(conn, plan_id)
        return {**plan_record(row[:7]), "request": from_json(row[7]),
                "plan": from_json(row[8]), "links": links}

    def list_plans(self, limit: int = 50, *, published_only: bool = False) -> list[dict[str, Any]]:
        """The most recent plans (or published plans), newest first."""
        with self._connection() as conn:
            rows = self._all(conn, "list_plans", published_only=published_only, limit=limit)
        return [plan_summary(r[:7], {"totals": from_json(r[7] or "{}")}, name=r[8],
                             visits=r[9]) for r in rows]

    def publish_plan(self, plan_id: str, when: str) -> str | None:
        """Publish a plan once (see :class:`Store`)."""
        if NUL in plan_id:
            return None
        with self._transaction() as conn:
            self._run(conn, "publish_plan", published_at=when, plan_id=plan_id)
            row = self._one(conn, "published_at", plan_id=plan_id)
        return None if row is None else str(iso_text(row[0]))

    def add_plan_links(self, plan_id: str, links: dict[str, str]) -> dict[str, str]:
        """Give crews without one a short-link code (see :class:`Store`)."""
        check_text(links, "the plan's links")
        with self._transaction() as conn:
            self._add_links(conn, plan_id, links)
            return self._links(conn, plan_id)

    def find_plan_link(self, code: str) -> dict[str, str] | None:
        """The plan and crew of a short-link code, or None (see :class:`Store`)."""
        if NUL in code:
            return None
        with self._connection() as conn:
            row = self._one(conn, "find_plan_link", code=code)
        return None if row is None else {"plan_id": row[0], "crew": row[1]}

    def add_visit(self, visit: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Record a visit once (a visit whose id is stored already is not stored again)."""
        check_text(visit, "the visit")
        with self._transaction() as conn:
            cur = self._run(conn, "add_visit", visit_id=visit["visit_id"],
                            plan_id=visit["plan_id"], stop_id=visit["stop_id"],
                            hotspot_id=visit.get("hotspot_id"), visited_at=visit["visited_at"],
                            note=visit.get("note", ""), officer=visit.get("officer", ""),
                            ended_at=visit.get("ended_at"))
            created = cur.rowcount == 1
            row = self._one(conn, "visit", visit_id=visit["visit_id"])
        return visit_record(row), created

    def plan_visits(self, plan_id: str) -> list[dict[str, Any]]:
        """The visits logged against a plan, oldest first."""
        if NUL in plan_id:
            return []
        with self._connection() as conn:
            rows = self._all(conn, "plan_visits", plan_id=plan_id)
        return [visit_record(r) for r in rows]

    def cancel_visit(self, plan_id: str, visit_id: str) -> dict[str, Any] | None:
        """Remove a visit of a plan once (of two cancellations at once, one gets the visit:
        the other's DELETE waits for the first and then removes nothing)."""
        if NUL in plan_id or NUL in visit_id:
            return None
        with self._transaction() as conn:
            row = self._one(conn, "visit_of_plan", visit_id=visit_id, plan_id=plan_id)
            if row is None:
                return None
            if self._run(conn, "delete_visit", visit_id=visit_id, plan_id=plan_id).rowcount != 1:
                return None
        return visit_record(row)

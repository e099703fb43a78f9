"""``--dist loadfile`` that goes on after a worker crashes (``make test``'s scheduler, made by
the ``pytest_xdist_make_scheduler`` hook in ``tests/conftest.py``).

pytest-xdist 3.8.0 (the newest the registry has) hangs a run after a worker crash, for two
reasons in its file scheduler (``xdist.scheduler.LoadFileScheduling``):

- it puts back in the queue every module the crashed worker was given, the ones it had
  finished too (pytest-xdist issues #1323 and #1378); a finished module handed to a worker sends
  it no test, so the worker gets nothing more to run and is never told to stop;
- a worker runs a test only once it knows the next one or has been told to stop, and the
  scheduler looks at a worker again only when one of its tests ends: a worker given exactly one
  test while others are still queued (the replacement of a crashed worker, given what is left
  of a module) waits for ever.

A test run of this project hung so until CI stopped it. Here a finished module is never put
back, and a worker is given modules until it holds two tests or the queue is empty, then told
to stop when nothing is left: every worker always has something it can run.
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadFileScheduling

MIN_HELD = 2
"""Tests a worker must hold before it can run one while more may come (xdist's own rule)."""


class LoadFileGoingOn(LoadFileScheduling):
    """xdist's ``loadfile`` scheduling, without its hangs after a worker crash."""

    def remove_node(self, node: Any) -> str | None:
        """xdist's, but a crashed worker's finished modules are not put back in the queue
        (handed out, they would give a worker nothing to run; left, the run would wait while
        the queue holds any): every module queued has a test to run."""
        workload = self.assigned_work.get(node, {})
        for scope in [scope for scope, unit in workload.items() if all(unit.values())]:
            del workload[scope]
        return super().remove_node(node)

    def _reschedule(self, node: Any) -> None:
        """Top ``node`` up to :data:`MIN_HELD` tests (xdist gives one module and waits for a
        test to end), and tell it to stop once the queue is empty."""
        if node.shutting_down or node not in self.registered_collections:
            return  # stopping, or a replacement still collecting (schedule() serves it then)
        while self.workqueue and self._pending_of(self.assigned_work[node]) <= MIN_HELD:
            self._assign_work_unit(node)
        if not self.workqueue:
            node.shutdown()

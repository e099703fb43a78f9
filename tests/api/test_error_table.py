"""The one error table: every error class answers by its row (found through its MRO), the field
comes from the error's ``field``, never from its message."""

from __future__ import annotations

import pytest

from api.app import create_app
from api.errors import (
    ERROR_TABLE,
    USER_ERRORS,
    Conflict,
    InvalidInput,
    NotFound,
    ServiceError,
    answer_of,
    as_invalid_input,
)
from geodata.errors import GeodataError, InvalidValue, StoreUnavailable
from hotspot.errors import HotspotError, InvalidParameter, InvalidPoints, WorkLimitExceeded


def _service_errors() -> list[type[ServiceError]]:
    """Every subclass of ServiceError in the service (the app imports every module of it)."""
    create_app  # noqa: B018 (imported for its side effect: every route and service loaded)
    found, todo = [], [ServiceError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return sorted({c for c in found if c.__module__.startswith("api.")},
                  key=lambda c: c.__qualname__)


@pytest.mark.parametrize("cls", _service_errors(), ids=lambda c: c.__name__)
def test_every_service_error_answers_with_its_own_status_and_code(
        cls: type[ServiceError]) -> None:
    """A subclass that declares another status must have its own row in the table."""
    row = answer_of(cls.__new__(cls))
    assert (row.status, row.code) == (cls.status, cls.code)


def test_the_statuses_of_the_request_errors() -> None:
    assert answer_of(InvalidInput("x"))[:2] == (422, "bad_request")
    assert answer_of(NotFound("x"))[:2] == (404, "not_found")
    assert answer_of(Conflict("x"))[:2] == (409, "conflict")
    assert answer_of(StoreUnavailable("x"))[:2] == (503, "store_unavailable")
    assert answer_of(InvalidPoints("x"))[:2] == (422, "invalid_parameter")


def test_an_error_not_listed_answers_as_its_nearest_listed_parent() -> None:
    class Odd(GeodataError):
        pass

    assert ERROR_TABLE.get(Odd) is None
    assert answer_of(Odd("secret"))[:2] == (500, "internal_error")
    assert answer_of(Odd("secret")).message == "the request could not be completed"
    assert answer_of(KeyError("x")).message.endswith("see the log")
    # a value a store refuses never comes from a caller (the routes check first): a fault
    assert answer_of(InvalidValue("unknown columns", field="columns")) == answer_of(KeyError())


def test_user_errors_are_the_three_bases() -> None:
    assert (ServiceError, HotspotError, GeodataError) == USER_ERRORS
    assert isinstance(InvalidInput("x"), ValueError)  # as the old ParameterError was


def test_a_library_error_names_its_field_as_data() -> None:
    assert InvalidParameter("eps_m must be above 0", "eps_m").field == "eps_m"
    assert HotspotError("x").field is None
    limit = WorkLimitExceeded("too many", found=2, limit=1, parameter="cell_size_m",
                              kind="grid_cells")
    assert limit.field == limit.parameter == "cell_size_m"


def test_as_invalid_input_names_the_request_field() -> None:
    with pytest.raises(InvalidInput) as own, as_invalid_input("method"):
        raise InvalidParameter("eps_m is out of range", "eps_m")
    assert (str(own.value), own.value.field) == ("eps_m is out of range", "eps_m")
    with pytest.raises(InvalidInput) as named, as_invalid_input("shift", names={"a": "b"}):
        raise InvalidParameter("a is wrong", "a")
    assert named.value.field == "b"
    with pytest.raises(InvalidInput) as fixed, as_invalid_input("method", names={}):
        raise InvalidParameter("eps_m is out of range", "eps_m")
    assert fixed.value.field == "method"
    with pytest.raises(InvalidPoints), as_invalid_input("method"):  # not a parameter: as it is
        raise InvalidPoints("no points")


ANSWERS_AS_ITS_PARENT = {
    # an error of a method's parameters answers 422 invalid_parameter, naming the parameter
    "InvalidParameter": 422, "InvalidPoints": 422, "WorkLimitExceeded": 422,
    # a store's error of no more precise class is a fault of the service
    "StoreError": 500,
}
"""The library errors that have no row of their own, on purpose: they answer as their parent,
with this status."""


def _library_errors() -> list[type[Exception]]:
    import geodata.errors
    import hotspot.errors

    return [cls for module in (hotspot.errors, geodata.errors) for cls in vars(module).values()
            if isinstance(cls, type) and issubclass(cls, (HotspotError, GeodataError))
            and cls.__module__ == module.__name__]


@pytest.mark.parametrize("cls", _library_errors(), ids=lambda c: c.__name__)
def test_every_library_error_is_in_the_table_on_purpose(cls: type[Exception]) -> None:
    """A new error class in hotspot or geodata gets a row of its own, or is listed above as
    answering as its parent: none falls through to a 500 by accident."""
    assert cls in ERROR_TABLE or cls.__name__ in ANSWERS_AS_ITS_PARENT, (
        f"{cls.__name__} has no row in api.errors.ERROR_TABLE")
    if cls.__name__ in ANSWERS_AS_ITS_PARENT:
        assert answer_of(cls.__new__(cls)).status == ANSWERS_AS_ITS_PARENT[cls.__name__]

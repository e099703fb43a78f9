"""Request and response models (with their constraints) of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    """Service health."""

    status: Literal["ok", "degraded"]
    version: str
    demo: bool
    store: dict[str, Any]


class RejectedRowOut(BaseModel):
    """A source row that was not stored."""

    line: int = Field(description="Line of the file where the row starts (GeoJSON: feature number).")
    reason: str = Field(description="Stable code, for example missing_coordinates.")
    detail: str


class IngestCounts(BaseModel):
    """How many rows went where."""

    records: int
    accepted: int
    duplicates: int
    duplicates_already_stored: int
    duplicates_repeated_in_file: int
    rejected: int


class NeighbourIngestCounts(BaseModel):
    """What a neighbouring force's file held and what became of its rows."""

    records: int
    accepted: int
    duplicates_of_force: int = Field(description="Rows the force's own incidents hold (the "
                                     "same Crime ID): not stored, never counted twice.")
    repeated: int = Field(description="Rows stored already or repeated in the file.")
    rejected: int


class NeighbourIngestOut(BaseModel):
    """What loading a neighbouring force's file did (``POST /v1/incidents?neighbour=``)."""

    source: str = Field(description="The neighbour's label.")
    file: str
    format: str
    counts: NeighbourIngestCounts
    rejected_by_reason: dict[str, int]
    read: dict[str, Any]
    neighbour_version: str
    elapsed_s: float


class IngestReportOut(BaseModel):
    """What an ingest did, row by row (details capped; counts complete)."""

    source: str
    format: str
    counts: IngestCounts
    rejected_by_reason: dict[str, int]
    rejected_rows: list[RejectedRowOut]
    rejected_rows_truncated: bool
    accepted_lines: list[list[int]] = Field(description="Accepted lines as [first, last] runs.")
    accepted_lines_truncated: bool
    duplicate_lines: list[list[int]] = Field(description="Duplicate lines as [first, last] runs.")
    duplicate_lines_truncated: bool
    categories: dict[str, int]
    time_precision: dict[str, int]
    period: dict[str, str] | None
    stacking: dict[str, Any]
    read: dict[str, Any]
    data_version: str
    elapsed_s: float
    rows_per_s: float | None


class PointGeometry(BaseModel):
    """A GeoJSON Point in WGS84 longitude/latitude."""

    type: Literal["Point"]
    coordinates: list[float]


class IncidentFeature(BaseModel):
    """One incident as a GeoJSON Feature."""

    type: Literal["Feature"]
    id: str
    geometry: PointGeometry
    properties: dict[str, Any]


class Link(BaseModel):
    """A link to another page."""

    rel: str
    href: str
    type: str = "application/geo+json"


class IncidentCollection(BaseModel):
    """A page of incidents: a GeoJSON FeatureCollection (RFC 7946) with paging members."""

    type: Literal["FeatureCollection"]
    features: list[IncidentFeature]
    numberMatched: int  # noqa: N815 - OGC API Features names
    numberReturned: int  # noqa: N815
    links: list[Link]
    data_version: str
    filters: dict[str, Any]
    crs_note: str


class LayerOut(BaseModel):
    """A stored reference layer."""

    kind: str
    source: str
    added_at: str
    features: int

    model_config = {"extra": "allow"}

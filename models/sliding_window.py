"""Limits over a sliding window of timestamped rows (sign-in failures, registrations)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import Session, col, select


def seconds_until_under_limit(
    session: Session,
    timestamp: InstrumentedAttribute[Any] | datetime,
    matches: sa.ColumnElement[bool],
    *,
    limit: int,
    window: timedelta,
    now: datetime,
) -> int:
    """Seconds until fewer than ``limit`` matching rows fall in the window ending ``now`` (0: under
    the limit already). Answered by the row ``limit - 1`` places from the newest, from an index on
    (key, timestamp)."""
    stamp = col(timestamp)
    newest_first = select(stamp).where(matches, stamp > now - window).order_by(stamp.desc())
    oldest_that_counts = session.exec(newest_first.offset(limit - 1).limit(1)).first()
    if oldest_that_counts is None:
        return 0
    return max(1, math.ceil((oldest_that_counts + window - now).total_seconds()))

"""DATABASE_URL: the URLs people paste (Neon's included) work unchanged; bad ones fail clearly."""

from __future__ import annotations

import pytest

from tasks_api.database import masked, parse_database_url
from tasks_api.settings import ConfigurationError

NEON = (
    "postgresql://neondb_owner:npg_s3cret@ep-cool-darkness-123456.eu-central-1.aws.neon.tech"
    "/neondb?sslmode=require&channel_binding=require"
)


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg2"])
def test_postgres_schemes_use_psycopg2(scheme: str) -> None:
    url = parse_database_url(f"{scheme}://u:p@db.example:5433/tasks")

    assert url.drivername == "postgresql+psycopg2"
    assert (url.host, url.port, url.database) == ("db.example", 5433, "tasks")


def test_neon_urls_keep_their_tls_options() -> None:
    url = parse_database_url(NEON)

    assert url.query == {"sslmode": "require", "channel_binding": "require"}
    assert url.password == "npg_s3cret"


def test_the_password_is_masked_in_messages() -> None:
    assert "npg_s3cret" not in masked(parse_database_url(NEON))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("mysql://u:p@host/db", "must start with postgres:// or postgresql://"),
        ("not a url", "not a valid URL"),
        ("", "not a valid URL"),
    ],
)
def test_other_urls_are_refused_with_one_clear_line(raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as refused:
        parse_database_url(raw)

    assert "\n" not in str(refused.value)

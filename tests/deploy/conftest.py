"""Fixtures of the deployment tests: a real PostgreSQL server and a real S3 API (moto), per module.

Without Debian's `postgresql` (initdb), the tests that need it are skipped with that reason;
.ci/run installs it.
"""

from __future__ import annotations

import pytest

from tests.deploy.servers import postgres_bin, postgres_server, s3_server


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    if postgres_bin() is None:
        pytest.skip("initdb not found: Debian's postgresql package is not installed (.ci/run installs it)")
    with postgres_server(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture(scope="module")
def s3():
    with s3_server() as (server, bucket):
        yield server, bucket

import os

# Two pytest-xdist workers share two cores: one thread each. Without this, PyTorch's and
# OpenMP's spinning thread pools oversubscribe the machine and a tiny MLP's forward pass
# slows from ~4 ms to ~100 ms.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - torch is a dependency
    pass


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


# --- database backends (tests/test_database.py, tests/test_db_cli.py) -------------------------
# SQLite always; PostgreSQL on the server named by LEVINTHAL_TEST_POSTGRES_URL (.ci/run starts
# one). With CI set and no server the PostgreSQL cases FAIL, so CI can never skip them silently.
POSTGRES_URL_ENV = "LEVINTHAL_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url_factory(request, tmp_path):
    """``make()`` returns the URL of a new, empty database on the parametrised backend: a SQLite
    file under ``tmp_path``, or a fresh PostgreSQL database (dropped, connections and all, at
    teardown)."""
    import uuid

    if request.param == "sqlite":
        counter = iter(range(10**6))
        yield lambda: f"sqlite:///{tmp_path / f'db{next(counter)}.sqlite'}"
        return
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {POSTGRES_URL_ENV} is not: "
                        "the PostgreSQL database tests must run in CI")
        pytest.skip(f"{POSTGRES_URL_ENV} not set (.ci/run starts a PostgreSQL server and sets it)")
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    created = []

    def make():
        name = f"levinthal_t_{uuid.uuid4().hex[:16]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(base).set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in created:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_url(db_url_factory):
    """The URL of one new, empty database on the parametrised backend."""
    return db_url_factory()

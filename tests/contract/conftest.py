"""The KeyService contract suite runs every test here against every backend.

Backends: ``local`` (LocalKeyService in-process). AwsKmsKeyService against moto's server joins
this list in the AWS issue. A backend that is known to differ from AWS KMS lists the test in
``DEVIATIONS`` with the AWS behaviour it lacks; the test then runs as a strict xfail for that
backend only, so a fixed backend turns the suite red until the entry is removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from envelope.keys.base import KeyService

BACKENDS = ["local"]

# backend -> {test function name: the AWS behaviour the backend lacks}
DEVIATIONS: dict[str, dict[str, str]] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "kms" not in callspec.params:
            continue
        backend = callspec.params["kms"]
        name = getattr(item, "originalname", item.name)
        reason = DEVIATIONS.get(backend, {}).get(name)
        if reason:
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"{backend}: {reason}"))


@pytest.fixture(params=BACKENDS)
def kms(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyService]:
    backend = request.param
    if backend == "local":
        from envelope.keys.local import LocalKeyService

        service = LocalKeyService(home=tmp_path / "contract-home")
        try:
            yield service
        finally:
            service.close()
    else:  # pragma: no cover - a backend listed without a factory is a bug in this file
        raise AssertionError(f"no factory for backend {backend!r}")

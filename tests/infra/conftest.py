"""Session fixtures: each configuration variant is synthesized once and shared (see synth.py)."""

from __future__ import annotations

import pytest

from tests.infra.synth import VARIANTS, Synthesized, synthesize
from two_way_sms_cdk import lambda_dependencies


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory):
    """``synthesized(variant)``: the variant's synth, done at most once per session."""
    lambda_dependencies.build(lambda_dependencies.layer_dir())  # a no-op once `make deps` has run
    cache: dict[str, Synthesized] = {}

    def get(name: str) -> Synthesized:
        if name not in cache:
            cache[name] = synthesize(name, VARIANTS[name], tmp_path_factory.mktemp(f"cdk-{name}"))
        return cache[name]

    return get


@pytest.fixture(scope="session")
def default(synthesized) -> Synthesized:
    return synthesized("default")


@pytest.fixture(scope="session")
def existing_number(synthesized) -> Synthesized:
    return synthesized("existing_number")


@pytest.fixture(scope="session")
def existing_pool(synthesized) -> Synthesized:
    return synthesized("existing_pool")


@pytest.fixture(scope="session")
def toll_free_self_managed(synthesized) -> Synthesized:
    return synthesized("toll_free_self_managed")


@pytest.fixture(scope="session")
def existing_bus_no_codes(synthesized) -> Synthesized:
    return synthesized("existing_bus_no_codes")


@pytest.fixture(scope="session")
def account_default_protection(synthesized) -> Synthesized:
    return synthesized("account_default_protection")


@pytest.fixture(scope="session", params=sorted(VARIANTS))
def any_variant(request, synthesized) -> Synthesized:
    return synthesized(request.param)

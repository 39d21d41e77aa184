"""Fixtures shared by the whole suite live in tests/fixtures/, one module per peer."""

pytest_plugins = [
    "tests.fixtures.agent",
    "tests.fixtures.certmonger",
    "tests.fixtures.micromdm",
    "tests.fixtures.scep_ca",
]

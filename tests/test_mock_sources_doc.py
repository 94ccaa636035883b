"""docs/testing-with-mock-sources.md stays true: its test files run and pass as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_kit_dogfood import floe_pytest_plugin_args

pytest_plugins = ["pytester"]

DOC = Path(__file__).resolve().parents[1] / "docs/testing-with-mock-sources.md"
TITLED_BLOCK = re.compile(r'^```python title="([^"]+)"\n(.*?)^```$', re.S | re.M)


def test_the_documented_tests_pass(pytester: pytest.Pytester) -> None:
    blocks = TITLED_BLOCK.findall(DOC.read_text())
    assert [path for path, _ in blocks] == [
        "tests/test_orders_pipeline.py",
        "tests/test_with_dlt.py",
    ]
    for path, code in blocks:
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code)
    expected = sum(code.count("\ndef test_") + code.startswith("def test_") for _, code in blocks)
    result = pytester.runpytest_subprocess(*floe_pytest_plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=expected)
    assert expected == 6

"""YAML parsing with positions: lines of keys, syntax errors, duplicate and non-string keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_core.errors import ErrorCategory, ErrorCode
from floe_core.project.problems import Problem, ProjectError, format_path
from floe_core.project.source import Position, parse_yaml, read_yaml

TEXT = """\
# a comment
ingestion:
  - name: first
    dlt:
      source: a.b
  - name: second
    secret_refs:
      "token.v2": x
"""


def test_positions_of_keys_and_items() -> None:
    document = parse_yaml(TEXT, file="floe.yaml")
    assert document.data["ingestion"][1]["name"] == "second"
    assert document.positions[("ingestion",)] == Position(2, 1)
    assert document.positions[("ingestion", 0)].line == 3
    assert document.positions[("ingestion", 0, "dlt", "source")] == Position(5, 7)
    assert document.positions[("ingestion", 1, "secret_refs", "token.v2")].line == 8
    assert document.problems == []


def test_position_falls_back_to_the_closest_enclosing_key() -> None:
    document = parse_yaml(TEXT, file="floe.yaml")
    assert document.position(("ingestion", 0, "dlt", "missing", "deeper")).line == 4
    assert document.position(("nowhere",)).line == 2  # the top mapping, after the comment


def test_problem_names_file_line_and_key() -> None:
    document = parse_yaml(TEXT, file="proj/floe.yaml")
    problem = document.problem(("ingestion", 1, "secret_refs", "token.v2"), "bad")
    assert str(problem) == 'proj/floe.yaml:8: ingestion[1].secret_refs["token.v2"]: bad'
    assert problem.code is ErrorCode.INVALID_CONFIG
    assert problem.category is ErrorCategory.CONFIGURATION


def test_malformed_yaml_names_file_line_and_column() -> None:
    with pytest.raises(ProjectError) as caught:
        parse_yaml("ingestion:\n  - name: a\n    destination: [x\n", file="floe.yaml")
    problem = caught.value.problems[0]
    assert (problem.file, problem.line) == ("floe.yaml", 4)
    assert problem.column is not None
    assert str(caught.value).startswith("floe.yaml:4:")
    assert "malformed YAML" in str(caught.value)
    assert caught.value.code is ErrorCode.INVALID_CONFIG


def test_bad_indentation_is_located() -> None:
    with pytest.raises(ProjectError) as caught:
        parse_yaml("a:\n  b: 1\n c: 2\n", file="m.yaml")
    assert str(caught.value).startswith("m.yaml:3:2: malformed YAML")


def test_unsafe_tags_are_refused_with_their_line() -> None:
    with pytest.raises(ProjectError) as caught:
        parse_yaml("a: 1\nb: !!python/object:os.system x\n", file="f.yaml")
    assert caught.value.problems[0].line == 2


def test_two_documents_are_refused() -> None:
    with pytest.raises(ProjectError) as caught:
        parse_yaml("a: 1\n---\nb: 2\n", file="f.yaml")
    assert "single document" in str(caught.value)


def test_duplicate_key_is_a_problem() -> None:
    document = parse_yaml("a: 1\nb: 2\na: 3\n", file="f.yaml")
    assert [str(p) for p in document.problems] == [
        "f.yaml:3: a: the key 'a' is given twice (first at line 1); YAML would silently keep "
        "only the last one: remove one of them"
    ]


def test_boolean_and_number_keys_are_problems() -> None:
    document = parse_yaml("on: 1\n2: x\nname: ok\n", file="f.yaml")
    messages = [str(p) for p in document.problems]
    assert messages[0].startswith("f.yaml:1: on: key 'on' is read by YAML as bool True")
    assert messages[1].startswith("f.yaml:2:")
    assert document.data == {"name": "ok"}


def test_merge_keys_and_anchors_work() -> None:
    document = parse_yaml("base: &b {x: 1}\nthing:\n  <<: *b\n  y: 2\n", file="f.yaml")
    assert document.data["thing"] == {"x": 1, "y": 2}


def test_empty_and_comment_only_documents_have_no_data() -> None:
    assert parse_yaml("", file="f.yaml").data is None
    assert parse_yaml("# only a comment\n", file="f.yaml").data is None


def test_read_yaml_reports_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / "floe.yaml"
    path.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(ProjectError) as caught:
        read_yaml(path, display="floe.yaml")
    assert "not UTF-8" in str(caught.value)
    with pytest.raises(ProjectError) as caught:
        read_yaml(tmp_path / "absent.yaml")
    assert "cannot be read" in str(caught.value)


def test_format_path_quotes_odd_keys() -> None:
    assert format_path(("ingestion", 0, "dlt", "source")) == "ingestion[0].dlt.source"
    assert format_path(("catalog", "properties", "s3.endpoint")) == (
        'catalog.properties["s3.endpoint"]'
    )
    assert format_path(()) == ""


def test_project_error_carries_every_problem_and_their_common_code() -> None:
    problems = [
        Problem("a missing", file="f", line=1, code=ErrorCode.SECRET_MISSING),
        Problem("b missing", file="f", line=2, code=ErrorCode.SECRET_MISSING),
    ]
    error = ProjectError(problems)
    assert error.code is ErrorCode.SECRET_MISSING
    assert error.error.category is ErrorCategory.CONFIGURATION
    assert [p["line"] for p in error.error.details["problems"]] == [1, 2]
    assert str(error).splitlines() == ["2 problems found:", "  f:1: a missing", "  f:2: b missing"]
    mixed = ProjectError([problems[0], Problem("c", file="f")])
    assert mixed.code is ErrorCode.INVALID_CONFIG
    with pytest.raises(ValueError, match="at least one problem"):
        ProjectError([])

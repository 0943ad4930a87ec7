"""Parser metadata read with ast: both levels, literals only, and clear errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from casparian_core.contracts.errors import ContractError
from casparian_core.parsers.metadata import ParserLoadError, read_parser_info


def write(tmp_path: Path, source: str, name: str = "my_parser.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def test_level_1_defaults_from_the_file_name(tmp_path: Path) -> None:
    info = read_parser_info(write(tmp_path, "def parse(path):\n    return []\n"))
    assert (info.name, info.version, info.topics, info.level) == ("my_parser", "0.0.0", (), 1)
    assert info.outputs is None and info.class_name is None
    assert info.declared_outputs == ["my_parser"]


def test_level_1_with_module_level_metadata_and_contract(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name = "auth_log"
        version = "1.0.0"
        topics = ["linux_auth"]
        outputs = {
            "auth_events": {
                "ts":   {"type": "timestamp[us]", "nullable": False, "format": "%b %d %H:%M:%S"},
                "host": {"type": "string", "nullable": False},
                "pid":  {"type": "int64", "nullable": True, "min": 0},
                "msg":  {"type": "string", "nullable": False, "max_length": 4096},
            }
        }
        def parse(path):
            raise SystemExit("never executed by read_parser_info")
        """,
    )
    info = read_parser_info(path)
    assert (info.name, info.version, info.topics) == ("auth_log", "1.0.0", ("linux_auth",))
    assert info.outputs is not None
    assert list(info.outputs["auth_events"].columns) == ["ts", "host", "pid", "msg"]
    assert info.default_output == "auth_events"


def test_level_2_class_metadata_wins_over_module_level(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version = "0.1"
        class Sales:
            name = "sales"
            version = "2.0"
            topics = ("sales",)
            outputs = {"orders": {"id": "int64"}, "lines": {"sku": "string"}}
            def parse(self, ctx):
                yield "orders", []
        """,
    )
    info = read_parser_info(path)
    assert (info.name, info.version, info.level, info.class_name) == ("sales", "2.0", 2, "Sales")
    assert info.declared_outputs == ["orders", "lines"]


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "def parse(path):\n    return [\n\nx = = 1\n")
    with pytest.raises(ParserLoadError, match=rf"^{path}:\d+: syntax error"):
        read_parser_info(path)


def test_no_parse_function_or_class(tmp_path: Path) -> None:
    with pytest.raises(ParserLoadError, match="no parser found; define a function"):
        read_parser_info(write(tmp_path, "def transform(path):\n    pass\n"))


def test_non_literal_metadata_names_field_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "import os\nversion = os.environ['V']\ndef parse(path):\n    pass\n")
    with pytest.raises(ParserLoadError, match=rf"{path}:2: `version` must be a literal"):
        read_parser_info(path)


@pytest.mark.parametrize(
    ("line", "message"),
    [("name = 3", "`name` must be a non-empty str"), ("topics = 'x'", "`topics` must be a list")],
)
def test_wrongly_typed_metadata(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(ParserLoadError, match=message):
        read_parser_info(write(tmp_path, f"{line}\ndef parse(path):\n    pass\n"))


def test_malformed_outputs_raise_contract_error_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "outputs = {'t': {'a': 'int65'}}\ndef parse(path):\n    pass\n")
    with pytest.raises(ContractError, match=str(path)):
        read_parser_info(path)


def test_level_1_with_two_outputs_is_refused(tmp_path: Path) -> None:
    source = "outputs = {'a': {'x': 'int64'}, 'b': {'y': 'int64'}}\ndef parse(path):\n    pass\n"
    with pytest.raises(ContractError, match="has one output"):
        read_parser_info(write(tmp_path, source))


def test_binary_file_is_not_a_parser(tmp_path: Path) -> None:
    path = tmp_path / "blob.py"
    path.write_bytes(b"\x00\x01\x02def parse")
    with pytest.raises(ParserLoadError, match="not a Python source file"):
        read_parser_info(path)

"""Tests of the pure helpers of the benchmark suite: statistics, framing, Markdown, YANG cuts."""

from __future__ import annotations

import cProfile
import json
import math
from pathlib import Path

import libyang
import pytest

from bench import workload
from bench.debs import services_forbidden
from bench.netconf_client import FrameDecoder, FramingError, frame_message, is_ok_reply
from bench.profiling import package_of, summarize_profile
from bench.report import Verdict, check, format_number, table
from bench.stats import median_ratio_interval, percentile, ratio, summarize
from bench.yang_config import (
    NETCONFD_UNSUPPORTED,
    YangSyntaxError,
    cut_statements,
    is_config_false,
    parse_statements,
)

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "yang" / "pki-agent.yang"
IETF_MODULES = REPO / ".venv" / "share" / "yang" / "modules" / "ietf"


@pytest.mark.parametrize(
    ("samples", "fraction", "expected"),
    [
        ([5.0], 0.9, 5.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9, 9.0),
        ([10.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 5.0], 0.9, 9.0),
        (list(map(float, range(1, 201))), 0.9, 180.0),
        ([3.0, 1.0, 2.0], 0.5, 2.0),
        ([3.0, 1.0, 2.0], 1.0, 3.0),
    ],
)
def test_percentile_nearest_rank(samples: list[float], fraction: float, expected: float) -> None:
    assert percentile(samples, fraction) == expected


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_percentile_rejects_fraction(fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], fraction)


def test_summarize_fields() -> None:
    summary = summarize([4.0, 1.0, 3.0, 2.0])
    assert summary.count == 4
    assert summary.median == 2.5
    assert summary.p90 == 4.0
    assert summary.minimum == 1.0
    assert summary.maximum == 4.0


def test_summarize_rejects_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        summarize([])


def test_ratio_zero_denominator() -> None:
    assert ratio(2.0, 4.0) == 0.5
    assert math.isinf(ratio(1.0, 0.0))


def test_median_ratio_interval_brackets_ratio() -> None:
    numerators = [float(value) for value in range(100, 200)]
    denominators = [float(value) for value in range(50, 150)]

    low, high = median_ratio_interval(numerators, denominators)

    assert low < ratio(149.5, 99.5) < high
    assert high - low < 0.4
    assert median_ratio_interval(numerators, denominators) == (low, high)


def test_median_ratio_interval_constant_series() -> None:
    assert median_ratio_interval([3.0] * 10, [2.0] * 7) == (1.5, 1.5)


def test_median_ratio_interval_rejects_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        median_ratio_interval([], [1.0])


@pytest.mark.parametrize("chunked", [False, True])
def test_frame_round_trip_split_bytes(chunked: bool) -> None:
    messages = [b"<rpc-reply/>", b"<rpc-reply>" + b"x" * 5000 + b"</rpc-reply>"]
    wire = b"".join(frame_message(message, chunked) for message in messages)
    decoder = FrameDecoder(chunked=chunked)
    received = []
    for index in range(0, len(wire), 7):
        received += decoder.feed(wire[index : index + 7])
    assert received == messages
    assert decoder.buffer == bytearray()


def test_chunked_decoder_joins_chunks() -> None:
    decoder = FrameDecoder(chunked=True)
    assert decoder.feed(b"\n#4\n<rpc\n#8\n-reply/>\n##\n") == [b"<rpc-reply/>"]


@pytest.mark.parametrize(
    "wire",
    [
        b"\n#0\nx\n##\n",  # RFC 6242 section 4.2: chunk-size starts at 1
        b"\n#01\nx\n##\n",  # no leading zero
        b"<rpc-reply/>\n##\n",  # data before any chunk header
        b"\n#abcdefghijklmn\n",  # not a number
    ],
)
def test_chunked_decoder_rejects_bad_header(wire: bytes) -> None:
    with pytest.raises(FramingError):
        FrameDecoder(chunked=True).feed(wire)


def test_ok_reply_detection() -> None:
    assert is_ok_reply("<rpc-reply><ok/></rpc-reply>")
    assert not is_ok_reply("<rpc-reply><rpc-error/></rpc-reply>")
    assert not is_ok_reply("<nc:rpc-reply><nc:rpc-error/></nc:rpc-reply>")


def test_table_escapes_cells() -> None:
    rendered = table(["a", "b"], [["x|y", "line\nbreak"]])
    assert rendered.splitlines() == ["| a | b |", "|---|---|", "| x\\|y | line break |"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.2634, "0.263"), (12.345, "12.3"), (250.4, "250"), (3.0, "3"), (1234.5, "1234")],
)
def test_format_number(value: float, expected: str) -> None:
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("value", "verdict", "measured"),
    [(0.5, Verdict.MET, "0.5x"), (1.0, Verdict.MET, "1x"), (1.01, Verdict.NOT_MET, "1.01x")],
)
def test_check_verdict(value: float, verdict: Verdict, measured: str) -> None:
    target = check("ratio", 1.0, value, "x", "latency")
    assert target.verdict is verdict
    assert target.measured == measured
    assert target.limit == "at most 1x"


def test_check_not_measured() -> None:
    assert check("ratio", 1.0, None, "x", "latency").verdict is Verdict.NOT_MEASURED


def test_parse_statements_module_shape() -> None:
    (module,) = parse_statements(MODULE.read_text())
    assert module.keyword == "module"
    assert module.argument == "pki-agent"
    assert module.child_argument("prefix") == "pki"


def test_parse_statements_joins_strings() -> None:
    (leaf,) = parse_statements("leaf x { must \"a\" + 'b'; /* c */ type string; // d\n}")
    assert leaf.child_argument("must") == "ab"
    assert [child.keyword for child in leaf.children] == ["must", "type"]


@pytest.mark.parametrize("text", ["leaf x { type string;", "leaf x", "leaf x; }", 'leaf "x'])
def test_parse_statements_rejects(text: str) -> None:
    with pytest.raises(YangSyntaxError):
        parse_statements(text)


def test_netconfd_copy_keeps_only_config() -> None:
    text, counts = cut_statements(MODULE.read_text(), NETCONFD_UNSUPPORTED)
    assert list(counts.values()) == [4, 1]
    (module,) = parse_statements(text)
    assert not any(is_config_false(statement) for statement in module.walk())
    assert "number(" not in text
    assert "leaf poll-interval" in text
    assert "list enroll-server" in text
    context = libyang.Context(str(IETF_MODULES))
    parsed = context.parse_module_str(text)
    assert parsed.name() == "pki-agent"


def test_recorded_state_is_valid_instance() -> None:
    context = libyang.Context(f"{REPO / 'yang'}:{IETF_MODULES}")
    context.load_module("pki-agent")
    data = context.parse_data_mem(workload.pki_config(3), "xml", strict=True, parse_only=True)
    state = json.dumps(workload.recorded_state(3))
    data.merge(context.parse_data_mem(state, "json", strict=True, parse_only=True))
    data.validate(validate_present=True)
    rows = workload.recorded_state(3)["pki-agent:pki"]["cert"]["certificates"]["certificate"]
    assert len(rows) == 1 + 2 * 3


def test_services_forbidden_creates_and_removes(tmp_path: Path) -> None:
    policy = tmp_path / "policy-rc.d"
    with services_forbidden(policy):
        assert policy.read_text().rstrip().endswith("exit 101")
    assert not policy.exists()


def test_services_forbidden_keeps_existing(tmp_path: Path) -> None:
    policy = tmp_path / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 0\n")
    with services_forbidden(policy):
        pass
    assert policy.read_text() == "#!/bin/sh\nexit 0\n"


@pytest.mark.parametrize(
    ("filename", "function", "expected"),
    [
        ("~", "<built-in method _libyang.lyd_parse_data>", "libyang (C library)"),
        ("~", "<method 'send' of '_socket.socket' objects>", "Python built-ins and C modules"),
        ("/v/lib/python3.11/site-packages/libyang/data.py", "new", "libyang (Python bindings)"),
        ("/v/lib/python3.11/site-packages/asyncssh/channel.py", "write", "asyncssh"),
        ("/work/main/agent/netconf/retrieval.py", "get", "agent.netconf"),
        ("/usr/lib/python3.11/json/encoder.py", "iterencode", "stdlib json"),
    ],
)
def test_package_of_profile_entry(filename: str, function: str, expected: str) -> None:
    assert package_of(filename, function) == expected


def test_summarize_profile_splits_idle(tmp_path: Path) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(sorted, range(10000), key=lambda value: -value)
    path = tmp_path / "run.pstats"
    profiler.dump_stats(path)
    summary = summarize_profile(path)
    assert summary.idle_seconds == 0.0
    assert summary.busy_seconds > 0.0
    assert any("sorted" in row[0] for row in summary.functions)
    assert sum(float(row[2]) for row in summary.packages) == pytest.approx(100, abs=2)

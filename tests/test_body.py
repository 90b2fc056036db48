"""Request bodies: read within the limit, parsed as strict JSON (api/body.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest
from starlette.requests import Request

from api.body import MAX_DEPTH, BodyError, nesting, read_body, strict_json


def _request(chunks: Iterable[bytes], headers: dict[str, str] | None = None):
    """A Starlette request whose body arrives in ``chunks``; the list of chunks the app
    pulled is returned beside it."""
    pending = list(chunks)
    pulled: list[bytes] = []

    async def receive() -> dict[str, Any]:
        if not pending:
            return {"type": "http.request", "body": b"", "more_body": False}
        chunk = pending.pop(0)
        pulled.append(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    return Request(scope, receive), pulled


async def test_a_body_within_the_limit_is_read_whole():
    request, _ = _request([b'{"a":', b"1}"], {"Content-Length": "7"})
    assert await read_body(request, limit=7) == b'{"a":1}'
    request, _ = _request([b'{"a":', b"1}"])  # chunked: no Content-Length
    assert await read_body(request, limit=7) == b'{"a":1}'


async def test_a_declared_size_over_the_limit_is_413_before_reading_a_byte():
    request, pulled = _request([b"x" * 1024] * 10, {"Content-Length": str(200 * 1024 * 1024)})
    with pytest.raises(BodyError) as refused:
        await read_body(request, limit=1024)
    assert refused.value.status == 413 and pulled == []


async def test_a_chunked_body_is_read_only_up_to_the_limit():
    request, pulled = _request([b"x" * 1000] * 1000)  # 1 MB, no Content-Length
    with pytest.raises(BodyError) as refused:
        await read_body(request, limit=4096)
    assert refused.value.status == 413
    assert sum(map(len, pulled)) <= 4096 + 1000  # stopped within one chunk of the limit


@pytest.mark.parametrize("header", ["abc", "-1", "1.5", "", "1e3", "99999999999999999999999"])
async def test_a_malformed_or_absurd_content_length_is_refused(header: str):
    request, _ = _request([b"{}"], {"Content-Length": header})
    with pytest.raises(BodyError) as refused:
        await read_body(request, limit=1024)
    assert refused.value.status in (400, 413)


@pytest.mark.parametrize("declared", ["1", "3"])
async def test_a_body_that_does_not_match_its_content_length_is_400(declared: str):
    request, _ = _request([b"{}"], {"Content-Length": declared})
    with pytest.raises(BodyError) as refused:
        await read_body(request, limit=1024)
    assert refused.value.status == 400 and "Content-Length" in refused.value.message


def _refused(body: bytes) -> str:
    with pytest.raises(BodyError) as refused:
        strict_json(body)
    assert refused.value.status == 400
    return refused.value.message


def test_a_repeated_key_is_refused_instead_of_the_last_one_winning():
    body = b'{"name": "check_availability", "name": "cancel_hold", "args": {}}'
    assert "duplicate key 'name'" in _refused(body)
    assert "duplicate key 'x'" in _refused(b'{"call": {"x": 1, "y": 2, "x": 3}}')
    assert strict_json(b'{"a": {"x": 1}, "b": {"x": 1}}') == {"a": {"x": 1}, "b": {"x": 1}}


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100, 100_000])
def test_nesting_deeper_than_the_bound_is_refused_without_parsing(depth: int):
    assert "deeper than 32" in _refused(b"[" * depth + b"]" * depth)
    assert "deeper than 32" in _refused(b'{"a":' * depth + b"1" + b"}" * depth)


def test_nesting_up_to_the_bound_is_read():
    value = strict_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    for _ in range(MAX_DEPTH - 1):
        value = value[0]
    assert value == []


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"a": "[[[[{{{{" * 100, "b": '\\"[[[', "c": "]]]}}"})
    assert strict_json(text.encode())["c"] == "]]]}}"
    assert nesting(text.encode(), 1) == "ok"


def test_unbalanced_brackets_are_not_json():
    assert nesting(b"[1,2", 5) == "unbalanced" and nesting(b"]]", 5) == "unbalanced"
    assert "not valid JSON" in _refused(b"[" * 10)
    assert "not valid JSON" in _refused(b'{"a": "[[[ never closed')


@pytest.mark.parametrize(
    "body",
    [b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b'{"a": ' + b"7" * 5000 + b"}"],
)
def test_numbers_python_would_make_up_or_choke_on_are_refused(body: bytes):
    _refused(body)


@pytest.mark.parametrize("body", [b'"\\ud800"', b'{"\\udc00": 1}', b'["a\\ud83d"]'])
def test_unpaired_surrogates_are_refused(body: bytes):
    assert "surrogate" in _refused(body)


def test_paired_surrogates_are_the_character_they_encode():
    assert strict_json(b'"\\ud83d\\ude00"') == "😀"


@pytest.mark.parametrize("body", [b"\xff\xfe{}", b'{"a": "\xc3"}', b"\xef\xbb\xbf{}", b""])
def test_text_that_is_not_utf8_json_is_refused(body: bytes):
    _refused(body)


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"1", b"null", b"true"])
def test_any_json_value_is_returned_for_the_caller_to_check_its_shape(body: bytes):
    assert strict_json(body) == json.loads(body)

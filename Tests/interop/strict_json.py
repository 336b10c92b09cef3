"""Strict comparison of JSON values, shared by the interop tests and the C client's golden check
(clients/c/tests/golden.py): Python's ``==`` takes True for 1 and -0.0 for 0.0, and a codec that
printed either would pass a test that compares with it. Standard library only."""

import struct


def json_difference(actual, expected, path="$"):
    """Where two JSON values differ, or None: dicts by keys, lists in order, strings by code points,
    bools apart from numbers, numbers bit for bit as doubles (so -0.0 is not 0.0)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: {actual!r} is not an object"
        if set(actual) != set(expected):
            return f"{path}: keys {sorted(actual)} != expected {sorted(expected)}"
        for key in sorted(expected):
            difference = json_difference(actual[key], expected[key], f"{path}.{key}")
            if difference:
                return difference
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{path}: {actual!r} != expected {expected!r}"
        for index, (a, e) in enumerate(zip(actual, expected)):
            difference = json_difference(a, e, f"{path}[{index}]")
            if difference:
                return difference
        return None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return None if type(actual) is type(expected) and actual == expected else f"{path}: {actual!r} != expected {expected!r}"
    if isinstance(expected, (int, float)):
        if not isinstance(actual, (int, float)):
            return f"{path}: {actual!r} != expected {expected!r}"
        if isinstance(expected, int) and isinstance(actual, int):
            return None if actual == expected else f"{path}: {actual} != expected {expected}"
        same = struct.pack("<d", float(actual)) == struct.pack("<d", float(expected))
        return None if same else f"{path}: {actual!r} != expected {expected!r}"
    if isinstance(expected, str):
        return None if isinstance(actual, str) and actual == expected else f"{path}: {actual!r} != expected {expected!r}"
    return None if actual == expected else f"{path}: {actual!r} != expected {expected!r}"

#!/usr/bin/env python3
"""The dotenv column of tests/envcheck/dialects.json, checked against
python-dotenv itself (dotenv_values, with its default interpolation) when it
is installed; skipped (77) otherwise. test_dialects.c checks libenvcheck
against the same table.
    test_dotenv_reference.py dialects.json"""
import io
import json
import os
import sys

try:
    from dotenv import dotenv_values
except ImportError:
    print("python-dotenv is not installed: skipped")
    sys.exit(77)

cases = json.load(open(sys.argv[1]))
failures = 0
for case in cases:
    for k in [k for k in os.environ if k.startswith("ENVCHECK_T_")]:
        del os.environ[k]
    got = dotenv_values(stream=io.StringIO(case["text"]))
    for key, want in case["dotenv"].items():
        have = got.get(key)
        if have != want:
            failures += 1
            print(f"FAIL {case['name']!r}: {key} = {have!r}, the table says {want!r}")
print(f"{len(cases)} cases, {failures} differences from python-dotenv")
sys.exit(1 if failures else 0)

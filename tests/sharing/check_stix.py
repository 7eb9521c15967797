"""Judges STIX 2.1 bundles with the OASIS tools, for crates/hikeshi/tests/it/sharing.rs.

For each bundle file given: the validator's errors and warnings (--strict --enforce-refs),
whether stix2.parse(allow_custom=False) reads it, each indicator pattern's errors from
stix2patterns, and each cyber-observable whose id differs from the one the stix2 library
computes for the same properties. Prints one JSON object keyed by file name.
"""
import json
import sys

import stix2
from stix2patterns.validator import run_validator
from stix2validator import ValidationOptions, validate_file

SCO_TYPES = {"ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file",
             "user-account", "windows-registry-key"}


def judge(path):
    options = ValidationOptions(strict=True, enforce_refs=True, version="2.1")
    results = validate_file(path, options)
    messages = []
    for result in results.object_results:
        messages += [f"error {result.object_id}: {e}" for e in result.errors]
        messages += [f"warning {result.object_id}: {w}" for w in result.warnings]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    parsed, parse_error = None, None
    try:
        parsed = stix2.parse(text, allow_custom=False)
    except Exception as e:  # the library's own exception types vary by object
        parse_error = f"{type(e).__name__}: {e}"
    raw = json.loads(text)
    pattern_errors, id_mismatches, names = [], [], {}
    for obj in raw["objects"]:
        if obj["type"] == "indicator":
            errors = run_validator(obj["pattern"], stix_version="2.1")
            pattern_errors += [f"{obj['pattern']}: {e}" for e in errors]
        if obj["type"] in SCO_TYPES:
            props = {k: v for k, v in obj.items() if k != "id"}
            expected = stix2.parse(props, allow_custom=False)["id"]
            if expected != obj["id"]:
                id_mismatches.append(f"{obj['id']} != {expected}")
        if obj["type"] in ("report", "indicator"):
            names[obj["id"]] = obj["name"]
    parsed_names = {}
    if parsed is not None:
        parsed_names = {o.id: o.name for o in parsed.objects if o.type in ("report", "indicator")}
    return {
        "valid": results.is_valid and not messages,
        "messages": messages,
        "parse_error": parse_error,
        "pattern_errors": pattern_errors,
        "id_mismatches": id_mismatches,
        "names_survive": parsed_names == names,
        "report_names": [o["name"] for o in raw["objects"] if o["type"] == "report"],
    }


if __name__ == "__main__":
    print(json.dumps({path: judge(path) for path in sys.argv[1:]}, ensure_ascii=False))

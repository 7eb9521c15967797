"""Judges hikeshi's VEX and CVE exports with the reference libraries: CycloneDX documents with
cyclonedx-python-lib's strict JSON validator (schema 1.6), CVE records with cvelib's
`cve validate` against the CNA published-container schema.

Usage: check_exports.py cyclonedx FILE... | check_exports.py cve FILE...
Prints one JSON line per file: {"file", "valid", "errors"}.
"""
import json
import subprocess
import sys
from pathlib import Path

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


def cyclonedx(path):
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(Path(path).read_text())
    return [] if error is None else [str(error)]


def cve(path):
    cli = Path(sys.executable).with_name("cve")
    done = subprocess.run(
        [str(cli), "validate", "--schema-type", "cna-published", "-f", path],
        capture_output=True,
        text=True,
    )
    return [] if done.returncode == 0 else [done.stdout + done.stderr]


def main():
    kind, files = sys.argv[1], sys.argv[2:]
    check = {"cyclonedx": cyclonedx, "cve": cve}[kind]
    for f in files:
        errors = check(f)
        print(json.dumps({"file": f, "valid": not errors, "errors": errors}))


if __name__ == "__main__":
    main()

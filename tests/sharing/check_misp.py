"""Loads MISP events hikeshi wrote with PyMISP, for crates/hikeshi/tests/it/sharing.rs, and says
what PyMISP read differently from what hikeshi wrote: values it changed (there should be
none) and keys it added (its documented defaults). Prints one JSON object keyed by file name.
"""
import json
import sys

from pymisp import MISPEvent


def compare(ours, theirs, path, changed, added):
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key, value in ours.items():
            if key not in theirs:
                changed.append(f"{path}.{key}: dropped")
            else:
                compare(value, theirs[key], f"{path}.{key}", changed, added)
        for key in theirs:
            if key not in ours:
                added.append(f"{path}.{key}".split(".", 2)[-1] if path.count(".") else key)
    elif isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            changed.append(f"{path}: {len(ours)} items became {len(theirs)}")
        for i, (a, b) in enumerate(zip(ours, theirs)):
            compare(a, b, f"{path}[{i}]", changed, added)
    elif str(ours) != str(theirs) and not (isinstance(ours, bool) and ours == theirs):
        changed.append(f"{path}: {ours!r} became {theirs!r}")


def judge(path):
    with open(path, encoding="utf-8") as f:
        ours = json.load(f)
    event = MISPEvent()
    event.load(json.dumps(ours))
    theirs = json.loads(event.to_json())
    changed, added = [], []
    compare(ours["Event"], theirs, "Event", changed, added)
    return {
        "changed": changed,
        "added": sorted(set(added)),
        "info": event.info,
        "tags": [t.name for t in event.tags],
        "attributes": [
            [a.type, a.category, a.value, bool(a.to_ids), [t.name for t in a.tags]]
            for a in event.attributes
        ],
    }


if __name__ == "__main__":
    print(json.dumps({path: judge(path) for path in sys.argv[1:]}, ensure_ascii=False))

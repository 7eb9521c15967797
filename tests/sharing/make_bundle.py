"""Writes a STIX 2.1 bundle made by the stix2 library (the reference implementation), for the
import test in crates/hikeshi/tests/it/sharing.rs: a report in Japanese, indicators marked
TLP:GREEN and TLP:AMBER (STIX's predefined TLP 1.0 markings), a bare IPv4 observable, and
objects hikeshi cannot hold (an AND pattern, a process). Usage: make_bundle.py OUT.json
"""
import sys

import stix2

when = "2026-11-20T01:02:03.000Z"
c2 = stix2.Indicator(
    name="C2 サーバー", description="攻撃者の C2 (ＷＥＢ経由)", pattern_type="stix", valid_from=when,
    pattern="[ipv4-addr:value = '198.51.100.23'] OR [domain-name:value = 'c2.bad-actor.example']",
    object_marking_refs=[stix2.TLP_GREEN],
)
payload = stix2.Indicator(
    name="ペイロード", description="添付ファイル", pattern_type="stix", valid_from=when,
    pattern="[file:hashes.'SHA-256' = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855' OR file:name = 'O\\'Neil 請求書.exe']",
    object_marking_refs=[stix2.TLP_AMBER],
)
combined = stix2.Indicator(
    name="組み合わせ", pattern_type="stix", valid_from=when,
    pattern="[ipv4-addr:value = '203.0.113.50' AND domain-name:value = 'x.example']",
)
seen = stix2.IPv4Address(value="192.0.2.77", object_marking_refs=[stix2.TLP_GREEN])
process = stix2.Process(pid=4242)
report = stix2.Report(
    name="ランサムウェア攻撃の共有: 請求書メール", description="受信した組織は C2 をブロックしてください。",
    published=when, report_types=["threat-report"],
    object_refs=[c2.id, payload.id, combined.id, seen.id, process.id],
    object_marking_refs=[stix2.TLP_GREEN],
)
bundle = stix2.Bundle(objects=[report, c2, payload, combined, seen, process], allow_custom=False)
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write(bundle.serialize(pretty=True, ensure_ascii=False))

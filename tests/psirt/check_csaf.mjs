// Judges CSAF 2.0 documents with BSI's csaf-validator-lib (Secvisogram): the strict schema,
// every mandatory test (6.1.x) and every optional test (6.2.x; none of them fetches a URL or
// spell-checks). One process for all documents: the library takes seconds to load.
//
// Usage: node check_csaf.mjs FILE... — prints one JSON line per file:
// {"file", "valid", "failed": [{"test", "kind", "message", "path"}]}
// where kind is "error" (schema, mandatory) or "warning" (optional). Exit code 0 even when a
// document fails: the caller asserts on the output.
import { readFile } from 'node:fs/promises'
import validateStrict from '@secvisogram/csaf-validator-lib/validateStrict.js'
import * as schema from '@secvisogram/csaf-validator-lib/schemaTests.js'
import * as mandatory from '@secvisogram/csaf-validator-lib/mandatoryTests.js'
import * as optional from '@secvisogram/csaf-validator-lib/optionalTests.js'

const tests = [schema.csaf_2_0_strict, ...Object.values(mandatory), ...Object.values(optional)]

for (const file of process.argv.slice(2)) {
  const doc = JSON.parse(await readFile(file, 'utf8'))
  const result = await validateStrict(tests, doc)
  const failed = []
  for (const t of result.tests) {
    for (const e of t.errors) failed.push({ test: t.name, kind: 'error', message: e.message, path: e.instancePath })
    for (const w of t.warnings) failed.push({ test: t.name, kind: 'warning', message: w.message, path: w.instancePath })
  }
  console.log(JSON.stringify({ file, valid: result.isValid && failed.length === 0, failed }))
}

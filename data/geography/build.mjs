// Builds ../geography.json.gz (the reference geography shipped with Sésame)
// from the npm package @etalab/decoupage-administratif.
//
// Usage, from data/geography/:
//   npm ci && node build.mjs
//
// No dependency other than the pinned data package and Node's standard library.
// The output is deterministic: every list is sorted by code, object keys are
// written in a fixed order, and zlib.gzipSync writes no timestamp in the header.

import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, constants as zlibConstants } from "node:zlib";

const PACKAGE = "@etalab/decoupage-administratif";
const OUTPUT = fileURLToPath(new URL("../geography.json.gz", import.meta.url));

const require = createRequire(import.meta.url);
const packageDir = dirname(require.resolve(`${PACKAGE}/package.json`));
const readJson = (relativePath) =>
  JSON.parse(readFileSync(join(packageDir, relativePath), "utf8"));

const { version } = readJson("package.json");
const rawRegions = readJson("data/regions.json");
const rawDepartements = readJson("data/departements.json");
const rawEpcis = readJson("data/epci.json");
const rawCommunes = readJson("data/communes.json");

// Every consistency problem is collected, then reported together.
const problems = [];
const check = (condition, message) => {
  if (!condition) problems.push(message);
};

// Plain code-point comparison: independent of the machine's locale.
const byKey = (key) => (a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0);

const isNonEmptyString = (value) => typeof value === "string" && value.length > 0;

const checkUnique = (items, key, label) => {
  const seen = new Set();
  for (const item of items) {
    check(!seen.has(item[key]), `duplicate ${label} ${item[key]}`);
    seen.add(item[key]);
  }
  return seen;
};

// --- Regions -----------------------------------------------------------------

const regions = rawRegions
  .map((r) => ({ code: r.code, name: r.nom }))
  .sort(byKey("code"));
for (const r of regions) {
  check(isNonEmptyString(r.code) && isNonEmptyString(r.name), `region with missing code or name: ${JSON.stringify(r)}`);
}
const regionCodes = checkUnique(regions, "code", "region");

// --- Départements ------------------------------------------------------------

const departements = rawDepartements
  .map((d) => ({ code: d.code, name: d.nom, region: d.region }))
  .sort(byKey("code"));
for (const d of departements) {
  check(isNonEmptyString(d.code) && isNonEmptyString(d.name), `departement with missing code or name: ${JSON.stringify(d)}`);
  check(regionCodes.has(d.region), `departement ${d.code} refers to unknown region ${d.region}`);
}
const departementCodes = checkUnique(departements, "code", "departement");

// --- EPCIs -------------------------------------------------------------------
// epci.json is the authoritative membership source: communes.json carries no
// EPCI field, and each EPCI lists its member communes in `membres`.

const epcis = rawEpcis
  // The EPCI's own municipal population: the official figure, which can differ
  // from the sum of its members' figures in communes.json (other vintage).
  .map((e) => ({
    siren: e.code,
    name: e.nom,
    nature: e.type,
    population: Number.isInteger(e.populationMunicipale) ? e.populationMunicipale : null,
  }))
  .sort(byKey("siren"));
for (const e of epcis) {
  check(/^\d{9}$/.test(e.siren), `EPCI with invalid SIREN: ${JSON.stringify(e)}`);
  check(isNonEmptyString(e.name) && isNonEmptyString(e.nature), `EPCI ${e.siren} with missing name or nature`);
}
checkUnique(epcis, "siren", "EPCI");

const epciOfCommune = new Map(); // INSEE code -> EPCI SIREN
for (const e of rawEpcis) {
  check(Array.isArray(e.membres) && e.membres.length > 0, `EPCI ${e.code} has no members`);
  for (const member of e.membres ?? []) {
    const previous = epciOfCommune.get(member.code);
    check(previous === undefined, `commune ${member.code} is a member of both EPCI ${previous} and EPCI ${e.code}`);
    epciOfCommune.set(member.code, e.code);
  }
}

// --- Communes ----------------------------------------------------------------
// Only current communes: arrondissements municipaux and communes
// déléguées / associées are left out.

const communes = rawCommunes
  .filter((c) => c.type === "commune-actuelle")
  .map((c) => ({
    insee: c.code,
    name: c.nom,
    departement: c.departement,
    region: c.region,
    epci: epciOfCommune.get(c.code) ?? null,
    population: Number.isInteger(c.population) ? c.population : null,
  }))
  .sort(byKey("insee"));
for (const c of communes) {
  check(/^[0-9][0-9AB][0-9]{3}$/.test(c.insee), `commune with invalid INSEE code: ${JSON.stringify(c)}`);
  check(isNonEmptyString(c.name), `commune ${c.insee} has no name`);
  check(departementCodes.has(c.departement), `commune ${c.insee} refers to unknown departement ${c.departement}`);
  check(regionCodes.has(c.region), `commune ${c.insee} refers to unknown region ${c.region}`);
}
const communeCodes = checkUnique(communes, "insee", "commune");

// Both directions of the commune <-> EPCI relation must resolve.
const epciSirens = new Set(epcis.map((e) => e.siren));
for (const c of communes) {
  check(c.epci === null || epciSirens.has(c.epci), `commune ${c.insee} refers to unknown EPCI ${c.epci}`);
}
for (const [insee, siren] of epciOfCommune) {
  check(communeCodes.has(insee), `EPCI ${siren} lists member ${insee}, which is not a current commune`);
}

if (problems.length > 0) {
  console.error(`build.mjs: ${problems.length} consistency problem(s) in ${PACKAGE}@${version}:`);
  for (const p of problems) console.error(`  - ${p}`);
  console.error("geography.json.gz was NOT written.");
  process.exit(1);
}

// --- Output ------------------------------------------------------------------

const geography = {
  source: PACKAGE,
  version,
  licence: "etalab-2.0",
  regions,
  departements,
  epcis,
  communes,
};

const json = JSON.stringify(geography) + "\n";
const gzipped = gzipSync(Buffer.from(json, "utf8"), { level: zlibConstants.Z_BEST_COMPRESSION });
writeFileSync(OUTPUT, gzipped);

const count = (label, n) => `${n} ${label}`;
console.log(
  `wrote ${OUTPUT} (${gzipped.length} bytes gzipped, ${Buffer.byteLength(json)} bytes of JSON) from ${PACKAGE}@${version}: ` +
    [
      count("regions", regions.length),
      count("departements", departements.length),
      count("EPCIs", epcis.length),
      count("communes", communes.length),
    ].join(", "),
);

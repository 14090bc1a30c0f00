// validate-custom-resources.mjs — the outside check of custom resources, for
// validate-manifests.sh. kubernetes-validate knows only built-in kinds; the
// @kubernetes-models packages ship, per custom resource kind, a validator compiled from the
// upstream project's API types (types, required fields, enums, patterns, ranges).
//
// Usage: node validate-custom-resources.mjs MODELS_DIR OBJECTS_JSON
//   MODELS_DIR    a folder whose node_modules holds the @kubernetes-models packages
//   OBJECTS_JSON  a JSON list of {file, object}, one entry per custom resource
// Prints one line per object, `PASS …` or `FAIL …: reason`; exits 1 when any fails.
//
// These validators do not reject unknown fields (the upstream schemas allow them, as a
// cluster prunes them); dpatterns' own typed check does.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

// API group → the package that models it.
const PACKAGES = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
};

const [modelsDir, objectsJson] = process.argv.slice(2);
if (!modelsDir || !objectsJson) {
  console.error("usage: node validate-custom-resources.mjs MODELS_DIR OBJECTS_JSON");
  process.exit(2);
}

const entries = JSON.parse(readFileSync(objectsJson, "utf8"));
let failed = 0;
for (const { file, object } of entries) {
  const apiVersion = String(object?.apiVersion ?? "");
  const kind = String(object?.kind ?? "");
  const meta = object?.metadata ?? {};
  const name = meta.namespace ? `${meta.namespace}/${meta.name}` : `${meta.name}`;
  const what = `${file} ${kind} ${name}`;
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  // Names become a path below: only plain identifiers may.
  const plain = /^[A-Za-z0-9]+$/.test(kind) && /^[a-z0-9]+$/.test(version);
  const pkg = plain ? PACKAGES[group] : undefined;
  const module = pkg && join(modelsDir, "node_modules", pkg, group, version, `${kind}.js`);
  if (!module || !existsSync(module)) {
    console.log(`FAIL ${what}: no schema for ${apiVersion} ${kind}`);
    failed++;
    continue;
  }
  const Model = (await import(pathToFileURL(module).href))[kind];
  const pkgVersion = JSON.parse(
    readFileSync(join(modelsDir, "node_modules", pkg, "package.json"), "utf8"),
  ).version;
  try {
    new Model(object).validate();
    console.log(`PASS ${what} against ${pkg}@${pkgVersion}`);
  } catch (e) {
    console.log(`FAIL ${what}: ${e.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);

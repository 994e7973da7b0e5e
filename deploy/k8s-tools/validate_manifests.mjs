// Offline validation of rendered Kubernetes manifests (`helm template` output), as close to what
// the API server would say as we can get without one:
//
//   1. schema: each object is validated by kubernetes-models' validators, compiled (ajv) from
//      the Kubernetes OpenAPI spec and, for ServiceMonitor/PrometheusRule and Istio's
//      RequestAuthentication, from those projects' CRD schemas: types, required fields, enums,
//      formats (int32, int-or-string, quantities...).
//   2. strict fields: the same package's TypeScript declarations, checked by the real TypeScript
//      compiler, reject unknown fields at any depth (a misspelled `securityContex` would be
//      silently dropped by the API server; kubeconform calls this -strict).
//   3. names: what the OpenAPI schema does not carry but the API server enforces: DNS-1123 object
//      and container names, label keys and values, port names.
// An object of an apiVersion/kind that none of the packages knows is an error.
//
// usage: node validate_manifests.mjs --tools DIR FILE.yaml...   (DIR from scripts/install_k8s_tools.sh)
// Prints one line per object; exits 1 when anything is invalid, 2 on a usage error.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

function usage(message) {
  console.error(`validate_manifests: ${message}\nusage: node validate_manifests.mjs --tools DIR FILE.yaml...`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const toolsIndex = argv.indexOf("--tools");
if (toolsIndex < 0 || !argv[toolsIndex + 1]) usage("--tools DIR is required");
const tools = path.resolve(argv[toolsIndex + 1]);
const files = argv.filter((_, i) => i !== toolsIndex && i !== toolsIndex + 1);
if (files.length === 0) usage("no manifest files");
const modules = path.join(tools, "node_modules");
if (!fs.existsSync(path.join(modules, "kubernetes-models"))) usage(`no kubernetes-models under ${tools}`);

const YAML = await import(pathToFileURL(path.join(modules, "yaml/dist/index.js")).href);

// apiVersion -> the package folder holding its models.
function modelModule(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (!/^[A-Za-z0-9]+$/.test(kind) || !/^[a-z0-9]+$/.test(version) || !/^[a-z0-9.-]*$/.test(group)) {
    return null;
  }
  let pkg;
  if (group === "") pkg = `kubernetes-models/${version}`;
  else if (group === "monitoring.coreos.com") pkg = `@kubernetes-models/prometheus-operator/${group}/${version}`;
  else if (group.endsWith(".istio.io")) pkg = `@kubernetes-models/istio/${group}/${version}`;
  else pkg = `kubernetes-models/${group}/${version}`;
  const file = path.join(modules, pkg, `${kind}.js`);
  return fs.existsSync(file) ? { specifier: `${pkg}/${kind}`, file } : null;
}

// --- names (k8s.io/apimachinery/pkg/util/validation) ---------------------------------------
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function nameErrors(obj) {
  const errors = [];
  const meta = obj.metadata ?? {};
  const name = meta.name ?? "";
  if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) errors.push(`metadata.name "${name}" is not a DNS-1123 subdomain`);
  if (obj.kind === "Service" && (!DNS1035_LABEL.test(name) || name.length > 63)) errors.push(`Service name "${name}" is not a DNS-1035 label (63 max)`);
  if (obj.kind === "CronJob" && name.length > 52) errors.push(`CronJob name "${name}" is longer than 52 characters`);
  if (meta.namespace !== undefined && (!DNS1123_LABEL.test(meta.namespace) || meta.namespace.length > 63)) errors.push(`metadata.namespace "${meta.namespace}" is not a DNS-1123 label`);
  const checkLabels = (labels, where) => {
    for (const [key, value] of Object.entries(labels ?? {})) {
      const slash = key.lastIndexOf("/");
      const prefix = slash >= 0 ? key.slice(0, slash) : "";
      const base = slash >= 0 ? key.slice(slash + 1) : key;
      if ((prefix && (!DNS1123_SUBDOMAIN.test(prefix) || prefix.length > 253)) || !LABEL_NAME.test(base) || base.length > 63) errors.push(`${where}: label key "${key}" is invalid`);
      if (typeof value !== "string" || !LABEL_VALUE.test(value) || value.length > 63) errors.push(`${where}: label "${key}" has an invalid value ${JSON.stringify(value)}`);
    }
  };
  checkLabels(meta.labels, "metadata.labels");
  // Pod templates: Deployment, Job (spec.template) and CronJob (spec.jobTemplate.spec.template).
  const podSpecs = [];
  if (obj.kind === "Pod") podSpecs.push(["spec", obj.spec]);
  if (obj.spec?.template) {
    checkLabels(obj.spec.template.metadata?.labels, "spec.template.metadata.labels");
    podSpecs.push(["spec.template.spec", obj.spec.template.spec]);
  }
  if (obj.spec?.jobTemplate?.spec?.template) {
    checkLabels(obj.spec.jobTemplate.spec.template.metadata?.labels, "spec.jobTemplate.spec.template.metadata.labels");
    podSpecs.push(["spec.jobTemplate.spec.template.spec", obj.spec.jobTemplate.spec.template.spec]);
  }
  for (const [where, spec] of podSpecs) {
    const volumes = new Set((spec?.volumes ?? []).map((v) => v.name));
    for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
      if (!DNS1123_LABEL.test(c.name ?? "")) errors.push(`${where}: container name "${c.name}" is not a DNS-1123 label`);
      for (const p of c.ports ?? []) {
        if (p.name !== undefined && (!PORT_NAME.test(p.name) || p.name.length > 15 || !/[a-z]/.test(p.name))) errors.push(`${where}: port name "${p.name}" is not an IANA service name`);
      }
      for (const m of c.volumeMounts ?? []) {
        if (!volumes.has(m.name)) errors.push(`${where}: container "${c.name}" mounts undeclared volume "${m.name}"`);
      }
    }
  }
  if (obj.kind === "Service") {
    for (const p of obj.spec?.ports ?? []) {
      if (p.name !== undefined && (!PORT_NAME.test(p.name) || p.name.length > 15)) errors.push(`spec.ports: port name "${p.name}" is not an IANA service name`);
    }
  }
  return errors;
}

// --- load ------------------------------------------------------------------------------------
const objects = [];  // {file, index, obj, id, module}
let failed = false;
for (const file of files) {
  // YAML 1.1, as Kubernetes reads it (0440 is octal); duplicate keys are errors.
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"), { version: "1.1", uniqueKeys: true });
  docs.forEach((doc, index) => {
    if (doc.errors.length) {
      console.log(`FAIL ${file}#${index}: YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
      failed = true;
      return;
    }
    const obj = doc.toJS({ maxAliasCount: 100 });
    if (obj === null || obj === undefined) return;  // empty document
    const id = `${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"} (${obj.apiVersion ?? "?"})`;
    const module = obj.apiVersion && obj.kind ? modelModule(obj.apiVersion, obj.kind) : null;
    objects.push({ file, index, obj, id, module, errors: [] });
    if (!module) objects.at(-1).errors.push("unknown apiVersion/kind: no schema for it");
  });
}

// --- 1. schema and 3. names --------------------------------------------------------------------
for (const o of objects) {
  if (!o.module) continue;
  const exported = await import(pathToFileURL(o.module.file).href);
  const Model = exported[o.obj.kind] ?? exported.default;
  try {
    new Model(o.obj).validate();
  } catch (e) {
    for (const line of String(e.message ?? e).split("\n")) if (line.trim()) o.errors.push(`schema: ${line.trim()}`);
  }
  o.errors.push(...nameErrors(o.obj));
}

// --- 2. strict fields, through the TypeScript compiler -------------------------------------------
const known = objects.filter((o) => o.module);
if (known.length) {
  const dir = fs.mkdtempSync(path.join(tools, ".validate-"));
  try {
    const lines = [];
    const ranges = [];  // [firstLine, lastLine, object]
    known.forEach((o, i) => {
      lines.push(`import type { I${o.obj.kind} as T${i} } from "${o.module.specifier}";`);
    });
    known.forEach((o, i) => {
      const body = JSON.stringify(o.obj, null, 2).split("\n");
      const first = lines.length + 1;
      lines.push(`export const o${i}: T${i} = ${body[0]}`, ...body.slice(1));
      lines[lines.length - 1] += ";";
      ranges.push([first, lines.length, o]);
    });
    fs.writeFileSync(path.join(dir, "manifests.ts"), lines.join("\n") + "\n");
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext",
                         skipLibCheck: true, types: [] },
      files: ["manifests.ts"],
    }));
    let output = "";
    try {
      execFileSync(process.execPath, [path.join(modules, "typescript/bin/tsc"), "-p", path.join(dir, "tsconfig.json")],
                   { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      output = `${e.stdout ?? ""}${e.stderr ?? ""}`;
      if (!output.trim()) throw e;
    }
    for (const line of output.split("\n")) {
      const m = /manifests\.ts\((\d+),\d+\): error (TS\d+): (.*)$/.exec(line);
      if (!m) {
        if (line.trim()) { console.log(`FAIL typescript: ${line}`); failed = true; }
        continue;
      }
      const at = Number(m[1]);
      const range = ranges.find(([a, b]) => at >= a && at <= b);
      if (!range) { console.log(`FAIL typescript: ${line}`); failed = true; continue; }
      // The offending line of the pretty-printed JSON names the field.
      const field = (lines[at - 1] ?? "").trim().replace(/[,{[]$/, "");
      range[2].errors.push(`field: ${m[3]} (at ${field})`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// --- report -----------------------------------------------------------------------------------
for (const o of objects) {
  if (o.errors.length) {
    failed = true;
    console.log(`FAIL ${o.id} in ${o.file}`);
    for (const e of o.errors) console.log(`       ${e}`);
  } else {
    console.log(`ok   ${o.id}`);
  }
}
console.log(`${objects.length} objects, ${objects.filter((o) => o.errors.length).length} invalid`);
process.exit(failed ? 1 : 0);

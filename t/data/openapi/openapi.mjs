// The OpenAPI document as JSON Schema 2020-12 for ajv: every schema of
// components.schemas under $defs of one root schema, OpenAPI references
// (#/components/responses/..., parameters, headers) followed here, and
// the schema of one response of one operation compiled on request.
// Shared by validate.mjs (responses of the real stack) and lint.mjs.

import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const ROOT = "https://spectra.invalid/openapi.json";

// "#/components/schemas/X" -> ROOT#/$defs/X, everywhere in a copy
function rewrite(v) {
    if (Array.isArray(v)) {
        return v.map(rewrite);
    }

    if (v !== null && typeof v === "object") {
        const o = {};

        for (const [k, x] of Object.entries(v)) {
            o[k] = (k === "$ref" && typeof x === "string"
                    && x.startsWith("#/components/schemas/"))
                ? ROOT + "#/$defs/" + x.slice("#/components/schemas/".length)
                : rewrite(x);
        }

        return o;
    }

    return v;
}

export function load(path) {
    const doc = JSON.parse(readFileSync(path, "utf8"));
    const ajv = new Ajv2020({
        strict: true, strictRequired: false, strictTypes: false,
        allowUnionTypes: true,
        allErrors: true
    });

    addFormats(ajv);
    ajv.addSchema({ $id: ROOT,
                    $defs: rewrite(doc.components?.schemas ?? {}) });

    return { doc, ajv };
}

// follows an OpenAPI "#/components/..." reference (not a schema's)
export function deref(doc, v) {
    let seen = 0;

    while (v && typeof v.$ref === "string") {
        if (!v.$ref.startsWith("#/") || ++seen > 8) {
            throw new Error(`cannot follow ${v.$ref}`);
        }

        let t = doc;

        for (const part of v.$ref.slice(2).split("/")) {
            t = t?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
        }

        if (t === undefined) {
            throw new Error(`${v.$ref} does not exist`);
        }

        v = t;
    }

    return v;
}

// "GET /v1/jobs/{id}" -> the operation, or an Error naming what is missing
export function operation(doc, op) {
    const m = /^([A-Z]+) (\S+)$/.exec(op);

    if (m === null) {
        throw new Error(`"${op}" is not "METHOD /path/{template}"`);
    }

    const item = doc.paths?.[m[2]];

    if (item === undefined) {
        throw new Error(`the document has no path ${m[2]}`);
    }

    const o = item[m[1].toLowerCase()];

    if (o === undefined) {
        throw new Error(`the document has no operation ${op}`);
    }

    return o;
}

export function compile(ajv, schema) {
    return ajv.compile(rewrite(schema));
}

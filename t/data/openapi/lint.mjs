// Lints docs/openapi.json (scripts/lint.sh): valid OpenAPI 3.1 by the
// specification's own JSON Schema (@seriousme/openapi-schema-validator,
// every $ref resolved), then the rules of this API: every operation has
// an operationId, every response says X-Request-Id, every error response
// is the shared error object, every schema compiles in ajv's strict mode
// (as t/data/openapi/validate.mjs uses them), and the document's examples
// validate.  Prints one line per problem; exits 0 when there is none.
//
//   node lint.mjs docs/openapi.json

import { Validator } from "@seriousme/openapi-schema-validator";
import { load, deref, compile } from "./openapi.mjs";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch",
                 "trace"];

async function main(path) {
    const problems = [];
    const validator = new Validator();
    const res = await validator.validate(path);

    if (!res.valid) {
        console.log(`${path}: not valid OpenAPI: `
                    + JSON.stringify(res.errors, null, 1));
        return 1;
    }

    if (validator.version !== "3.1") {
        problems.push(`OpenAPI ${validator.version}, not 3.1`);
    }

    const { doc, ajv } = load(path);

    // every schema of components compiles on its own
    for (const name of Object.keys(doc.components?.schemas ?? {})) {
        try {
            compile(ajv, { $ref: `#/components/schemas/${name}` });
        } catch (e) {
            problems.push(`components.schemas.${name}: ${e.message}`);
        }
    }

    for (const [p, item] of Object.entries(doc.paths ?? {})) {
        for (const m of METHODS) {
            const op = item[m];

            if (op === undefined) {
                continue;
            }

            const where = `${m.toUpperCase()} ${p}`;

            if (!op.operationId) {
                problems.push(`${where}: no operationId`);
            }

            if (!op.responses || Object.keys(op.responses).length === 0) {
                problems.push(`${where}: no responses`);
                continue;
            }

            for (const [status, r0] of Object.entries(op.responses)) {
                const r = deref(doc, r0);
                const at = `${where} ${status}`;

                if (!r.headers?.["X-Request-Id"]) {
                    problems.push(`${at}: no X-Request-Id header`);
                }

                for (const [h, v] of Object.entries(r.headers ?? {})) {
                    try {
                        compile(ajv, deref(doc, v).schema ?? {});
                    } catch (e) {
                        problems.push(`${at} header ${h}: ${e.message}`);
                    }
                }

                for (const [type, c] of Object.entries(r.content ?? {})) {
                    let v;

                    try {
                        v = compile(ajv, c.schema ?? {});
                    } catch (e) {
                        problems.push(`${at} ${type}: ${e.message}`);
                        continue;
                    }

                    if (status >= "400" && type === "application/json"
                        && !JSON.stringify(c.schema)
                               .includes("#/components/schemas/Error"))
                    {
                        problems.push(`${at}: not the shared Error schema`);
                    }

                    for (const ex of c.schema?.examples ?? []) {
                        if (!v(ex)) {
                            problems.push(`${at}: an example is invalid: `
                                          + ajv.errorsText(v.errors));
                        }
                    }
                }

                if (status >= "400" && !r.content?.["application/json"]) {
                    problems.push(`${at}: an error without a JSON body`);
                }
            }
        }
    }

    // examples in the schemas themselves
    for (const [name, s] of Object.entries(doc.components?.schemas ?? {})) {
        for (const ex of s.examples ?? []) {
            const v = compile(ajv, { $ref: `#/components/schemas/${name}` });

            if (!v(ex)) {
                problems.push(`components.schemas.${name}: an example is `
                              + `invalid: ${ajv.errorsText(v.errors)}`);
            }
        }
    }

    for (const p of problems) {
        console.log(`${path}: ${p}`);
    }

    return problems.length ? 1 : 0;
}

process.exitCode = await main(process.argv[2] ?? "docs/openapi.json");

// Validates one real response against docs/openapi.json:
//
//   node validate.mjs SPEC 'METHOD /v1/path/{template}' STATUS BODYFILE
//        [HEADERFILE]
//
// BODYFILE holds the response body ("-": standard input); HEADERFILE, if
// given, the response's header lines ("Name: value", one a line). Checks
// that STATUS is a response the document gives the operation, that the
// body is valid JSON valid against that response's schema (a text/csv
// response: any text), and with headers: that the Content-Type is one of
// the response's media types and every header the response declares is
// present when required and valid against its schema. Prints "valid", or
// "invalid:" and one line per error; exits 0 or 1 (2: bad arguments).

import { readFileSync } from "node:fs";
import { load, deref, operation, compile } from "./openapi.mjs";

function main(argv) {
    if (argv.length < 4 || argv.length > 5) {
        console.error("usage: validate.mjs SPEC 'METHOD /path' STATUS "
                      + "BODYFILE [HEADERFILE]");
        return 2;
    }

    const [spec, op, status, bodyFile, headerFile] = argv;
    const { doc, ajv } = load(spec);
    const errors = [];

    let res;

    try {
        const o = operation(doc, op);

        res = o.responses?.[status];

        if (res === undefined) {
            throw new Error(`${status} is not a response of ${op} (it has `
                            + Object.keys(o.responses ?? {}).join(", ")
                            + ")");
        }

        res = deref(doc, res);

    } catch (e) {
        console.log(`invalid:\n${e.message}`);
        return 1;
    }

    const body = readFileSync(bodyFile === "-" ? 0 : bodyFile, "utf8");
    const types = Object.keys(res.content ?? {});
    let headers = null;

    if (headerFile !== undefined) {
        headers = new Map();

        for (const line of readFileSync(headerFile, "utf8").split(/\r?\n/)) {
            const m = /^([^:\s]+):\s*(.*?)\s*$/.exec(line);

            if (m !== null) {
                headers.set(m[1].toLowerCase(), m[2]);
            }
        }
    }

    let type = types[0];

    if (headers !== null) {
        const ct = (headers.get("content-type") ?? "").split(";")[0].trim();

        if (types.length === 0 ? ct !== "" && body !== ""
                               : !types.includes(ct))
        {
            errors.push(`Content-Type "${headers.get("content-type") ?? ""}"`
                        + ` is not one of ${types.join(", ") || "(none)"}`);
        }

        if (types.includes(ct)) {
            type = ct;
        }

        for (const [name, h0] of Object.entries(res.headers ?? {})) {
            const h = deref(doc, h0);
            const value = headers.get(name.toLowerCase());

            if (value === undefined) {
                if (h.required) {
                    errors.push(`the header ${name} is missing`);
                }

                continue;
            }

            if (h.schema !== undefined) {
                const v = compile(ajv, h.schema);

                if (!v(value)) {
                    errors.push(`the header ${name}: "${value}" `
                                + ajv.errorsText(v.errors));
                }
            }
        }
    }

    if (type === "application/json") {
        let data;

        try {
            data = JSON.parse(body);

        } catch (e) {
            errors.push(`the body is not JSON: ${e.message}`);
        }

        if (data !== undefined) {
            const v = compile(ajv, res.content[type].schema ?? {});

            if (!v(data)) {
                for (const e of v.errors) {
                    errors.push(`body${e.instancePath} ${e.message}`
                                + (e.params && Object.keys(e.params).length
                                   ? " " + JSON.stringify(e.params) : "")
                                + ` (${e.schemaPath})`);
                }
            }
        }

    } else if (type === undefined && body !== "") {
        errors.push(`${status} has no body in the document, and the answer `
                    + `has ${body.length} bytes`);
    }

    if (errors.length) {
        console.log(["invalid:", ...errors].join("\n"));
        return 1;
    }

    console.log("valid");
    return 0;
}

process.exitCode = main(process.argv.slice(2));

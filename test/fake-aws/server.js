#!/usr/bin/env node
// A fake AWS JSON-protocol endpoint for sb's tests: every POST / is checked
// for a valid SigV4 signature, recomputed with AWS's own signer
// (@smithy/signature-v4), then answered from a script, in order, per
// X-Amz-Target. Every request is recorded for GET /_requests.
//
//   node server.js [--port N] [--host ADDR] --script FILE|JSON
//
// --port 0 (the default) takes a free port. Once the server accepts
// connections it prints the port, alone on a line, on stdout.
// README.md beside this file describes the script.
"use strict";

const crypto = require("node:crypto");
const common = require("../fake-common/serve.js");
const { SignatureV4 } = require("@smithy/signature-v4");
const { Hash } = require("@smithy/hash-node");

const Sha256 = Hash.bind(null, "sha256");

// The signing name each target prefix belongs to, to check the credential scope.
const SERVICES = [
	["GraniteServiceVersion20100801.", "monitoring"],
	["Logs_20140328.", "logs"],
];

const BAD_SIGNATURE =
	"The request signature we calculated does not match the signature you provided. " +
	"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

const usage = (message) => common.usage("fake-aws", message);

const readScript = (arg) => common.readScript(arg, checkScript);

function checkScript(script) {
	if (script === null || typeof script !== "object" || Array.isArray(script))
		throw new Error("the script is not a JSON object");
	const out = {
		region: script.region ?? null,
		credentials: {},
		responses: {},
		strict: script.strict === true,
		maxSkew: script.max_skew_seconds ?? null,
	};
	for (const [akid, v] of Object.entries(script.credentials ?? {})) {
		if (typeof v === "string")
			out.credentials[akid] = { secret: v };
		else if (v && typeof v === "object" && typeof v.secret === "string")
			out.credentials[akid] = { secret: v.secret, sessionToken: v.session_token ?? null, expired: v.expired === true };
		else
			throw new Error(`credentials.${akid}: neither a secret nor {"secret": ...}`);
	}
	for (const [target, answers] of Object.entries(script.responses ?? {})) {
		const list = Array.isArray(answers) ? answers : [answers];
		if (list.length === 0)
			throw new Error(`responses.${target}: no answer`);
		out.responses[target] = list;
	}
	return out;
}

let script;
let served = {};         // target -> answers served so far
const requests = [];     // what GET /_requests returns

// An answer is wrapped when "status" is a number and it has no other keys than
// these: a bare GetQueryResults body also has "status", but a string.
const WRAPPER_KEYS = new Set(["status", "body", "headers", "delay_ms", "drop"]);
function isWrapped(a) {
	return a !== null && typeof a === "object" && !Array.isArray(a) &&
		typeof a.status === "number" && Object.keys(a).every((k) => WRAPPER_KEYS.has(k));
}

function contentTypeFor(req, target) {
	const ct = req.headers["content-type"] ?? "";
	if (/^application\/x-amz-json-1\.[01]\b/.test(ct))
		return ct.split(";")[0];
	return target.startsWith("Logs_") ? "application/x-amz-json-1.1" : "application/x-amz-json-1.0";
}

function send(res, status, headers, body) {
	const data = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
	const h = { "x-amzn-RequestId": crypto.randomUUID(), "Content-Length": Buffer.byteLength(data) };
	for (const [k, v] of Object.entries(headers)) {
		for (const old of Object.keys(h))
			if (old.toLowerCase() === k.toLowerCase())
				delete h[old];
		h[k] = v;
	}
	res.writeHead(status, h);
	res.end(data);
}

// AWS's JSON error shape, with the type also in x-amzn-ErrorType.
function sendError(res, ctype, status, type, message) {
	send(res, status, { "Content-Type": ctype, "x-amzn-ErrorType": type }, { __type: type, message });
}

function parseAuthorization(value) {
	const m = /^AWS4-HMAC-SHA256\s+(.*)$/.exec(value ?? "");
	if (!m)
		return null;
	const fields = {};
	for (const part of m[1].split(",")) {
		const i = part.indexOf("=");
		if (i > 0)
			fields[part.slice(0, i).trim()] = part.slice(i + 1).trim();
	}
	const scope = (fields.Credential ?? "").split("/");
	if (scope.length !== 5 || scope[4] !== "aws4_request" || !fields.SignedHeaders || !/^[0-9a-f]{64}$/.test(fields.Signature ?? ""))
		return null;
	return {
		accessKeyId: scope[0], date: scope[1], region: scope[2], service: scope[3],
		signedHeaders: fields.SignedHeaders.split(";"), signature: fields.Signature,
	};
}

function parseAmzDate(value) {
	const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(value ?? "");
	return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : null;
}

// verify: null when the request is correctly signed for the script's
// credentials and region, else [status, __type, message].
async function verify(req, url, target, body) {
	const h = req.headers;
	if (h.authorization === undefined)
		return [400, "MissingAuthenticationTokenException", "Missing Authentication Token"];
	const auth = parseAuthorization(h.authorization);
	if (!auth)
		return [400, "IncompleteSignatureException", `Authorization header is not a valid AWS4-HMAC-SHA256 header: '${h.authorization.replace(/Signature=\w+/, "Signature=...")}'`];
	const date = parseAmzDate(h["x-amz-date"]);
	if (!date)
		return [400, "IncompleteSignatureException", "Authorization header requires existence of a valid 'X-Amz-Date' header."];
	const cred = script.credentials[auth.accessKeyId];
	if (!cred)
		return [403, "UnrecognizedClientException", "The security token included in the request is invalid."];
	if (cred.expired)
		return [403, "ExpiredTokenException", "The security token included in the request is expired"];
	const token = h["x-amz-security-token"];
	if ((cred.sessionToken ?? undefined) !== token)
		return [403, "UnrecognizedClientException", "The security token included in the request is invalid."];
	if (token !== undefined && !auth.signedHeaders.includes("x-amz-security-token"))
		return [403, "InvalidSignatureException", "The X-Amz-Security-Token header must be signed."];
	if (script.region !== null && auth.region !== script.region)
		return [403, "InvalidSignatureException", `Credential should be scoped to a valid region, not '${auth.region}'. `];
	const service = SERVICES.find(([prefix]) => target.startsWith(prefix));
	if (service && auth.service !== service[1])
		return [403, "InvalidSignatureException", `Credential should be scoped to correct service: '${service[1]}'. `];
	const longDate = h["x-amz-date"];
	if (auth.date !== longDate.slice(0, 8))
		return [403, "InvalidSignatureException", `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${longDate.slice(0, 8)}', from '${longDate}'.`];
	if (script.maxSkew !== null && Math.abs(Date.now() - date.getTime()) > script.maxSkew * 1000)
		return [403, "InvalidSignatureException", `Signature expired: ${longDate} is outside the allowed clock skew of ${script.maxSkew} s.`];
	const sha = h["x-amz-content-sha256"];
	if (sha !== undefined && sha !== "UNSIGNED-PAYLOAD" &&
	    sha !== crypto.createHash("sha256").update(body).digest("hex"))
		return [403, "InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed."];

	// Re-sign the same request, with only the headers it says it signed.
	const headers = {};
	for (const name of auth.signedHeaders)
		if (h[name] !== undefined)
			headers[name] = Array.isArray(h[name]) ? h[name].join(",") : h[name];
	const query = {};
	for (const [k, v] of url.searchParams)
		query[k] = k in query ? [].concat(query[k], v) : v;
	const signer = new SignatureV4({
		credentials: { accessKeyId: auth.accessKeyId, secretAccessKey: cred.secret },
		region: auth.region, service: auth.service, sha256: Sha256, applyChecksum: false,
	});
	const signed = await signer.sign(
		{ method: req.method, protocol: "http:", hostname: "127.0.0.1", path: url.pathname, query, headers, body },
		{ signingDate: date, signingRegion: auth.region, signingService: auth.service,
		  signableHeaders: new Set(auth.signedHeaders) });
	const expect = parseAuthorization(signed.headers.authorization);
	const same = expect.signedHeaders.join(";") === auth.signedHeaders.join(";") &&
		crypto.timingSafeEqual(Buffer.from(expect.signature), Buffer.from(auth.signature));
	return same ? null : [403, "InvalidSignatureException", BAD_SIGNATURE];
}

function nextAnswer(target) {
	const list = script.responses[target];
	const n = served[target] ?? 0;
	served[target] = n + 1;
	if (n < list.length)
		return list[n];
	return script.strict ? null : list[list.length - 1];
}

async function handleAws(req, res, url, raw) {
	const target = req.headers["x-amz-target"] ?? "";
	const ctype = contentTypeFor(req, target);
	const rec = { target, body: null, headers: { ...req.headers }, signature_ok: false, ts: Date.now() };
	requests.push(rec);
	if (raw.length > 0) {
		try {
			rec.body = JSON.parse(raw.toString("utf8"));
		} catch {
			rec.body = raw.toString("utf8");
		}
	}
	const fail = (status, type, message) => {
		rec.status = status;
		rec.error = type;
		sendError(res, ctype, status, type, message);
	};

	const bad = await verify(req, url, target, raw);
	if (bad)
		return fail(...bad);
	rec.signature_ok = true;
	if (url.pathname !== "/")
		return fail(404, "UnknownOperationException", `fake-aws serves POST /, not ${url.pathname}`);
	if (typeof rec.body === "string")
		return fail(400, "SerializationException", "the request body is not JSON");
	if (!target)
		return fail(400, "UnknownOperationException", "the request has no X-Amz-Target");
	if (!script.responses[target])
		return fail(400, "UnknownOperationException", `fake-aws: no answer is scripted for ${target}`);
	const answer = nextAnswer(target);
	if (answer === null)
		return fail(500, "InternalFailure", `fake-aws: the scripted answers for ${target} are used up (strict)`);

	const w = isWrapped(answer) ? answer : { status: 200, body: answer };
	rec.status = w.status;
	if (w.delay_ms)
		await new Promise((resolve) => setTimeout(resolve, w.delay_ms));
	if (w.drop)
		return req.socket.destroy();
	const headers = { "Content-Type": ctype };
	const type = w.body && typeof w.body === "object" ? w.body.__type : undefined;
	if (w.status >= 400 && typeof type === "string")
		headers["x-amzn-ErrorType"] = type;
	Object.assign(headers, w.headers ?? {});
	send(res, w.status, headers, w.body ?? {});
}

function handleControl(req, res, url, raw) {
	const json = { "Content-Type": "application/json" };
	if (req.method === "GET" && url.pathname === "/_requests")
		return send(res, 200, json, requests);
	if (req.method === "DELETE" && url.pathname === "/_requests") {
		requests.length = 0;
		return send(res, 204, {});
	}
	if (req.method === "GET" && url.pathname === "/_count")
		return send(res, 200, json, String(requests.length));
	if (req.method === "POST" && url.pathname === "/_script") {
		try {
			script = checkScript(JSON.parse(raw.toString("utf8")));
		} catch (e) {
			return send(res, 400, json, { message: `bad script: ${e.message}` });
		}
		served = {};
		return send(res, 204, {});
	}
	return send(res, 404, json, { message: `fake-aws: no ${req.method} ${url.pathname}` });
}

function main() {
	const args = common.parseArgs("fake-aws");
	try {
		script = readScript(args.scriptArg);
	} catch (e) {
		usage(`bad script: ${e.message}`);
	}
	common.serve("fake-aws", args,
		(req, res, url, raw) => url.pathname.startsWith("/_") ? handleControl(req, res, url, raw)
			: req.method === "POST" ? handleAws(req, res, url, raw)
			: send(res, 405, { "Content-Type": "application/json" }, { message: "fake-aws answers POST /" }),
		(res, e) => send(res, 500, { "Content-Type": "application/json" },
			{ __type: "InternalFailure", message: String(e.message) }));
}

main();

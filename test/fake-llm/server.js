#!/usr/bin/env node
// A fake language-model server for sb-gen's tests. It serves OpenAI's Chat
// Completions API (POST /chat/completions, or /v1/chat/completions when the
// base URL ends in /v1) and Anthropic's Messages API (POST /v1/messages),
// checks each request's method, path, headers and body the way those APIs
// do, and answers from a script, in order. Every request is recorded for
// GET /_requests. Only Node.js's own modules are used.
//
//   node server.js [--port N] [--host ADDR] --script FILE|JSON
//
// --port 0 (the default) takes a free port. Once the server accepts
// connections it prints the port, alone on a line, on stdout.
// README.md beside this file describes the script.
"use strict";

const crypto = require("node:crypto");
const common = require("../fake-common/serve.js");

const OPENAI_PATHS = new Set(["/chat/completions", "/v1/chat/completions"]);
const ANTHROPIC_PATH = "/v1/messages";
const ANTHROPIC_VERSIONS = ["2023-06-01", "2023-01-01"];
const OPENAI_ROLES = ["system", "assistant", "user", "function", "tool", "developer"];

const usage = (message) => common.usage("fake-llm", message);

const readScript = (arg) => common.readScript(arg, checkScript);

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const names = (v) => v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];

const ANSWER_KEYS = new Set(["text", "usage", "model", "id", "finish_reason", "stop_reason",
	"status", "headers", "body", "error", "raw", "delay_ms", "drop"]);

function checkAnswer(a, where) {
	if (!isObject(a))
		throw new Error(`${where}: an answer is a JSON object`);
	for (const k of Object.keys(a))
		if (!ANSWER_KEYS.has(k))
			throw new Error(`${where}: unknown key '${k}'`);
	if (!("text" in a || "raw" in a || "status" in a || "body" in a || "drop" in a))
		throw new Error(`${where}: an answer needs "text", "raw", "status", "body" or "drop"`);
	if ("text" in a && typeof a.text !== "string" &&
	    !(Array.isArray(a.text) && a.text.every((t) => typeof t === "string")))
		throw new Error(`${where}.text: neither a string nor an array of strings`);
	if ("raw" in a && typeof a.raw !== "string")
		throw new Error(`${where}.raw: not a string`);
	if ("status" in a && !(Number.isInteger(a.status) && a.status >= 100 && a.status <= 599))
		throw new Error(`${where}.status: not an HTTP status`);
	if ("delay_ms" in a && !(typeof a.delay_ms === "number" && a.delay_ms >= 0))
		throw new Error(`${where}.delay_ms: not a number of milliseconds`);
	if ("headers" in a && !isObject(a.headers))
		throw new Error(`${where}.headers: not an object`);
	if ("usage" in a && !isObject(a.usage))
		throw new Error(`${where}.usage: not an object`);
	if ("error" in a && !isObject(a.error))
		throw new Error(`${where}.error: not an object`);
	return a;
}

function checkList(v, where) {
	const list = Array.isArray(v) ? v : [v];
	if (list.length === 0)
		throw new Error(`${where}: no answer`);
	return list.map((a, i) => checkAnswer(a, `${where}[${i}]`));
}

const CHECK_KEYS = new Set(["require_field", "forbid_field", "model", "fields", "openai", "anthropic"]);

function checkChecks(c, where, nested) {
	if (c === undefined || c === null)
		return {};
	if (!isObject(c))
		throw new Error(`${where}: not an object`);
	for (const k of Object.keys(c))
		if (!CHECK_KEYS.has(k) || (nested && (k === "openai" || k === "anthropic")))
			throw new Error(`${where}: unknown check '${k}'`);
	for (const k of ["require_field", "forbid_field"])
		if (!names(c[k]).every((n) => typeof n === "string"))
			throw new Error(`${where}.${k}: neither a field name nor a list of them`);
	if ("model" in c && typeof c.model !== "string")
		throw new Error(`${where}.model: not a string`);
	if ("fields" in c && !isObject(c.fields))
		throw new Error(`${where}.fields: not an object`);
	if (!nested)
		for (const api of ["openai", "anthropic"])
			checkChecks(c[api], `${where}.${api}`, true);
	return c;
}

function checkScript(s) {
	if (!isObject(s))
		throw new Error("the script is not a JSON object");
	const known = new Set(["key", "anthropic_version", "checks", "answers", "routes", "strict"]);
	for (const k of Object.keys(s))
		if (!known.has(k))
			throw new Error(`unknown key '${k}'`);
	if (s.key !== undefined && s.key !== null && typeof s.key !== "string")
		throw new Error("key: not a string");
	const versions = s.anthropic_version === undefined || s.anthropic_version === null
		? ANTHROPIC_VERSIONS : names(s.anthropic_version);
	if (!versions.every((v) => typeof v === "string"))
		throw new Error("anthropic_version: neither a string nor a list of them");
	const out = {
		key: s.key ?? null,
		versions,
		checks: checkChecks(s.checks, "checks", false),
		strict: s.strict === true,
		queues: {},      // queue name -> answers
		routes: [],      // [{contains, queue}]
	};
	const answers = s.answers ?? [];
	if (isObject(answers) && !("text" in answers || "raw" in answers || "status" in answers ||
	    "body" in answers || "drop" in answers)) {
		// Per API ("openai", "anthropic") or per request path.
		for (const [name, list] of Object.entries(answers))
			out.queues[name] = checkList(list, `answers.${name}`);
	} else if (!Array.isArray(answers) || answers.length > 0) {
		out.queues["*"] = checkList(answers, "answers");
	}
	if (!Array.isArray(s.routes ?? []))
		throw new Error("routes: not an array");
	(s.routes ?? []).forEach((r, i) => {
		if (!isObject(r) || typeof r.contains !== "string" || r.answers === undefined)
			throw new Error(`routes[${i}]: not {"contains": TEXT, "answers": [...]}`);
		out.queues[`route ${i}`] = checkList(r.answers, `routes[${i}].answers`);
		out.routes.push({ contains: r.contains, queue: `route ${i}` });
	});
	return out;
}

let script;
let served = {};         // queue name -> answers served so far
const requests = [];     // what GET /_requests returns

function send(res, status, headers, body) {
	const data = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
	const h = { "Content-Length": Buffer.byteLength(data) };
	for (const [k, v] of Object.entries(headers)) {
		for (const old of Object.keys(h))
			if (old.toLowerCase() === k.toLowerCase())
				delete h[old];
		h[k] = v;
	}
	res.writeHead(status, h);
	res.end(data);
}

// Error bodies and the headers every answer carries, in each API's shape.
const OPENAI_TYPES = { 400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error",
	404: "invalid_request_error", 405: "invalid_request_error", 409: "invalid_request_error",
	413: "invalid_request_error", 429: "requests" };
const OPENAI_CODES = { 401: "invalid_api_key", 429: "rate_limit_exceeded" };
const ANTHROPIC_TYPES = { 400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
	403: "permission_error", 404: "not_found_error", 405: "invalid_request_error", 408: "timeout_error",
	413: "request_too_large", 429: "rate_limit_error", 500: "api_error", 504: "timeout_error",
	529: "overloaded_error" };
const MESSAGES = { invalid_request_error: "Invalid request", authentication_error: "invalid x-api-key",
	billing_error: "Your credit balance is too low to access the Anthropic API.",
	permission_error: "Your API key does not have permission to use the specified resource.",
	not_found_error: "Not found", request_too_large: "Request exceeds the maximum allowed number of bytes.",
	rate_limit_error: "Number of request tokens has exceeded your per-minute rate limit",
	requests: "Rate limit reached for requests", api_error: "Internal server error",
	server_error: "The server had an error while processing your request. Sorry about that!",
	timeout_error: "Request timed out", overloaded_error: "Overloaded" };

const API = {
	openai: {
		headers: () => ({ "Content-Type": "application/json", "x-request-id": `req_${hex(16)}` }),
		error(status, type, message, code, param) {
			type = type ?? OPENAI_TYPES[status] ?? (status >= 500 ? "server_error" : "invalid_request_error");
			return { error: { message: message ?? MESSAGES[type] ?? `error ${status}`, type,
				param: param ?? null, code: code === undefined ? OPENAI_CODES[status] ?? null : code } };
		},
		errorType: (body) => body?.error?.type,
	},
	anthropic: {
		headers: () => ({ "Content-Type": "application/json", "request-id": `req_${hex(12)}` }),
		error(status, type, message) {
			type = type ?? ANTHROPIC_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
			return { type: "error", error: { type, message: message ?? MESSAGES[type] ?? `error ${status}` } };
		},
		errorType: (body) => body?.error?.type,
	},
};

const hex = (n) => crypto.randomBytes(n).toString("hex");

// The text of a message's content: a string, or an array of blocks
// ({"type":"text","text":...}, or OpenAI's content parts).
function contentText(c) {
	if (typeof c === "string")
		return c;
	if (Array.isArray(c))
		return c.map((b) => typeof b === "string" ? b : typeof b?.text === "string" ? b.text : "").join("\n");
	return "";
}

// All the prompt's text: the system prompt and every message, for token
// estimates and routes.
function promptText(body) {
	const parts = [];
	if (body.system !== undefined)
		parts.push(contentText(body.system));
	for (const m of Array.isArray(body.messages) ? body.messages : [])
		parts.push(contentText(m?.content));
	return parts.join("\n");
}

// Tokens estimated from bytes, four to a token, as sb-gen itself estimates.
const tokens = (text) => Math.max(1, Math.ceil(Buffer.byteLength(text) / 4));

const isCount = (v) => Number.isInteger(v) && v >= 1;

// The checks both APIs' bodies go through. Each returns null or
// [status, type, message, code, param] (code and param for OpenAI).
function validateOpenAI(body) {
	if (typeof body.model !== "string" || body.model === "")
		return [400, "invalid_request_error", "you must provide a model parameter", null, null];
	if (body.messages === undefined)
		return [400, "invalid_request_error", "Missing required parameter: 'messages'.", "missing_required_parameter", "messages"];
	if (!Array.isArray(body.messages))
		return [400, "invalid_request_error", `Invalid type for 'messages': expected an array, but got ${typeof body.messages} instead.`, "invalid_type", "messages"];
	if (body.messages.length === 0)
		return [400, "invalid_request_error", "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "empty_array", "messages"];
	for (const [i, m] of body.messages.entries()) {
		if (!isObject(m))
			return [400, "invalid_request_error", `Invalid type for 'messages[${i}]': expected an object.`, "invalid_type", `messages[${i}]`];
		if (m.role === undefined)
			return [400, "invalid_request_error", `Missing required parameter: 'messages[${i}].role'.`, "missing_required_parameter", `messages[${i}].role`];
		if (!OPENAI_ROLES.includes(m.role))
			return [400, "invalid_request_error", `Invalid value: '${m.role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`, "invalid_value", `messages[${i}].role`];
		if (m.content === undefined && m.role !== "assistant")
			return [400, "invalid_request_error", `Missing required parameter: 'messages[${i}].content'.`, "missing_required_parameter", `messages[${i}].content`];
		if (m.content !== undefined && m.content !== null && typeof m.content !== "string" && !Array.isArray(m.content))
			return [400, "invalid_request_error", `Invalid type for 'messages[${i}].content': expected one of a string or array of objects.`, "invalid_type", `messages[${i}].content`];
	}
	if (body.temperature !== undefined && body.temperature !== null) {
		if (typeof body.temperature !== "number")
			return [400, "invalid_request_error", `Invalid type for 'temperature': expected a decimal, but got ${typeof body.temperature} instead.`, "invalid_type", "temperature"];
		if (body.temperature < 0 || body.temperature > 2)
			return [400, "invalid_request_error", `Invalid 'temperature': decimal ${body.temperature < 0 ? "below minimum value. Expected a value >= 0" : "above maximum value. Expected a value <= 2"}, but got ${body.temperature} instead.`,
				body.temperature < 0 ? "decimal_below_min_value" : "decimal_above_max_value", "temperature"];
	}
	for (const f of ["max_tokens", "max_completion_tokens"])
		if (body[f] !== undefined && body[f] !== null && !isCount(body[f]))
			return [400, "invalid_request_error", `Invalid '${f}': expected an integer of at least 1, but got ${JSON.stringify(body[f])} instead.`, "invalid_value", f];
	return null;
}

function validateAnthropic(body) {
	if (body.model === undefined)
		return [400, "invalid_request_error", "model: Field required"];
	if (typeof body.model !== "string" || body.model === "")
		return [400, "invalid_request_error", "model: Input should be a valid string"];
	if (body.max_tokens === undefined)
		return [400, "invalid_request_error", "max_tokens: Field required"];
	if (!Number.isInteger(body.max_tokens))
		return [400, "invalid_request_error", "max_tokens: Input should be a valid integer"];
	if (body.max_tokens < 1)
		return [400, "invalid_request_error", "max_tokens: Input should be greater than or equal to 1"];
	if (body.messages === undefined)
		return [400, "invalid_request_error", "messages: Field required"];
	if (!Array.isArray(body.messages))
		return [400, "invalid_request_error", "messages: Input should be a valid list"];
	if (body.messages.length === 0)
		return [400, "invalid_request_error", "messages: at least one message is required"];
	for (const [i, m] of body.messages.entries()) {
		if (!isObject(m))
			return [400, "invalid_request_error", `messages.${i}: Input should be a valid dictionary or object`];
		if (m.role === "system")
			return [400, "invalid_request_error", "messages: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role."];
		if (m.role !== "user" && m.role !== "assistant")
			return [400, "invalid_request_error", `messages.${i}.role: Input should be 'user' or 'assistant'`];
		if (m.content === undefined)
			return [400, "invalid_request_error", `messages.${i}.content: Field required`];
		if (typeof m.content !== "string" && !Array.isArray(m.content))
			return [400, "invalid_request_error", `messages.${i}.content: Input should be a valid list`];
	}
	if (body.system !== undefined && typeof body.system !== "string" &&
	    !(Array.isArray(body.system) && body.system.every((b) => isObject(b) && b.type === "text" && typeof b.text === "string")))
		return [400, "invalid_request_error", "system: Input should be a valid string"];
	if (body.temperature !== undefined) {
		if (typeof body.temperature !== "number")
			return [400, "invalid_request_error", "temperature: Input should be a valid number"];
		if (body.temperature < 0)
			return [400, "invalid_request_error", "temperature: Input should be greater than or equal to 0"];
		if (body.temperature > 1)
			return [400, "invalid_request_error", "temperature: Input should be less than or equal to 1"];
	}
	return null;
}

function deepEqual(a, b) {
	return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}
function canon(v) {
	if (Array.isArray(v))
		return v.map(canon);
	if (isObject(v))
		return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
	return v;
}

// The script's own checks, flat ones for both APIs and those under the API's
// name for it alone.
function scriptChecks(api, body) {
	const flat = script.checks, own = script.checks[api] ?? {};
	const openai = api === "openai";
	for (const f of [...names(flat.require_field), ...names(own.require_field)])
		if (body[f] === undefined)
			return openai ? [400, "invalid_request_error", `Missing required parameter: '${f}'.`, "missing_required_parameter", f]
				: [400, "invalid_request_error", `${f}: Field required`];
	for (const f of [...names(flat.forbid_field), ...names(own.forbid_field)])
		if (body[f] !== undefined) {
			const instead = f === "max_tokens" ? " Use 'max_completion_tokens' instead." : "";
			return openai ? [400, "invalid_request_error", `Unsupported parameter: '${f}' is not supported with this model.${instead}`, "unsupported_parameter", f]
				: [400, "invalid_request_error", `${f}: Extra inputs are not permitted`];
		}
	const model = own.model ?? flat.model;
	if (model !== undefined && body.model !== model)
		return openai ? [404, "invalid_request_error", `The model \`${body.model}\` does not exist or you do not have access to it.`, "model_not_found", null]
			: [404, "not_found_error", `model: ${body.model}`];
	for (const [f, want] of Object.entries({ ...(flat.fields ?? {}), ...(own.fields ?? {}) }))
		if (!deepEqual(body[f], want))
			return [400, "invalid_request_error", `fake-llm: '${f}' is ${JSON.stringify(body[f] ?? null)}, the script expects ${JSON.stringify(want)}`, "fake_llm_check", f];
	return null;
}

// The key check: OpenAI's bearer token or Anthropic's x-api-key.
function checkKey(api, h) {
	if (script.key === null)
		return null;
	if (api === "openai") {
		const auth = h.authorization;
		if (auth === undefined)
			return [401, "invalid_request_error", "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", null, null];
		const m = /^Bearer (.*)$/.exec(auth);
		if (!m || m[1] !== script.key)
			return [401, "invalid_request_error", `Incorrect API key provided: ${mask(m ? m[1] : auth)}. You can find your API key at https://platform.openai.com/account/api-keys.`, "invalid_api_key", null];
		return null;
	}
	if (h["x-api-key"] === undefined)
		return [401, "authentication_error", "x-api-key header is required"];
	if (h["x-api-key"] !== script.key)
		return [401, "authentication_error", "invalid x-api-key"];
	return null;
}

// A wrong key shown the way OpenAI shows it: never whole.
function mask(key) {
	return key.length > 8 ? `${key.slice(0, 3)}${"*".repeat(key.length - 7)}${key.slice(-4)}` : "*".repeat(key.length);
}

function nextAnswer(api, path, text) {
	const route = script.routes.find((r) => text.includes(r.contains));
	const queue = route ? route.queue : [path, api, "*"].find((q) => script.queues[q]);
	if (!queue)
		return { queue: null, answer: null };
	const list = script.queues[queue];
	const n = served[queue] ?? 0;
	served[queue] = n + 1;
	if (n < list.length)
		return { queue, index: n, answer: list[n] };
	return { queue, index: n, answer: script.strict ? null : list[list.length - 1] };
}

const STOP = { openai: { end_turn: "stop", max_tokens: "length", stop_sequence: "stop" },
	anthropic: { stop: "end_turn", length: "max_tokens" } };

function completion(api, answer, body) {
	const texts = Array.isArray(answer.text) ? answer.text : [answer.text];
	const text = texts.join("");
	const u = answer.usage ?? {};
	const input = u.prompt_tokens ?? u.input_tokens ?? tokens(promptText(body));
	const output = u.completion_tokens ?? u.output_tokens ?? tokens(text);
	const model = answer.model ?? body.model;
	if (api === "openai")
		return {
			id: answer.id ?? `chatcmpl-${hex(12)}`, object: "chat.completion",
			created: Math.floor(Date.now() / 1000), model,
			choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null,
				finish_reason: answer.finish_reason ?? STOP.openai[answer.stop_reason] ?? "stop" }],
			usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
			system_fingerprint: null,
		};
	return {
		id: answer.id ?? `msg_${hex(12)}`, type: "message", role: "assistant", model,
		content: texts.map((t) => ({ type: "text", text: t })),
		stop_reason: answer.stop_reason ?? STOP.anthropic[answer.finish_reason] ?? "end_turn",
		stop_sequence: null,
		usage: { input_tokens: input, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
	};
}

async function handleApi(req, res, url, raw) {
	const h = req.headers;
	const path = url.pathname;
	const api = OPENAI_PATHS.has(path) ? "openai" : path === ANTHROPIC_PATH ? "anthropic"
		: h["x-api-key"] !== undefined || h["anthropic-version"] !== undefined ? "anthropic" : "openai";
	const rec = { method: req.method, path, api, headers: { ...h }, body: null, status: null,
		error: null, queue: null, answer: null, closed_early: false, ts: Date.now() };
	requests.push(rec);
	if (raw.length > 0) {
		try {
			rec.body = JSON.parse(raw.toString("utf8"));
		} catch {
			rec.body = raw.toString("utf8");
		}
	}
	res.on("close", () => {
		if (!res.writableFinished)
			rec.closed_early = true;
	});
	const shape = API[api];
	const fail = (status, type, message, code, param) => {
		const body = shape.error(status, type, message, code, param);
		rec.status = status;
		rec.error = shape.errorType(body);
		send(res, status, shape.headers(), body);
	};

	if (!OPENAI_PATHS.has(path) && path !== ANTHROPIC_PATH)
		return api === "openai" ? fail(404, "invalid_request_error", `Invalid URL (${req.method} ${path})`, null, null)
			: fail(404, "not_found_error", `Not found: ${req.method} ${path}`);
	if (req.method !== "POST")
		return api === "openai" ? fail(405, "invalid_request_error", `Invalid method for URL (${req.method} ${path})`, null, null)
			: fail(405, "invalid_request_error", `Method Not Allowed: ${req.method} ${path}`);
	const badKey = checkKey(api, h);
	if (badKey)
		return fail(...badKey);
	if (api === "anthropic") {
		const v = h["anthropic-version"];
		if (v === undefined)
			return fail(400, "invalid_request_error", "anthropic-version: header is required");
		if (!script.versions.includes(v))
			return fail(400, "invalid_request_error", `anthropic-version: "${v}" is not a valid version`);
	}
	if (!/^application\/json\s*(;|$)/i.test(h["content-type"] ?? ""))
		return api === "openai"
			? fail(400, "invalid_request_error", `Invalid Content-Type header (${h["content-type"] ?? "none"}), expected application/json.`, null, null)
			: fail(400, "invalid_request_error", `content-type: expected application/json, got ${h["content-type"] ?? "none"}`);
	if (!isObject(rec.body))
		return api === "openai"
			? fail(400, "invalid_request_error", "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)", null, null)
			: fail(400, "invalid_request_error", "There was an error parsing the body of your request: it is not a JSON object");
	const bad = (api === "openai" ? validateOpenAI : validateAnthropic)(rec.body) ?? scriptChecks(api, rec.body);
	if (bad)
		return fail(...bad);

	const next = nextAnswer(api, path, promptText(rec.body));
	rec.queue = next.queue;
	rec.answer = next.index ?? null;
	if (next.queue === null)
		return fail(500, api === "openai" ? "server_error" : "api_error", `fake-llm: no answer is scripted for ${api} (${path})`, null, null);
	if (next.answer === null)
		return fail(500, api === "openai" ? "server_error" : "api_error", `fake-llm: the scripted answers for ${next.queue} are used up (strict)`, null, null);

	const a = next.answer;
	if (a.delay_ms)
		await new Promise((resolve) => setTimeout(resolve, a.delay_ms));
	if (a.drop) {
		rec.closed_early = true;
		return req.socket.destroy();
	}
	const headers = { ...shape.headers(), ...(a.headers ?? {}) };
	let status = a.status ?? 200, body;
	if ("raw" in a)
		body = a.raw;
	else if ("body" in a)
		body = a.body;
	else if ("text" in a)
		body = completion(api, a, rec.body);
	else {
		const e = a.error ?? {};
		body = shape.error(status, e.type, e.message, e.code, e.param);
	}
	rec.status = status;
	send(res, status, headers, body);
}

function handleControl(req, res, url, raw) {
	const json = { "Content-Type": "application/json" };
	if (req.method === "GET" && url.pathname === "/_requests")
		return send(res, 200, json, requests);
	if (req.method === "DELETE" && url.pathname === "/_requests") {
		requests.length = 0;
		return send(res, 204, {});
	}
	if (req.method === "GET" && url.pathname === "/_count") {
		const api = url.searchParams.get("api");
		return send(res, 200, json, String(requests.filter((r) => api === null || r.api === api).length));
	}
	if ((req.method === "PUT" || req.method === "POST") && url.pathname === "/_script") {
		try {
			script = checkScript(JSON.parse(raw.toString("utf8")));
		} catch (e) {
			return send(res, 400, json, { message: `bad script: ${e.message}` });
		}
		served = {};
		return send(res, 204, {});
	}
	return send(res, 404, json, { message: `fake-llm: no ${req.method} ${url.pathname}` });
}

function main() {
	const args = common.parseArgs("fake-llm");
	try {
		script = readScript(args.scriptArg);
	} catch (e) {
		usage(`bad script: ${e.message}`);
	}
	common.serve("fake-llm", args,
		(req, res, url, raw) => url.pathname.startsWith("/_") ? handleControl(req, res, url, raw)
			: handleApi(req, res, url, raw),
		(res, e) => send(res, 500, { "Content-Type": "application/json" },
			{ error: { message: String(e.message), type: "server_error", param: null, code: null } }));
}

main();

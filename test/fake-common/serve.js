// What the fake servers of the tests share: their command line, how a
// script is read, and the loop that collects each request's body, hands it
// on and prints the port once listening.
//
//   node server.js [--port N] [--host ADDR] --script FILE|JSON
//
// --port 0 (the default) takes a free port; the port is printed alone on a
// line on stdout once the server accepts connections.
"use strict";

const fs = require("node:fs");
const http = require("node:http");

function usage(name, message) {
	process.stderr.write(`${name}: ${message}\n` +
		"usage: node server.js [--port N] [--host ADDR] --script FILE|JSON\n");
	process.exit(2);
}

// The options, or a usage message and exit status 2.
function parseArgs(name) {
	let port = 0, host = "127.0.0.1", scriptArg = null;
	const argv = process.argv.slice(2);
	for (let i = 0; i < argv.length; i++) {
		const opt = argv[i], val = argv[i + 1];
		if (val === undefined && ["--port", "--host", "--script"].includes(opt))
			usage(name, `${opt} needs a value`);
		if (opt === "--port")
			port = Number(val);
		else if (opt === "--host")
			host = val;
		else if (opt === "--script")
			scriptArg = val;
		else
			usage(name, `unknown argument '${opt}'`);
		i++;
	}
	if (!Number.isInteger(port) || port < 0 || port > 65535)
		usage(name, "--port needs a number from 0 to 65535");
	if (scriptArg === null)
		usage(name, "--script is required");
	return { port, host, scriptArg };
}

// A script is a JSON text when it starts with "{", else the name of a file holding one.
function readScript(arg, check) {
	const text = /^\s*\{/.test(arg) ? arg : fs.readFileSync(arg, "utf8");
	return check(JSON.parse(text));
}

// Serve: route(req, res, url, raw) answers each request (a value or a
// promise); failure(res, error) answers when it threw.
function serve(name, { port, host }, route, failure) {
	const server = http.createServer((req, res) => {
		const chunks = [];
		req.on("data", (c) => chunks.push(c));
		req.on("end", () => {
			const raw = Buffer.concat(chunks);
			const url = new URL(req.url, "http://127.0.0.1");
			Promise.resolve().then(() => route(req, res, url, raw)).catch((e) => {
				process.stderr.write(`${name}: ${e.stack}\n`);
				if (!res.headersSent)
					failure(res, e);
			});
		});
	});
	server.on("error", (e) => {
		process.stderr.write(`${name}: ${e.message}\n`);
		process.exit(1);
	});
	server.listen(port, host, () => process.stdout.write(`${server.address().port}\n`));
	for (const sig of ["SIGTERM", "SIGINT"])
		process.on(sig, () => process.exit(0));
}

module.exports = { usage, parseArgs, readScript, serve };

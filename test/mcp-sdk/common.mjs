// Shared by v1-client.mjs and v2-client.mjs: the sb-mcp server parameters,
// the tool calls every client makes, and the one-line JSON summary.
//
// Each client script is run as
//   node CLIENT.mjs [MODE] SB-MCP [ARG]...
// with SB_CONFIG, SB_STATE_DIR and PATH (and, when set, SB_NOW, TZ and HOME) in its
// environment: StdioClientTransport passes the child only HOME, LOGNAME,
// PATH, SHELL, TERM and USER of its own, so these are passed explicitly.
// MCP_TRACE=1 writes every JSON-RPC message of the session to stderr.
//
// It prints one JSON line on stdout:
//   {client, mode, era, protocolVersion, serverInfo, tools: [names],
//    calls: {TOOL: {isError, keys: [structuredContent keys], structuredContent} or {error, code}}}
// and exits 0 when every call gave a result that the SDK accepted, 1 otherwise.

const PASSED = ['SB_CONFIG', 'SB_STATE_DIR', 'PATH', 'SB_NOW', 'TZ', 'HOME'];

// serverParams(argv): StdioServerParameters for the sb-mcp command in argv.
export function serverParams(argv) {
	if (argv.length < 1) {
		console.error('usage: node CLIENT.mjs SB-MCP [ARG]...');
		process.exit(2);
	}
	const env = {};
	for (const k of PASSED) {
		if (process.env[k] !== undefined) env[k] = process.env[k];
	}
	return { command: argv[0], args: argv.slice(1), env, stderr: 'inherit' };
}

// trace(transport, record): call record(direction, message) for every message
// sent or received; print them on stderr with MCP_TRACE=1.
export function trace(transport, record = () => {}) {
	const verbose = process.env.MCP_TRACE === '1';
	const send = transport.send.bind(transport);
	transport.send = (message, options) => {
		if (verbose) console.error('>> ' + JSON.stringify(message));
		record('>', message);
		return send(message, options);
	};
	let handler;
	Object.defineProperty(transport, 'onmessage', {
		configurable: true,
		get() {
			return handler && ((message, extra) => {
				if (verbose) console.error('<< ' + JSON.stringify(message));
				record('<', message);
				return handler(message, extra);
			});
		},
		set(h) { handler = h; },
	});
}

// The calls every client makes, in order: cheap ones, the cycle, then the
// insights the cycle produced.
export const CALLS = [
	['get_system_status', {}],
	['query_telemetry_insights', {}],
	['trigger_improvement_cycle', { analysis_window_hours: 1, max_improvements: 1 }],
	['query_telemetry_insights', { time_range_hours: 1 }],
];

function errorInfo(e) {
	return { error: String(e && e.message || e), code: e && e.code !== undefined ? e.code : null };
}

// run(summary, client, connect, describe, call): connect, list the tools,
// make CALLS with call(name, args), print summary with the fields describe()
// gives after connecting (era, protocol version).
export async function run(summary, client, connect, describe, call) {
	let ok = true;
	try {
		await connect();
		Object.assign(summary, describe());
		const { tools } = await client.listTools();
		summary.tools = tools.map(t => t.name);
		summary.outputSchemas = tools.filter(t => t.outputSchema).map(t => t.name);
		summary.calls = {};
		summary.results = [];
		for (const [name, args] of CALLS) {
			let r;
			try {
				const res = await call(name, args);
				const sc = res.structuredContent;
				r = { tool: name, isError: res.isError === true,
					keys: sc && typeof sc === 'object' ? Object.keys(sc).sort() : null,
					structuredContent: sc ?? null };
				if (r.isError) {
					r.text = (res.content || []).map(c => c.text).join('\n');
					ok = false;
				}
			} catch (e) {
				r = { tool: name, ...errorInfo(e) };
				ok = false;
			}
			summary.results.push(r);
			summary.calls[name] = r;
		}
	} catch (e) {
		summary.failed = errorInfo(e);
		ok = false;
	}
	try {
		await client.close();
	} catch (e) {
		summary.closeError = errorInfo(e);
	}
	console.log(JSON.stringify(summary));
	process.exit(ok ? 0 : 1);
}

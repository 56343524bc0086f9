// node v2-client.mjs MODE SB-MCP [ARG]...: drive sb-mcp with the v2 TypeScript
// SDK (@modelcontextprotocol/client); MODE is legacy, auto or a pinned version
// such as 2026-07-28 (versionNegotiation {mode: {pin: MODE}}). See common.mjs.
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { serverParams, trace, run } from './common.mjs';

const [mode, ...argv] = process.argv.slice(2);
if (!mode) {
	console.error('usage: node v2-client.mjs legacy|auto|VERSION SB-MCP [ARG]...');
	process.exit(2);
}
const negotiation = mode === 'legacy' || mode === 'auto' ? mode : { pin: mode };
const transport = new StdioClientTransport(serverParams(argv));
// Tracing patches the instance, not the class: the client still sees the SDK's
// own StdioClientTransport, and probes on a sibling process.
trace(transport);
const client = new Client({ name: 'sb-interop-v2', version: '1.0.0' },
	{ versionNegotiation: { mode: negotiation } });
await run({ client: 'v2', mode }, client, () => client.connect(transport), () => ({
	era: client.getProtocolEra() ?? null,
	protocolVersion: client.getNegotiatedProtocolVersion() ?? null,
	serverInfo: client.getServerVersion() ?? null,
	instructions: typeof client.getInstructions() === 'string',
	discover: client.getDiscoverResult() ?? null,
}), (name, args) => client.callTool({ name, arguments: args }, { timeout: 60000 }));

// node v1-client.mjs SB-MCP [ARG]...: drive sb-mcp with the v1 TypeScript SDK
// (@modelcontextprotocol/sdk: the legacy, stateful revisions). See common.mjs.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { serverParams, trace, run } from './common.mjs';

const transport = new StdioClientTransport(serverParams(process.argv.slice(2)));
const client = new Client({ name: 'sb-interop-v1', version: '1.0.0' });
// v1 keeps the negotiated version to itself: read it off the initialize result.
let protocolVersion = null;
trace(transport, (dir, m) => {
	if (dir === '<' && m.result && typeof m.result.protocolVersion === 'string' && protocolVersion === null) {
		protocolVersion = m.result.protocolVersion;
	}
});
await run({ client: 'v1', mode: 'legacy' }, client, () => client.connect(transport), () => ({
	era: 'legacy',
	protocolVersion,
	serverInfo: client.getServerVersion() ?? null,
	instructions: typeof client.getInstructions() === 'string',
}), (name, args) => client.callTool({ name, arguments: args }, undefined, { timeout: 60000 }));

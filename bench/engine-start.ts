// engine-start.ts — daemon-side create→running latency for bench/engine.sh (issue 4).
// The CLI's own start-up (tens of ms of Node) hides what the daemon spends, so this talks to
// berthd's API directly over its unix socket with one keep-alive agent, and times
// POST /containers/create, POST /containers/{id}/start, and the sum (create→running). Each
// container is a `sleep` so that GET /containers/{id}/json afterwards can prove State.Running;
// it is then removed with force. Prints one JSON object (microsecond samples) on stdout.
//   Usage: node --import tsx bench/engine-start.ts SOCKET [--runs 20] [--warmup 3] [--image busybox]
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';

interface Reply {
	status: number;
	body: string;
}

function call(agent: Agent, socketPath: string, method: string, path: string, body?: unknown): Promise<Reply> {
	const payload = body === undefined ? undefined : JSON.stringify(body);
	return new Promise((resolve, reject) => {
		const req = request(
			{
				agent,
				socketPath,
				method,
				path,
				headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
			},
			(res) => {
				const chunks: Buffer[] = [];
				res.on('data', (c: Buffer) => chunks.push(c));
				res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
				res.on('error', reject);
			},
		);
		req.on('error', reject);
		req.end(payload);
	});
}

function expectStatus(reply: Reply, ok: number[], what: string): void {
	if (!ok.includes(reply.status)) throw new Error(`${what}: status ${reply.status}: ${reply.body.trim()}`);
}

function micros(start: bigint): number {
	return Number((process.hrtime.bigint() - start) / 1000n);
}

async function main(): Promise<void> {
	const { values, positionals } = parseArgs({
		allowPositionals: true,
		options: {
			runs: { type: 'string', default: '20' },
			warmup: { type: 'string', default: '3' },
			image: { type: 'string', default: 'busybox' },
		},
	});
	const socketPath = positionals[0];
	if (socketPath === undefined) throw new Error('usage: engine-start.ts SOCKET [--runs N] [--warmup N] [--image REF]');
	const runs = Number(values.runs);
	const warmup = Number(values.warmup);
	const agent = new Agent({ keepAlive: true, maxSockets: 1 });
	const samples = { create: [] as number[], start: [] as number[], createToRunning: [] as number[] };
	for (let i = 0; i < warmup + runs; i++) {
		const t0 = process.hrtime.bigint();
		const created = await call(agent, socketPath, 'POST', '/containers/create', {
			Image: values.image,
			Cmd: ['sleep', '60'],
			HostConfig: { NetworkMode: 'none' },
		});
		expectStatus(created, [201], 'create container');
		const createUs = micros(t0);
		const id = (JSON.parse(created.body) as { Id: string }).Id;
		const t1 = process.hrtime.bigint();
		const started = await call(agent, socketPath, 'POST', `/containers/${id}/start`);
		expectStatus(started, [204], 'start container');
		const startUs = micros(t1);
		const totalUs = micros(t0);
		const inspected = await call(agent, socketPath, 'GET', `/containers/${id}/json`);
		expectStatus(inspected, [200], 'inspect container');
		const running = (JSON.parse(inspected.body) as { State?: { Running?: boolean } }).State?.Running === true;
		const removed = await call(agent, socketPath, 'DELETE', `/containers/${id}?force=1`);
		expectStatus(removed, [204], 'remove container');
		if (!running) throw new Error(`start container: ${id} not running after start returned`);
		if (i >= warmup) {
			samples.create.push(createUs);
			samples.start.push(startUs);
			samples.createToRunning.push(totalUs);
		}
	}
	agent.destroy();
	process.stdout.write(`${JSON.stringify(samples)}\n`);
}

await main();

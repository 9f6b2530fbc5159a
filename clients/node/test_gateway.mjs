// Node.js client of the gateway's gRPC API, with the protos loaded at run time (no code generation).
// Run by scripts/e2e.sh:  GATEWAY_GRPC=127.0.0.1:50050 node --test clients/node/test_gateway.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const here = path.dirname(fileURLToPath(import.meta.url));
const protoRoot = path.join(here, '..', '..', 'proto', 'src', 'main', 'proto');
const definition = protoLoader.loadSync('steering/v1/gateway.proto', {
  includeDirs: [protoRoot], keepCase: true, longs: String, enums: String, defaults: false, oneofs: true,
});
const steering = grpc.loadPackageDefinition(definition).steering.v1;
const client = new steering.Steering(process.env.GATEWAY_GRPC ?? '127.0.0.1:50050', grpc.credentials.createInsecure());
const deadline = () => new Date(Date.now() + 60_000);

function generate(request) {
  return new Promise((resolve, reject) => {
    let text = '';
    let finish = null;
    const call = client.Generate(request, { deadline: deadline() });
    call.on('data', (r) => { text += r.text_delta ?? ''; if (r.finish_reason) finish = r.finish_reason; });
    call.on('error', reject);
    call.on('end', () => resolve({ text, finish }));
  });
}

test('model info', async () => {
  const info = await new Promise((resolve, reject) =>
    client.GetModelInfo({}, { deadline: deadline() }, (err, r) => (err ? reject(err) : resolve(r))));
  assert.equal(info.n_layers, 5);
  assert.equal(info.d_model, 64);
});

test('greedy generation streams the expected story opening', async () => {
  const { text, finish } = await generate({ prompt: { text: 'Once upon a time' }, sampling: { max_tokens: 16, ignore_eos: true } });
  assert.ok(text.startsWith(', there was'), text);
  assert.equal(finish, 'FINISH_REASON_LENGTH');
});

test('a steering vector changes the generation', async () => {
  const data = Buffer.alloc(64 * 4);
  for (let i = 0; i < 64; i++) data.writeFloatLE((((i * 37) % 11) - 5) / 5.0, i * 4);
  const steer = {
    intervention: { hook: { name: 'blocks.2.hook_resid_pre' }, vector: { shape: [64], dtype: 'FLOAT32', data }, positions: 'ALL' },
    scale: 4.0,
  };
  const request = { prompt: { text: 'Once upon a time' }, sampling: { max_tokens: 16, ignore_eos: true } };
  const plain = await generate(request);
  const steered = await generate({ ...request, steering: [steer] });
  assert.notEqual(steered.text, plain.text);
});

test('bad input is INVALID_ARGUMENT naming the field', async () => {
  await assert.rejects(generate({ prompt: { text: '' } }), (err) => {
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err.details, /^prompt/);
    return true;
  });
});

test.after(() => client.close());

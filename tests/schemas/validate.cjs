#!/usr/bin/env node
// validate.cjs - check a file against a JSON schema with ajv (draft-07).
//
//   node tests/schemas/validate.cjs SCHEMA FILE            one JSON document
//   node tests/schemas/validate.cjs --jsonl SCHEMA FILE    every line of a JSON Lines
//        file, plus the rules of Tachyon's JSONL v0 stream that a per-record
//        schema cannot state (record order, one run id, ids from 0 without
//        gaps across chunks, references in range, samples_total consistent)
//
// ajv comes from the test tool cache tests/provision.sh fills:
// $STROBE_NODE_DIR (default /var/cache/strobe/node).  Prints "ok: ..." and
// exits 0, or prints the errors (at most 20) and exits 1.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const nodeDir = process.env.STROBE_NODE_DIR || '/var/cache/strobe/node';
const req = createRequire(path.join(nodeDir, 'package.json'));
const Ajv = req('ajv');

const args = process.argv.slice(2);
const jsonl = args[0] === '--jsonl';
if (jsonl) args.shift();
if (args.length !== 2) {
  console.error('usage: validate.cjs [--jsonl] SCHEMA FILE');
  process.exit(2);
}
const [schemaPath, file] = args;
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, 'utf8')));
const errors = [];
const fail = (where, msg) => { if (errors.length < 20) errors.push(`${where}: ${msg}`); };

function check(doc, where) {
  if (!validate(doc))
    for (const e of validate.errors) fail(where, `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}

if (!jsonl) {
  check(JSON.parse(fs.readFileSync(file, 'utf8')), path.basename(file));
} else {
  const text = fs.readFileSync(file, 'utf8');
  if (!text.endsWith('\n')) fail(file, 'does not end with a newline');
  const lines = text.split('\n');
  lines.pop();
  const order = ['meta', 'string_table', 'frame_table', 'agg', 'end'];
  let stage = -1, runId = null, nstr = 0, nframes = 0, nagg = 0, total = null;
  const counts = { meta: 0, end: 0 };
  lines.forEach((line, i) => {
    const where = `line ${i + 1}`;
    let r;
    try { r = JSON.parse(line); } catch (e) { fail(where, 'not JSON: ' + e.message); return; }
    check(r, where);
    const s = order.indexOf(r.type);
    if (s < stage) fail(where, `${r.type} after ${order[stage]}`);
    stage = Math.max(stage, s);
    if (r.type in counts) counts[r.type]++;
    if (runId === null) runId = r.run_id;
    else if (r.run_id !== runId) fail(where, 'another run_id');
    if (i === 0 && r.type !== 'meta') fail(where, 'first record is not meta');
    if (r.type === 'string_table')
      for (const x of r.strings) if (x.str_id !== nstr++) fail(where, `str_id ${x.str_id}, expected ${nstr - 1}`);
    if (r.type === 'frame_table')
      for (const f of r.frames) {
        if (f.frame_id !== nframes++) fail(where, `frame_id ${f.frame_id}, expected ${nframes - 1}`);
        if (f.path_str_id >= nstr || f.func_str_id >= nstr) fail(where, `frame ${f.frame_id} names a missing string`);
      }
    if (r.type === 'agg' || r.type === 'end') {
      if (total === null) total = r.samples_total;
      else if (r.samples_total !== total) fail(where, `samples_total ${r.samples_total} != ${total}`);
    }
    if (r.type === 'agg')
      for (const e of r.entries) {
        if (e.frame_id !== nagg++) fail(where, `agg frame_id ${e.frame_id}, expected ${nagg - 1}`);
        if (e.self > e.cumulative || e.cumulative > r.samples_total) fail(where, `frame ${e.frame_id}: self ${e.self} cumulative ${e.cumulative} total ${r.samples_total}`);
      }
    if (r.type === 'end' && i !== lines.length - 1) fail(where, 'end is not the last record');
  });
  if (counts.meta !== 1) fail(file, `${counts.meta} meta records`);
  if (counts.end !== 1) fail(file, `${counts.end} end records`);
  if (nagg !== nframes) fail(file, `${nagg} agg entries for ${nframes} frames`);
}
if (errors.length) {
  for (const e of errors) console.log(e);
  process.exit(1);
}
console.log(`ok: ${file} is valid against ${path.basename(schemaPath)}`);

#!/usr/bin/env node
// Encoding speed of OpenAI's tokenizer (tiktoken, GPT-2 encoding), as a yardstick for gpt.h's.
//
// Usage: node bench/tiktoken_rate.js FILE
// (needs tools/node_modules: cd tools && npm ci). Reads FILE, encodes it once to warm up, then
// times 5 plain encodings (special tokens are ordinary text) and prints the median rate.
// MB/s means 10^6 bytes of UTF-8 input per second.
'use strict';

const fs = require('fs');
const path = require('path');

const RUNS = 5;

function main() {
    const file = process.argv[2];
    if (!file) {
        console.error('usage: node bench/tiktoken_rate.js FILE');
        process.exit(2);
    }
    const tiktoken = path.join(__dirname, '..', 'tools', 'node_modules', 'tiktoken');
    const { get_encoding } = require(tiktoken);
    const text = fs.readFileSync(file, 'utf8');
    const bytes = Buffer.byteLength(text, 'utf8');
    const enc = get_encoding('gpt2');
    const tokens = enc.encode_ordinary(text).length;   // warm-up
    const seconds = [];
    for (let r = 0; r < RUNS; r++) {
        const t0 = process.hrtime.bigint();
        enc.encode_ordinary(text);
        seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    enc.free();
    seconds.sort((a, b) => a - b);
    const rate = bytes / 1e6 / seconds[RUNS >> 1];
    console.log(`tiktoken: ${rate.toFixed(2)} MB/s (median of ${RUNS}, ${file}, ${tokens} tokens)`);
}

main();

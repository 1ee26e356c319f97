#!/usr/bin/env node
// Golden GPT-2 token ids from OpenAI's tokenizer (tiktoken), for gpt.h's tokenizer tests.
//
// REGENERATE (needs node and the packages pinned in tools/package.json; CI needs neither,
// because the outputs are committed):
//
//     cd tools && npm ci && cd .. && node tests/make_tokenizer_fixtures.js [SHAKESPEARE]
//
// SHAKESPEARE is tinyshakespeare.txt (default: input.txt in the repository root, else
// /work/shared/data/tinyshakespeare.txt). The output is the same on every run: the random
// texts come from a fixed-seed generator written out below, not from Math.random.
//
// Writes:
//   tests/fixtures/tiktoken_cases.txt      text -> ids cases, format below
//   tests/fixtures/tiktoken_shakespeare.txt the token count and an FNV-1a 64 hash of the ids
//                                           of the whole of tinyshakespeare (338025 tokens)
//
// Case file format: lines starting with '#' are comments; each case has a "# case N: what"
// comment. A "# special" line directly before a case means: encode with every special token
// allowed (so "<|endoftext|>" becomes id 50256); all other cases use plain encoding, where
// "<|endoftext|>" is ordinary text. A case is two lines: the text as lowercase hex of its
// UTF-8 bytes (an empty line for the empty text), then the ids separated by single spaces
// (an empty line when there are none).
'use strict';

const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const TOOLS = path.join(ROOT, 'tools', 'node_modules');
const { get_encoding } = require(path.join(TOOLS, 'tiktoken'));
const OUT_CASES = path.join(ROOT, 'tests', 'fixtures', 'tiktoken_cases.txt');
const OUT_SHAKESPEARE = path.join(ROOT, 'tests', 'fixtures', 'tiktoken_shakespeare.txt');
const SHAKESPEARE_TOKENS = 338025;
const MAX_BYTES = 1500000;   // keep the committed case file small

// ------------------------------------------------------------------------------------------
// A small reproducible PRNG (xorshift32 scrambled by a multiply), so the random texts are the
// same on every machine and every node version.
// ------------------------------------------------------------------------------------------
function makeRng(seed) {
    let s = seed >>> 0 || 1;
    const next = () => {
        s ^= s << 13; s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5; s >>>= 0;
        return Math.imul(s, 0x2545f491) >>> 0;
    };
    const rng = {
        u32: next,
        below: (n) => Math.floor(next() / 4294967296 * n),   // 0 <= x < n
        pick: (list) => list[rng.below(list.length)],
        chance: (p) => next() / 4294967296 < p,
    };
    return rng;
}

// ------------------------------------------------------------------------------------------
// Unicode data: code points by general category (Unicode 16.0, the version tiktoken uses).
// ------------------------------------------------------------------------------------------
const CATEGORIES = ['Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'Mn', 'Mc', 'Me', 'Nd', 'Nl', 'No', 'Pc',
    'Pd', 'Ps', 'Pe', 'Pi', 'Pf', 'Po', 'Sm', 'Sc', 'Sk', 'So', 'Zs', 'Zl', 'Zp', 'Cc', 'Cf',
    'Co', 'Cn'];

async function loadCategories() {
    const base = path.join(TOOLS, '@unicode', 'unicode-16.0.0', 'General_Category');
    const long = { Lu: 'Uppercase_Letter', Ll: 'Lowercase_Letter', Lt: 'Titlecase_Letter',
        Lm: 'Modifier_Letter', Lo: 'Other_Letter', Mn: 'Nonspacing_Mark', Mc: 'Spacing_Mark',
        Me: 'Enclosing_Mark', Nd: 'Decimal_Number', Nl: 'Letter_Number', No: 'Other_Number',
        Pc: 'Connector_Punctuation', Pd: 'Dash_Punctuation', Ps: 'Open_Punctuation',
        Pe: 'Close_Punctuation', Pi: 'Initial_Punctuation', Pf: 'Final_Punctuation',
        Po: 'Other_Punctuation', Sm: 'Math_Symbol', Sc: 'Currency_Symbol',
        Sk: 'Modifier_Symbol', So: 'Other_Symbol', Zs: 'Space_Separator',
        Zl: 'Line_Separator', Zp: 'Paragraph_Separator', Cc: 'Control', Cf: 'Format',
        Co: 'Private_Use', Cn: 'Unassigned' };
    const cats = {};
    for (const c of CATEGORIES) {
        const mod = await import('file://' + path.join(base, long[c], 'ranges.mjs'));
        // Half-open ranges; surrogates (Cs) are left out because they are not text.
        cats[c] = mod.default.map((r) => [r.begin, r.end])
            .filter(([lo]) => lo < 0xd800 || lo > 0xdfff);
    }
    return cats;
}

// A uniformly random code point from a list of half-open ranges.
function pickFromRanges(rng, ranges) {
    let total = 0;
    for (const [lo, hi] of ranges) total += hi - lo;
    let k = rng.below(total);
    for (const [lo, hi] of ranges) {
        if (k < hi - lo) return lo + k;
        k -= hi - lo;
    }
    throw new Error('unreachable');
}

const cp = (...list) => String.fromCodePoint(...list);

// A short ASCII label for a text: JSON-like, anything outside printable ASCII as \u{...}.
function label(text) {
    let s = '';
    for (const ch of text) {
        const c = ch.codePointAt(0);
        if (ch === '"' || ch === '\\') s += '\\' + ch;
        else if (c >= 0x20 && c < 0x7f) s += ch;
        else if (c === 10) s += '\\n';
        else s += '\\u{' + c.toString(16) + '}';
        if (s.length > 60) return '"' + s + '"...';
    }
    return '"' + s + '"';
}

// ------------------------------------------------------------------------------------------
// Hand-written cases, one group per rule of the split pattern and per kind of text.
// Each entry is [name, text] or [name, text, 'special'].
// ------------------------------------------------------------------------------------------
const CONTRACTIONS = ['s', 't', 're', 've', 'm', 'll', 'd'];

function caseVariants(word) {
    const out = new Set([word, word.toUpperCase()]);
    if (word.length === 2) {
        out.add(word[0].toUpperCase() + word[1]);
        out.add(word[0] + word[1].toUpperCase());
    }
    return [...out];
}

function contractionCases() {
    const cases = [];
    for (const c of CONTRACTIONS) {
        for (const v of caseVariants(c)) {
            cases.push([`contraction '${v} alone`, `'${v}`]);
            cases.push([`contraction '${v} after words`, `he'${v} she'${v} x'${v}x '${v}'${v}`]);
        }
    }
    const more = ["don't", "DON'T", "Don'T", "'ss", "''s", "x's", "'s'", " 's", "  's", "''",
        "'", "' '", "rock'n'roll", "y'all'd've", "it's 1's 'twas", "ma'am's", "'S'LL'Ve",
        "O'Neil's", "\u2019s it\u2019s", "l'\u00e9t\u00e9", "'\u00e9", "'1", "1's", "\u00e9's",
        "\u0915's", "\u4e2d's", "'\u4e2d", "''ll", "'lll", "'ree", "'vee", "'mm", "'dd", "'t'",
        "\t's", "\n's", "!'s", "?'ll", "'s\n", "'s ", "can't've won't", "'\u0300s", "\u00a0'd",
        "it'\u200bs", "'ll'll'll", "I'M YOU'RE WE'VE THEY'LL HE'D", "she'S", "'Re'rE'RE'VE"];
    for (const t of more) cases.push([`contraction corner ${label(t)}`, t]);
    return cases;
}

function whitespaceCases() {
    const sp = { NBSP: '\u00a0', NEL: '\u0085', OGHAM: '\u1680', ENQUAD: '\u2000',
        EMSP: '\u2003', THIN: '\u2009', HAIR: '\u200a', LSEP: '\u2028', PSEP: '\u2029',
        NNBSP: '\u202f', MMSP: '\u205f', IDEO: '\u3000', TAB: '\t', LF: '\n', VT: '\v',
        FF: '\f', CR: '\r', CRLF: '\r\n', MVS: '\u180e', ZWSP: '\u200b', ZWNJ: '\u200c',
        ZWJ: '\u200d', WJ: '\u2060', BOM: '\ufeff', FS: '\u001c', US: '\u001f' };
    const cases = [];
    for (const [name, s] of Object.entries(sp)) {
        cases.push([`${name} alone`, s]);
        cases.push([`${name} between words`, `a${s}b c ${s}d${s}${s}e`]);
        cases.push([`${name} before space, word, digit, punct`,
            `${s} x${s}  x${s} 1${s}  !${s}x${s}`]);
        cases.push([`spaces around ${name}`, `x  ${s}  y ${s}${s} `]);
    }
    const texts = [' ', '  ', '   ', '\n', '\n\n', '\n\n\n', '\r\n', '\r\n\r\n', '\t', '\t\t',
        ' \n', '\n ', ' \t \n ', 'hello ', 'hello  ', 'hello \n', 'hello\n\n', 'a  b', 'a   b',
        'a    b', 'a     1', 'a      !', '   hello', '  hello world  ', 'x \u00a0y', 'x\u00a0 y',
        'x  \u00a0y', '\u3000\u3000\u4e2d\u3000', 'end with tab\t', 'end\u2028', ' \u2029 ',
        '\u0085\u0085x', 'line1\nline2\r\nline3\rline4', '\v\f\v', '    \n    \n', '1  2   3',
        'a\t\tb\t \tc', ' ! ', '  !!', 'x \n y', ' \u00a0 \u00a0 ', 'a \u200b b'];
    for (const t of texts) cases.push([`whitespace ${label(t)}`, t]);
    cases.push(['500 spaces', ' '.repeat(500)]);
    cases.push(['500 spaces then a word', ' '.repeat(500) + 'word']);
    cases.push(['word, 300 spaces, word', 'left' + ' '.repeat(300) + 'right']);
    cases.push(['200 newlines', '\n'.repeat(200)]);
    cases.push(['mixed whitespace run', ' \t\n\r\u00a0\u2003\u3000\u2028\u0085'.repeat(20)]);
    cases.push(['whitespace run then letter', ' \t\n\r\u00a0\u2003\u3000'.repeat(10) + 'z']);
    cases.push(['indentation levels', [0, 4, 8, 12, 16, 12, 8, 4, 0, 2, 1, 3]
        .map((n) => ' '.repeat(n) + 'x = ' + n).join('\n')]);
    return cases;
}

function numberCases() {
    const texts = ['0', '1', '12', '123', '1234', '12345', '1234567890', ' 42', '  42', 'x42',
        '42x', '4 2', '3.14159', '-17', '+1', '1,000,000', '1e-10', '0x1F', '2024-01-31',
        '12:30:45', '$9.99', '100%', '1st 2nd 3rd 4th', 'COVID-19', 'v1.2.3', 'abc123def456',
        'H2O', 'x\u00b2+y\u00b2', 'H\u2082O', '\u00bd \u00bc \u00be', '\u2153\u2154',
        '\u2160\u2161\u2162 \u216b \u2170\u2171', '\u2460\u2461\u2462 \u2474 \u2488',
        '\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669',
        '\u06f0\u06f1\u06f2', '\u0966\u0967\u0968\u0969', '\u09e6\u09e7', '\u0e50\u0e51\u0e52',
        '\uff10\uff11\uff12\uff13', ' \uff11\uff12', '\u3007\u4e00\u4e8c\u4e09',
        '\u{1d7ce}\u{1d7cf}\u{1d7d0}', '\u{10107}\u{10108}', '\u{1f100}\u{1f101}',
        '\u{12400}\u{12401}', '1\u0661\u0967\uff11', 'a\u0661b', '\u00b9\u00b2\u00b3\u2070',
        '\u2080\u2081', '\u3280\u3281', '7\u20e3', '1\u0301', '\u216b12', '12\u216b'];
    const cases = texts.map((t) => [`numbers ${label(t)}`, t]);
    let digits = '';
    for (let i = 0; i < 700; i++) digits += String((i * 7 + 3) % 10);
    cases.push(['700 digits', digits]);
    cases.push(['digits and letters alternating', 'a1b2c3d4e5f6g7h8i9j0'.repeat(10)]);
    cases.push(['many numbers', Array.from({ length: 100 }, (_, i) => String(i * i)).join(' ')]);
    return cases;
}

function scriptCases() {
    const texts = {
        'Latin with accents': 'Cr\u00e8me br\u00fbl\u00e9e, na\u00efve fa\u00e7ade, \u00c5ngstr' +
            '\u00f6m, stra\u00dfe, \u0153uvre.',
        'decomposed accents (combining marks)': 'Cre\u0300me bru\u0302le\u0301e, nai\u0308ve, A' +
            '\u030angstro\u0308m',
        'combining marks alone and stacked': '\u0301 \u0301\u0302 a\u0301\u0302\u0303\u0304 ' +
            '\u0301a \u20dd \u0489',
        'Greek': '\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5! ' +
            '\u1f08\u03c1\u03c7\u03ae \u1f10\u03c0\u03bf\u03af\u03b7\u03c3\u03b5\u03bd',
        'Cyrillic': '\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u0401\u0436\u0438' +
            '\u043a \u0438 \u0449\u0443\u043a\u0430 \u0432 \u0440\u0435\u043a\u0435.',
        'Arabic': '\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645' +
            '\u060c \u0643\u064e\u062a\u064e\u0628\u064e \u0661\u0662\u0663 \u0640\u0640',
        'Hebrew': '\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd! \u05e9\u05b8\u05c1\u05dc' +
            '\u05d5\u05b9\u05dd \u05f3\u05f4',
        'Devanagari': '\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e' +
            '\u0964 \u0939\u093f\u0928\u094d\u0926\u0940 \u0915\u094d\u0937 \u0924\u094d\u0930 ' +
            '\u0950',
        'Bengali and Tamil': '\u0986\u09ae\u09be\u09b0 \u09b8\u09cb\u09a8\u09be\u09b0 \u09ac' +
            '\u09be\u0982\u09b2\u09be \u0bb5\u0ba3\u0b95\u0bcd\u0b95\u0bae\u0bcd',
        'Thai': '\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e0a\u0e32\u0e27\u0e42\u0e25\u0e01 \u0e20' +
            '\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0e46',
        'CJK Chinese': '\u4f60\u597d\uff0c\u4e16\u754c\uff01\u6211\u4eec\u559c\u6b22\u5b66\u4e60' +
            '\u81ea\u7136\u8bed\u8a00\u5904\u7406\u3002',
        'CJK extension B and compatibility': '\u{20000}\u{20001}\u{2a6d6} \uf900\uf901 \u{2f800}',
        'Japanese kana and kanji': '\u3053\u3093\u306b\u3061\u306f\u4e16\u754c\u3002\u30ab\u30bf' +
            '\u30ab\u30ca\u30fc\u3001\u3072\u3089\u304c\u306a\u309d\u30fd\uff76\uff80\uff76\uff85',
        'Hangul': '\uc548\ub155\ud558\uc138\uc694 \uc138\uacc4! \u1100\u1161\u11a8 \u3131\u314f',
        'Ethiopic': '\u1230\u120b\u121d \u12d3\u1208\u121d\u1362 \u1369\u136a\u136b',
        'Armenian Georgian': '\u0532\u0561\u0580\u0565\u0582 \u10d2\u10d0\u10db\u10d0\u10e0\u10ef' +
            '\u10dd\u10d1\u10d0',
        'Tibetan Khmer Myanmar': '\u0f56\u0f7c\u0f51\u0f0b\u0f66\u0f90\u0f51\u0f0d \u1797\u17b6' +
            '\u179f\u17b6\u1781\u17d2\u1798\u17c2\u179a \u1019\u103c\u1014\u103a\u1019\u102c',
        'Cherokee Mongolian Syriac': '\u13e3\u13b3\u13a9 \u182e\u1823\u1829\u182d\u1823\u182f ' +
            '\u0710\u0720\u0721\u0710',
        'mathematical alphanumerics': '\u{1d400}\u{1d401}\u{1d402} \u{1d4d0}\u{1d552} \u2102' +
            '\u210d\u2115',
        'historic scripts': '\u{10300}\u{10301} \u{13000}\u{13001} \u{10900}\u{10901} \u{16a0}' +
            '\u{16a1} \u{1f00}',
        'Unicode 16 additions': '\u{1e5d0}\u{1e5d1} \u{10d40}\u{10d41} \u{11380}\u{11381} ' +
            '\u{16d40} \u{1ccf0}',
        // Letters and digits added in Unicode 17: unassigned in 16.0, so tiktoken's regex
        // sees them as neither letters nor numbers.
        'Unicode 17 letters and digits': 'a\u088fb \u0c5c\ua7ce x\u{10940}\u{10941}y ' +
            '\u{11db0}\u{16ea0}\u{1e6c0} \u{32400}\u{32401} 1\u{11de0}\u{11de1}2 \u{16ff4}',
        'modifier letters and titlecase': '\u02b0\u02b1\u02c6 \u01c5\u01c8\u01cb \u3005\u309d ' +
            '\u1d2c',
        'mixed scripts in one word': 'abc\u0430\u0431\u0432\u03b1\u03b2\u4e2d\u6587\u05d0\u0628',
        'right-to-left marks': 'a\u200fb\u200ec\u202ad\u202ce\u2066f\u2069',
        'fullwidth latin': '\uff28\uff45\uff4c\uff4c\uff4f\u3000\uff37\uff4f\uff52\uff4c\uff44' +
            '\uff01',
        'Latin-1 supplement': Array.from({ length: 96 }, (_, i) => cp(0xa0 + i)).join(''),
    };
    return Object.entries(texts).map(([name, t]) => [name, t]);
}

function symbolCases() {
    const texts = {
        'emoji single': '\u{1f600}\u{1f44d}\u2764\ufe0f\u{1f525}',
        'emoji skin tones': '\u{1f44d}\u{1f3fb}\u{1f44d}\u{1f3fd}\u{1f44d}\u{1f3ff} \u{1f9d1}' +
            '\u{1f3ff}\u200d\u{1f680}',
        'emoji ZWJ family': '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}\u200d\u{1f466}',
        'emoji flags': '\u{1f1fa}\u{1f1f8}\u{1f1eb}\u{1f1f7}\u{1f1ef}\u{1f1f5} \u{1f3f3}\ufe0f' +
            '\u200d\u{1f308}',
        'emoji tag sequence flag': '\u{1f3f4}\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}' +
            '\u{e007f}',
        'emoji keycaps': '1\ufe0f\u20e3#\ufe0f\u20e3*\ufe0f\u20e3 0\u20e3',
        'variation selectors': '\u263a\ufe0e\u263a\ufe0f \u845b\u{e0100} a\ufe00',
        'emoji in text': 'I love it \u{1f60d}\u{1f60d}! so good\u{1f44c} ok',
        'punctuation run': '!!!???...,,,;;;:::---___***&&&^^^%%%$$$###@@@~~~```',
        'brackets and quotes': '([{<>}]) \u00ab\u00bb \u201c\u201d \u2018\u2019 \u300c\u300d ' +
            '\u3010\u3011',
        'dashes and dots': '\u2013 \u2014 \u2026 \u00b7 \u2022 \u203b \u2010\u2011',
        'currency and math': '\u20ac5 \u00a33 \u00a5100 \u20b9 \u20bf \u2200x\u2208\u211d: x' +
            '\u00b2\u22650 \u221e \u2211',
        'arrows and boxes': '\u2190\u2191\u2192\u2193 \u2500\u2502\u250c\u2510 \u2588\u2591 ' +
            '\u25a0\u25cf',
        'space before punctuation': 'a !b  ?c   .d \u00a0,e',
        'end of text marker ordinary': 'Hello<|endoftext|>World <|endoftext|> <|endoftext|><|endo' +
            'ftext|>',
        'partial end of text': '<|endoftext| <|endoftext <|endoftext|x <| |> <|>',
        'control characters': '\u0001\u0002\u0007\u0008\u001b[31mred\u001b[0m\u007f',
        'NUL byte inside text': 'a\u0000b\u0000\u0000c',
        'C1 controls': '\u0080\u0081\u0085\u008d\u009f',
        'zero-width characters': 'a\u200bb\u200cc\u200dd\u2060e\ufeff f\u00adg \u180eh',
        'BOM at start': '\ufeffhello',
        'private use': '\ue000\ue001\uf8ff \u{f0000}\u{ffffd} \u{100000}\u{10fffd}',
        'unassigned code points': '\u0378\u0379 \u{2fffd} \u{e0080} \u{3fffd} \u{5ffff} \u{dffff}',
        'noncharacters': '\ufdd0\ufdef\ufffe\uffff \u{1fffe}\u{1ffff} \u{10fffe}\u{10ffff}',
        'replacement character': '\ufffd\ufffd a\ufffdb',
        'highest and lowest code points': '\u0000\u{10ffff}\u0001\u{10fffe}',
        'letters with private use between': 'a\ue000b c\u{10fffd}d',
    };
    return Object.entries(texts).map(([name, t]) => [name, t]);
}

function codeCases() {
    return [
        ['C code', '#include <stdio.h>\n\nint main(int argc, char **argv) {\n    for (int i = 0; ' +
            'i < argc; i++) {\n        printf("%d: %s\\n", i, argv[i]);\n    }\n    return 0; /* ' +
            'done */\n}\n'],
        ['Python code with indentation', 'def fib(n):\n    """Return the n-th Fibonacci number.""' +
            '"\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n' +
            '\n\nif __name__ == "__main__":\n    print(fib(10))  # 55\n'],
        ['Python with tabs', 'class A:\n\tdef f(self):\n\t\tif x:\n\t\t\treturn {\'k\': [1, 2.5, ' +
            'None]}\n'],
        ['JavaScript', "const f = async (x) => { await g(x?.y ?? 0); return `v=${x}`; };\n"],
        ['JSON', '{"name": "gpt.h", "version": [1, 0, 0], "ok": true, "nested": {"a": null, "b": ' +
            '-1.5e3}, "s": "\\u00e9\\n"}'],
        ['URLs', 'https://example.com/path/to/page?query=1&x=%20y#frag http://127.0.0.1:8080/ www' +
            '.test.org mailto:a@b.co'],
        ['HTML', '<!DOCTYPE html>\n<html lang="en"><body><p class=\'x\'>Hi &amp; bye &lt;3</p></b' +
            'ody></html>'],
        ['Markdown', '# Title\n\n- item *one*\n- item **two**\n\n```c\nx++;\n```\n> quote\n\n| a ' +
            '| b |\n|---|---|\n'],
        ['LaTeX', '\\begin{equation} E = mc^2 \\quad \\sum_{i=0}^{n} \\frac{1}{i!} \\end{equation' +
            '}'],
        ['shell', '#!/bin/sh\nset -eu\nfor f in *.txt; do echo "$f" | tr a-z A-Z >> out.log 2>&1;' +
            ' done\n'],
        ['SQL', "SELECT id, name FROM users WHERE age >= 18 AND name LIKE 'A%' ORDER BY id DESC;"],
        ['regex', "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|" +
            "\\s+"],
        ['base64 blob', 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGA' +
            'WjR9awAAAABJRU5ErkJggg=='],
        ['hex dump', '00000000: 7f45 4c46 0201 0100 0000 0000 0000 0000  .ELF............'],
        ['windows paths and escapes', 'C:\\Users\\name\\file.txt\t"quoted\\"" \\n \\t \\\\'],
    ];
}

function proseCases() {
    return [
        ['English prose', 'It was the best of times, it was the worst of times, it was the age of' +
            ' wisdom, it was the age of foolishness...'],
        ['English with names and numbers', "On 4 July 1776, the Continental Congress adopted the " +
            "Declaration; John Hancock's signature is the largest."],
        ['dialogue', '"Where are you going?" she asked.\n"Out," he said. "I\'ll be back by 10:30.' +
            '"\n'],
        ['all caps and mixed case', 'THE QUICK BROWN FOX Jumps Over The Lazy Dog tHe QuIcK bRoWn'],
        ['Shakespeare style', "First Citizen:\nBefore we proceed any further, hear me speak.\n\nA" +
            "ll:\nSpeak, speak.\n"],
        ['French', "L'\u00e9t\u00e9 dernier, j'ai visit\u00e9 l'\u00eele ; c'\u00e9tait \u00ab ma" +
            "gnifique \u00bb !"],
        ['German', 'Gr\u00fc\u00dfe aus M\u00fcnchen! \u00c4rger \u00fcber \u00d6l; Stra\u00dfenb' +
            'ahn\u00adhaltestelle.'],
        ['Spanish', '\u00bfD\u00f3nde est\u00e1 el ba\u00f1o? \u00a1Ma\u00f1ana ser\u00e1 otro d' +
            '\u00eda!'],
        ['Vietnamese', 'Ti\u1ebfng Vi\u1ec7t c\u00f3 nhi\u1ec1u d\u1ea5u: \u0111\u01b0\u1eddng, n' +
            'g\u01b0\u1eddi, h\u1ecdc.'],
        ['Turkish dotted i', '\u0130stanbul \u0131s\u0131 \u0130I\u0131i'],
    ];
}

function longCases() {
    let cjk = '';
    for (let i = 0; Buffer.byteLength(cjk) < 4096; i++) cjk += cp(0x4e00 + (i * 37) % 0x5000);
    let mixed = '';
    for (let i = 0; i < 1000; i++) mixed += 'abcdefghijklmnopqrstuvwxyz'[(i * i + 3 * i) % 26];
    return [
        ['1000 letters a', 'a'.repeat(1000)],
        ['1000 mixed letters without spaces', mixed],
        ['4 KB of CJK', cjk],
        ['1000 exclamation marks', '!'.repeat(1000)],
        ['long punctuation mix', '=-'.repeat(200) + '.,;:'.repeat(50)],
        ['long dashes and equals lines',
            '-'.repeat(80) + '\n' + '='.repeat(80) + '\n' + '#'.repeat(80)],
        ['long word repeated', 'supercalifragilisticexpialidocious'.repeat(20)],
        ['long spaced words', 'the cat sat on the mat '.repeat(40)],
        ['long emoji run', '\u{1f600}'.repeat(200)],
        ['long combining mark run', 'a' + '\u0301'.repeat(300)],
        ['long Hangul', '\uac00\ub098\ub2e4\ub77c\ub9c8'.repeat(100)],
        ['long Devanagari', '\u0928\u092e\u0938\u094d\u0924\u0947 '.repeat(100)],
    ];
}

function specialCases() {
    const texts = ['<|endoftext|>', 'Hello<|endoftext|>World', ' <|endoftext|> ',
        '<|endoftext|><|endoftext|>', 'a<|endoftext|', '<|endoftext|>\n\nNext document',
        'x <|endoftext|>y', "<|endoftext|>'s", '<|endoftext|x<|endoftext|>', '',
        'no special token here', '<|endoftext|>' + ' '.repeat(5), '\u4e2d<|endoftext|>\u6587',
        '<<|endoftext|>>', '<|endoftext||>'];
    return texts.map((t) => [`special ${label(t)}`, t, 'special']);
}

function smallCases() {
    const cases = [['empty text', ''], ['single space', ' ']];
    for (let c = 0; c < 128; c++) cases.push([`ASCII ${c}`, cp(c)]);
    const pairs = [' a', 'a ', ' 1', ' !', '!a', 'a!', '1a', 'a1', '!1', "a'", "'a", '\n1'];
    for (const p of pairs) cases.push([`pair ${label(p)}`, p]);
    return cases;
}

// ------------------------------------------------------------------------------------------
// Texts made of GPT-2 vocabulary pieces: every 8th token that is valid UTF-8 on its own,
// glued together in groups, with and without spaces. This exercises the BPE merge order.
// ------------------------------------------------------------------------------------------
function vocabCases(enc) {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const pieces = [];
    for (let id = 0; id < 50257; id += 8) {
        try {
            pieces.push(decoder.decode(enc.decode_single_token_bytes(id)));
        } catch (e) {
            // not valid UTF-8 on its own: skip it
        }
    }
    const cases = [];
    for (let i = 0; i < pieces.length; i += 25) {
        const group = pieces.slice(i, i + 25);
        cases.push([`vocabulary pieces ${i}..${i + group.length - 1} glued`, group.join('')]);
        if (i % 100 === 0) {
            cases.push([`vocabulary pieces ${i}.. with spaces`, group.join(' ')]);
        }
    }
    return cases;
}

// ------------------------------------------------------------------------------------------
// Random texts. Each text picks a profile (weights over kinds of atoms), then glues atoms.
// ------------------------------------------------------------------------------------------
const WS_ALL = [' ', '\t', '\n', '\r', '\r\n', '\v', '\f', '\u0085', '\u00a0', '\u1680',
    '\u2000', '\u2003', '\u2009', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000'];
const ZW = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u180e', '\u034f'];
const EMOJI = ['\u{1f600}', '\u{1f44d}', '\u{1f3fd}', '\u200d', '\ufe0f', '\u20e3', '\u{1f1fa}',
    '\u{1f1f8}', '\u2764', '\u{1f468}', '\u{1f469}', '\u{1f9d1}', '\u{1f680}', '\u{e0067}'];
const WORDS = ['the', 'of', 'and', 'to', 'in', 'is', 'that', 'it', 'was', 'for', 'on', 'are',
    'with', 'as', 'I', 'his', 'they', 'be', 'at', 'one', 'have', 'this', 'from', 'or', 'had',
    'by', 'word', 'but', 'what', 'some', 'we', 'can', 'out', 'other', 'were', 'all', 'there',
    'when', 'up', 'use', 'your', 'how', 'said', 'an', 'each', 'She', 'Which', 'do', 'THEIR',
    'time', 'if', 'will', 'way', 'about', 'many', 'then', 'them', 'write', 'would', 'like',
    'tokenizer', 'unbelievable', 'Schr\u00f6dinger', 'na\u00efve', '\u00e9t\u00e9', 'don',
    'hello', 'World', 'GPT', 'http', 'www', 'com', 'ing', 'tion', 'ly', 'ed'];
const ASCII_PUNCT = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const APOS = ["'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve",
    "'M", "'LL", "'D", "''", "'x", "\u2019s"];

function makeAtoms(cats) {
    const letters = ['Lu', 'Ll', 'Lt', 'Lm', 'Lo'].flatMap((c) => cats[c]);
    const numbers = ['Nd', 'Nl', 'No'].flatMap((c) => cats[c]);
    const marks = ['Mn', 'Mc', 'Me'].flatMap((c) => cats[c]);
    const run = (rng, f, maxLen) => {
        let s = '';
        for (let n = 1 + rng.below(maxLen); n > 0; n--) s += f(rng);
        return s;
    };
    // A "word" in some script: code points near a random letter, with a mark now and then.
    // The letter comes from a random range rather than a random code point, so that small
    // alphabets get picked about as often as the huge CJK blocks.
    const scriptWord = (rng) => {
        const base = pickFromRanges(rng, [rng.pick(letters)]);
        let s = '';
        for (let n = 1 + rng.below(8); n > 0; n--) {
            const c = base + rng.below(48);
            if (c < 0xd800 || c > 0xdfff) s += cp(Math.min(c, 0x10ffff));
            if (rng.chance(0.15)) s += cp(pickFromRanges(rng, marks));
        }
        return s;
    };
    return {
        space: () => ' ',
        spaces: (rng) => ' '.repeat(1 + rng.below(6)),
        ws: (rng) => run(rng, (r) => r.pick(WS_ALL), 4),
        newline: (rng) => rng.pick(['\n', '\n\n', '\r\n', '\n    ', '\n\t']),
        asciiWord: (rng) => rng.pick(WORDS),
        spaceWord: (rng) => ' ' + rng.pick(WORDS),
        asciiLetters: (rng) => run(rng, (r) => cp(r.pick([0x41, 0x61]) + r.below(26)), 10),
        digits: (rng) => run(rng, (r) => cp(0x30 + r.below(10)), 8),
        punct: (rng) => run(rng, (r) => r.pick(ASCII_PUNCT), 4),
        apostrophe: (rng) => rng.pick(APOS),
        category: (rng) => cp(pickFromRanges(rng, cats[rng.pick(CATEGORIES)])),
        plane: (rng) => {
            for (;;) {
                const plane = rng.below(17);
                const c = plane * 0x10000 + rng.below(0x10000);
                if (c < 0xd800 || c > 0xdfff) return cp(c);
            }
        },
        bmp: (rng) => {
            for (;;) {
                const c = rng.below(0x10000);
                if (c < 0xd800 || c > 0xdfff) return cp(c);
            }
        },
        letter: (rng) => cp(pickFromRanges(rng, letters)),
        number: (rng) => cp(pickFromRanges(rng, numbers)),
        mark: (rng) => cp(pickFromRanges(rng, marks)),
        scriptWord,
        latin1: (rng) => cp(0xa0 + rng.below(0x160)),
        cjk: (rng) => run(rng, (r) => cp(0x4e00 + r.below(0x5200)), 6),
        hangul: (rng) => run(rng, (r) => cp(0xac00 + r.below(11172)), 4),
        emoji: (rng) => run(rng, (r) => r.pick(EMOJI), 4),
        zeroWidth: (rng) => rng.pick(ZW),
        control: (rng) => cp(rng.chance(0.5) ? rng.below(32) : 0x7f + rng.below(33)),
        privateUse: (rng) => cp(pickFromRanges(rng, cats.Co)),
        unassigned: (rng) => cp(pickFromRanges(rng, cats.Cn)),
        special: (rng) => rng.pick(['<|endoftext|>', '<|endoftext|', '<|', '|>', 'endoftext']),
    };
}

// Profiles: relative weights of the atom kinds. Names say what each profile stresses.
const PROFILES = {
    prose: { spaceWord: 30, asciiWord: 5, punct: 6, space: 4, spaces: 2, newline: 3,
        apostrophe: 5, digits: 3, latin1: 2 },
    whitespace: { space: 10, spaces: 10, ws: 10, newline: 6, asciiWord: 5, spaceWord: 5,
        digits: 3, punct: 3, letter: 2, zeroWidth: 2 },
    apostrophes: { apostrophe: 20, asciiLetters: 10, space: 5, spaces: 3, punct: 3, digits: 2,
        letter: 3, ws: 2 },
    numbers: { digits: 10, number: 10, space: 5, letter: 3, punct: 3, asciiLetters: 3, ws: 2 },
    scripts: { scriptWord: 15, space: 8, letter: 4, mark: 4, number: 2, punct: 2, ws: 2,
        cjk: 2, hangul: 2 },
    chaos: { category: 20, plane: 10, bmp: 10, space: 5, ws: 3, apostrophe: 2, digits: 2,
        asciiLetters: 2, privateUse: 1, unassigned: 2, control: 1 },
    symbols: { emoji: 10, zeroWidth: 5, mark: 5, punct: 5, space: 5, control: 2,
        asciiLetters: 3, privateUse: 2, unassigned: 2, latin1: 2 },
    everything: { space: 6, spaces: 3, ws: 3, newline: 2, asciiWord: 3, spaceWord: 5,
        asciiLetters: 2, digits: 2, punct: 3, apostrophe: 3, category: 4, plane: 2, bmp: 2,
        letter: 2, number: 2, mark: 2, scriptWord: 3, latin1: 2, cjk: 1, hangul: 1, emoji: 2,
        zeroWidth: 1, control: 1, privateUse: 1, unassigned: 1, special: 1 },
};

function randomText(rng, atoms, profileName, nAtoms) {
    const weights = Object.entries(PROFILES[profileName]);
    let total = 0;
    for (const [, w] of weights) total += w;
    let s = '';
    for (let i = 0; i < nAtoms; i++) {
        let k = rng.below(total);
        for (const [name, w] of weights) {
            if (k < w) {
                s += atoms[name](rng);
                break;
            }
            k -= w;
        }
    }
    return s;
}

function randomCases(cats) {
    const rng = makeRng(20240607);
    const atoms = makeAtoms(cats);
    const names = Object.keys(PROFILES);
    const cases = [];
    for (let i = 0; i < 800; i++) {
        const profile = names[i % names.length];
        // Mostly short texts, some long: 1..24 atoms, one in eight up to 200.
        const n = rng.chance(0.125) ? 24 + rng.below(177) : 1 + rng.below(24);
        const special = profile === 'everything' && rng.chance(0.3);
        const text = randomText(rng, atoms, profile, n);
        const name = `random ${i} (${profile}, ${n} atoms)`;
        cases.push(special ? [name, text, 'special'] : [name, text]);
    }
    return cases;
}

// ------------------------------------------------------------------------------------------
// Output.
// ------------------------------------------------------------------------------------------
function encodeCase(enc, text, special) {
    if (!text.isWellFormed()) throw new Error('lone surrogate in ' + JSON.stringify(text));
    const bytes = Buffer.from(text, 'utf8');
    const ids = special ? enc.encode(text, 'all') : enc.encode_ordinary(text);
    if (!Buffer.from(enc.decode(ids)).equals(bytes)) {
        throw new Error('tiktoken does not round-trip ' + JSON.stringify(text));
    }
    return { hex: bytes.toString('hex'), ids: Array.from(ids).join(' ') };
}

function writeCases(enc, cases) {
    const lines = [
        '# GPT-2 token ids from tiktoken 1.0.22 (encoding "gpt2"), written by',
        '# tests/make_tokenizer_fixtures.js; do not edit by hand.',
        '# Each case: a "# case N: name" comment, optionally "# special" (encode with every',
        '# special token allowed; otherwise plain encoding), then the text as hex of its UTF-8',
        '# bytes and the ids separated by spaces (either line is empty when there is nothing).',
    ];
    cases.forEach(([name, text, special], i) => {
        const { hex, ids } = encodeCase(enc, text, special === 'special');
        lines.push(`# case ${i + 1}: ${name}`);
        if (special === 'special') lines.push('# special');
        lines.push(hex, ids);
    });
    const text = lines.join('\n') + '\n';
    if (text.length > MAX_BYTES) throw new Error(`case file too big: ${text.length} bytes`);
    if (/[^\x0a\x20-\x7e]/.test(text)) throw new Error('case file is not printable ASCII');
    fs.writeFileSync(OUT_CASES, text);
    console.log(`wrote ${path.relative(ROOT, OUT_CASES)}: ${cases.length} cases, ` +
        `${text.length} bytes`);
}

// FNV-1a, 64 bits, over the ids, each id as 4 little-endian bytes.
function fnv1a64(ids) {
    const mask = (1n << 64n) - 1n;
    let h = 0xcbf29ce484222325n;
    for (const id of ids) {
        for (let b = 0; b < 4; b++) {
            h ^= BigInt((id >>> (8 * b)) & 0xff);
            h = (h * 0x100000001b3n) & mask;
        }
    }
    return h.toString(16).padStart(16, '0');
}

function writeShakespeare(enc, file) {
    const ids = enc.encode_ordinary(fs.readFileSync(file, 'utf8'));
    if (ids.length !== SHAKESPEARE_TOKENS) {
        throw new Error(`${file}: ${ids.length} tokens, expected ${SHAKESPEARE_TOKENS}`);
    }
    fs.writeFileSync(OUT_SHAKESPEARE, `count ${ids.length}\nfnv1a64 ${fnv1a64(ids)}\n`);
    console.log(`wrote ${path.relative(ROOT, OUT_SHAKESPEARE)}: ${ids.length} tokens`);
}

function findShakespeare() {
    if (process.argv[2]) return process.argv[2];
    const local = path.join(ROOT, 'input.txt');
    return fs.existsSync(local) ? local : '/work/shared/data/tinyshakespeare.txt';
}

async function main() {
    const enc = get_encoding('gpt2');
    const cats = await loadCategories();
    const cases = [].concat(smallCases(), contractionCases(), whitespaceCases(), numberCases(),
        scriptCases(), symbolCases(), codeCases(), proseCases(), longCases(), specialCases(),
        vocabCases(enc), randomCases(cats));
    writeCases(enc, cases);
    writeShakespeare(enc, findShakespeare());
    enc.free();
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});

// Cross-check for server/anchors.py: random multilingual documents edited by several Yjs
// clients, relative positions made and then more edits (before, inside, after the positions,
// deleting some), and what Yjs itself resolves each position to. Prints JSON:
//   {cases: [{made, update, text, positions: [{made_at, assoc, b64, index}]}]}
// made: the document when the positions were made (at UTF-16 offset made_at, with assoc);
// update: the document after the later edits; index: where Yjs resolves each position then.
// Usage: node tests/anchors.mjs SEED CASES
import * as Y from 'yjs'

const seed = Number(process.argv[2] || 1)
const count = Number(process.argv[3] || 50)
let s = seed
const rand = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 }
/** @param {string[]} a */
const pick = (a) => a[Math.floor(rand() * a.length)]
const PIECES = ['a', 'ñ', 'é', 'e\u0301', '📊', '👩‍👩‍👧', '中文', 'שלום', 'مرحبا', ' ', '\n', 'Artículo ', '¿Qué?', 'x']

/** A random offset that does not split a surrogate pair (as an editor never does).
 * @param {string} str @param {number} max */
function boundary (str, max) {
  let at = Math.floor(rand() * (max + 1))
  const code = str.charCodeAt(at)
  if (code >= 0xdc00 && code <= 0xdfff) at -= 1
  return at
}

/** @param {Y.Text} t */
function edit (t) {
  const str = t.toString()
  const len = str.length
  if (len > 0 && rand() < 0.35) {
    const at = boundary(str, len - 1)
    let end = Math.min(len, at + 1 + Math.floor(rand() * 6))
    const code = str.charCodeAt(end)
    if (code >= 0xdc00 && code <= 0xdfff) end += 1
    t.delete(at, end - at)
  } else {
    t.insert(boundary(str, len), pick(PIECES))
  }
}

/** @param {Y.Doc[]} docs */
function sync (docs) {
  for (const a of docs) for (const b of docs) if (a !== b) Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
}

const cases = []
for (let c = 0; c < count; c++) {
  const docs = [1, 2, 3].map((id) => { const d = new Y.Doc(); d.clientID = id * 1000 + c; return d })
  for (let i = 0; i < 30; i++) { edit(docs[Math.floor(rand() * 3)].getText('content')); if (rand() < 0.3) sync(docs) }
  sync(docs)
  const t = docs[0].getText('content')
  const rpos = []
  /** @type {number[]} */
  const assocs = []
  for (let i = 0; i <= t.length; i++) {
    assocs.push(rand() < 0.5 ? 0 : -1)
    rpos.push(Y.createRelativePositionFromTypeIndex(t, i, assocs[i]))
  }
  const made = Buffer.from(Y.encodeStateAsUpdate(docs[0])).toString('base64')
  for (let i = 0; i < 20; i++) { edit(docs[Math.floor(rand() * 3)].getText('content')); if (rand() < 0.3) sync(docs) }
  sync(docs)
  const positions = rpos.map((r, i) => ({
    made_at: i,
    assoc: assocs[i],
    b64: Buffer.from(Y.encodeRelativePosition(r)).toString('base64'),
    index: Y.createAbsolutePositionFromRelativePosition(r, docs[0])?.index ?? null
  }))
  cases.push({ made, update: Buffer.from(Y.encodeStateAsUpdate(docs[0])).toString('base64'), text: t.toString(), positions })
}
console.log(JSON.stringify({ cases }))

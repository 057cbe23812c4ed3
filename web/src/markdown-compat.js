/**
 * Make markdown-it 14.1.0 (JavaScript) give the HTML of markdown-it-py 4.3 (Python, the server).
 *
 * markdown-it-py 4.3 ports markdown-it 14.1.0 and then fixed bugs of its own. Each patch below
 * ports one of those fixes, or undoes a JavaScript-only effect, and names the Python module it
 * follows. The differential test (tests/ in the repository root, via web/tests/render.mjs) is
 * what proves them; a fuzz corpus found every one.
 *
 * Left apart on purpose: Python 3.11 knows Unicode 14 and markdown-it Unicode 15.1, so a symbol
 * added after Unicode 14 can still flank `_` differently.
 */

/** @typedef {import('markdown-it').default} MarkdownIt */
/** @typedef {import('markdown-it/lib/token.mjs').default} Token */
/** @typedef {import('markdown-it/lib/renderer.mjs').RenderRule} RenderRule */

const BOM = '\uFEFF'

// Python's str.isspace() set: JavaScript's `\s` without U+FEFF, with U+001C-U+001F and U+0085.
const PY_SPACE = '[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+'
const PY_STRIP = new RegExp(`^${PY_SPACE}|${PY_SPACE}$`, 'g')

/**
 * Run `fn` on `text` with every U+FEFF replaced by a private-use stand-in that JavaScript's trim
 * and `\s` leave alone, then put U+FEFF back into the result, raw and percent-encoded.
 * Python's trims (common/utils.py mdTrim, MD_TRIM_RE) keep U+FEFF; JavaScript's drop it.
 * @param {string} text
 * @param {(text: string) => string} fn
 * @param {string} [context] all the text whose output `fn` returns (default `text`)
 * @returns {string}
 */
export function keepingBom (text, fn, context = text) {
  if (!text.includes(BOM)) return fn(text)
  const upper = context.toUpperCase()
  for (let code = 0xE000; code <= 0xF8FF; code++) {
    const standIn = String.fromCharCode(code)
    const encoded = encodeURIComponent(standIn)
    if (context.includes(standIn) || upper.includes(encoded)) continue
    return fn(text.split(BOM).join(standIn))
      .split(encoded).join('%EF%BB%BF')
      .split(standIn).join(BOM)
  }
  return fn(text)
}

/**
 * rules_inline/state_inline.py scanDelims: flanking reads whole code points, so an emoji next
 * to `*` or `_` counts as punctuation (14.1.0 read half a surrogate pair).
 * @param {MarkdownIt} md
 */
function scanDelimsByCodePoint (md) {
  const { isMdAsciiPunct, isPunctChar, isWhiteSpace } = md.utils
  /** @param {number} c */
  const isPunct = (c) => isMdAsciiPunct(c) || isPunctChar(String.fromCodePoint(c))

  /**
   * @this {any}
   * @param {number} start
   * @param {boolean} canSplitWord
   */
  function scanDelims (start, canSplitWord) {
    const src = /** @type {string} */ (this.src)
    const max = this.posMax
    const marker = src.charCodeAt(start)
    let lastChar = 0x20
    if (start > 0) {
      lastChar = src.charCodeAt(start - 1)
      if (start >= 2 && (lastChar & 0xFC00) === 0xDC00) {
        const high = src.charCodeAt(start - 2)
        if ((high & 0xFC00) === 0xD800) lastChar = /** @type {number} */ (src.codePointAt(start - 2))
      }
    }
    let pos = start
    while (pos < max && src.charCodeAt(pos) === marker) pos++
    const nextChar = pos < max ? /** @type {number} */ (src.codePointAt(pos)) : 0x20

    const lastPunct = isPunct(lastChar)
    const nextPunct = isPunct(nextChar)
    const lastSpace = isWhiteSpace(lastChar)
    const nextSpace = isWhiteSpace(nextChar)
    const leftFlanking = !nextSpace && (!nextPunct || lastSpace || lastPunct)
    const rightFlanking = !lastSpace && (!lastPunct || nextSpace || nextPunct)
    return {
      can_open: leftFlanking && (canSplitWord || !rightFlanking || lastPunct),
      can_close: rightFlanking && (canSplitWord || !leftFlanking || nextPunct),
      length: pos - start
    }
  }
  // The class is markdown-it's own; this bundle holds no other markdown-it instance.
  md.inline.State.prototype.scanDelims = scanDelims
}

/**
 * common/normalize_url.py + mdurl: URLs are stripped with Python's str.strip(), which keeps
 * U+FEFF and also removes U+001C-U+001F and U+0085. validateLink stays markdown-it's own: it
 * only ever sees the normalized, percent-encoded URL.
 * @param {MarkdownIt} md
 */
function stripUrlsLikePython (md) {
  const normalizeLink = md.normalizeLink.bind(md)
  const normalizeLinkText = md.normalizeLinkText.bind(md)
  md.normalizeLink = (url) => keepingBom(url.replace(PY_STRIP, ''), normalizeLink)
  md.normalizeLinkText = (url) => keepingBom(url.replace(PY_STRIP, ''), normalizeLinkText)
}

/**
 * renderer.py fence: the info string is split on Python's trim set, which keeps U+FEFF (an
 * entity such as &#xFEFF; can put one there after the source swap of renderMarkdown).
 * @param {MarkdownIt} md
 */
function fenceInfoKeepsBom (md) {
  const fence = /** @type {RenderRule} */ (md.renderer.rules.fence)
  md.renderer.rules.fence = (tokens, idx, options, env, self) => {
    const token = tokens[idx]
    const info = md.utils.unescapeAll(token.info)
    if (!info.includes(BOM)) return fence(tokens, idx, options, env, self)
    const original = token.info
    try {
      return keepingBom(info, (kept) => {
        // escaped again so that the rule's own unescapeAll gives `kept` back
        token.info = kept.replace(/[\\&]/g, (c) => (c === '&' ? '&amp;' : '\\\\'))
        return fence(tokens, idx, options, env, self)
      }, info + token.content)
    } finally {
      token.info = original
    }
  }
}

/**
 * rules_core/text_join.py: escapes and entities (`text_special`) are joined into text inside
 * an image's alt tree too, one level down, so they show in the alt attribute.
 * @param {MarkdownIt} md
 */
function joinTextInImageAlt (md) {
  /** @param {Token[]} tokens */
  const join = (tokens) => {
    /** @type {Token[]} */
    const out = []
    for (const token of tokens) {
      if (token.type === 'text_special') token.type = 'text'
      const last = out[out.length - 1]
      if (token.type === 'text' && last && last.type === 'text') {
        last.content += token.content
      } else {
        out.push(token)
      }
    }
    return out
  }
  md.core.ruler.after('text_join', 'text_join_alt', (state) => {
    for (const block of state.tokens) {
      if (block.type !== 'inline' || !block.children) continue
      for (const child of block.children) {
        if (child.children) child.children = join(child.children)
      }
    }
  })
}

/**
 * renderer.py renderInlineAsText: an image's alt text keeps the text of code spans.
 * @param {MarkdownIt} md
 */
function altTextKeepsCode (md) {
  /**
   * @param {Token[] | null} tokens
   * @returns {string}
   */
  const asText = (tokens) => {
    let out = ''
    for (const token of tokens || []) {
      switch (token.type) {
        case 'text':
        case 'code_inline':
        case 'html_inline':
        case 'html_block':
          out += token.content
          break
        case 'image':
          out += asText(token.children)
          break
        case 'softbreak':
        case 'hardbreak':
          out += '\n'
          break
      }
    }
    return out
  }
  md.renderer.renderInlineAsText = (tokens) => asText(tokens)
}

/**
 * rules_inline/backticks.py: the closer cache is built from the whole source up front, a run
 * crossing posMax cannot close, and a span of spaces only keeps all its spaces.
 * @param {MarkdownIt} md
 */
function backticksLikePython (md) {
  /** @param {string} src */
  const lastRuns = (src) => {
    /** @type {Record<number, number>} */
    const runs = {}
    let pos = 0
    let start
    while ((start = src.indexOf('`', pos)) !== -1) {
      pos = start + 1
      while (pos < src.length && src.charCodeAt(pos) === 0x60) pos++
      runs[pos - start] = start
    }
    return runs
  }
  /** @type {import('markdown-it/lib/parser_inline.mjs').RuleInline} */
  const backtick = (inlineState, silent) => {
    // backticks and backticksScanned are StateInline fields the typings leave out
    const state = /** @type {typeof inlineState & { backticks: Record<number, number>, backticksScanned: boolean }} */ (inlineState)
    const src = state.src
    const start = state.pos
    if (src.charCodeAt(start) !== 0x60) return false
    const max = state.posMax
    let pos = start + 1
    while (pos < max && src.charCodeAt(pos) === 0x60) pos++
    const marker = src.slice(start, pos)
    const openerLength = marker.length
    if (!state.backticksScanned) {
      state.backticks = lastRuns(src)
      state.backticksScanned = true
    }
    const last = state.backticks[openerLength]
    if ((last === undefined ? -1 : last) >= pos) {
      let matchEnd = pos
      let matchStart
      while ((matchStart = src.indexOf('`', matchEnd)) !== -1 && matchStart < max) {
        matchEnd = matchStart + 1
        while (matchEnd < src.length && src.charCodeAt(matchEnd) === 0x60) matchEnd++
        if (matchEnd > max) break
        if (matchEnd - matchStart === openerLength) {
          if (!silent) {
            const token = state.push('code_inline', 'code', 0)
            token.markup = marker
            let content = src.slice(pos, matchStart).replace(/\n/g, ' ')
            if (content.startsWith(' ') && content.endsWith(' ') && /[^ ]/.test(content)) {
              content = content.slice(1, -1)
            }
            token.content = content
          }
          state.pos = matchEnd
          return true
        }
      }
    }
    if (!silent) state.pending += marker
    state.pos = pos
    return true
  }
  md.inline.ruler.at('backticks', backtick)
}

/**
 * Apply every patch to `md`, a markdown-it 14.1.0 instance.
 * @param {MarkdownIt} md
 * @returns {MarkdownIt}
 */
export function likeMarkdownItPy (md) {
  scanDelimsByCodePoint(md)
  stripUrlsLikePython(md)
  fenceInfoKeepsBom(md)
  joinTextInImageAlt(md)
  altTextKeepsCode(md)
  backticksLikePython(md)
  return md
}

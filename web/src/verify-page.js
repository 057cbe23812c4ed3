/**
 * Verify a copy (/verify): choose a file (#verify-file: Markdown, or an HTML or PDF export)
 * or paste the text (#verify-text), and #verify-submit sends its bytes, untouched, to
 * POST /api/verify. #verify-result (data-result = exact | normalized | export | embedded |
 * none) says whether it is a ratified text and which one:
 * - exact: the same bytes as the ratified Markdown;
 * - normalized: the same once line ends, a byte order mark or the final newline are set aside;
 * - export: an export of the ratified text, identical to the one Accord makes;
 * - embedded: a file that only claims to be one (it names the fingerprint; its content was
 *   not compared): "claims to be", never "is";
 * - none: it matches no ratified text.
 * The SHA-256 of the file's bytes is shown too (#verify-sha), to compare by hand: computed in
 * the browser where it can (Web Crypto needs a secure origin), else the server's for Markdown.
 */
import { ApiError } from './api.js'
import { h } from './dom.js'
import { errorBox } from './error-box.js'
import { onLangChange, t, translated } from './i18n.js'
import { loginUrl } from './session.js'
import { topbar } from './topbar.js'
import { ratifiedUrl, verifyBytes } from './versions-api.js'

/** @type {Record<string, string>} */
const VERDICTS = {
  exact: 'verify.exact',
  normalized: 'verify.normalized',
  export: 'verify.export',
  embedded: 'verify.embedded'
}
/** @type {Record<string, string>} */
const KINDS = { markdown: 'verify.kind.markdown', html: 'verify.kind.html', pdf: 'verify.kind.pdf' }

/**
 * The SHA-256 (hex) of a file, or null where the browser cannot compute it.
 * @param {Blob} blob
 * @returns {Promise<string | null>}
 */
async function sha256 (blob) {
  if (!window.crypto || !window.crypto.subtle) return null
  const digest = await window.crypto.subtle.digest('SHA-256', await blob.arrayBuffer())
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

/**
 * @param {import('./versions-api.js').VerifyResult} result
 * @param {string | null} hash of what was sent, computed here
 * @returns {Array<Node | null>}
 */
function verdict (result, hash) {
  const shown = hash || (result.kind === 'markdown' ? result.sha256 : null)
  const sent = [
    h('p', { className: 'hint' }, [t('verify.sent', { kind: t(KINDS[result.kind] || 'verify.kind.markdown') })]),
    shown ? h('p', {}, [t('verify.sha_label'), ' ', h('code', { id: 'verify-sha', className: 'sha' }, [shown])]) : null
  ]
  const match = result.match
  if (!match) return [h('p', { className: 'verdict' }, [t('verify.none')]), ...sent]
  const link = h('a', { id: 'verify-link', attrs: { href: ratifiedUrl(match.document_id) } }, [match.title || t('docs.untitled')])
  return [
    h('p', { className: 'verdict' }, [t(VERDICTS[match.how] || 'verify.embedded'), ' ', link]),
    h('p', { className: 'hint' }, [t('verify.ratified_on', { date: match.date || '', body: match.body || '' })]),
    h('p', {}, [t('verify.fingerprint'), ' ', h('code', { id: 'verify-match-sha', className: 'sha' }, [match.sha256])]),
    ...sent
  ]
}

/**
 * @param {HTMLElement} app
 * @param {Promise<import('./api.js').Me>} me may fail: the page works for whoever the server lets verify
 */
export function verifyPage (app, me) {
  const error = errorBox()
  const file = h('input', { id: 'verify-file', attrs: { type: 'file', name: 'verify-file', accept: '.md,.markdown,.txt,.html,.htm,.pdf,text/markdown,text/plain,text/html,application/pdf' } })
  const text = h('textarea', { id: 'verify-text', attrs: { name: 'verify-text', rows: '8', spellcheck: 'false' } })
  const submit = translated(h('button', { id: 'verify-submit', attrs: { type: 'submit' } }), 'verify.submit')
  const result = h('section', { id: 'verify-result', className: 'card verify-result', attrs: { role: 'status', 'aria-live': 'polite' } })
  result.hidden = true
  const form = h('form', { id: 'verify-form', className: 'card stack' }, [
    h('div', { className: 'field' }, [translated(h('label', { attrs: { for: 'verify-file' } }), 'verify.file'), file]),
    h('div', { className: 'field' }, [
      translated(h('label', { attrs: { for: 'verify-text' } }), 'verify.text'), text,
      translated(h('span', { className: 'hint' }), 'verify.text_hint')
    ]),
    h('div', { className: 'actions' }, [submit])
  ])
  /** @type {import('./versions-api.js').VerifyResult | null} */
  let last = null
  /** @type {string | null} */
  let lastHash = null
  const render = () => {
    if (!last) return
    result.dataset.result = last.match ? last.match.how : 'none'
    result.replaceChildren()
    for (const node of verdict(last, lastHash)) if (node) result.append(node)
    result.hidden = false
  }
  onLangChange(render)

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const chosen = file.files && file.files[0]
    if (!chosen && !text.value) {
      error.say('verify.nothing')
      return
    }
    submit.disabled = true
    error.clear()
    result.hidden = true
    try {
      const blob = chosen || new Blob([text.value], { type: 'text/plain' })
      const [answer, hash] = await Promise.all([verifyBytes(blob), sha256(blob).catch(() => null)])
      last = answer
      lastHash = hash
      render()
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        error.show(() => [t('verify.sign_in'), ' ', h('a', { attrs: { href: loginUrl() } }, [t('login.submit')])])
      } else {
        error.fail(err, 'error.verify')
      }
    } finally {
      submit.disabled = false
    }
  })
  file.addEventListener('change', () => { if (file.files && file.files.length) text.value = '' })

  const bar = topbar({})
  app.replaceChildren(
    bar,
    h('div', { className: 'page documents verify-page' }, [
      translated(h('h1', {}), 'page.verify'),
      translated(h('p', { className: 'intro' }), 'verify.intro'),
      error.element,
      form,
      result
    ])
  )
  // signed in: the usual top bar; not signed in: the language switch alone
  me.then(() => bar.replaceWith(topbar({ me, error })), () => {})
}
